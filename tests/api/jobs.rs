//! The job queue: each job runs once however many workers look, failures
//! are retried and end dead, staff see and retry dead jobs, scheduled work
//! runs once per period, and shutdown finishes or hands back running jobs.
//! (A worker killed mid-job: see `process.rs`.)

use std::sync::{Arc, Mutex};
use std::time::Duration;

use atelier::jobs::{Job, JobFailure, JobQueue, JobSettings, NewJob, Outcome, enqueue};
use atelier::mail::{Email, EmailQueue};
use atelier::storage::entities::job;
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

use crate::both_backends;
use crate::commissions::staff;
use crate::helpers::{Backend, TestApp, TestDatabase, free_port, status_and_body};
use crate::smtp::SmtpSink;

async fn database(backend: Backend) -> (TestDatabase, DatabaseConnection) {
    let database = TestDatabase::create(backend).await;
    let db = atelier::storage::connect(&database.url, 8, Duration::from_secs(5))
        .await
        .unwrap();
    atelier::storage::migrate(&db).await.unwrap();
    (database, db)
}

/// A fresh pool on the same database: another instance.
async fn instance(database: &TestDatabase, settings: JobSettings) -> Arc<JobQueue> {
    let db = atelier::storage::connect(&database.url, 8, Duration::from_secs(5))
        .await
        .unwrap();
    JobQueue::new(db, settings)
}

fn quick() -> JobSettings {
    JobSettings {
        poll_every: Duration::from_millis(20),
        lease: Duration::from_secs(2),
        retry_after: Duration::from_millis(100),
        drain_limit: Duration::from_secs(3),
        ..JobSettings::default()
    }
}

type Runs = Arc<Mutex<Vec<i64>>>;

/// Records each job's number, after a short pause that lets workers overlap.
fn count_runs(queue: &JobQueue, runs: &Runs) {
    let runs = runs.clone();
    queue.register("test.count", move |job: Job| {
        let runs = runs.clone();
        async move {
            let n: i64 = job.input()?;
            tokio::time::sleep(Duration::from_millis(2)).await;
            runs.lock().unwrap().push(n);
            Ok(Outcome::Done)
        }
    });
}

async fn jobs_with_status(db: &DatabaseConnection, status: &str) -> u64 {
    job::Entity::find()
        .filter(job::Column::Status.eq(status))
        .count(db)
        .await
        .unwrap()
}

async fn wait_for_status(db: &DatabaseConnection, status: &str, count: u64) {
    for _ in 0..600 {
        if jobs_with_status(db, status).await >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("fewer than {count} jobs {status} after 30 s");
}

/// The one job of `kind` (the app also schedules its housekeeping).
async fn only_job(db: &DatabaseConnection, kind: &str) -> job::Model {
    let mut rows = job::Entity::find()
        .filter(job::Column::Kind.eq(kind))
        .all(db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    rows.pop().unwrap()
}

both_backends! {
    async fn each_job_runs_exactly_once_with_two_instances_competing(backend) {
        let (database, db) = database(backend).await;
        for n in 0..300_i64 {
            enqueue(&db, NewJob::new("test.count", &n)).await.unwrap();
        }
        let runs = Runs::default();
        let first = instance(&database, quick()).await;
        let second = instance(&database, quick()).await;
        count_runs(&first, &runs);
        count_runs(&second, &runs);
        first.start();
        second.start();

        wait_for_status(&db, "done", 300).await;
        let mut seen = runs.lock().unwrap().clone();
        seen.sort_unstable();
        assert_eq!(seen, (0..300).collect::<Vec<_>>(), "every job once, none twice");
        first.shut_down().await;
        second.shut_down().await;
    }

    async fn a_dedup_key_makes_a_repeated_event_one_job(backend) {
        let (_database, db) = database(backend).await;
        let first = enqueue(&db, NewJob::new("test.count", &1).dedup_key("event-1")).await.unwrap();
        let again = enqueue(&db, NewJob::new("test.count", &1).dedup_key("event-1")).await.unwrap();
        assert!(first);
        assert!(!again);
        assert_eq!(job::Entity::find().count(&db).await.unwrap(), 1);
    }

    async fn failures_are_retried_with_backoff_then_the_job_is_dead(backend) {
        let (database, db) = database(backend).await;
        let queue = instance(&database, quick()).await;
        let times = Arc::new(Mutex::new(Vec::new()));
        let seen = times.clone();
        queue.register("test.flaky", move |job: Job| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push((job.attempt, std::time::Instant::now()));
                Err(JobFailure::retry("the provider is down"))
            }
        });
        queue.register("test.broken", |_job: Job| async { Err(JobFailure::Fatal("never works".into())) });
        queue.register("test.panics", |_job: Job| async { panic!("a bug in a handler") });
        enqueue(&db, NewJob::new("test.flaky", &()).max_attempts(3)).await.unwrap();
        enqueue(&db, NewJob::new("test.broken", &()).max_attempts(5)).await.unwrap();
        enqueue(&db, NewJob::new("test.panics", &()).max_attempts(2)).await.unwrap();
        queue.start();

        wait_for_status(&db, "dead", 3).await;
        let rows = job::Entity::find().all(&db).await.unwrap();
        let by_kind = |kind: &str| rows.iter().find(|r| r.kind == kind).unwrap().clone();
        let flaky = by_kind("test.flaky");
        assert_eq!((flaky.attempts, flaky.last_error.as_deref()), (3, Some("the provider is down")));
        assert_eq!(by_kind("test.broken").attempts, 1, "a fatal failure is not retried");
        let panicked = by_kind("test.panics");
        assert_eq!((panicked.attempts, panicked.last_error.as_deref()), (2, Some("the handler panicked")));
        // Backoff doubles: 100 ms, then 200 ms.
        let times = times.lock().unwrap().clone();
        assert_eq!(times.iter().map(|(a, _)| *a).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert!(times[1].1 - times[0].1 >= Duration::from_millis(100));
        assert!(times[2].1 - times[1].1 >= Duration::from_millis(200));
        queue.shut_down().await;
    }

    async fn a_job_can_ask_to_run_later_without_spending_an_attempt(backend) {
        let (database, db) = database(backend).await;
        let queue = instance(&database, quick()).await;
        let runs = Arc::new(Mutex::new(0));
        let counted = runs.clone();
        queue.register("test.later", move |job: Job| {
            let counted = counted.clone();
            async move {
                *counted.lock().unwrap() += 1;
                assert_eq!(job.attempt, 1, "a postponed run is not an attempt");
                if job.created_at + chrono::TimeDelta::milliseconds(300) > chrono::Utc::now() {
                    return Ok(Outcome::Later(chrono::Utc::now() + chrono::TimeDelta::milliseconds(400)));
                }
                Ok(Outcome::Done)
            }
        });
        enqueue(&db, NewJob::new("test.later", &())).await.unwrap();
        queue.start();
        wait_for_status(&db, "done", 1).await;
        assert_eq!(*runs.lock().unwrap(), 2);
        assert_eq!(only_job(&db, "test.later").await.attempts, 1);
        queue.shut_down().await;
    }

    async fn scheduled_work_runs_once_per_period_however_many_instances(backend) {
        let (database, db) = database(backend).await;
        let runs = Arc::new(Mutex::new(0));
        let mut queues = Vec::new();
        for _ in 0..2 {
            let queue = instance(&database, quick()).await;
            let counted = runs.clone();
            queue.register("test.tick", move |_job: Job| {
                let counted = counted.clone();
                async move {
                    *counted.lock().unwrap() += 1;
                    Ok(Outcome::Done)
                }
            });
            queue.every("test.tick", Duration::from_millis(500));
            queue.start();
            queues.push(queue);
        }
        tokio::time::sleep(Duration::from_millis(3_100)).await;
        for queue in &queues {
            queue.shut_down().await;
        }
        // Periods started in 3.1 s: 7 or 8, fewer on a busy machine; two
        // instances tick each one, so twice that would mean duplicates.
        let ran = *runs.lock().unwrap();
        assert!((3..=8).contains(&ran), "{ran} runs");
        assert_eq!(jobs_with_status(&db, "done").await, ran);
    }

    async fn shutdown_lets_a_short_job_finish_and_hands_a_long_one_back(backend) {
        let (database, db) = database(backend).await;
        let first = instance(&database, quick()).await;
        first.register("test.sleep", |job: Job| async move {
            let millis: u64 = job.input()?;
            tokio::time::sleep(Duration::from_millis(millis)).await;
            Ok(Outcome::Done)
        });
        enqueue(&db, NewJob::new("test.sleep", &200_u64)).await.unwrap();
        enqueue(&db, NewJob::new("test.sleep", &60_000_u64)).await.unwrap();
        first.start();
        wait_for_status(&db, "running", 2).await;

        first.shut_down().await;
        assert_eq!(jobs_with_status(&db, "done").await, 1, "the short job finished");
        let rows = job::Entity::find().filter(job::Column::Status.eq("queued")).all(&db).await.unwrap();
        assert_eq!(rows.len(), 1, "the long one is queued again");
        assert_eq!((rows[0].attempts, rows[0].claimed_by), (0, None));

        // Another instance takes it at once, without waiting for a lease.
        let second = instance(&database, quick()).await;
        let runs = Arc::new(Mutex::new(0));
        let counted = runs.clone();
        second.register("test.sleep", move |_job: Job| {
            let counted = counted.clone();
            async move {
                *counted.lock().unwrap() += 1;
                Ok(Outcome::Done)
            }
        });
        second.start();
        wait_for_status(&db, "done", 2).await;
        assert_eq!(*runs.lock().unwrap(), 1);
        second.shut_down().await;
    }

    async fn an_email_smtp_refused_is_sent_when_the_server_is_back(backend) {
        let smtp_port = free_port();
        let app = TestApp::spawn_with(backend, |s| {
            s.smtp_url = Some(format!("smtp://127.0.0.1:{smtp_port}"));
        })
        .await;
        let response = app.register("late@example.com", "late").await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let db = atelier::storage::connect(&app.database.url, 2, Duration::from_secs(5)).await.unwrap();
        // Tried, refused, waiting for its next attempt.
        for _ in 0..100 {
            let row = only_job(&db, "email.send").await;
            if row.attempts >= 1 && row.status == "queued" {
                assert!(row.last_error.is_some());
                assert!(!row.payload.contains(&"late@example.com".to_string()), "the email is sealed");
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let smtp = SmtpSink::start_on(smtp_port, Duration::ZERO).await;
        let email = smtp.wait_for_nth("late@example.com", 1).await;
        assert_eq!(email.code().len(), 6);
        for _ in 0..100 {
            if only_job(&db, "email.send").await.status == "done" {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the email job is not done");
    }

    async fn staff_list_dead_jobs_and_queue_them_again(backend) {
        let app = TestApp::spawn(backend).await;
        let root = staff(&app).await;
        let customer = app.verified_user("ada").await;
        let db = atelier::storage::connect(&app.database.url, 2, Duration::from_secs(5)).await.unwrap();
        let email = Email {
            to: "ada@example.com".into(),
            subject: "Hello".into(),
            body: "Plain words.".into(),
            html: None,
        };
        // Sealed under a key this deployment does not have (say the secret
        // key was rotated): it can never be sent, so it is dead at once.
        let job = EmailQueue::new("a-key-from-before-the-rotation-0123456789").job(&email);
        enqueue(&db, job).await.unwrap();
        wait_for_status(&db, "dead", 1).await;

        let (status, _) = status_and_body(app.get_as(&customer.access, "/jobs/api/").await).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, body) = status_and_body(app.get_as(&root.access, "/jobs/api/?status=sleeping").await).await;
        assert_eq!((status, body["code"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_status")));
        let (status, dead) = status_and_body(app.get_as(&root.access, "/jobs/api/").await).await;
        assert_eq!(status, StatusCode::OK, "{dead}");
        assert_eq!(dead["count"], json!(1));
        let line = &dead["results"][0];
        assert_eq!((line["kind"].clone(), line["status"].clone(), line["attempts"].clone()), (json!("email.send"), json!("dead"), json!(1)));
        assert!(line["last_error"].as_str().unwrap().contains("secret key"), "{line}");
        assert!(line.get("payload").is_none(), "staff do not read emails");
        let id = line["id"].as_str().unwrap().to_string();

        let (status, queued) = status_and_body(app.post_as(&root.access, &format!("/jobs/api/{id}/retry/"), json!({})).await).await;
        assert_eq!(status, StatusCode::OK, "{queued}");
        assert_eq!((queued["status"].clone(), queued["attempts"].clone()), (json!("queued"), json!(0)));
        // It runs again (and, the cause unfixed, dies again).
        for _ in 0..200 {
            let row = job::Entity::find().filter(job::Column::Kind.eq("email.send")).filter(job::Column::Status.eq("dead")).all(&db).await.unwrap();
            if row.len() == 1 && row[0].attempts == 1 && row[0].id.to_string() == id { break; }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (_, dead) = status_and_body(app.get_as(&root.access, "/jobs/api/").await).await;
        assert_eq!((dead["count"].clone(), dead["results"][0]["attempts"].clone()), (json!(1), json!(1)));
        let (status, body) = status_and_body(app.post_as(&root.access, &format!("/jobs/api/{}/retry/", uuid::Uuid::now_v7()), json!({})).await).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        let (_, done) = status_and_body(app.get_as(&root.access, "/jobs/api/?status=done").await).await;
        assert!(done["count"].as_u64().unwrap() >= 1, "the verification email was sent: {done}");
        let done_id = done["results"][0]["id"].as_str().unwrap();
        let (status, body) = status_and_body(app.post_as(&root.access, &format!("/jobs/api/{done_id}/retry/"), json!({})).await).await;
        assert_eq!((status, body["code"].clone()), (StatusCode::CONFLICT, json!("not_dead")));
    }
}

//! Fittings under concurrent requests: racing customers, a booking storm,
//! and reminder emails sent once each whatever the number of senders.

use std::collections::BTreeMap;
use std::time::Duration;

use atelier::storage::entities::fitting_booking;
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::both_backends;
use crate::concurrency::futures_join_all;
use crate::fittings::{book, every_day, open_tailor, slots};
use crate::helpers::{TestApp, TestUser};
use crate::tailor_profiles::database;

async fn customers(app: &TestApp, prefix: &str, n: usize) -> Vec<TestUser> {
    let names: Vec<String> = (0..n).map(|i| format!("{prefix}{i}")).collect();
    futures_join_all(names.iter().map(|name| app.verified_user(name))).await
}

fn hours_slots() -> Value {
    json!({"time_zone": "Africa/Lagos", "slot_minutes": 30, "buffer_minutes": 15, "horizon_days": 30,
           "min_notice_minutes": 0, "requires_approval": false,
           "weekly_hours": every_day(json!([{"start": "08:00", "end": "20:00"}]))})
}

/// The tailor's live bookings, checked never to overlap (buffer included).
async fn live_bookings(app: &TestApp, tailor: &TestUser) -> Vec<fitting_booking::Model> {
    let db = database(app).await;
    let rows = fitting_booking::Entity::find()
        .filter(fitting_booking::Column::TailorId.eq(tailor.id.parse::<uuid::Uuid>().unwrap()))
        .filter(fitting_booking::Column::Status.is_in(["requested", "confirmed"]))
        .order_by_asc(fitting_booking::Column::StartAt)
        .all(&db)
        .await
        .unwrap();
    for pair in rows.windows(2) {
        assert!(
            pair[0].end_at + chrono::Duration::minutes(15) <= pair[1].start_at,
            "overlap: {:?} and {:?}",
            pair[0].start_at,
            pair[1].start_at
        );
    }
    rows
}

both_backends! {
    async fn two_customers_racing_for_one_slot_get_it_once(backend) {
        let app = TestApp::spawn(backend).await;
        let ade = open_tailor(&app, "ade", hours_slots()).await;
        let racers = customers(&app, "racer", 2).await;
        let open = slots(&app, &racers[0], &ade, "").await;
        for slot in open.iter().take(3) {
            let start = &slot["start"];
            let answers = futures_join_all(racers.iter().map(|c| book(&app, c, &ade, start))).await;
            let statuses: Vec<StatusCode> = answers.iter().map(|(s, _)| *s).collect();
            assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 1, "{answers:?}");
            let (_, refused) = answers.iter().find(|(s, _)| *s == StatusCode::CONFLICT).expect("one 409");
            assert_eq!(refused["code"], "slot_taken");
            let next = refused["next_slots"].as_array().unwrap();
            assert!(!next.is_empty() && next.iter().all(|s| s["start"] != *start), "{refused}");
        }
        assert_eq!(live_bookings(&app, &ade).await.len(), 3);
    }

    async fn a_booking_storm_books_each_slot_exactly_once(backend) {
        let app = TestApp::spawn(backend).await;
        let ade = open_tailor(&app, "ade", hours_slots()).await;
        // 200 customers, each asking for one of the 10 slots, all at once.
        let crowd = customers(&app, "storm", 200).await;
        let open = slots(&app, &crowd[0], &ade, "").await;
        let targets: Vec<Value> = open[..10].iter().map(|s| s["start"].clone()).collect();
        let requests = (0..200).map(|i| {
            let (who, start) = (&crowd[i % crowd.len()], &targets[(i * 7) % targets.len()]);
            book(&app, who, &ade, start)
        });
        let answers = futures_join_all(requests).await;
        let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
        for (status, body) in &answers {
            *by_status.entry(status.as_u16()).or_default() += 1;
            if *status == StatusCode::CONFLICT {
                assert_eq!(body["code"], "slot_taken", "{body}");
            }
        }
        assert_eq!(by_status, BTreeMap::from([(201, 10), (409, 190)]), "every request answered 201 or 409");
        let live = live_bookings(&app, &ade).await;
        assert_eq!(live.len(), 10);
        let booked: Vec<String> = live.iter().map(|b| b.start_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)).collect();
        let mut wanted: Vec<String> = targets.iter().map(|t| t.as_str().unwrap().to_string()).collect();
        wanted.sort();
        assert_eq!(booked, wanted, "each slot once");
    }

    async fn reminders_go_to_both_parties_once_each(backend) {
        let app = TestApp::spawn_with(backend, |s| {
            s.fittings.reminder_poll = Duration::from_millis(200);
        }).await;
        let allday = json!({"time_zone": "UTC", "slot_minutes": 30, "horizon_days": 5, "min_notice_minutes": 0,
            "requires_approval": false, "weekly_hours": every_day(json!([{"start": "00:00", "end": "23:59"}]))});
        let ade = open_tailor(&app, "ade", allday).await;
        let bisi = app.verified_user("bisi").await;
        let open = slots(&app, &bisi, &ade, "").await;
        let start_of = |s: &Value| s["start"].as_str().unwrap().parse::<DateTime<Utc>>().unwrap();
        let soon = &open[0];
        assert!(start_of(soon) - Utc::now() < chrono::Duration::minutes(60));
        let later = open.iter().find(|s| start_of(s) - Utc::now() > chrono::Duration::hours(3)).unwrap();
        assert_eq!(book(&app, &bisi, &ade, &soon["start"]).await.0, StatusCode::CREATED);
        assert_eq!(book(&app, &bisi, &ade, &later["start"]).await.0, StatusCode::CREATED);

        // The server's scheduled job, a second instance's, and three more
        // direct runs, all at once: one claim per reminder wins.
        let (_second, _stop) = app.second_instance_with(|s| s.fittings.reminder_poll = Duration::from_millis(150)).await;
        let db = atelier::storage::connect(&app.database.url, 4, Duration::from_secs(2)).await.unwrap();
        let emails = std::sync::Arc::new(atelier::mail::EmailQueue::new("test-secret-key-that-is-long-enough-0123456789"));
        let jobs = atelier::jobs::JobQueue::new(db.clone(), Default::default());
        let mailer = atelier::mail::Outbox::new(emails, jobs);
        let senders = futures_join_all((0..3).map(|_| atelier::fittings::run_due_reminders(&db, &mailer))).await;
        assert!(senders.iter().all(Result::is_ok));
        // Registration's code, then one reminder per fitting.
        let last = app.smtp.wait_for_nth("bisi@example.com", 3).await;
        app.smtp.wait_for_nth("ade@example.com", 3).await;
        tokio::time::sleep(Duration::from_millis(800)).await;
        for who in ["bisi@example.com", "ade@example.com"] {
            let emails = app.smtp.emails_to(who);
            assert_eq!(emails.len(), 3, "once each: {:?}", emails.iter().map(|e| e.data.lines().find(|l| l.starts_with("Subject")).unwrap_or("").to_string()).collect::<Vec<_>>());
            let subjects: Vec<bool> = emails[1..].iter().map(|e| e.data.contains("in 1 hour")).collect();
            assert_eq!(subjects.iter().filter(|s| **s).count(), 1, "one hour-before reminder");
            assert!(emails[1..].iter().any(|e| e.data.contains("in 24 hours")));
        }
        assert!(last.data.contains("Fitting reminder"));
        // Nothing more is due.
        assert_eq!(atelier::fittings::run_due_reminders(&db, &mailer).await.unwrap(), 0);
    }
}

both_backends! {
    async fn todays_fittings_are_the_tailors_local_day(backend) {
        let app = TestApp::spawn(backend).await;
        // A zone whose day differs from UTC's for part of each day.
        let allday = json!({"time_zone": "Pacific/Kiritimati", "slot_minutes": 60, "horizon_days": 3,
            "min_notice_minutes": 0, "requires_approval": false,
            "weekly_hours": every_day(json!([{"start": "00:00", "end": "23:59"}]))});
        let ade = open_tailor(&app, "ade", allday).await;
        let bisi = app.verified_user("bisi").await;
        let open = slots(&app, &bisi, &ade, "").await;
        let today = &open[0]["start_local"].as_str().unwrap()[..10];
        let tomorrow = open.iter().find(|s| !s["start_local"].as_str().unwrap().starts_with(today)).unwrap();
        for slot in [&open[0], tomorrow] {
            assert_eq!(book(&app, &bisi, &ade, &slot["start"]).await.0, StatusCode::CREATED);
        }
        let db = atelier::storage::connect(&app.database.url, 2, Duration::from_secs(2)).await.unwrap();
        let outbox = atelier::mail::Outbox::new(
            std::sync::Arc::new(atelier::mail::EmailQueue::new("k")),
            atelier::jobs::JobQueue::new(db.clone(), Default::default()),
        );
        let service = atelier::fittings::FittingService::new(db, Default::default(), outbox, "k");
        let tailor_id = ade.id.parse().unwrap();
        let fittings = service.todays_fittings(tailor_id, Utc::now()).await.unwrap();
        let local_today = Utc::now().with_timezone(&chrono_tz::Pacific::Kiritimati).date_naive().to_string();
        // Just before the tailor's midnight the first open slot is tomorrow's.
        let expected: Vec<&str> = [&open[0], tomorrow].iter()
            .filter(|s| s["start_local"].as_str().unwrap().starts_with(&local_today))
            .map(|s| s["start"].as_str().unwrap())
            .collect();
        let found: Vec<&str> = fittings.iter().map(|f| f.start.as_str()).collect();
        assert_eq!(found, expected, "only today's, in the tailor's zone");
        assert!(fittings.iter().all(|f| f.start_local.ends_with("+14:00")));
    }
}

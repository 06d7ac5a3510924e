//! One durable queue for all work done after a response: emails, refund
//! sends, pushes, reminders, expiries, digests, housekeeping.
//!
//! A job is a row written in the same transaction as the change that causes
//! it ([`enqueue`]), so work is never promised by a change that rolled back
//! and never lost by one that committed. Workers on every instance claim due
//! jobs with a lease; a job runs on one worker at a time, is retried with
//! backoff when its handler asks, and ends `done` or `dead` (staff can list
//! dead jobs and queue them again). A `dedup_key` makes an event enqueued
//! twice one job. Why our own table rather than a crate: see the README
//! ("Background work").

mod admin;
pub mod http;
mod schedule;
mod worker;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

pub use admin::{JobView, JobsError, purge_done};
pub use schedule::Every;

use crate::storage::entities::job;
use crate::storage::{StorageError, WriteGate};

/// A job's life: `queued` → `running` → `done`, back to `queued` for a
/// retry, or `dead` when it failed for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    Dead,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Dead => "dead",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Queued, Self::Running, Self::Done, Self::Dead]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }
}

/// Default number of runs before a job is dead.
pub const DEFAULT_MAX_ATTEMPTS: i32 = 8;

/// A job to write; see [`enqueue`].
#[derive(Debug, Clone)]
pub struct NewJob {
    kind: &'static str,
    payload: String,
    dedup_key: Option<String>,
    run_at: DateTime<Utc>,
    max_attempts: i32,
}

impl NewJob {
    pub fn new(kind: &'static str, payload: &impl Serialize) -> Self {
        Self {
            kind,
            payload: serde_json::to_string(payload).expect("job payloads serialise"),
            dedup_key: None,
            run_at: Utc::now(),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }

    /// A second job with the same key is not written (the first may be
    /// queued, running or long done).
    pub fn dedup_key(mut self, key: impl Into<String>) -> Self {
        self.dedup_key = Some(key.into());
        self
    }

    /// Not run before `at`.
    pub fn run_at(mut self, at: DateTime<Utc>) -> Self {
        self.run_at = at;
        self
    }

    pub fn max_attempts(mut self, attempts: i32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }
}

/// Writes the job, as part of the caller's transaction when `conn` is one.
/// Returns false when a job with the same dedup key exists already.
/// Workers find it on their next look (at most the poll interval); call
/// [`JobQueue::wake`] after the commit to start it at once on this instance.
pub async fn enqueue(conn: &impl ConnectionTrait, new: NewJob) -> Result<bool, StorageError> {
    let now = Utc::now();
    let row = job::ActiveModel {
        id: Set(Uuid::now_v7()),
        kind: Set(new.kind.to_string()),
        payload: Set(new.payload),
        dedup_key: Set(new.dedup_key),
        status: Set(JobStatus::Queued.as_str().into()),
        attempts: Set(0),
        max_attempts: Set(new.max_attempts),
        run_at: Set(new.run_at),
        lease_until: Set(None),
        claimed_by: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        finished_at: Set(None),
    };
    // ON CONFLICT DO NOTHING rather than catching the violation: on
    // PostgreSQL a failed statement would abort the caller's transaction.
    let written = job::Entity::insert(row)
        .on_conflict(
            OnConflict::column(job::Column::DedupKey)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok(written == 1)
}

/// A claimed job, as its handler sees it.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: Uuid,
    pub kind: String,
    pub payload: String,
    /// This run's number: 1 the first time.
    pub attempt: i32,
    pub max_attempts: i32,
    pub created_at: DateTime<Utc>,
}

impl Job {
    /// The payload as the handler's input type; a payload that does not
    /// parse can never succeed, so it is a [`JobFailure::Fatal`].
    pub fn input<T: DeserializeOwned>(&self) -> Result<T, JobFailure> {
        serde_json::from_str(&self.payload)
            .map_err(|e| JobFailure::Fatal(format!("payload does not parse: {e}")))
    }

    /// True when a failure now makes the job dead.
    pub fn is_last_attempt(&self) -> bool {
        self.attempt >= self.max_attempts
    }
}

/// Why a run did not finish the job.
#[derive(Debug)]
pub enum JobFailure {
    /// Try again: after `after` if given, else after the queue's backoff.
    Retry {
        reason: String,
        after: Option<Duration>,
    },
    /// Never going to work: the job is dead at once.
    Fatal(String),
}

impl JobFailure {
    pub fn retry(reason: impl std::fmt::Display) -> Self {
        JobFailure::Retry {
            reason: reason.to_string(),
            after: None,
        }
    }
}

/// What a finished run asks of the queue besides `done`.
pub enum Outcome {
    Done,
    /// Not an error: come back at `at` (e.g. a push held for quiet hours);
    /// the attempt is not counted.
    Later(DateTime<Utc>),
}

pub type JobResult = Result<Outcome, JobFailure>;
type HandlerFuture = Pin<Box<dyn Future<Output = JobResult> + Send>>;
type Handler = Arc<dyn Fn(Job) -> HandlerFuture + Send + Sync>;

#[derive(Clone, Debug)]
pub struct JobSettings {
    /// Jobs run at once by one instance.
    pub concurrency: usize,
    /// How often an idle worker looks for due jobs.
    pub poll_every: Duration,
    /// A claimed job is not taken by another worker for this long; the
    /// runner extends it while the job runs.
    pub lease: Duration,
    /// The first wait before a retry; it doubles with each attempt.
    pub retry_after: Duration,
    /// The longest wait between two attempts.
    pub max_backoff: Duration,
    /// Done jobs are deleted after this long (their dedup keys with them).
    pub keep_done: Duration,
    /// On shutdown, running jobs get this long to finish before they are
    /// handed back to the queue.
    pub drain_limit: Duration,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            concurrency: 16,
            poll_every: Duration::from_millis(500),
            lease: Duration::from_secs(60),
            retry_after: Duration::from_secs(5),
            max_backoff: Duration::from_secs(3600),
            keep_done: Duration::from_secs(7 * 24 * 3600),
            drain_limit: Duration::from_secs(20),
        }
    }
}

/// The queue's runtime on this instance: the handlers, the workers, the
/// schedule. Cheap to share.
pub struct JobQueue {
    db: DatabaseConnection,
    settings: JobSettings,
    handlers: std::sync::RwLock<HashMap<&'static str, Handler>>,
    schedule: std::sync::Mutex<Vec<Every>>,
    wake: Notify,
    stop: CancellationToken,
    /// Cancelled when the drain limit passes: unfinished runs hand their
    /// jobs back.
    abandon: CancellationToken,
    running: TaskTracker,
    /// On SQLite, the queue's own writes (claims, outcomes) wait in line
    /// rather than in SQLite's busy handler.
    writes: WriteGate,
}

impl JobQueue {
    pub fn new(db: DatabaseConnection, settings: JobSettings) -> Arc<Self> {
        Arc::new(Self {
            settings,
            handlers: Default::default(),
            schedule: Default::default(),
            wake: Notify::new(),
            stop: CancellationToken::new(),
            abandon: CancellationToken::new(),
            running: TaskTracker::new(),
            writes: WriteGate::for_db(&db),
            db,
        })
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// The queue's line for writes on SQLite: handlers whose writes are
    /// frequent (e.g. delivery) take it too.
    pub fn write_gate(&self) -> &WriteGate {
        &self.writes
    }

    pub fn settings(&self) -> &JobSettings {
        &self.settings
    }

    /// Jobs of `kind` are run by `handler`. Each kind has one handler.
    pub fn register<F, Fut>(&self, kind: &'static str, handler: F)
    where
        F: Fn(Job) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = JobResult> + Send + 'static,
    {
        let handler: Handler = Arc::new(move |job| Box::pin(handler(job)));
        let previous = self
            .handlers
            .write()
            .expect("job handlers lock")
            .insert(kind, handler);
        assert!(previous.is_none(), "two handlers for job kind {kind}");
    }

    fn handler(&self, kind: &str) -> Option<Handler> {
        self.handlers
            .read()
            .expect("job handlers lock")
            .get(kind)
            .cloned()
    }

    /// Kinds this instance can run: it claims no other.
    fn kinds(&self) -> Vec<String> {
        self.handlers
            .read()
            .expect("job handlers lock")
            .keys()
            .map(|k| k.to_string())
            .collect()
    }

    /// Enqueues outside any transaction and wakes this instance's workers.
    pub async fn push(&self, new: NewJob) -> Result<bool, StorageError> {
        let written = enqueue(&self.db, new).await?;
        self.wake();
        Ok(written)
    }

    /// Starts a look for due jobs now rather than at the next poll.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// The wait before attempt `attempt + 1`: doubling from the first wait.
    fn backoff(&self, attempt: i32) -> Duration {
        let doublings = u32::try_from(attempt.saturating_sub(1))
            .unwrap_or(0)
            .min(20);
        self.settings
            .retry_after
            .saturating_mul(1 << doublings)
            .min(self.settings.max_backoff)
    }

    /// Stops claiming, lets running jobs finish within the drain limit and
    /// hands the rest back to the queue for another worker.
    pub async fn shut_down(&self) {
        self.stop.cancel();
        self.running.close();
        if tokio::time::timeout(self.settings.drain_limit, self.running.wait())
            .await
            .is_err()
        {
            self.abandon.cancel();
            self.running.wait().await;
            tracing::warn!("jobs still running at shutdown were handed back to the queue");
        }
    }
}

pub(crate) fn after(wait: Duration) -> DateTime<Utc> {
    Utc::now() + TimeDelta::from_std(wait).unwrap_or_else(|_| TimeDelta::hours(1))
}

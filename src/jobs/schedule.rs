//! Recurring work (sweeps, reminders, housekeeping) as ordinary jobs: every
//! instance enqueues each period's job under a key naming the period, so
//! however many instances tick, one job runs per period, on one of them.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use super::{JobQueue, NewJob, enqueue};

/// A job of `kind` (with an empty payload) once per `period`.
#[derive(Debug, Clone, Copy)]
pub struct Every {
    pub kind: &'static str,
    pub period: Duration,
}

impl JobQueue {
    /// Runs a job of `kind` once per `period` across all instances; its
    /// handler must be registered on this one.
    pub fn every(&self, kind: &'static str, period: Duration) {
        self.schedule
            .lock()
            .expect("job schedule lock")
            .push(Every { kind, period });
    }

    pub(super) fn start_schedule(self: &Arc<Self>) {
        let entries = self.schedule.lock().expect("job schedule lock").clone();
        for entry in entries {
            tokio::spawn(self.clone().tick(entry));
        }
    }

    async fn tick(self: Arc<Self>, entry: Every) {
        let period = entry.period.max(Duration::from_millis(10));
        let mut ticker = tokio::time::interval(period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                () = self.stop.cancelled() => return,
            }
            let bucket = Utc::now().timestamp_millis() / period.as_millis().max(1) as i64;
            // One attempt: the next period's job is the retry.
            let job = NewJob::new(entry.kind, &())
                .dedup_key(format!("{}@{bucket}", entry.kind))
                .max_attempts(1);
            match enqueue(&self.db, job).await {
                Ok(true) => self.wake(),
                Ok(false) => {} // another instance enqueued this period's
                Err(err) => {
                    tracing::warn!(kind = entry.kind, error = %err, "could not enqueue scheduled work")
                }
            }
        }
    }
}

//! Claiming and running jobs. A claim is one conditional `UPDATE ...
//! RETURNING` on both databases: it takes due queued jobs and running jobs
//! whose lease lapsed, and writes a fresh claim token; every later write
//! about the run (lease extension, outcome) applies only while that token is
//! still on the row, so a worker that lost its job can never finish it.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use futures_util::FutureExt;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, UpdateMany,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{Job, JobFailure, JobQueue, JobStatus, Outcome, after};
use crate::storage::StorageError;
use crate::storage::entities::job;

impl JobQueue {
    /// Starts this instance's workers and its schedule; they stop at
    /// [`JobQueue::shut_down`].
    pub fn start(self: &Arc<Self>) {
        tokio::spawn(self.clone().work());
        self.start_schedule();
    }

    async fn work(self: Arc<Self>) {
        let concurrency = self.settings.concurrency.max(1);
        let slots = Arc::new(Semaphore::new(concurrency));
        loop {
            if self.stop.is_cancelled() {
                return;
            }
            // Claims a full batch even while runs are busy: the jobs wait for
            // a slot here (at most one run's time, well inside their lease)
            // and the queue pays one claim per batch rather than one per job.
            let claimed = match self.claim(concurrency).await {
                Ok(claimed) => claimed,
                Err(err) => {
                    tracing::warn!(error = %err, "claiming jobs failed");
                    Vec::new()
                }
            };
            let idle = claimed.len() < concurrency;
            for row in claimed {
                let permit = tokio::select! {
                    permit = slots.clone().acquire_owned() => permit.expect("semaphore stays open"),
                    // Not started: handed back for another worker at once.
                    () = self.stop.cancelled() => {
                        if let Some(token) = row.claimed_by {
                            self.release(&row, token).await;
                        }
                        continue;
                    }
                };
                self.running.spawn(self.clone().run(row, permit));
            }
            if idle {
                tokio::select! {
                    () = self.wake.notified() => {}
                    () = tokio::time::sleep(self.settings.poll_every) => {}
                    () = self.stop.cancelled() => return,
                }
            }
        }
    }

    /// Claims up to `limit` due jobs of the kinds this instance runs: those
    /// whose worker's lease lapsed first, then queued ones in the order they
    /// fell due.
    pub(super) async fn claim(&self, limit: usize) -> Result<Vec<job::Model>, StorageError> {
        let kinds = self.kinds();
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        let now = Utc::now();
        // Two conditions, each one range of its index: an OR of the two
        // would have SQLite read the whole table on every claim.
        let lapsed = Condition::all()
            .add(job::Column::Status.eq(JobStatus::Running.as_str()))
            .add(job::Column::LeaseUntil.lt(now));
        let mut claimed = self.claim_where(lapsed, &kinds, limit).await?;
        if claimed.len() < limit {
            let due = Condition::all()
                .add(job::Column::Status.eq(JobStatus::Queued.as_str()))
                .add(job::Column::RunAt.lte(now));
            claimed.extend(self.claim_where(due, &kinds, limit - claimed.len()).await?);
        }
        Ok(claimed)
    }

    async fn claim_where(
        &self,
        due: Condition,
        kinds: &[String],
        limit: usize,
    ) -> Result<Vec<job::Model>, StorageError> {
        let now = Utc::now();
        // Two statements rather than `UPDATE ... WHERE id IN (SELECT ...)`:
        // with the statistics of a table that was empty a moment ago,
        // PostgreSQL ran that form as a loop over every due row, re-running
        // the subquery for each (a burst of N jobs cost N² row visits). A
        // list of ids leaves it nothing to choose but the primary key.
        let candidates: Vec<Uuid> = job::Entity::find()
            .select_only()
            .column(job::Column::Id)
            .filter(due.clone())
            .filter(job::Column::Kind.is_in(kinds.to_vec()))
            .order_by_asc(job::Column::RunAt)
            .limit(limit as u64)
            .into_tuple()
            .all(&self.db)
            .await?;
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        // The condition is repeated: on PostgreSQL two instances may pick
        // the same ids, and the update re-checks each row after taking its
        // lock, so only one of them gets it.
        let _turn = self.writes.enter().await;
        let claimed = job::Entity::update_many()
            .col_expr(
                job::Column::Status,
                Expr::value(JobStatus::Running.as_str()),
            )
            .col_expr(job::Column::ClaimedBy, Expr::value(Uuid::now_v7()))
            .col_expr(
                job::Column::LeaseUntil,
                Expr::value(after(self.settings.lease)),
            )
            .col_expr(
                job::Column::Attempts,
                Expr::col(job::Column::Attempts).add(1),
            )
            .col_expr(job::Column::UpdatedAt, Expr::value(now))
            .filter(job::Column::Id.is_in(candidates))
            .filter(due)
            .exec_with_returning(&self.db)
            .await?;
        Ok(claimed)
    }

    async fn run(self: Arc<Self>, row: job::Model, _slot: OwnedSemaphorePermit) {
        let Some(token) = row.claimed_by else { return };
        let kind = row.kind.clone();
        let started = Instant::now();
        if row.attempts > row.max_attempts {
            // Its earlier runs never reported back (the process died each
            // time): running it again could kill this one too.
            let reason = "the worker running it stopped every time";
            self.record(&row, token, Err(JobFailure::Fatal(reason.into())))
                .await;
            return;
        }
        let Some(handler) = self.handler(&row.kind) else {
            return;
        };
        let job = Job {
            id: row.id,
            kind: row.kind.clone(),
            payload: row.payload.clone(),
            attempt: row.attempts,
            max_attempts: row.max_attempts,
            created_at: row.created_at,
        };
        let abandon = self.abandon_token();
        let outcome = self
            .run_with_lease(&row, token, handler(job), abandon)
            .await;
        match outcome {
            Some(result) => {
                let label = match &result {
                    Ok(_) => "done",
                    Err(JobFailure::Retry { .. }) => "retry",
                    Err(JobFailure::Fatal(_)) => "fatal",
                };
                metrics::counter!("jobs_finished_total", "kind" => kind.clone(), "outcome" => label)
                    .increment(1);
                metrics::histogram!("job_run_seconds", "kind" => kind)
                    .record(started.elapsed().as_secs_f64());
                self.record(&row, token, result).await;
            }
            None => self.release(&row, token).await,
        }
    }

    /// Runs the handler, extending the lease while it runs. None when the
    /// run was abandoned at shutdown.
    async fn run_with_lease(
        &self,
        row: &job::Model,
        token: Uuid,
        handler: super::HandlerFuture,
        abandon: CancellationToken,
    ) -> Option<super::JobResult> {
        let mut run = std::pin::pin!(AssertUnwindSafe(handler).catch_unwind());
        let every = (self.settings.lease / 3).max(std::time::Duration::from_millis(50));
        let mut beat = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            tokio::select! {
                result = &mut run => {
                    return Some(result.unwrap_or_else(|_| {
                        Err(JobFailure::retry("the handler panicked"))
                    }));
                }
                _ = beat.tick() => {
                    let extended = claimed_update(row, token)
                        .col_expr(job::Column::LeaseUntil, Expr::value(after(self.settings.lease)))
                        .exec(&self.db)
                        .await;
                    if let Err(err) = extended {
                        tracing::warn!(job = %row.id, error = %err, "could not extend a job's lease");
                    }
                }
                () = abandon.cancelled() => return None,
            }
        }
    }

    fn abandon_token(&self) -> CancellationToken {
        self.abandon.child_token()
    }

    async fn record(&self, row: &job::Model, token: Uuid, result: super::JobResult) {
        let now = Utc::now();
        let update = claimed_update(row, token)
            .col_expr(job::Column::ClaimedBy, Expr::value(Option::<Uuid>::None))
            .col_expr(
                job::Column::LeaseUntil,
                Expr::value(Option::<chrono::DateTime<Utc>>::None),
            );
        let update = match result {
            Ok(Outcome::Done) => update
                .col_expr(job::Column::Status, Expr::value(JobStatus::Done.as_str()))
                .col_expr(job::Column::FinishedAt, Expr::value(now))
                .col_expr(job::Column::LastError, Expr::value(Option::<String>::None)),
            Ok(Outcome::Later(at)) => update
                .col_expr(job::Column::Status, Expr::value(JobStatus::Queued.as_str()))
                .col_expr(job::Column::RunAt, Expr::value(at))
                .col_expr(job::Column::Attempts, Expr::value(row.attempts - 1)),
            Err(JobFailure::Retry {
                reason,
                after: wait,
            }) if row.attempts < row.max_attempts => {
                let wait = wait.unwrap_or_else(|| self.backoff(row.attempts));
                tracing::warn!(job = %row.id, kind = %row.kind, attempt = row.attempts, error = %reason, "job will be retried");
                update
                    .col_expr(job::Column::Status, Expr::value(JobStatus::Queued.as_str()))
                    .col_expr(job::Column::RunAt, Expr::value(after(wait)))
                    .col_expr(job::Column::LastError, Expr::value(reason))
            }
            Err(JobFailure::Retry { reason, .. } | JobFailure::Fatal(reason)) => {
                tracing::error!(job = %row.id, kind = %row.kind, attempts = row.attempts, error = %reason, "job is dead; staff can retry it");
                metrics::counter!("jobs_dead_total", "kind" => row.kind.clone()).increment(1);
                update
                    .col_expr(job::Column::Status, Expr::value(JobStatus::Dead.as_str()))
                    .col_expr(job::Column::FinishedAt, Expr::value(now))
                    .col_expr(job::Column::LastError, Expr::value(reason))
            }
        };
        let _turn = self.writes.enter().await;
        match update.exec(&self.db).await {
            Ok(done) if done.rows_affected == 0 => {
                tracing::warn!(job = %row.id, "a job's lease lapsed while it ran; its outcome was dropped")
            }
            Ok(_) => {}
            Err(err) => {
                tracing::warn!(job = %row.id, error = %err, "could not record a job's outcome; it runs again after its lease")
            }
        }
    }

    /// Hands an unfinished job back: another worker may start it at once.
    async fn release(&self, row: &job::Model, token: Uuid) {
        let _turn = self.writes.enter().await;
        let released = claimed_update(row, token)
            .col_expr(job::Column::Status, Expr::value(JobStatus::Queued.as_str()))
            .col_expr(job::Column::ClaimedBy, Expr::value(Option::<Uuid>::None))
            .col_expr(
                job::Column::LeaseUntil,
                Expr::value(Option::<chrono::DateTime<Utc>>::None),
            )
            .col_expr(job::Column::Attempts, Expr::value(row.attempts - 1))
            .col_expr(job::Column::RunAt, Expr::value(Utc::now()))
            .exec(&self.db)
            .await;
        if let Err(err) = released {
            tracing::warn!(job = %row.id, error = %err, "could not hand a job back; it runs again after its lease");
        }
    }
}

/// An update of the job that applies only while this claim holds it.
fn claimed_update(row: &job::Model, token: Uuid) -> UpdateMany<job::Entity> {
    job::Entity::update_many()
        .col_expr(job::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(job::Column::Id.eq(row.id))
        .filter(job::Column::ClaimedBy.eq(token))
        .filter(job::Column::Status.eq(JobStatus::Running.as_str()))
}

//! The sweep (`payout.sweep`, once per period across all instances).
//!
//! Only jobs move a `pending` or `processing` payout on their own (webhooks
//! and staff aside): its send job, then its verify job. A job that died
//! (every attempt failed on the database, say) leaves no job behind, and
//! the tailor's money would stay held with nothing to move it. The sweep
//! finds such payouts (unmoved for `stuck_after`, no job queued or running
//! for them) and queues the job that moves them again: a send for a
//! `pending` one (it waits its turn as usual) and a verify for a
//! `processing` one, never a send, since only Paystack knows whether that
//! transfer went. `unconfirmed` payouts are staff's, and not swept.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{TimeDelta, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::machine::Status;
use super::send::{PayoutJob, SEND_JOB, VERIFY_JOB, send_job, verify_attempts, verify_job};
use super::{PayoutError, PayoutService};
use crate::jobs::{JobFailure, JobStatus, Outcome, enqueue};
use crate::storage::entities::{job, payout};

pub const SWEEP_JOB: &str = "payout.sweep";

impl PayoutService {
    /// Runs `sweep_stuck` every `sweep_every`, once per period across all
    /// instances (registered only where payouts are sent).
    pub(super) fn schedule_sweep(self: &Arc<Self>) {
        let this = self.clone();
        self.jobs.register(SWEEP_JOB, move |_job| {
            let this = this.clone();
            async move {
                this.sweep_stuck().await.map_err(JobFailure::retry)?;
                Ok(Outcome::Done)
            }
        });
        self.jobs.every(SWEEP_JOB, self.settings.sweep_every);
    }

    /// Queues a job for every payout that no job will move any more;
    /// returns how many.
    pub async fn sweep_stuck(&self) -> Result<usize, PayoutError> {
        let unmoved_since = Utc::now()
            - TimeDelta::from_std(self.settings.stuck_after).unwrap_or(TimeDelta::hours(1));
        let candidates = payout::Entity::find()
            .filter(
                payout::Column::Status
                    .is_in([Status::Pending.as_str(), Status::Processing.as_str()]),
            )
            .filter(payout::Column::UpdatedAt.lt(unmoved_since))
            .all(&self.db)
            .await?;
        if candidates.is_empty() {
            return Ok(0);
        }
        let followed = self.payouts_with_live_jobs().await?;
        let round = format!("sweep:{}", Utc::now().timestamp_micros());
        let mut queued = 0;
        for row in candidates.iter().filter(|row| !followed.contains(&row.id)) {
            let job = match Status::parse(&row.status) {
                Some(Status::Pending) => send_job(row.id, &round),
                Some(Status::Processing) => verify_job(row.id, &round, Utc::now())
                    .max_attempts(verify_attempts(self.settings.verify_tries)),
                _ => continue,
            };
            tracing::warn!(payout = %row.id, reference = %row.reference, status = %row.status,
                "payout had no job left to move it; queued one");
            enqueue(&self.db, job).await?;
            queued += 1;
        }
        if queued > 0 {
            self.jobs.wake();
        }
        Ok(queued)
    }

    /// The payouts that a send or verify job, queued or running, is for.
    async fn payouts_with_live_jobs(&self) -> Result<HashSet<Uuid>, PayoutError> {
        let payloads: Vec<String> = job::Entity::find()
            .select_only()
            .column(job::Column::Payload)
            .filter(job::Column::Kind.is_in([SEND_JOB, VERIFY_JOB]))
            .filter(
                job::Column::Status
                    .is_in([JobStatus::Queued.as_str(), JobStatus::Running.as_str()]),
            )
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(payloads
            .iter()
            .filter_map(|p| serde_json::from_str::<PayoutJob>(p).ok())
            .map(|j| j.payout_id)
            .collect())
    }
}

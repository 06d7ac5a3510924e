//! The sender (`payout.send`) and the verifier (`payout.verify`).
//!
//! Sending: a payout's turn comes when its tailor has no transfer in
//! flight; the move `pending` → `processing` is one conditional statement
//! on its own (outside any bigger transaction, so on PostgreSQL a refusal
//! by the one-in-flight index spoils nothing) and only the job that made
//! it calls `/transfer`. A job that finds its payout `processing` already
//! (a run cut short after the claim, a second job) never sends: it asks
//! the verifier. Paystack's transfer OTP must be off (dashboard, Settings →
//! Preferences): a transfer waiting for an OTP is left to staff.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use uuid::Uuid;

use super::machine::{Event, Status};
use super::settle::Detail;
use super::{PayoutError, PayoutService};
use crate::jobs::{Job, JobFailure, JobResult, NewJob, Outcome, enqueue};
use crate::storage::StorageError;
use crate::storage::entities::payout;
use crate::wallet::transfers::{ProviderFailure, Transfer, TransferRequest, TransferState};

pub const SEND_JOB: &str = "payout.send";
pub const VERIFY_JOB: &str = "payout.verify";
/// The longest wait between two verifications of an unknown outcome.
const MAX_VERIFY_WAIT: Duration = Duration::from_secs(1200);

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct PayoutJob {
    pub(super) payout_id: Uuid,
}

/// A send job for the payout; `round` tells apart the occasions it is
/// (re)queued for (first, after the tailor's previous payout settled, a
/// staff retry), each once.
pub(super) fn send_job(payout_id: Uuid, round: &str) -> NewJob {
    NewJob::new(SEND_JOB, &PayoutJob { payout_id })
        .dedup_key(format!("payout.send:{}:{round}", payout_id.simple()))
}

pub(super) fn verify_job(payout_id: Uuid, round: &str, at: DateTime<Utc>) -> NewJob {
    NewJob::new(VERIFY_JOB, &PayoutJob { payout_id })
        .dedup_key(format!("payout.verify:{}:{round}", payout_id.simple()))
        .run_at(at)
}

fn after(wait: Duration) -> DateTime<Utc> {
    Utc::now() + TimeDelta::from_std(wait).unwrap_or_else(|_| TimeDelta::hours(1))
}

impl PayoutService {
    /// This instance sends and verifies payouts. Without Paystack nothing
    /// is registered: the jobs wait for an instance that has a key.
    pub fn serve(self: &std::sync::Arc<Self>) {
        if self.transfers.is_none() {
            return;
        }
        let this = self.clone();
        self.jobs.register(SEND_JOB, move |job| {
            let this = this.clone();
            async move { this.send_job(job).await }
        });
        let this = self.clone();
        self.jobs.register(VERIFY_JOB, move |job| {
            let this = this.clone();
            async move { this.verify_job(job).await }
        });
        self.schedule_sweep();
    }

    async fn send_job(&self, job: Job) -> JobResult {
        let input: PayoutJob = job.input()?;
        self.send(input.payout_id, job.id)
            .await
            .map_err(JobFailure::retry)
    }

    async fn send(&self, id: Uuid, job: Uuid) -> Result<Outcome, PayoutError> {
        let Some(row) = payout::Entity::find_by_id(id).one(&self.db).await? else {
            return Ok(Outcome::Done);
        };
        match Status::parse(&row.status) {
            Some(Status::Pending) => {}
            Some(Status::Processing) => {
                // Claimed by a run that may have sent it: only Paystack knows.
                self.ask_verifier(
                    id,
                    &format!("send:{}", job.simple()),
                    self.settings.verify_soon,
                )
                .await?;
                return Ok(Outcome::Done);
            }
            _ => return Ok(Outcome::Done),
        }
        let recheck = Outcome::Later(after(self.settings.turn_recheck));
        if self.has_in_flight(row.tailor_id).await? {
            return Ok(recheck);
        }
        let claimed = {
            let _turn = self.writes.enter().await;
            payout::Entity::update_many()
                .col_expr(
                    payout::Column::Status,
                    Expr::value(Status::Processing.as_str()),
                )
                .col_expr(payout::Column::UpdatedAt, Expr::value(Utc::now()))
                .filter(payout::Column::Id.eq(id))
                .filter(payout::Column::Status.eq(Status::Pending.as_str()))
                .exec(&self.db)
                .await
        };
        match claimed.map_err(StorageError::from) {
            Ok(done) if done.rows_affected == 1 => {}
            // Changed since it was read: look again.
            Ok(_) => return Ok(Outcome::Later(Utc::now())),
            // Another of the tailor's payouts took the slot in between.
            Err(StorageError::UniqueViolation(_)) => return Ok(recheck),
            Err(e) => return Err(e.into()),
        }
        let transfers = self.transfers.as_ref().expect("served only with Paystack");
        let request = TransferRequest {
            amount_kobo: row.amount_kobo,
            recipient_code: &row.recipient_code,
            reference: &row.reference,
            reason: "Atelier payout",
        };
        let outcome = transfers.initiate_transfer(&request).await;
        self.record_send(&row, outcome).await?;
        Ok(Outcome::Done)
    }

    async fn has_in_flight(&self, tailor: Uuid) -> Result<bool, PayoutError> {
        let in_flight = payout::Entity::find()
            .filter(payout::Column::TailorId.eq(tailor))
            .filter(
                payout::Column::Status
                    .is_in([Status::Processing.as_str(), Status::Unconfirmed.as_str()]),
            )
            .count(&self.db)
            .await?;
        Ok(in_flight > 0)
    }

    async fn ask_verifier(&self, id: Uuid, round: &str, wait: Duration) -> Result<(), PayoutError> {
        let job = verify_job(id, round, after(wait))
            .max_attempts(verify_attempts(self.settings.verify_tries));
        enqueue(&self.db, job).await?;
        self.jobs.wake();
        Ok(())
    }

    async fn record_send(
        &self,
        row: &payout::Model,
        outcome: Result<Transfer, ProviderFailure>,
    ) -> Result<(), PayoutError> {
        let round = format!("sent:{}", row.updated_at.timestamp_micros());
        match outcome {
            Ok(transfer) => {
                tracing::info!(payout = %row.id, reference = %row.reference, status = %transfer.status, "transfer sent");
                self.follow(row, &transfer, &round).await
            }
            Err(failure) if failure.nothing_happened() => {
                tracing::warn!(payout = %row.id, reference = %row.reference, error = %failure, "transfer refused; the money is available again");
                self.settle(row.id, Event::Failed, Detail::reason(failure.to_string()))
                    .await
                    .map(drop)
            }
            Err(failure) => {
                tracing::error!(payout = %row.id, reference = %row.reference, error = %failure, "transfer outcome unknown; verifying, never resending");
                self.ask_verifier(row.id, &round, self.settings.verify_soon)
                    .await
            }
        }
    }

    /// Acts on what Paystack says of a transfer (an answer to `/transfer`
    /// or to verify).
    async fn follow(
        &self,
        row: &payout::Model,
        transfer: &Transfer,
        round: &str,
    ) -> Result<(), PayoutError> {
        if transfer.amount != row.amount_kobo {
            tracing::error!(payout = %row.id, reference = %row.reference, expected = row.amount_kobo, got = transfer.amount, "transfer amount does not match; left to staff");
            let why = format!(
                "Paystack reports {} kobo for this transfer of {} kobo.",
                transfer.amount, row.amount_kobo
            );
            self.settle(row.id, Event::Unconfirm, Detail::reason(why))
                .await?;
            return Ok(());
        }
        let detail = Detail {
            transfer_code: transfer.transfer_code.clone(),
            ..Detail::default()
        };
        match transfer.state() {
            TransferState::Succeeded => {
                self.settle(row.id, Event::Succeeded, detail).await?;
            }
            TransferState::Failed => {
                let event = if transfer.status == "reversed" {
                    Event::Reversed
                } else {
                    Event::Failed
                };
                let detail = Detail {
                    failure_reason: Some(format!("Paystack: {}", transfer.status)),
                    ..detail
                };
                self.settle(row.id, event, detail).await?;
            }
            TransferState::InFlight => {
                if let Some(code) = &transfer.transfer_code {
                    payout::Entity::update_many()
                        .col_expr(payout::Column::TransferCode, Expr::value(code.clone()))
                        .filter(payout::Column::Id.eq(row.id))
                        .exec(&self.db)
                        .await?;
                }
                self.ask_verifier(row.id, round, self.settings.verify_after)
                    .await?;
            }
            TransferState::NeedsOtp => {
                tracing::error!(payout = %row.id, reference = %row.reference, "Paystack asks for a transfer OTP; turn OTP off in the dashboard. Left to staff");
                let why = "Paystack asks for an OTP for this transfer (transfer OTP must be off in the Paystack dashboard).";
                self.settle(
                    row.id,
                    Event::Unconfirm,
                    Detail {
                        failure_reason: Some(why.into()),
                        ..detail
                    },
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn verify_job(&self, job: Job) -> JobResult {
        let input: PayoutJob = job.input()?;
        let Some(row) = payout::Entity::find_by_id(input.payout_id)
            .one(&self.db)
            .await
            .map_err(JobFailure::retry)?
        else {
            return Ok(Outcome::Done);
        };
        // Settled meanwhile (a webhook, staff): nothing to ask.
        if row.status != Status::Processing.as_str() {
            return Ok(Outcome::Done);
        }
        let transfers = self.transfers.as_ref().expect("served only with Paystack");
        let failure = match transfers.verify_transfer(&row.reference).await {
            Ok(transfer) if transfer.state() == TransferState::InFlight => {
                // On its way: not a failed try.
                return Ok(Outcome::Later(after(self.settings.verify_after)));
            }
            Ok(transfer) => {
                let round = format!("verified:{}", job.id.simple());
                self.follow(&row, &transfer, &round)
                    .await
                    .map_err(JobFailure::retry)?;
                return Ok(Outcome::Done);
            }
            Err(failure) => failure,
        };
        let tries = self.settings.verify_tries.max(1);
        if job.attempt >= tries || job.is_last_attempt() {
            tracing::error!(payout = %row.id, reference = %row.reference, error = %failure, "transfer still unknown after verifying; left to staff");
            let why = if failure.is_not_found() {
                "Paystack has no transfer with this reference (yet); a person must check."
                    .to_string()
            } else {
                format!("Could not verify the transfer: {failure}")
            };
            self.settle(row.id, Event::Unconfirm, Detail::reason(why))
                .await
                .map_err(JobFailure::retry)?;
            return Ok(Outcome::Done);
        }
        let doublings = u32::try_from(job.attempt.saturating_sub(1))
            .unwrap_or(0)
            .min(16);
        let wait = self
            .settings
            .verify_soon
            .saturating_mul(1 << doublings)
            .min(MAX_VERIFY_WAIT);
        Err(JobFailure::Retry {
            reason: format!("verify: {failure}"),
            after: Some(wait),
        })
    }
}

/// The verify job's own attempts count its tries (one more, so the last
/// try can still leave the payout to staff rather than die).
pub(super) fn verify_attempts(tries: i32) -> i32 {
    tries.max(1) + 1
}

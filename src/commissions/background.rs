//! Work no request does, as a scheduled job: reminding tailors of due
//! dates (24, 12 and 6 hours before, once each whatever the number of
//! instances: each reminder is claimed by a conditional update, and its
//! email queued in the claim's transaction, so it is neither sent twice nor
//! lost to a crash) and completing delivered commissions nobody disputed in
//! time.

use std::sync::Arc;

use chrono::{TimeDelta, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait};

use super::machine::{Action, Actor, Status};
use super::{CommissionError, CommissionService, Event, moved, status_of, update_from};
use crate::jobs::{JobFailure, JobQueue, Outcome};
use crate::mail::Email;
use crate::storage::entities::{commission, user};

const DUE_WORK_JOB: &str = "commissions.due_work";

/// Rows handled per look; the rest wait for the next.
const BATCH: u64 = 100;

/// Hours before the due date, and the column that records each was sent.
/// A later (closer) reminder also marks the earlier ones, so a commission
/// quoted 5 hours before its due date gets one reminder, not three.
const REMINDERS: [(i64, commission::Column); 3] = [
    (6, commission::Column::Reminded6hAt),
    (12, commission::Column::Reminded12hAt),
    (24, commission::Column::Reminded24hAt),
];

impl CommissionService {
    /// One look for due reminders and commissions to complete; returns how
    /// many reminders this instance sent and how many it completed.
    pub async fn run_due_work(&self) -> Result<(usize, usize), CommissionError> {
        let reminded = self.send_due_reminders().await?;
        let completed = self.complete_untouched().await?;
        Ok((reminded, completed))
    }

    async fn send_due_reminders(&self) -> Result<usize, CommissionError> {
        let now = Utc::now();
        let (furthest, _) = REMINDERS[REMINDERS.len() - 1];
        let due = commission::Entity::find()
            .filter(
                commission::Column::Status
                    .is_in([Status::AwaitingDeposit, Status::InProgress].map(Status::as_str)),
            )
            .filter(commission::Column::DueAt.gt(now))
            .filter(commission::Column::DueAt.lte(now + TimeDelta::hours(furthest)))
            // Once the closest reminder is sent there is nothing left to send.
            .filter(REMINDERS[0].1.is_null())
            .order_by_asc(commission::Column::DueAt)
            .limit(BATCH)
            .all(&self.db)
            .await?;
        let mut sent = 0;
        for row in due {
            let Some(due_at) = row.due_at else { continue };
            // The most specific reminder for the time left: every instance
            // picks the same one, so they compete for one claim.
            let Some(index) = REMINDERS
                .iter()
                .position(|(hours, _)| due_at <= now + TimeDelta::hours(*hours))
            else {
                continue;
            };
            if self.remind(&row, index).await? {
                sent += 1;
            }
        }
        if sent > 0 {
            self.outbox.wake();
        }
        Ok(sent)
    }

    /// Claims the reminder (this one and every earlier, longer one still
    /// unsent) and, in the same transaction, records it on the timeline and
    /// queues its email. False when it was sent before, or by another run.
    async fn remind(&self, row: &commission::Model, index: usize) -> Result<bool, CommissionError> {
        let (hours, column) = REMINDERS[index];
        let now = Utc::now();
        let txn = self.db.begin().await?;
        let mut claim = commission::Entity::update_many()
            .filter(commission::Column::Id.eq(row.id))
            .filter(column.is_null());
        for (_, other) in &REMINDERS[index..] {
            claim = claim.col_expr(*other, Expr::col(*other).if_null(now));
        }
        if claim.exec(&txn).await?.rows_affected != 1 {
            txn.rollback().await?;
            return Ok(false);
        }
        let mut event = Event::new(row, Actor::System, None, "reminder");
        let note = format!("Due in {hours} hours.");
        event.note = &note;
        event.record(&txn).await?;
        // A deleted tailor's account is gone: the claim and the timeline
        // line still stand, so no later run tries again.
        if let Some(tailor) = user::Entity::find_by_id(row.tailor_id).one(&txn).await? {
            let due = row.due_at.map(|d| d.to_rfc3339()).unwrap_or_default();
            let email = Email {
                to: tailor.email.clone(),
                subject: format!("Due in {hours} hours: {}", row.garment_type),
                body: format!(
                    "Hello {},\n\nThe {} you are making (commission {}) is due at {due} UTC, \
                     in about {hours} hours.\n\nAtelier",
                    tailor.username, row.garment_type, row.id
                ),
                html: None,
            };
            self.outbox.enqueue(&txn, &email, None).await?;
        }
        txn.commit().await?;
        Ok(true)
    }

    /// Delivered commissions past the automatic-completion time complete.
    async fn complete_untouched(&self) -> Result<usize, CommissionError> {
        let window =
            TimeDelta::from_std(self.settings.auto_complete_after).unwrap_or(TimeDelta::MAX);
        let cutoff = Utc::now() - window;
        let stale = commission::Entity::find()
            .filter(commission::Column::Status.eq(Status::Delivered.as_str()))
            .filter(commission::Column::DeliveredAt.lte(cutoff))
            .order_by_asc(commission::Column::DeliveredAt)
            .limit(BATCH)
            .all(&self.db)
            .await?;
        let mut completed = 0;
        for row in stale {
            let Some(to) = super::machine::next(status_of(&row), Action::Complete, Actor::System)
            else {
                continue;
            };
            let txn = self.db.begin().await?;
            let update = update_from(row.id, status_of(&row), to)
                .filter(commission::Column::DeliveredAt.lte(cutoff));
            if !moved(&txn, update).await? {
                txn.rollback().await?;
                continue;
            }
            Event::new(&row, Actor::System, None, "completed")
                .status(to)
                .note("Completed automatically: no dispute after delivery.")
                .record(&txn)
                .await?;
            super::release_earnings(&txn, &row, "Released: completed with no dispute.").await?;
            txn.commit().await?;
            completed += 1;
        }
        Ok(completed)
    }

    /// Runs `run_due_work` every `check_every`, once per period across all
    /// instances.
    pub fn schedule_due_work(self: &Arc<Self>, jobs: &JobQueue) {
        let this = self.clone();
        jobs.register(DUE_WORK_JOB, move |_job| {
            let this = this.clone();
            async move {
                this.run_due_work().await.map_err(JobFailure::retry)?;
                Ok(Outcome::Done)
            }
        });
        jobs.every(DUE_WORK_JOB, self.settings.check_every);
    }
}

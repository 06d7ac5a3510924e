//! The release of delivered shop orders' escrow once their hold is over: a
//! scheduled sweep (one run per period across all instances) reads the due
//! escrow rows by their index and releases each in its own transaction,
//! after taking the tailor's row and reading the row again under it. Two
//! sweeps that meet (a slow run overlapping the next period's) queue on
//! that lock, and the second finds nothing left: each order is released
//! exactly once. A sweep rather than a job per order: a hold changed in
//! the configuration, or an order delivered before this existed, still gets
//! released, and nothing is left to clean up when a refund empties escrow.

use std::sync::Arc;

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait};

use super::WalletService;
use super::flows::release;
use super::ledger::{LedgerError, Source, SourceKind, lock};
use crate::jobs::{JobFailure, JobQueue, Outcome};
use crate::storage::entities::{order, wallet_escrow};

const RELEASE_JOB: &str = "wallet.release_due";
/// Escrows released per run; the next run takes the rest.
const BATCH: u64 = 200;

impl WalletService {
    /// Releases every order whose hold is over; returns how many.
    pub async fn release_due(&self) -> Result<usize, LedgerError> {
        use wallet_escrow::Column as C;
        let now = Utc::now();
        let due = wallet_escrow::Entity::find()
            .filter(C::ReleaseAt.lte(now))
            .filter(C::HeldKobo.gt(0))
            .order_by_asc(C::ReleaseAt)
            .limit(BATCH)
            .all(&self.db)
            .await?;
        let mut released = 0;
        for row in due {
            let txn = self.db.begin().await?;
            // The tailor's row first: a write, so on SQLite the transaction
            // starts as a writer, and everything below is read under it.
            lock(&txn, row.tailor_id).await?;
            let still_due = wallet_escrow::Entity::find_by_id(row.source_id)
                .one(&txn)
                .await?
                .is_some_and(|r| r.held_kobo > 0 && r.release_at.is_some_and(|at| at <= now));
            if !still_due {
                txn.rollback().await?;
                continue;
            }
            if !self.releasable(&txn, &row).await? {
                // Off the sweep, or it would fill every batch from now on.
                tracing::warn!(source = %row.source_id, "escrow due for an order that is not delivered; left held");
                wallet_escrow::Entity::update_many()
                    .col_expr(C::ReleaseAt, Expr::value(None::<chrono::DateTime<Utc>>))
                    .filter(C::SourceId.eq(row.source_id))
                    .exec(&txn)
                    .await?;
                txn.commit().await?;
                continue;
            }
            let source = Source {
                kind: SourceKind::Order,
                id: row.source_id,
            };
            let memo = format!("Released {} after delivery.", self.hold_words());
            if release(&txn, row.tailor_id, source, &memo).await?.is_some() {
                released += 1;
            }
            txn.commit().await?;
        }
        if released > 0 {
            tracing::info!(released, "escrow released after the hold");
        }
        Ok(released)
    }

    /// Only a shop order still delivered (or completed) is released by time.
    async fn releasable(
        &self,
        conn: &impl sea_orm::ConnectionTrait,
        row: &wallet_escrow::Model,
    ) -> Result<bool, LedgerError> {
        if row.source_kind != SourceKind::Order.as_str() {
            return Ok(false);
        }
        let status = order::Entity::find_by_id(row.source_id)
            .one(conn)
            .await?
            .map(|o| o.status);
        Ok(matches!(status.as_deref(), Some("delivered" | "completed")))
    }

    fn hold_words(&self) -> String {
        let secs = self.settings.hold.as_secs();
        match secs {
            86_400 => "1 day".into(),
            s if s % 86_400 == 0 && s > 0 => format!("{} days", s / 86_400),
            s => format!("{s} seconds"),
        }
    }

    /// Runs `release_due` every `release_every`, once per period across all
    /// instances.
    pub fn schedule_releases(self: &Arc<Self>, jobs: &JobQueue) {
        let this = self.clone();
        jobs.register(RELEASE_JOB, move |_job| {
            let this = this.clone();
            async move {
                this.release_due().await.map_err(JobFailure::retry)?;
                Ok(Outcome::Done)
            }
        });
        jobs.every(RELEASE_JOB, self.settings.release_every);
    }
}

//! One move of a payout (see `machine`), with what it means for the money
//! and for the tailor, in the caller's transaction: the conditional status
//! update first (so on SQLite the transaction starts with a write, and two
//! movers of one payout cannot both win), then the ledger postings (their
//! dedup keys are a second guard), the notification, and a wake-up for the
//! tailor's next waiting payout when the slot frees.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};
use uuid::Uuid;

use super::machine::{Event, Status, next_status};
use super::send::send_job;
use super::{PayoutError, PayoutService};
use crate::jobs::enqueue;
use crate::storage::entities::payout;
use crate::wallet::flows;

/// What a move records besides the status.
#[derive(Debug, Default, Clone)]
pub struct Detail {
    pub failure_reason: Option<String>,
    pub transfer_code: Option<String>,
    pub staff_note: Option<String>,
}

impl Detail {
    pub fn reason(why: impl Into<String>) -> Self {
        Self {
            failure_reason: Some(why.into()),
            ..Self::default()
        }
    }
}

/// Moves `row` (as read) by `event`. `None` when the move is not allowed
/// from its status, or when the row changed since it was read (nothing was
/// written then; the caller may read it again).
pub(super) async fn apply(
    conn: &impl ConnectionTrait,
    row: &payout::Model,
    event: Event,
    detail: Detail,
) -> Result<Option<Status>, PayoutError> {
    let Some(from) = Status::parse(&row.status) else {
        return Ok(None);
    };
    let Some(to) = next_status(from, event) else {
        return Ok(None);
    };
    let now = Utc::now();
    let mut update = payout::Entity::update_many()
        .col_expr(payout::Column::Status, Expr::value(to.as_str()))
        .col_expr(payout::Column::UpdatedAt, Expr::value(now))
        .filter(payout::Column::Id.eq(row.id))
        .filter(payout::Column::Status.eq(from.as_str()));
    if matches!(to, Status::Paid | Status::Failed | Status::Reversed) {
        update = update.col_expr(payout::Column::FinishedAt, Expr::value(now));
    }
    if let Some(reason) = detail.failure_reason {
        update = update.col_expr(payout::Column::FailureReason, Expr::value(reason));
    }
    if let Some(code) = detail.transfer_code {
        update = update.col_expr(payout::Column::TransferCode, Expr::value(code));
    }
    if let Some(note) = detail.staff_note {
        update = update.col_expr(payout::Column::StaffNote, Expr::value(note));
    }
    if update.exec(conn).await?.rows_affected != 1 {
        return Ok(None);
    }
    let (tailor, id, amount) = (row.tailor_id, row.id, row.amount_kobo);
    match (from, to) {
        (_, Status::Paid) => {
            flows::payout_sent(conn, tailor, id, amount).await?;
            crate::notifications::events::payout_sent(conn, tailor, id, amount, &row.currency)
                .await?;
        }
        (Status::Paid, Status::Reversed) => {
            flows::payout_reversed(conn, tailor, id, amount).await?;
            crate::notifications::events::payout_failed(conn, tailor, id, amount, &row.currency)
                .await?;
        }
        (_, Status::Failed | Status::Reversed) => {
            let memo = if to == Status::Failed {
                "The payout failed: the money is available again."
            } else {
                "The bank sent the payout back: the money is available again."
            };
            flows::payout_returned(conn, tailor, id, amount, memo).await?;
            crate::notifications::events::payout_failed(conn, tailor, id, amount, &row.currency)
                .await?;
        }
        _ => {}
    }
    if from.in_flight() && !to.in_flight() && to != Status::Pending {
        wake_next(conn, row, to).await?;
    }
    Ok(Some(to))
}

/// The tailor's slot is free: its oldest waiting payout gets a send job
/// now, rather than when its own job looks again.
async fn wake_next(
    conn: &impl ConnectionTrait,
    settled: &payout::Model,
    to: Status,
) -> Result<(), PayoutError> {
    let next: Option<Uuid> = payout::Entity::find()
        .select_only()
        .column(payout::Column::Id)
        .filter(payout::Column::TailorId.eq(settled.tailor_id))
        .filter(payout::Column::Status.eq(Status::Pending.as_str()))
        .order_by_asc(payout::Column::CreatedAt)
        .order_by_asc(payout::Column::Id)
        .into_tuple()
        .one(conn)
        .await?;
    if let Some(next) = next {
        let round = format!("after:{}:{}", settled.id.simple(), to.as_str());
        enqueue(conn, send_job(next, &round)).await?;
    }
    Ok(())
}

impl PayoutService {
    /// Moves payout `id` by `event` in a transaction of its own, reading it
    /// again if it changed under us. `None` when the move is not allowed
    /// from where it stands (a replay, a late event).
    pub(super) async fn settle(
        &self,
        id: Uuid,
        event: Event,
        detail: Detail,
    ) -> Result<Option<Status>, PayoutError> {
        for _ in 0..5 {
            let Some(row) = payout::Entity::find_by_id(id).one(&self.db).await? else {
                return Err(PayoutError::NotFound);
            };
            let allowed = Status::parse(&row.status).and_then(|from| next_status(from, event));
            if allowed.is_none() {
                return Ok(None);
            }
            let moved = {
                let _turn = self.writes.enter().await;
                let txn = self.db.begin().await?;
                let moved = apply(&txn, &row, event, detail.clone()).await?;
                if moved.is_some() {
                    txn.commit().await?;
                } else {
                    txn.rollback().await?;
                }
                moved
            };
            if moved.is_some() {
                self.jobs.wake();
                return Ok(moved);
            }
        }
        Err(PayoutError::Conflict(
            "payout_busy",
            "The payout kept changing; try again.".into(),
        ))
    }
}

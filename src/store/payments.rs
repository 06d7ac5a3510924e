//! Online payment with Paystack: a payment per checkout, settled by a
//! verified webhook or by asking the provider, once per reference, and only
//! when amount and currency match. Unpaid orders expire.
//!
//! Lock order, everywhere (settlement, late payment, expiry, cancellation):
//! the payment's row first, then its orders in id order, then stock in
//! variant order; so no two of them can deadlock on PostgreSQL.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::orders::{Status, record_event};
use super::paystack::Transaction;
use super::refunds::queue_refund;
use super::{StoreError, StoreService};
use crate::jobs::{JobFailure, JobQueue, Outcome};
use crate::storage::entities::{order, payment, user};

const EXPIRY_JOB: &str = "orders.expire_unpaid";

/// The purpose of a checkout's payment (see `payment_owners` for others).
pub(super) const ORDER_PURPOSE: &str = "order";

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentInfo {
    pub reference: String,
    /// Open this in a browser or web view to pay.
    pub authorization_url: String,
    /// Kobo.
    pub amount: i64,
    pub currency: String,
    /// `pending`, `paid`, `failed`, `expired`, or `refunded` (paid after
    /// its orders had expired: the money goes back).
    pub status: String,
    pub order_ids: Vec<Uuid>,
}

#[derive(Deserialize)]
struct WebhookEvent {
    event: String,
    data: Option<serde_json::Value>,
}

impl StoreService {
    pub(super) async fn payment_info(
        &self,
        row: &payment::Model,
    ) -> Result<PaymentInfo, StoreError> {
        let orders = order::Entity::find()
            .filter(order::Column::PaymentId.eq(row.id))
            .all(&self.db)
            .await?;
        Ok(PaymentInfo {
            reference: row.reference.clone(),
            authorization_url: row.authorization_url.clone(),
            amount: row.amount_kobo,
            currency: row.currency.clone(),
            status: row.status.clone(),
            order_ids: orders.iter().map(|o| o.id).collect(),
        })
    }

    /// Asks the provider about the caller's payment and settles it.
    pub async fn verify_payment(
        &self,
        customer: &user::Model,
        reference: &str,
    ) -> Result<PaymentInfo, StoreError> {
        let row = payment::Entity::find()
            .filter(payment::Column::Reference.eq(reference))
            .filter(payment::Column::CustomerId.eq(customer.id))
            .one(&self.db)
            .await?
            .ok_or(StoreError::NotFound)?;
        let paystack = self.paystack.as_ref().ok_or(StoreError::NotFound)?;
        let transaction = paystack
            .verify(reference)
            .await
            .map_err(|e| StoreError::Provider(e.to_string()))?;
        self.settle(&row, &transaction).await?;
        let row = payment::Entity::find_by_id(row.id)
            .one(&self.db)
            .await?
            .ok_or(StoreError::NotFound)?;
        self.payment_info(&row).await
    }

    /// A Paystack webhook: the signature over the raw body must match.
    pub async fn paystack_webhook(
        &self,
        body: &[u8],
        signature: Option<&str>,
    ) -> Result<(), StoreError> {
        let paystack = self
            .paystack
            .as_ref()
            .ok_or(StoreError::Unauthorized("Payments are not configured."))?;
        if !signature.is_some_and(|s| paystack.signature_valid(body, s)) {
            tracing::warn!("paystack webhook with a bad signature refused");
            return Err(StoreError::Unauthorized("Invalid signature."));
        }
        let event: WebhookEvent = serde_json::from_slice(body).map_err(|e| {
            StoreError::Invalid(crate::validation::FieldErrors::single(
                "event",
                e.to_string(),
            ))
        })?;
        if event.event.starts_with("transfer.") {
            return match (self.transfer_events(), event.data) {
                (Some(owner), Some(data)) => owner.transfer_event(&event.event, &data).await,
                _ => Ok(()),
            };
        }
        let Some(data) = event.data.filter(|_| event.event == "charge.success") else {
            return Ok(()); // other events are acknowledged and ignored
        };
        let transaction: Transaction = serde_json::from_value(data).map_err(|e| {
            StoreError::Invalid(crate::validation::FieldErrors::single(
                "data",
                e.to_string(),
            ))
        })?;
        let Some(row) = payment::Entity::find()
            .filter(payment::Column::Reference.eq(transaction.reference.as_str()))
            .one(&self.db)
            .await?
        else {
            tracing::warn!(reference = %transaction.reference, "webhook for an unknown reference");
            return Ok(());
        };
        match self.settle(&row, &transaction).await {
            // The provider must not retry a charge we refuse on purpose.
            Err(StoreError::Conflict(..)) | Ok(()) => Ok(()),
            Err(other) => Err(other),
        }
    }

    /// Marks the payment and its orders paid, once, if the provider reports
    /// success for exactly the amount and currency we asked for.
    pub(super) async fn settle(
        &self,
        row: &payment::Model,
        transaction: &Transaction,
    ) -> Result<(), StoreError> {
        if transaction.status != "success" {
            return Ok(());
        }
        if transaction.amount != row.amount_kobo || transaction.currency != row.currency {
            tracing::error!(
                reference = %row.reference,
                expected = row.amount_kobo,
                got = transaction.amount,
                currency = %transaction.currency,
                "payment amount or currency does not match; not marked paid"
            );
            return Err(StoreError::Conflict(
                "payment_mismatch",
                "The amount or currency paid does not match the order.".into(),
            ));
        }
        if row.purpose != ORDER_PURPOSE {
            return self.settle_for_owner(row, transaction).await;
        }
        let txn = self.db.begin().await?;
        if !move_payment(&txn, row.id, "pending", "paid").await? {
            txn.rollback().await?;
            // Settled before (replays change nothing), or paid too late.
            return self.refund_late_payment(row).await;
        }
        let paid = self
            .move_unpaid_orders(&txn, row, Status::Paid, "Paid with Paystack.")
            .await?;
        // The customer may have cancelled an order while its payment page was open.
        let refunded = self.refund_cancelled_orders(&txn, row).await?;
        self.credit_tailors(&txn, row, &paid).await?;
        let paid = paid.len();
        txn.commit().await?;
        tracing::info!(reference = %row.reference, paid, refunded, "payment settled");
        Ok(())
    }

    /// The customer paid after the orders had expired (their stock is back on
    /// sale): every order of the payment is cancelled and refunded in full.
    /// Once per payment, however often the provider reports it.
    async fn refund_late_payment(&self, row: &payment::Model) -> Result<(), StoreError> {
        let txn = self.db.begin().await?;
        if !move_payment(&txn, row.id, "expired", "refunded").await? {
            return Ok(());
        }
        // The expiry task may not have reached every order of the payment yet.
        self.move_unpaid_orders(&txn, row, Status::Cancelled, "Not paid in time.")
            .await?;
        let refunded = self.refund_cancelled_orders(&txn, row).await?;
        txn.commit().await?;
        self.catalog_changed();
        tracing::warn!(reference = %row.reference, refunded, "paid after its orders expired: refunds queued");
        Ok(())
    }

    /// Each paid order's tailor gets its share into escrow, less the
    /// platform's fee. Wallet rows are locked last, in tailor order, so two
    /// payments to the same tailors cannot deadlock.
    async fn credit_tailors(
        &self,
        txn: &impl ConnectionTrait,
        row: &payment::Model,
        paid: &[order::Model],
    ) -> Result<(), StoreError> {
        let mut paid: Vec<&order::Model> = paid.iter().collect();
        paid.sort_by_key(|o| (o.tailor_id, o.id));
        for order in paid {
            let credit = crate::wallet::flows::Credit {
                payment_id: row.id,
                tailor_id: order.tailor_id,
                source: crate::wallet::Source::order(order.id),
                amount: order.total_kobo,
                memo: "Order paid online.".into(),
            };
            crate::wallet::flows::credit_payment(txn, self.wallet.fee_bps, credit).await?;
        }
        Ok(())
    }

    /// Moves the payment's orders still awaiting it to `to`; returns them.
    async fn move_unpaid_orders(
        &self,
        txn: &impl ConnectionTrait,
        row: &payment::Model,
        to: Status,
        note: &str,
    ) -> Result<Vec<order::Model>, StoreError> {
        let unpaid = order::Entity::find()
            .filter(order::Column::PaymentId.eq(row.id))
            .filter(order::Column::Status.eq(Status::PendingPayment.as_str()))
            .order_by_asc(order::Column::Id)
            .all(txn)
            .await?;
        let mut moved = Vec::new();
        for order in unpaid {
            if self
                .move_order(txn, &order, Status::PendingPayment, to, None, note)
                .await?
            {
                moved.push(order);
            }
        }
        Ok(moved)
    }

    /// Queues the refund of each of the payment's orders that was cancelled
    /// before the money came (expired or cancelled by the customer); each
    /// once. Part of the caller's transaction; returns how many.
    async fn refund_cancelled_orders(
        &self,
        txn: &impl ConnectionTrait,
        row: &payment::Model,
    ) -> Result<usize, StoreError> {
        let cancelled = order::Entity::find()
            .filter(order::Column::PaymentId.eq(row.id))
            .filter(order::Column::Status.eq(Status::Cancelled.as_str()))
            .filter(order::Column::RefundKobo.eq(0))
            .order_by_asc(order::Column::Id)
            .all(txn)
            .await?;
        let mut refunded = 0;
        for order in &cancelled {
            let claimed = order::Entity::update_many()
                .col_expr(
                    order::Column::RefundKobo,
                    Expr::col(order::Column::TotalKobo).into(),
                )
                .filter(order::Column::Id.eq(order.id))
                .filter(order::Column::RefundKobo.eq(0))
                .exec(txn)
                .await?;
            if claimed.rows_affected == 1 {
                queue_refund(txn, order, row).await?;
                record_event(
                    txn,
                    order.id,
                    Status::Cancelled,
                    None,
                    "Paid after the order was cancelled: the payment is refunded.",
                )
                .await?;
                refunded += 1;
            }
        }
        Ok(refunded)
    }

    /// Cancels orders still unpaid after the configured time, returning their stock.
    pub async fn expire_unpaid(&self) -> Result<usize, StoreError> {
        let cutoff = Utc::now() - self.unpaid_ttl;
        let stale = order::Entity::find()
            .filter(order::Column::Status.eq(Status::PendingPayment.as_str()))
            .filter(order::Column::CreatedAt.lt(cutoff))
            .order_by_asc(order::Column::Id)
            .all(&self.db)
            .await?;
        let payments: BTreeSet<Uuid> = stale.iter().filter_map(|o| o.payment_id).collect();
        let mut expired = 0;
        for payment_id in payments {
            expired += self.expire_payment(payment_id).await?;
        }
        for row in stale.iter().filter(|o| o.payment_id.is_none()) {
            // Nothing to pay with, so no payment row to lock first.
            let txn = self.db.begin().await?;
            let note = "Not paid in time.";
            let moved = self
                .move_order(
                    &txn,
                    row,
                    Status::PendingPayment,
                    Status::Cancelled,
                    None,
                    note,
                )
                .await?;
            txn.commit().await?;
            expired += usize::from(moved);
        }
        if expired > 0 {
            self.catalog_changed();
            tracing::info!(expired, "unpaid orders cancelled");
        }
        Ok(expired)
    }

    /// Expires one payment and cancels its unpaid orders, in one transaction
    /// that takes the payment's row before its orders': the order settlement
    /// and cancellation take them in, so an expiry and a payment arriving at
    /// the same moment queue one behind the other instead of deadlocking.
    /// Returns how many orders it cancelled.
    async fn expire_payment(&self, payment_id: Uuid) -> Result<usize, StoreError> {
        let txn = self.db.begin().await?;
        let Some(payment) = lock_payment(&txn, payment_id).await? else {
            return Ok(0);
        };
        match payment.status.as_str() {
            "pending" => {
                move_payment(&txn, payment_id, "pending", "expired").await?;
            }
            // Expired before with orders left unpaid (an older expiry went
            // order by order): they are cancelled now.
            "expired" => {}
            // Paid or refunded meanwhile: its orders are not waiting any more.
            _ => {
                txn.rollback().await?;
                return Ok(0);
            }
        }
        let cancelled = self
            .move_unpaid_orders(&txn, &payment, Status::Cancelled, "Not paid in time.")
            .await?;
        txn.commit().await?;
        Ok(cancelled.len())
    }

    /// Runs `expire_unpaid` every half order lifetime (between 200 ms and a
    /// minute), once per period across all instances. A sweep rather than a
    /// job per payment: it also catches orders from before the queue, and
    /// an order is at most half its lifetime late.
    pub fn schedule_expiry(self: &std::sync::Arc<Self>, jobs: &JobQueue) {
        let every =
            (self.unpaid_ttl / 2).clamp(Duration::from_millis(200), Duration::from_secs(60));
        let this = self.clone();
        jobs.register(EXPIRY_JOB, move |_job| {
            let this = this.clone();
            async move {
                this.expire_unpaid().await.map_err(JobFailure::retry)?;
                Ok(Outcome::Done)
            }
        });
        jobs.every(EXPIRY_JOB, every);
    }
}

/// Takes the payment's row lock for the rest of the transaction (a no-op
/// update) and reads it. Every transaction that changes a payment's orders
/// locks the payment first, then its orders in id order, then stock.
pub(super) async fn lock_payment(
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<payment::Model>, StoreError> {
    payment::Entity::update_many()
        .col_expr(
            payment::Column::Status,
            Expr::col(payment::Column::Status).into(),
        )
        .filter(payment::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(payment::Entity::find_by_id(id).one(conn).await?)
}

/// Moves the payment from `from` to `to`; false when it was not in `from`,
/// so only one of several racing settlements goes through.
pub(super) async fn move_payment(
    conn: &impl ConnectionTrait,
    id: Uuid,
    from: &str,
    to: &str,
) -> Result<bool, StoreError> {
    let moved = payment::Entity::update_many()
        .col_expr(payment::Column::Status, Expr::value(to))
        .col_expr(payment::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(payment::Column::Id.eq(id))
        .filter(payment::Column::Status.eq(from))
        .exec(conn)
        .await?;
    Ok(moved.rows_affected == 1)
}

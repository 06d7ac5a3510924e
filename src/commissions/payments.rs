//! A commission's money: the deposit and the balance are paid through the
//! shop's payment machinery (same provider, webhook and checks); a paid
//! payment lands here, in the transaction that marks it paid. Refunds go
//! through the shop's refund sender.

use chrono::Utc;
use futures_util::future::BoxFuture;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::machine::{Action, Actor, Status};
use super::{CommissionError, CommissionService, Event, status_of, update_from};
use crate::storage::entities::{commission, commission_payment, payment, refund, user};
use crate::store::{PaymentOwner, StoreError, queue_commission_refund, record_payment};

/// The `payments.purpose` of a commission's payments.
pub const PURPOSE: &str = "commission";
const DEPOSIT: &str = "deposit";
const BALANCE: &str = "balance";

/// One payment of a commission.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommissionPaymentView {
    pub reference: String,
    /// `deposit` or `balance`.
    pub purpose: String,
    /// Kobo.
    pub amount: i64,
    pub currency: String,
    /// `pending`, `paid` (or `failed`).
    pub status: String,
    /// Where the customer pays (only shown to the customer, while pending).
    pub authorization_url: Option<String>,
    pub created_at: chrono::DateTime<Utc>,
}

impl CommissionService {
    /// Opens (or returns the open) payment of what the customer owes now:
    /// the deposit of an accepted quote, or the balance of a ready garment.
    pub async fn pay(
        &self,
        me: &user::Model,
        id: Uuid,
    ) -> Result<CommissionPaymentView, CommissionError> {
        let (row, actor) = self.as_party(me, id).await?;
        if actor != Actor::Customer {
            return Err(CommissionError::Forbidden("Only the customer pays."));
        }
        let (purpose, amount) = owed_now(&row)?;
        if let Some(open) = pending_payment(&self.db, row.id, purpose).await? {
            return Ok(view(open, purpose, true));
        }
        let page = self.store.open_payment_page(me, amount).await?;
        let current = status_of(&row);
        let txn = self.db.begin().await?;
        // Takes the commission's row (a no-op move) so that two taps wait
        // for each other here, and only while nothing changed its money.
        let held = update_from(row.id, current, current)
            .filter(commission::Column::PaidKobo.eq(row.paid_kobo))
            .exec(&txn)
            .await?;
        if held.rows_affected != 1 {
            txn.rollback().await?;
            return Err(self.lost_race(id, "pay").await);
        }
        if let Some(open) = pending_payment(&txn, row.id, purpose).await? {
            txn.rollback().await?;
            return Ok(view(open, purpose, true));
        }
        let payment = record_payment(&txn, me.id, &page, PURPOSE).await?;
        commission_payment::Entity::insert(commission_payment::ActiveModel {
            payment_id: Set(payment.id),
            commission_id: Set(row.id),
            purpose: Set(purpose.into()),
        })
        .exec_without_returning(&txn)
        .await?;
        txn.commit().await?;
        Ok(view(payment, purpose, true))
    }

    /// Asks the provider about one of the commission's payments (when its
    /// webhook is late) and settles it.
    pub async fn verify_payment(
        &self,
        me: &user::Model,
        id: Uuid,
        reference: &str,
    ) -> Result<CommissionPaymentView, CommissionError> {
        let (row, _) = self.as_party(me, id).await?;
        let purpose = commission_payment::Entity::find()
            .inner_join_payment(reference)
            .filter(commission_payment::Column::CommissionId.eq(row.id))
            .one(&self.db)
            .await?
            .ok_or(CommissionError::NotFound)?
            .purpose;
        let payment = self.store.verify_reference(me, reference).await?;
        Ok(view(payment, &purpose, true))
    }

    /// The commission's payments, newest first.
    pub(super) async fn payments_of(
        &self,
        commission: Uuid,
        customer_view: bool,
    ) -> Result<Vec<CommissionPaymentView>, CommissionError> {
        let links = commission_payment::Entity::find()
            .filter(commission_payment::Column::CommissionId.eq(commission))
            .all(&self.db)
            .await?;
        let rows = payment::Entity::find()
            .filter(payment::Column::Id.is_in(links.iter().map(|l| l.payment_id)))
            .order_by_desc(payment::Column::Id)
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|p| {
                let purpose = links
                    .iter()
                    .find(|l| l.payment_id == p.id)
                    .map(|l| l.purpose.clone())
                    .unwrap_or_default();
                view(p, &purpose, customer_view)
            })
            .collect())
    }
}

/// A tiny join: the link row of the payment with this reference.
trait JoinPayment {
    fn inner_join_payment(self, reference: &str) -> Self;
}

impl JoinPayment for sea_orm::Select<commission_payment::Entity> {
    fn inner_join_payment(self, reference: &str) -> Self {
        let ids = sea_orm::sea_query::Query::select()
            .column(payment::Column::Id)
            .from(payment::Entity)
            .and_where(Expr::col(payment::Column::Reference).eq(reference))
            .to_owned();
        self.filter(commission_payment::Column::PaymentId.in_subquery(ids))
    }
}

fn view(row: payment::Model, purpose: &str, customer_view: bool) -> CommissionPaymentView {
    let url = (customer_view && row.status == "pending").then_some(row.authorization_url);
    CommissionPaymentView {
        reference: row.reference,
        purpose: purpose.into(),
        amount: row.amount_kobo,
        currency: row.currency,
        status: row.status,
        authorization_url: url,
        created_at: row.created_at,
    }
}

/// What the customer owes now, or the 409 that says why nothing is.
fn owed_now(row: &commission::Model) -> Result<(&'static str, i64), CommissionError> {
    let current = status_of(row);
    let price = row.price_kobo.unwrap_or(0);
    match current {
        Status::AwaitingDeposit => Ok((DEPOSIT, row.deposit_kobo)),
        Status::Ready if row.paid_kobo < price => Ok((BALANCE, price - row.paid_kobo)),
        Status::Ready => Err(CommissionError::Conflict(
            "nothing_due",
            "The balance is paid.".into(),
        )),
        _ => Err(CommissionError::wrong_state(current, "pay")),
    }
}

async fn pending_payment(
    conn: &impl ConnectionTrait,
    commission: Uuid,
    purpose: &str,
) -> Result<Option<payment::Model>, CommissionError> {
    let links = sea_orm::sea_query::Query::select()
        .column(commission_payment::Column::PaymentId)
        .from(commission_payment::Entity)
        .and_where(Expr::col(commission_payment::Column::CommissionId).eq(commission))
        .and_where(Expr::col(commission_payment::Column::Purpose).eq(purpose))
        .to_owned();
    Ok(payment::Entity::find()
        .filter(payment::Column::Id.in_subquery(links))
        .filter(payment::Column::Status.eq("pending"))
        .one(conn)
        .await?)
}

/// Settles the commission's side of a paid payment (see `PaymentOwner`).
pub struct Settlement {
    /// The platform's fee on what the tailor is paid (see `wallet::fees`).
    pub fee_bps: u32,
}

impl PaymentOwner for Settlement {
    fn paid<'a>(
        &'a self,
        txn: &'a DatabaseTransaction,
        payment: &'a payment::Model,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move { Ok(settle(txn, payment, self.fee_bps).await?) })
    }
}

async fn settle(
    txn: &DatabaseTransaction,
    payment: &payment::Model,
    fee_bps: u32,
) -> Result<(), CommissionError> {
    let link = commission_payment::Entity::find_by_id(payment.id)
        .one(txn)
        .await?
        .ok_or(CommissionError::NotFound)?;
    let row = lock(txn, link.commission_id).await?;
    let current = status_of(&row);
    let action = if link.purpose == DEPOSIT {
        Action::DepositPaid
    } else {
        Action::BalancePaid
    };
    let fits = row.paid_kobo + payment.amount_kobo <= row.price_kobo.unwrap_or(0);
    match super::machine::next(current, action, Actor::System) {
        Some(to) if fits => {
            update_from(row.id, current, to)
                .col_expr(
                    commission::Column::PaidKobo,
                    Expr::col(commission::Column::PaidKobo).add(payment.amount_kobo),
                )
                .exec(txn)
                .await?;
            let kind = if action == Action::DepositPaid {
                "deposit_paid"
            } else {
                "balance_paid"
            };
            let mut event = Event::new(&row, Actor::System, None, kind).status(to);
            event.amount_kobo = Some(payment.amount_kobo);
            event.record(txn).await?;
            let memo = if action == Action::DepositPaid {
                "Commission deposit paid."
            } else {
                "Commission balance paid."
            };
            let credit = crate::wallet::flows::Credit {
                payment_id: payment.id,
                tailor_id: row.tailor_id,
                source: crate::wallet::Source::commission(row.id),
                amount: payment.amount_kobo,
                memo: memo.into(),
            };
            crate::wallet::flows::credit_payment(txn, fee_bps, credit).await?;
            Ok(())
        }
        // Cancelled while the customer was on the payment page, or paid
        // twice: the money goes back.
        _ => {
            refund(txn, &row, payment, payment.amount_kobo).await?;
            let mut event = Event::new(&row, Actor::System, None, "refund_queued")
                .note("Paid after the commission no longer owed it: refunded.");
            event.amount_kobo = Some(payment.amount_kobo);
            event.record(txn).await
        }
    }
}

/// Takes the commission's row for the rest of the transaction (a no-op
/// update) and reads it.
pub(super) async fn lock(
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<commission::Model, CommissionError> {
    commission::Entity::update_many()
        .col_expr(
            commission::Column::Status,
            Expr::col(commission::Column::Status).into(),
        )
        .filter(commission::Column::Id.eq(id))
        .exec(conn)
        .await?;
    commission::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or(CommissionError::NotFound)
}

/// Queues `amount` of `payment` back to the customer and counts it.
async fn refund(
    conn: &impl ConnectionTrait,
    row: &commission::Model,
    payment: &payment::Model,
    amount: i64,
) -> Result<(), CommissionError> {
    queue_commission_refund(conn, row.id, payment, amount).await?;
    commission::Entity::update_many()
        .col_expr(
            commission::Column::RefundedKobo,
            Expr::col(commission::Column::RefundedKobo).add(amount),
        )
        .filter(commission::Column::Id.eq(row.id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Gives back up to `amount` of what the commission took (all of it when
/// `None`), newest payment first, never more of a payment than is left of
/// it; part of the caller's transaction. Returns what was queued.
pub(super) async fn refund_paid(
    conn: &impl ConnectionTrait,
    row: &commission::Model,
    amount: Option<i64>,
) -> Result<i64, CommissionError> {
    let links = sea_orm::sea_query::Query::select()
        .column(commission_payment::Column::PaymentId)
        .from(commission_payment::Entity)
        .and_where(Expr::col(commission_payment::Column::CommissionId).eq(row.id))
        .to_owned();
    let paid = payment::Entity::find()
        .filter(payment::Column::Id.in_subquery(links))
        .filter(payment::Column::Status.eq("paid"))
        .order_by_desc(payment::Column::Id)
        .all(conn)
        .await?;
    let mut left = amount.unwrap_or(i64::MAX);
    let mut queued = 0;
    for payment in paid {
        let refunded: Vec<i64> = refund::Entity::find()
            .select_only()
            .column(refund::Column::AmountKobo)
            .filter(refund::Column::PaymentId.eq(payment.id))
            .into_tuple()
            .all(conn)
            .await?;
        let available = payment.amount_kobo - refunded.iter().sum::<i64>();
        let take = available.min(left);
        if take <= 0 {
            continue;
        }
        refund(conn, row, &payment, take).await?;
        left -= take;
        queued += take;
        if left == 0 {
            break;
        }
    }
    Ok(queued)
}

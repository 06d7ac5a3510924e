//! Placing a checkout's orders: the one write of a checkout, done by a
//! group-commit writer (`storage::group_commit`) so that checkouts arriving
//! together share one transaction.
//!
//! A batch first locks its customers' rows and its variants' rows, in one
//! order for every batch on every instance and the same order as account
//! deletion (users, then variants, by id; on SQLite the write lock does it
//! and the lock clause is dropped). Holding them, it knows which accounts
//! are live and what stock is left, so a checkout is refused before it has
//! written anything, and the other checkouts in the batch go on. The stock
//! the placed checkouts take is then written in one statement, and their
//! claims given up in another. Only a storage error fails the batch, whose
//! jobs then run one by one.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::QueryOrder;
use sea_orm::sea_query::{CaseStatement, Expr, LockType, Query, SimpleExpr};
use sea_orm::{ColumnTrait, Condition, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::super::cart::CartLine;
use super::super::orders::{Status, record_event};
use super::super::payment_owners::{PaymentPage, record_payment};
use super::super::payments::ORDER_PURPOSE;
use super::super::{CURRENCY, StoreError};
use crate::storage::StorageError;
use crate::storage::entities::{
    cart_item, checkout_claim, order, order_item, payment, product_variant, user,
};
use crate::storage::group_commit::Batch;

/// Rows per multi-row statement: far below either database's limit on
/// bound parameters, whatever a cart holds.
const ROWS_PER_STATEMENT: usize = 200;

/// One checkout, priced and (for `paystack`) initialised with the provider,
/// ready to be written.
pub(in crate::store) struct PlaceOrders {
    pub customer_id: Uuid,
    pub address: String,
    pub method: String,
    pub lines: Vec<CartLine>,
    pub payment: Option<PaymentPage>,
    /// The cart's claim, given up in the same transaction.
    pub claim: Uuid,
}

/// What a placed checkout wrote.
pub(in crate::store) struct Placed {
    pub orders: Vec<order::Model>,
    pub payment: Option<payment::Model>,
}

/// Why a checkout placed nothing.
pub(in crate::store) enum Refusal {
    AccountDeleted,
    CartChanged,
    OutOfStock { line: Box<CartLine>, left: i64 },
}

impl From<Refusal> for StoreError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::AccountDeleted => {
                StoreError::Conflict("account_deleted", "This account has been deleted.".into())
            }
            Refusal::CartChanged => StoreError::Conflict(
                "cart_changed",
                "Your cart changed during checkout; review it and check out again.".into(),
            ),
            Refusal::OutOfStock { line, left } => StoreError::Conflict(
                "out_of_stock",
                format!(
                    "Only {left} left of {}{}; you asked for {}.",
                    line.product_name,
                    variant_label(&line),
                    line.quantity
                ),
            ),
        }
    }
}

/// The checkout writer's kind of batch.
pub(in crate::store) struct Checkouts;

impl Batch for Checkouts {
    const KIND: &'static str = "checkout";
    type Job = PlaceOrders;
    type Output = Result<Placed, Refusal>;

    async fn all(
        &self,
        txn: &DatabaseTransaction,
        jobs: &[PlaceOrders],
    ) -> Result<Vec<Self::Output>, StorageError> {
        let live = hold_live_customers(txn, jobs).await?;
        let mut stock = hold_variants(txn, jobs).await?;
        let now = Utc::now();
        let mut taken: BTreeMap<Uuid, i64> = BTreeMap::new();
        let mut placed_claims = Vec::new();
        let mut outcomes = Vec::with_capacity(jobs.len());
        for job in jobs {
            if !live.contains(&job.customer_id) {
                outcomes.push(Err(Refusal::AccountDeleted));
                continue;
            }
            if let Some(short) = short_line(&stock, &job.lines) {
                outcomes.push(Err(short));
                continue;
            }
            if !consume_cart(txn, job.customer_id, &job.lines).await? {
                outcomes.push(Err(Refusal::CartChanged));
                continue;
            }
            for line in &job.lines {
                *stock.entry(line.variant_id).or_default() -= line.quantity;
                *taken.entry(line.variant_id).or_default() += line.quantity;
            }
            outcomes.push(Ok(place(txn, job, now).await?));
            placed_claims.push((job.customer_id, job.claim));
        }
        take_stock(txn, &taken).await?;
        release_claims(txn, &placed_claims).await?;
        Ok(outcomes)
    }

    async fn one(
        &self,
        txn: &DatabaseTransaction,
        job: &PlaceOrders,
    ) -> Result<Self::Output, StorageError> {
        let mut outcomes = self.all(txn, std::slice::from_ref(job)).await?;
        outcomes
            .pop()
            .ok_or_else(|| StorageError::Other("a checkout gave no outcome".into()))
    }
}

/// Locks the batch's customers' rows (by id) and returns those whose account
/// is live. Account deletion takes the same row first, so of a checkout and
/// a deletion of its customer the later sees what the earlier committed.
async fn hold_live_customers(
    txn: &DatabaseTransaction,
    jobs: &[PlaceOrders],
) -> Result<HashSet<Uuid>, StorageError> {
    let ids: Vec<Uuid> = jobs.iter().map(|j| j.customer_id).collect();
    let held = user::Entity::update_many()
        .col_expr(
            user::Column::IsActive,
            Expr::col(user::Column::IsActive).into(),
        )
        .filter(user::Column::Id.in_subquery(in_id_order_for_update(
            user::Entity,
            user::Column::Id,
            ids,
        )))
        .filter(user::Column::IsActive.eq(true))
        .filter(user::Column::DeletedAt.is_null())
        .exec_with_returning(txn)
        .await?;
    Ok(held.into_iter().map(|u| u.id).collect())
}

/// Locks every variant the batch takes stock of, by id: their stock, which
/// no one else can change until the batch commits.
async fn hold_variants(
    txn: &DatabaseTransaction,
    jobs: &[PlaceOrders],
) -> Result<HashMap<Uuid, i64>, StorageError> {
    use product_variant::Column;
    // Sorted, so that chunk after chunk still locks in id order.
    let ids: Vec<Uuid> = jobs
        .iter()
        .flat_map(|j| j.lines.iter().map(|l| l.variant_id))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut stock = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(ROWS_PER_STATEMENT * 4) {
        let rows: Vec<(Uuid, i64)> = product_variant::Entity::find()
            .select_only()
            .columns([Column::Id, Column::Stock])
            .filter(Column::Id.is_in(chunk.iter().copied()))
            .order_by_asc(Column::Id)
            .lock(LockType::NoKeyUpdate)
            .into_tuple()
            .all(txn)
            .await?;
        stock.extend(rows);
    }
    Ok(stock)
}

/// `SELECT id FROM <table> WHERE id IN (<ids>) ORDER BY id FOR NO KEY
/// UPDATE`: the rows are locked in id order as the subquery reads them
/// (PostgreSQL; the lock clause is dropped on SQLite, which has one writer at
/// a time). Not `FOR UPDATE`: that would also stop every insert that refers
/// to these rows (a cart add, a message) until the batch commits.
fn in_id_order_for_update(
    table: impl sea_orm::sea_query::Iden + 'static,
    id: impl sea_orm::sea_query::IntoColumnRef + Copy,
    ids: Vec<Uuid>,
) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(id)
        .from(table)
        .and_where(Expr::col(id).is_in(ids))
        .order_by(id, sea_orm::sea_query::Order::Asc)
        .lock(LockType::NoKeyUpdate)
        .to_owned()
}

/// Writes a checkout whose stock and cart are secured: its payment, its
/// orders with their items, and their first timeline events.
async fn place(
    txn: &DatabaseTransaction,
    job: &PlaceOrders,
    now: DateTime<Utc>,
) -> Result<Placed, StorageError> {
    let payment = match &job.payment {
        Some(page) => Some(record_payment(txn, job.customer_id, page, ORDER_PURPOSE).await?),
        None => None,
    };
    let orders = place_orders(txn, job, payment.as_ref(), now).await?;
    Ok(Placed { orders, payment })
}

/// Empties the customer's cart in one statement; true when what it deleted
/// is exactly the priced `lines` (same items, same quantities). False when
/// the cart changed since it was read: then the rows are put back as they
/// were, and nothing of this checkout is left in the batch's transaction.
async fn consume_cart(
    txn: &DatabaseTransaction,
    user_id: Uuid,
    lines: &[CartLine],
) -> Result<bool, StorageError> {
    let deleted = cart_item::Entity::delete_many()
        .filter(cart_item::Column::UserId.eq(user_id))
        .exec_with_returning(txn)
        .await?;
    let mut consumed: Vec<(Uuid, i64)> = deleted.iter().map(|r| (r.id, r.quantity)).collect();
    let mut priced: Vec<(Uuid, i64)> = lines.iter().map(|l| (l.id, l.quantity)).collect();
    consumed.sort_unstable();
    priced.sort_unstable();
    if consumed == priced {
        return Ok(true);
    }
    if !deleted.is_empty() {
        cart_item::Entity::insert_many(deleted.into_iter().map(cart_item::ActiveModel::from))
            .exec_without_returning(txn)
            .await?;
    }
    Ok(false)
}

/// The first line (in variant order) that `stock` does not cover, with
/// what is left of it.
fn short_line(stock: &HashMap<Uuid, i64>, lines: &[CartLine]) -> Option<Refusal> {
    let mut by_variant: Vec<&CartLine> = lines.iter().collect();
    by_variant.sort_by_key(|l| l.variant_id);
    by_variant.into_iter().find_map(|line| {
        let left = stock.get(&line.variant_id).copied().unwrap_or(0).max(0);
        (left < line.quantity).then(|| Refusal::OutOfStock {
            line: Box::new(line.clone()),
            left,
        })
    })
}

/// Takes what the batch's placed checkouts bought, one conditional
/// decrement per chunk of variants. The batch holds these rows and checked
/// the stock, so every variant must change; if one does not, something
/// changed it under the lock, and the batch fails rather than oversell.
async fn take_stock(
    txn: &DatabaseTransaction,
    taken: &BTreeMap<Uuid, i64>,
) -> Result<(), StorageError> {
    use product_variant::Column;
    let taken: Vec<(Uuid, i64)> = taken.iter().map(|(id, q)| (*id, *q)).collect();
    for chunk in taken.chunks(ROWS_PER_STATEMENT) {
        let quantity = chunk
            .iter()
            .fold(CaseStatement::new(), |case, (id, quantity)| {
                case.case(Expr::col(Column::Id).eq(*id), Expr::val(*quantity))
            })
            .finally(Expr::val(i64::MAX));
        let quantity = SimpleExpr::Case(Box::new(quantity));
        let updated = product_variant::Entity::update_many()
            .col_expr(
                Column::Stock,
                Expr::col(Column::Stock).sub(quantity.clone()),
            )
            .filter(Column::Id.is_in(chunk.iter().map(|(id, _)| *id)))
            .filter(Expr::col(Column::Stock).gte(quantity))
            .exec(txn)
            .await?;
        if updated.rows_affected != chunk.len() as u64 {
            return Err(StorageError::Other(format!(
                "stock of {} variants changed under the checkout's lock",
                chunk.len() as u64 - updated.rows_affected
            )));
        }
    }
    Ok(())
}

/// Gives up the placed checkouts' claims: the claim goes with the cart.
async fn release_claims(
    txn: &DatabaseTransaction,
    claims: &[(Uuid, Uuid)],
) -> Result<(), StorageError> {
    for chunk in claims.chunks(ROWS_PER_STATEMENT) {
        let ours = chunk
            .iter()
            .fold(Condition::any(), |any, (user_id, token)| {
                any.add(
                    Condition::all()
                        .add(checkout_claim::Column::UserId.eq(*user_id))
                        .add(checkout_claim::Column::Token.eq(*token)),
                )
            });
        checkout_claim::Entity::delete_many()
            .filter(ours)
            .exec(txn)
            .await?;
    }
    Ok(())
}

/// One order per tailor, with its items and first timeline event.
async fn place_orders(
    txn: &DatabaseTransaction,
    job: &PlaceOrders,
    payment: Option<&payment::Model>,
    now: DateTime<Utc>,
) -> Result<Vec<order::Model>, StorageError> {
    let mut by_tailor: BTreeMap<Uuid, Vec<&CartLine>> = BTreeMap::new();
    for line in &job.lines {
        by_tailor.entry(line.tailor_id).or_default().push(line);
    }
    // Pay on delivery has nothing to wait for.
    let (initial, note) = match payment {
        Some(_) => (Status::PendingPayment, "Ordered; waiting for payment."),
        None => (Status::Processing, "Ordered; pay on delivery."),
    };
    let mut orders = Vec::with_capacity(by_tailor.len());
    let mut items = Vec::with_capacity(job.lines.len());
    for (tailor_id, lines) in by_tailor {
        let subtotal: i64 = lines.iter().map(|l| l.line_total).sum();
        let row = order::Model {
            id: Uuid::now_v7(),
            customer_id: job.customer_id,
            tailor_id,
            status: initial.as_str().into(),
            payment_method: job.method.clone(),
            subtotal_kobo: subtotal,
            total_kobo: subtotal,
            refund_kobo: 0,
            currency: CURRENCY.into(),
            delivery_address: job.address.clone(),
            created_at: now,
            updated_at: now,
            payment_id: payment.map(|p| p.id),
        };
        items.extend(lines.into_iter().map(|line| order_item_of(row.id, line)));
        orders.push(row);
    }
    order::Entity::insert_many(orders.iter().cloned().map(order::ActiveModel::from))
        .exec_without_returning(txn)
        .await?;
    for chunk in items.chunks(ROWS_PER_STATEMENT) {
        order_item::Entity::insert_many(chunk.iter().cloned())
            .exec_without_returning(txn)
            .await?;
    }
    for row in &orders {
        record_event(txn, row.id, initial, Some(job.customer_id), note).await?;
    }
    Ok(orders)
}

fn order_item_of(order_id: Uuid, line: &CartLine) -> order_item::ActiveModel {
    order_item::Model {
        id: Uuid::now_v7(),
        order_id,
        product_id: line.product_id,
        variant_id: line.variant_id,
        product_name: line.product_name.clone(),
        size: line.size.clone(),
        color: line.color.clone(),
        unit_price_kobo: line.unit_price,
        quantity: line.quantity,
        line_total_kobo: line.line_total,
    }
    .into()
}

fn variant_label(line: &CartLine) -> String {
    let parts: Vec<&str> = [line.size.as_str(), line.color.as_str()]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}

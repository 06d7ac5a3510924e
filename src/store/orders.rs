//! Orders: a state machine with a timeline. Illegal moves are conflicts that
//! name the current state; cancelling returns the stock and, when paid,
//! records a refund.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::payments::lock_payment;
use super::refunds::{RefundStatus, queue_refund};
use super::{StoreError, StoreService};
use crate::storage::StorageError;
use crate::storage::entities::{
    order, order_event, order_item, payment, product_variant, refund, user,
};
use crate::validation::FieldErrors;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    PendingPayment,
    Paid,
    Processing,
    Shipped,
    Delivered,
    Completed,
    Cancelled,
}

pub const STATUSES: [&str; 7] = [
    "pending_payment",
    "paid",
    "processing",
    "shipped",
    "delivered",
    "completed",
    "cancelled",
];

impl Status {
    pub fn as_str(self) -> &'static str {
        STATUSES[self as usize]
    }

    pub fn parse(raw: &str) -> Option<Self> {
        use Status::*;
        [
            PendingPayment,
            Paid,
            Processing,
            Shipped,
            Delivered,
            Completed,
            Cancelled,
        ]
        .into_iter()
        .find(|s| s.as_str() == raw)
    }
}

/// Which side of the order the caller is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Customer,
    Tailor,
}

/// The moves each party may make. The customer cancels before processing
/// starts and confirms delivery; the tailor moves the order along and may
/// cancel until it has shipped.
pub fn allowed(party: Party, from: Status, to: Status) -> bool {
    use Status::*;
    match party {
        Party::Customer => matches!(
            (from, to),
            (PendingPayment | Paid, Cancelled) | (Delivered, Completed)
        ),
        Party::Tailor => matches!(
            (from, to),
            (Paid, Processing)
                | (Processing, Shipped)
                | (Shipped, Delivered)
                | (PendingPayment | Paid | Processing, Cancelled)
        ),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderItemView {
    pub product_id: Uuid,
    pub variant_id: Uuid,
    pub product_name: String,
    pub size: String,
    pub color: String,
    /// Kobo, as at checkout.
    pub unit_price: i64,
    pub quantity: i64,
    pub line_total: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderEventView {
    pub status: String,
    /// Who made the move; null for the system.
    pub actor_id: Option<Uuid>,
    pub note: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentView {
    /// `paystack` or `pay_on_delivery`.
    pub method: String,
    /// `pending`, `paid`, `on_delivery`, `refund_pending` (a refund is on
    /// its way to Paystack), `refunded` (Paystack accepted it) or
    /// `refund_under_review` (Paystack refused it or its answer was lost;
    /// our staff follow up).
    pub status: String,
    /// Kobo refunded when a paid order was cancelled.
    pub refunded: i64,
    /// Where the refund is: `queued` (being sent to Paystack), `sent`
    /// (Paystack accepted it), `failed` or `unconfirmed` (our staff follow
    /// up); null without a refund.
    pub refund_status: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView {
    pub id: Uuid,
    pub customer_id: Uuid,
    /// URL of the customer's avatar (`/media/...`); null without one.
    pub customer_avatar: Option<String>,
    pub tailor_id: Uuid,
    /// URL of the tailor's avatar; null without one.
    pub tailor_avatar: Option<String>,
    pub status: String,
    pub subtotal: i64,
    pub total: i64,
    pub currency: String,
    pub delivery_address: String,
    pub payment: PaymentView,
    pub items: Vec<OrderItemView>,
    pub timeline: Vec<OrderEventView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub struct OrderPage {
    pub count: u64,
    pub orders: Vec<OrderView>,
}

impl StoreService {
    /// The caller's orders as customer (`Party::Customer`) or as tailor.
    pub async fn orders(
        &self,
        user: &user::Model,
        party: Party,
        status: Option<&str>,
        page: u64,
        page_size: u64,
    ) -> Result<Option<OrderPage>, StoreError> {
        let mut select = order::Entity::find();
        select = match party {
            Party::Customer => select.filter(order::Column::CustomerId.eq(user.id)),
            Party::Tailor => select.filter(order::Column::TailorId.eq(user.id)),
        };
        if let Some(status) = status.filter(|s| !s.is_empty()) {
            if Status::parse(status).is_none() {
                return Err(FieldErrors::single(
                    "status",
                    format!("\"{status}\" is not a valid status."),
                )
                .into());
            }
            select = select.filter(order::Column::Status.eq(status));
        }
        let count = select.clone().count(&self.db).await?;
        let Some(offset) = crate::storage::page_offset(page, page_size, count) else {
            return Ok(None);
        };
        let rows = select
            .order_by_desc(order::Column::Id)
            .offset(offset)
            .limit(page_size)
            .all(&self.db)
            .await?;
        let orders = self.order_views(&self.db, rows).await?;
        Ok(Some(OrderPage { count, orders }))
    }

    /// An order the caller is part of (404 for everyone else).
    pub async fn order(&self, user: &user::Model, id: Uuid) -> Result<OrderView, StoreError> {
        let (row, _) = self.order_of_party(user, id).await?;
        self.order_view(&self.db, row).await
    }

    async fn order_of_party(
        &self,
        user: &user::Model,
        id: Uuid,
    ) -> Result<(order::Model, Party), StoreError> {
        let row = order::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(StoreError::NotFound)?;
        let party = if row.customer_id == user.id {
            Party::Customer
        } else if row.tailor_id == user.id {
            Party::Tailor
        } else {
            return Err(StoreError::NotFound);
        };
        Ok((row, party))
    }

    pub async fn change_order_status(
        &self,
        user: &user::Model,
        id: Uuid,
        status: Option<String>,
        note: Option<String>,
    ) -> Result<OrderView, StoreError> {
        let mut errors = FieldErrors::new();
        let raw = errors
            .required("status", &status)
            .unwrap_or_default()
            .to_string();
        let target = Status::parse(&raw);
        if !raw.is_empty() && target.is_none() {
            errors.add("status", format!("\"{raw}\" is not a valid status."));
        }
        let note = note.unwrap_or_default();
        errors.max_len("note", &note, 500);
        errors.into_result()?;
        let target = target.unwrap_or(Status::Cancelled);

        let (row, party) = self.order_of_party(user, id).await?;
        let current = Status::parse(&row.status).unwrap_or(Status::Cancelled);
        if !allowed(party, current, target) {
            return Err(StoreError::Conflict(
                "invalid_transition",
                format!(
                    "This order is {}; it cannot be moved to {} by the {}.",
                    current.as_str(),
                    target.as_str(),
                    if party == Party::Customer {
                        "customer"
                    } else {
                        "tailor"
                    },
                ),
            ));
        }
        let txn = self.db.begin().await?;
        // The payment before the order, as settlement and expiry lock them.
        if let Some(payment_id) = row.payment_id {
            lock_payment(&txn, payment_id).await?;
        }
        let moved = self
            .move_order(&txn, &row, current, target, Some(user.id), note.trim())
            .await?;
        if !moved {
            return Err(StoreError::Conflict(
                "invalid_transition",
                "The order changed meanwhile; reload it and try again.".into(),
            ));
        }
        txn.commit().await?;
        if target == Status::Cancelled {
            self.catalog_changed();
        }
        let row = order::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(StoreError::NotFound)?;
        self.order_view(&self.db, row).await
    }

    /// Moves the order if it is still in `from`; on cancel returns the stock
    /// and records the refund of a paid order. False when it had moved on.
    pub(super) async fn move_order(
        &self,
        conn: &impl ConnectionTrait,
        row: &order::Model,
        from: Status,
        to: Status,
        actor: Option<Uuid>,
        note: &str,
    ) -> Result<bool, StoreError> {
        // A Paystack order is paid from `paid` on; pay on delivery never is here.
        let owes_refund = to == Status::Cancelled
            && row.payment_method == "paystack"
            && matches!(from, Status::Paid | Status::Processing);
        let mut update = order::Entity::update_many()
            .col_expr(order::Column::Status, Expr::value(to.as_str()))
            .col_expr(order::Column::UpdatedAt, Expr::value(Utc::now()));
        if owes_refund {
            update = update.col_expr(order::Column::RefundKobo, Expr::value(row.total_kobo));
        }
        let moved = update
            .filter(order::Column::Id.eq(row.id))
            .filter(order::Column::Status.eq(from.as_str()))
            .exec(conn)
            .await?;
        if moved.rows_affected != 1 {
            return Ok(false);
        }
        if owes_refund {
            self.refund_order(conn, row).await?;
        }
        self.move_earnings(conn, row, to).await?;
        if to == Status::Cancelled {
            // In variant order, as checkout takes stock.
            let items = order_item::Entity::find()
                .filter(order_item::Column::OrderId.eq(row.id))
                .order_by_asc(order_item::Column::VariantId)
                .all(conn)
                .await?;
            for item in items {
                product_variant::Entity::update_many()
                    .col_expr(
                        product_variant::Column::Stock,
                        Expr::col(product_variant::Column::Stock).add(item.quantity),
                    )
                    .filter(product_variant::Column::Id.eq(item.variant_id))
                    .exec(conn)
                    .await?;
            }
        }
        record_event(conn, row.id, to, actor, note).await?;
        Ok(true)
    }

    /// The tailor's money follows the order: a delivered order's escrow is
    /// released after the hold (at once when the customer completes it);
    /// an order paid on delivery owes the platform its fee.
    async fn move_earnings(
        &self,
        conn: &impl ConnectionTrait,
        row: &order::Model,
        to: Status,
    ) -> Result<(), StoreError> {
        use crate::wallet::{Source, flows};
        let source = Source::order(row.id);
        let online = row.payment_method == "paystack";
        match to {
            Status::Delivered if online => {
                let at = chrono::TimeDelta::from_std(self.wallet.hold)
                    .ok()
                    .and_then(|hold| Utc::now().checked_add_signed(hold))
                    .unwrap_or(DateTime::<Utc>::MAX_UTC);
                flows::release_at(conn, row.tailor_id, source, at).await?;
            }
            Status::Delivered => {
                let memo = "The platform's fee on an order paid on delivery.";
                flows::fee_owed(
                    conn,
                    self.wallet.fee_bps,
                    row.tailor_id,
                    source,
                    row.total_kobo,
                    memo,
                )
                .await?;
            }
            Status::Completed if online => {
                let memo = "Released: the customer confirmed delivery.";
                flows::release(conn, row.tailor_id, source, memo).await?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Queues the refund of a paid order that was just cancelled.
    async fn refund_order(
        &self,
        conn: &impl ConnectionTrait,
        row: &order::Model,
    ) -> Result<(), StoreError> {
        let paid_with = match row.payment_id {
            Some(id) => payment::Entity::find_by_id(id).one(conn).await?,
            None => None,
        };
        match paid_with {
            Some(payment) => queue_refund(conn, row, &payment).await,
            None => {
                tracing::error!(order = %row.id, "a paid order without a payment: refund it by hand");
                Ok(())
            }
        }
    }

    pub(super) async fn order_view(
        &self,
        conn: &impl ConnectionTrait,
        row: order::Model,
    ) -> Result<OrderView, StoreError> {
        let mut views = self.order_views(conn, vec![row]).await?;
        views.pop().ok_or(StoreError::NotFound)
    }

    /// Views of several orders with one query each for all their items,
    /// events, refunds and avatars, not one per order.
    pub(super) async fn order_views(
        &self,
        conn: &impl ConnectionTrait,
        rows: Vec<order::Model>,
    ) -> Result<Vec<OrderView>, StoreError> {
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let (mut items, mut events) = order_lines(conn, &ids).await?;
        let mut refunds: HashMap<Uuid, String> = refund::Entity::find()
            .filter(refund::Column::OrderId.is_in(ids.iter().copied()))
            .all(conn)
            .await?
            .into_iter()
            .filter_map(|r| Some((r.order_id?, r.status)))
            .collect();
        let parties = rows.iter().flat_map(|r| [r.customer_id, r.tailor_id]);
        let avatars = crate::media::avatar_urls(conn, parties).await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let items = items.remove(&row.id).unwrap_or_default();
                let timeline = events.remove(&row.id).unwrap_or_default();
                let refund_status = refunds.remove(&row.id);
                let mut view = view(row, items, timeline, refund_status);
                view.customer_avatar = avatars.get(&view.customer_id).cloned();
                view.tailor_avatar = avatars.get(&view.tailor_id).cloned();
                view
            })
            .collect())
    }
}

fn view(
    row: order::Model,
    items: Vec<OrderItemView>,
    timeline: Vec<OrderEventView>,
    refund_status: Option<String>,
) -> OrderView {
    let payment_status = match refund_status.as_deref() {
        Some(s) if s == RefundStatus::Sent.as_str() => "refunded",
        Some(s) if s == RefundStatus::Queued.as_str() => "refund_pending",
        Some(_) => "refund_under_review",
        None => legacy_payment_status(&row),
    };
    OrderView {
        id: row.id,
        customer_id: row.customer_id,
        customer_avatar: None,
        tailor_id: row.tailor_id,
        tailor_avatar: None,
        status: row.status,
        subtotal: row.subtotal_kobo,
        total: row.total_kobo,
        currency: row.currency,
        delivery_address: row.delivery_address,
        payment: PaymentView {
            method: row.payment_method,
            status: payment_status.into(),
            refunded: row.refund_kobo,
            refund_status,
        },
        items,
        timeline,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

/// The payment status of an order without a refund row (refunds recorded
/// before they were sent to Paystack have only `refund_kobo`).
fn legacy_payment_status(row: &order::Model) -> &'static str {
    if row.refund_kobo > 0 {
        "refunded"
    } else if row.payment_method == "pay_on_delivery" {
        "on_delivery"
    } else if row.status == Status::PendingPayment.as_str()
        || (row.status == Status::Cancelled.as_str() && row.refund_kobo == 0)
    {
        "pending"
    } else {
        "paid"
    }
}

pub(super) async fn record_event(
    conn: &impl ConnectionTrait,
    order_id: Uuid,
    status: Status,
    actor: Option<Uuid>,
    note: &str,
) -> Result<(), StorageError> {
    order_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        order_id: Set(order_id),
        status: Set(status.as_str().into()),
        actor_id: Set(actor),
        note: Set(note.to_string()),
        created_at: Set(Utc::now()),
    }
    .insert(conn)
    .await?;
    crate::notifications::events::order_status(conn, order_id, status.as_str(), actor).await?;
    Ok(())
}

/// The items and the timeline of these orders, by order id, in two queries
/// whatever their number (order views and the data export share them).
pub async fn order_lines(
    conn: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<
    (
        HashMap<Uuid, Vec<OrderItemView>>,
        HashMap<Uuid, Vec<OrderEventView>>,
    ),
    sea_orm::DbErr,
> {
    let mut items: HashMap<Uuid, Vec<OrderItemView>> = HashMap::new();
    for i in order_item::Entity::find()
        .filter(order_item::Column::OrderId.is_in(ids.iter().copied()))
        .order_by_asc(order_item::Column::Id)
        .all(conn)
        .await?
    {
        items.entry(i.order_id).or_default().push(OrderItemView {
            product_id: i.product_id,
            variant_id: i.variant_id,
            product_name: i.product_name,
            size: i.size,
            color: i.color,
            unit_price: i.unit_price_kobo,
            quantity: i.quantity,
            line_total: i.line_total_kobo,
        });
    }
    let mut events: HashMap<Uuid, Vec<OrderEventView>> = HashMap::new();
    for e in order_event::Entity::find()
        .filter(order_event::Column::OrderId.is_in(ids.iter().copied()))
        .order_by_asc(order_event::Column::Id)
        .all(conn)
        .await?
    {
        events.entry(e.order_id).or_default().push(OrderEventView {
            status: e.status,
            actor_id: e.actor_id,
            note: e.note,
            at: e.created_at,
        });
    }
    Ok((items, events))
}

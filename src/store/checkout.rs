//! Checkout: one order per tailor in the cart, totals from current prices,
//! stock taken in the same transaction by conditional decrements, so stock
//! never goes negative under any interleaving.

use std::collections::BTreeMap;

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, TransactionTrait,
};
use uuid::Uuid;

use super::cart::CartLine;
use super::orders::{OrderView, Status, record_event};
use super::payments::PaymentInfo;
use super::{CURRENCY, StoreError, StoreService};
use crate::storage::entities::{cart_item, order, order_item, payment, product_variant, user};
use crate::validation::{FieldErrors, NON_FIELD};

pub const PAYMENT_METHODS: [&str; 2] = ["paystack", "pay_on_delivery"];

pub struct CheckoutResult {
    pub orders: Vec<OrderView>,
    /// With `paystack`: where to pay.
    pub payment: Option<PaymentInfo>,
}

impl StoreService {
    pub async fn checkout(
        &self,
        customer: &user::Model,
        delivery_address: Option<String>,
        payment_method: Option<String>,
    ) -> Result<CheckoutResult, StoreError> {
        let mut errors = FieldErrors::new();
        let address = errors
            .required("delivery_address", &delivery_address)
            .unwrap_or_default()
            .trim()
            .to_string();
        errors.max_len("delivery_address", &address, 500);
        let method = errors
            .required("payment_method", &payment_method)
            .unwrap_or_default()
            .to_string();
        if !method.is_empty() && !PAYMENT_METHODS.contains(&method.as_str()) {
            errors.add(
                "payment_method",
                format!("\"{method}\" is not a valid choice."),
            );
        }
        let online = method == "paystack";
        if online && self.paystack.is_none() {
            errors.add(
                "payment_method",
                "Online payment is not configured on this server; use pay_on_delivery.",
            );
        }
        errors.into_result()?;

        let lines = self.cart_lines(customer.id).await?;
        if lines.is_empty() {
            return Err(FieldErrors::single(NON_FIELD, "Your cart is empty.").into());
        }
        if let Some(gone) = lines.iter().find(|l| !l.purchasable) {
            return Err(StoreError::Conflict(
                "unavailable",
                format!(
                    "{} is no longer for sale; remove it from your cart.",
                    gone.product_name
                ),
            ));
        }

        // The provider is asked before anything is written: if it fails,
        // nothing has changed; if stock then runs out, its transaction is
        // simply never paid.
        let started = match &self.paystack {
            Some(paystack) if online => {
                let amount: i64 = lines.iter().map(|l| l.line_total).sum();
                let reference = format!("atl_{}", Uuid::now_v7().simple());
                let init = paystack
                    .initialize(&customer.email, amount, CURRENCY, &reference)
                    .await
                    .map_err(|e| StoreError::Provider(e.to_string()))?;
                Some((reference, amount, init.authorization_url))
            }
            _ => None,
        };

        let txn = self.db.begin().await?;
        // The customer's row first, as account deletion takes it: a deletion
        // that got there first leaves nothing to order for; one that comes
        // after waits for this order and then refuses (money in motion).
        if !crate::auth::hold_live_account(&txn, customer.id).await? {
            txn.rollback().await?;
            return Err(StoreError::Conflict(
                "account_deleted",
                "This account has been deleted.".into(),
            ));
        }
        // Writes come first (SQLite then takes its write lock at once), in
        // variant order (PostgreSQL row locks are then taken in one order).
        let mut by_variant: Vec<&CartLine> = lines.iter().collect();
        by_variant.sort_by_key(|l| l.variant_id);
        for line in &by_variant {
            let taken = product_variant::Entity::update_many()
                .col_expr(
                    product_variant::Column::Stock,
                    Expr::col(product_variant::Column::Stock).sub(line.quantity),
                )
                .filter(product_variant::Column::Id.eq(line.variant_id))
                .filter(product_variant::Column::Stock.gte(line.quantity))
                .exec(&txn)
                .await?;
            if taken.rows_affected != 1 {
                let left = product_variant::Entity::find_by_id(line.variant_id)
                    .one(&txn)
                    .await?
                    .map_or(0, |v| v.stock.max(0));
                txn.rollback().await?;
                return Err(StoreError::Conflict(
                    "out_of_stock",
                    format!(
                        "Only {left} left of {}{}; you asked for {}.",
                        line.product_name,
                        variant_label(line),
                        line.quantity
                    ),
                ));
            }
        }

        let mut by_tailor: BTreeMap<Uuid, Vec<&CartLine>> = BTreeMap::new();
        for line in &lines {
            by_tailor.entry(line.tailor_id).or_default().push(line);
        }
        let now = Utc::now();
        let payment = match &started {
            Some((reference, amount, url)) => Some(
                payment::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    reference: Set(reference.clone()),
                    customer_id: Set(customer.id),
                    provider: Set("paystack".into()),
                    amount_kobo: Set(*amount),
                    currency: Set(CURRENCY.into()),
                    status: Set("pending".into()),
                    authorization_url: Set(url.clone()),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
                .insert(&txn)
                .await?,
            ),
            None => None,
        };
        // Pay on delivery has nothing to wait for.
        let (initial, note) = match payment {
            Some(_) => (Status::PendingPayment, "Ordered; waiting for payment."),
            None => (Status::Processing, "Ordered; pay on delivery."),
        };
        let mut orders = Vec::new();
        for (tailor_id, items) in by_tailor {
            let subtotal: i64 = items.iter().map(|l| l.line_total).sum();
            let row = order::ActiveModel {
                id: Set(Uuid::now_v7()),
                customer_id: Set(customer.id),
                tailor_id: Set(tailor_id),
                status: Set(initial.as_str().into()),
                payment_method: Set(method.clone()),
                subtotal_kobo: Set(subtotal),
                total_kobo: Set(subtotal),
                refund_kobo: Set(0),
                currency: Set(CURRENCY.into()),
                delivery_address: Set(address.clone()),
                created_at: Set(now),
                updated_at: Set(now),
                payment_id: Set(payment.as_ref().map(|p| p.id)),
            }
            .insert(&txn)
            .await?;
            for line in items {
                order_item::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    order_id: Set(row.id),
                    product_id: Set(line.product_id),
                    variant_id: Set(line.variant_id),
                    product_name: Set(line.product_name.clone()),
                    size: Set(line.size.clone()),
                    color: Set(line.color.clone()),
                    unit_price_kobo: Set(line.unit_price),
                    quantity: Set(line.quantity),
                    line_total_kobo: Set(line.line_total),
                }
                .insert(&txn)
                .await?;
            }
            record_event(&txn, row.id, initial, Some(customer.id), note).await?;
            orders.push(row);
        }
        cart_item::Entity::delete_many()
            .filter(cart_item::Column::UserId.eq(customer.id))
            .exec(&txn)
            .await?;
        let views = self.order_views(&txn, orders).await?;
        txn.commit().await?;
        self.catalog_changed();
        tracing::info!(customer_id = %customer.id, orders = views.len(), online, "checkout");
        let payment = match payment {
            Some(row) => Some(self.payment_info(&row).await?),
            None => None,
        };
        Ok(CheckoutResult {
            orders: views,
            payment,
        })
    }
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

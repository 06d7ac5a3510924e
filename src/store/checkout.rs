//! Checkout: one order per tailor in the cart, totals from current prices,
//! stock taken in the same transaction by conditional decrements, so stock
//! never goes negative under any interleaving.
//!
//! One cart makes one checkout, whatever the `Idempotency-Key`s say: a
//! checkout first claims the customer's cart (a row in `checkout_claims`),
//! so a second request stops before it asks the payment provider for
//! anything; and the transaction that places the orders consumes the cart
//! with one `DELETE ... RETURNING`, so even a checkout that took over an
//! expired claim can only place what it deleted itself.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    TransactionTrait,
};
use uuid::Uuid;

use super::cart::CartLine;
use super::orders::{OrderView, Status, record_event};
use super::payment_owners::{PaymentPage, record_payment};
use super::payments::PaymentInfo;
use super::{CURRENCY, StoreError, StoreService};
use crate::storage::entities::{
    cart_item, checkout_claim, order, order_item, payment, product_variant, user,
};
use crate::validation::{FieldErrors, NON_FIELD};

pub const PAYMENT_METHODS: [&str; 2] = ["paystack", "pay_on_delivery"];

/// The conflict code of a checkout refused because another one of the same
/// cart is running (the HTTP layer does not store it under the key: it is
/// not the answer to that request for good).
pub const CHECKOUT_IN_PROGRESS: &str = "checkout_in_progress";

/// How long a checkout holds the cart before another request may take the
/// claim over: longer than the payment provider's timeout (15 s), short
/// enough that a request that died does not block the customer for long.
const CLAIM_LEASE: Duration = Duration::from_secs(30);

pub struct CheckoutResult {
    pub orders: Vec<OrderView>,
    /// With `paystack`: where to pay.
    pub payment: Option<PaymentInfo>,
}

/// A payment started with the provider before the orders are written.
impl StoreService {
    pub async fn checkout(
        &self,
        customer: &user::Model,
        delivery_address: Option<String>,
        payment_method: Option<String>,
    ) -> Result<CheckoutResult, StoreError> {
        let (address, method) = self.checkout_fields(delivery_address, payment_method)?;
        let claim = self.claim_cart(customer.id).await?;
        let outcome = self
            .checkout_claimed(customer, &address, &method, claim)
            .await;
        if outcome.is_err() {
            // On success the claim went with the cart, in the same transaction.
            if let Err(err) = self.release_cart(customer.id, claim).await {
                tracing::warn!(error = %err, customer_id = %customer.id,
                    "releasing a failed checkout's claim failed; it expires by itself");
            }
        }
        outcome
    }

    /// The checked address and payment method.
    fn checkout_fields(
        &self,
        delivery_address: Option<String>,
        payment_method: Option<String>,
    ) -> Result<(String, String), StoreError> {
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
        if method == "paystack" && self.paystack.is_none() {
            errors.add(
                "payment_method",
                "Online payment is not configured on this server; use pay_on_delivery.",
            );
        }
        errors.into_result()?;
        Ok((address, method))
    }

    /// Claims the customer's cart for one checkout: the claim token, or a
    /// conflict while another checkout of the cart runs. One atomic upsert:
    /// it inserts, or takes over a claim whose request died (expired).
    async fn claim_cart(&self, user_id: Uuid) -> Result<Uuid, StoreError> {
        let token = Uuid::now_v7();
        let now = Utc::now();
        let lease = TimeDelta::from_std(CLAIM_LEASE).unwrap_or_else(|_| TimeDelta::seconds(30));
        let claimed = checkout_claim::Entity::insert(checkout_claim::ActiveModel {
            user_id: Set(user_id),
            token: Set(token),
            expires_at: Set(now + lease),
        })
        .on_conflict(
            OnConflict::column(checkout_claim::Column::UserId)
                .update_columns([
                    checkout_claim::Column::Token,
                    checkout_claim::Column::ExpiresAt,
                ])
                .action_and_where(
                    Expr::col((checkout_claim::Entity, checkout_claim::Column::ExpiresAt)).lt(now),
                )
                .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await?;
        if claimed == 1 {
            Ok(token)
        } else {
            Err(StoreError::Conflict(
                CHECKOUT_IN_PROGRESS,
                "Your cart is being checked out by another request; wait for it to finish.".into(),
            ))
        }
    }

    /// Gives the claim up (only ours: an expired one may have been taken over).
    async fn release_cart(&self, user_id: Uuid, token: Uuid) -> Result<(), StoreError> {
        release_claim(&self.db, user_id, token).await
    }

    async fn checkout_claimed(
        &self,
        customer: &user::Model,
        address: &str,
        method: &str,
        claim: Uuid,
    ) -> Result<CheckoutResult, StoreError> {
        let lines = self.cart_lines(customer.id).await?;
        ensure_can_check_out(&lines)?;

        // The provider is asked before anything is written: if it fails,
        // nothing has changed; if stock then runs out, its transaction is
        // simply never paid. The claim keeps a second checkout from asking too.
        let started = match &self.paystack {
            Some(paystack) if method == "paystack" => {
                let amount: i64 = lines.iter().map(|l| l.line_total).sum();
                let reference = format!("atl_{}", Uuid::now_v7().simple());
                let init = paystack
                    .initialize(&customer.email, amount, CURRENCY, &reference)
                    .await
                    .map_err(|e| StoreError::Provider(e.to_string()))?;
                Some(PaymentPage {
                    reference,
                    amount,
                    authorization_url: init.authorization_url,
                })
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
        // The cart is consumed first (SQLite then takes its write lock at
        // once): the rows this statement deletes are the only ones this
        // checkout may place, and no other checkout can delete them too.
        if !consume_cart(&txn, customer.id, &lines).await? {
            txn.rollback().await?;
            return Err(StoreError::Conflict(
                "cart_changed",
                "Your cart changed during checkout; review it and check out again.".into(),
            ));
        }
        if let Err(err) = take_stock(&txn, &lines).await {
            txn.rollback().await?;
            return Err(err);
        }
        let payment = match &started {
            Some(started) => Some(
                record_payment(&txn, customer.id, started, super::payments::ORDER_PURPOSE).await?,
            ),
            None => None,
        };
        let orders =
            place_orders(&txn, customer, address, method, &lines, payment.as_ref()).await?;
        release_claim(&txn, customer.id, claim).await?;
        let views = self.order_views(&txn, orders).await?;
        txn.commit().await?;
        self.catalog_changed();
        tracing::info!(customer_id = %customer.id, orders = views.len(), method, "checkout");
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

fn ensure_can_check_out(lines: &[CartLine]) -> Result<(), StoreError> {
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
    Ok(())
}

async fn release_claim(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    token: Uuid,
) -> Result<(), StoreError> {
    checkout_claim::Entity::delete_many()
        .filter(checkout_claim::Column::UserId.eq(user_id))
        .filter(checkout_claim::Column::Token.eq(token))
        .exec(conn)
        .await?;
    Ok(())
}

/// Empties the customer's cart in one statement; true when what it deleted
/// is exactly the priced `lines` (same items, same quantities). False when
/// the cart changed since it was read, or another checkout consumed it.
async fn consume_cart(
    txn: &impl ConnectionTrait,
    user_id: Uuid,
    lines: &[CartLine],
) -> Result<bool, StoreError> {
    let deleted = cart_item::Entity::delete_many()
        .filter(cart_item::Column::UserId.eq(user_id))
        .exec_with_returning(txn)
        .await?;
    let mut consumed: Vec<(Uuid, i64)> = deleted.iter().map(|r| (r.id, r.quantity)).collect();
    let mut priced: Vec<(Uuid, i64)> = lines.iter().map(|l| (l.id, l.quantity)).collect();
    consumed.sort_unstable();
    priced.sort_unstable();
    Ok(consumed == priced)
}

/// Conditional decrements in variant order (PostgreSQL row locks are then
/// taken in one order); a conflict saying what is left when one runs short.
async fn take_stock(txn: &impl ConnectionTrait, lines: &[CartLine]) -> Result<(), StoreError> {
    let mut by_variant: Vec<&CartLine> = lines.iter().collect();
    by_variant.sort_by_key(|l| l.variant_id);
    for line in by_variant {
        let taken = product_variant::Entity::update_many()
            .col_expr(
                product_variant::Column::Stock,
                Expr::col(product_variant::Column::Stock).sub(line.quantity),
            )
            .filter(product_variant::Column::Id.eq(line.variant_id))
            .filter(product_variant::Column::Stock.gte(line.quantity))
            .exec(txn)
            .await?;
        if taken.rows_affected != 1 {
            let left = product_variant::Entity::find_by_id(line.variant_id)
                .one(txn)
                .await?
                .map_or(0, |v| v.stock.max(0));
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
    Ok(())
}

/// One order per tailor, with its items and first timeline event.
async fn place_orders(
    txn: &impl ConnectionTrait,
    customer: &user::Model,
    address: &str,
    method: &str,
    lines: &[CartLine],
    payment: Option<&payment::Model>,
) -> Result<Vec<order::Model>, StoreError> {
    let mut by_tailor: BTreeMap<Uuid, Vec<&CartLine>> = BTreeMap::new();
    for line in lines {
        by_tailor.entry(line.tailor_id).or_default().push(line);
    }
    // Pay on delivery has nothing to wait for.
    let (initial, note) = match payment {
        Some(_) => (Status::PendingPayment, "Ordered; waiting for payment."),
        None => (Status::Processing, "Ordered; pay on delivery."),
    };
    let now = Utc::now();
    let mut orders = Vec::new();
    for (tailor_id, items) in by_tailor {
        let subtotal: i64 = items.iter().map(|l| l.line_total).sum();
        let row = order::ActiveModel {
            id: Set(Uuid::now_v7()),
            customer_id: Set(customer.id),
            tailor_id: Set(tailor_id),
            status: Set(initial.as_str().into()),
            payment_method: Set(method.to_string()),
            subtotal_kobo: Set(subtotal),
            total_kobo: Set(subtotal),
            refund_kobo: Set(0),
            currency: Set(CURRENCY.into()),
            delivery_address: Set(address.to_string()),
            created_at: Set(now),
            updated_at: Set(now),
            payment_id: Set(payment.map(|p| p.id)),
        }
        .insert(txn)
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
            .insert(txn)
            .await?;
        }
        record_event(txn, row.id, initial, Some(customer.id), note).await?;
        orders.push(row);
    }
    Ok(orders)
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

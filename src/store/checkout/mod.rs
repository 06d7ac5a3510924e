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
//!
//! That transaction is shared: checkouts arriving together are written by
//! one writer in one transaction (`place`). The payment provider is asked
//! before, outside any transaction.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::cart::CartLine;
use super::orders::OrderView;
use super::payment_owners::PaymentPage;
use super::payments::PaymentInfo;
use super::{CURRENCY, StoreError, StoreService};
use crate::storage::entities::{checkout_claim, user};
use crate::validation::{FieldErrors, NON_FIELD};

mod place;
pub(super) use place::Checkouts;
use place::PlaceOrders;

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

        let placed = self
            .checkouts
            .run(PlaceOrders {
                customer_id: customer.id,
                address: address.to_string(),
                method: method.to_string(),
                lines,
                payment: started,
                claim,
            })
            .await??;
        let views = self.order_views(&self.db, placed.orders).await?;
        self.catalog_changed();
        tracing::info!(customer_id = %customer.id, orders = views.len(), method, "checkout");
        let payment = match placed.payment {
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

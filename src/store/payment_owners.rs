//! Payments for things other than a checkout's orders (a commission's
//! deposit or balance): the same provider, the same webhook and the same
//! checks (signature, amount, currency, once per reference); only what a
//! paid payment changes belongs to the area that asked for it, which
//! registers a `PaymentOwner` for its purpose.

use std::sync::Arc;

use chrono::Utc;
use futures_util::future::BoxFuture;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction,
    EntityTrait, QueryFilter, TransactionTrait,
};
use uuid::Uuid;

use super::paystack::Transaction;
use super::{CURRENCY, StoreError, StoreService};
use crate::storage::StorageError;
use crate::storage::entities::{payment, user};

/// What the provider gave us for a payment it is ready to take.
pub struct PaymentPage {
    pub reference: String,
    pub amount: i64,
    pub authorization_url: String,
}

/// The area that a paid payment of one purpose matters to.
pub trait PaymentOwner: Send + Sync {
    /// Called once per payment, in the transaction that marks it paid (so
    /// both happen or neither). The owner may queue a refund if what was
    /// paid for is no longer wanted.
    fn paid<'a>(
        &'a self,
        txn: &'a DatabaseTransaction,
        payment: &'a payment::Model,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
}

/// Who follows `transfer.*` events (the wallet's payouts). They arrive on
/// the one Paystack webhook, after its signature check; the owner gets the
/// event's name and its `data` and must make replays change nothing.
pub trait TransferEvents: Send + Sync {
    fn transfer_event<'a>(
        &'a self,
        event: &'a str,
        data: &'a serde_json::Value,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
}

impl StoreService {
    pub fn register_transfer_events(&self, owner: Arc<dyn TransferEvents>) {
        *self.transfer_events.write().expect("transfer events lock") = Some(owner);
    }

    pub(super) fn transfer_events(&self) -> Option<Arc<dyn TransferEvents>> {
        self.transfer_events
            .read()
            .expect("transfer events lock")
            .clone()
    }

    pub fn register_payment_owner(&self, purpose: &'static str, owner: Arc<dyn PaymentOwner>) {
        self.payment_owners
            .write()
            .expect("payment owners lock")
            .insert(purpose, owner);
    }

    fn payment_owner(&self, purpose: &str) -> Option<Arc<dyn PaymentOwner>> {
        self.payment_owners
            .read()
            .expect("payment owners lock")
            .get(purpose)
            .cloned()
    }

    pub fn online_payments_enabled(&self) -> bool {
        self.paystack.is_some()
    }

    /// Asks the provider for a page where `customer` pays `amount` kobo;
    /// nothing is written (record it with `record_payment`).
    pub async fn open_payment_page(
        &self,
        customer: &user::Model,
        amount: i64,
    ) -> Result<PaymentPage, StoreError> {
        let paystack = self.paystack.as_ref().ok_or(StoreError::Conflict(
            "payments_unavailable",
            "Online payment is not configured on this server.".into(),
        ))?;
        let reference = format!("atl_{}", Uuid::now_v7().simple());
        let init = paystack
            .initialize(&customer.email, amount, CURRENCY, &reference)
            .await
            .map_err(|e| StoreError::Provider(e.to_string()))?;
        Ok(PaymentPage {
            reference,
            amount,
            authorization_url: init.authorization_url,
        })
    }

    /// Asks the provider about one of `customer`'s payments and settles it
    /// as its webhook would; the payment as it is afterwards.
    pub async fn verify_reference(
        &self,
        customer: &user::Model,
        reference: &str,
    ) -> Result<payment::Model, StoreError> {
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
        payment::Entity::find_by_id(row.id)
            .one(&self.db)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Marks a checked payment of another area paid and lets its owner act,
    /// in one transaction; a replay finds it paid and changes nothing.
    pub(super) async fn settle_for_owner(
        &self,
        row: &payment::Model,
        _transaction: &Transaction,
    ) -> Result<(), StoreError> {
        let Some(owner) = self.payment_owner(&row.purpose) else {
            tracing::error!(reference = %row.reference, purpose = %row.purpose,
                "a payment whose purpose nothing handles; left pending");
            return Ok(());
        };
        let txn = self.db.begin().await?;
        if !super::payments::move_payment(&txn, row.id, "pending", "paid").await? {
            txn.rollback().await?;
            return Ok(());
        }
        let paid = payment::Model {
            status: "paid".into(),
            ..row.clone()
        };
        owner.paid(&txn, &paid).await?;
        txn.commit().await?;
        tracing::info!(reference = %row.reference, purpose = %row.purpose, "payment settled");
        Ok(())
    }
}

/// Writes a payment the provider opened a page for; part of the caller's
/// transaction.
pub async fn record_payment(
    conn: &impl ConnectionTrait,
    customer_id: Uuid,
    page: &PaymentPage,
    purpose: &str,
) -> Result<payment::Model, StorageError> {
    let now = Utc::now();
    Ok(payment::ActiveModel {
        id: Set(Uuid::now_v7()),
        reference: Set(page.reference.clone()),
        customer_id: Set(customer_id),
        provider: Set("paystack".into()),
        amount_kobo: Set(page.amount),
        currency: Set(CURRENCY.into()),
        status: Set("pending".into()),
        authorization_url: Set(page.authorization_url.clone()),
        purpose: Set(purpose.into()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await?)
}

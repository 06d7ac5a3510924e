//! Tailors' payout bank accounts: the bank list, account resolution with
//! Paystack, adding the first account, and changing it with the password
//! and an emailed code. A new or changed account takes payouts only after a
//! cooldown, so that a stolen session cannot redirect a tailor's money
//! before the tailor reads the security email.
//!
//! The account number is never stored: Paystack keeps it behind the
//! transfer recipient (`RCP_...`), which is all a transfer needs; we keep
//! the last four digits to show. A leak of our database then gives no
//! account numbers, and nothing here can log or return one.

mod banks;
pub mod http;
mod records;
mod setup;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use uuid::Uuid;

use self::banks::BankCache;
use super::transfers::Transfers;
use crate::auth::{AuthError, AuthService};
use crate::mail::Outbox;
use crate::storage::{StorageError, WriteGate};
use crate::throttle::{RetryAfter, Throttles};
use crate::validation::FieldErrors;

pub use records::forget_holder;
pub use setup::{AccountInput, ChangeInput, ResolveInput};

#[derive(Clone, Debug)]
pub struct PayoutAccountSettings {
    /// A new or changed account takes payouts this long after it was saved.
    pub cooldown: Duration,
}

impl Default for PayoutAccountSettings {
    fn default() -> Self {
        Self {
            cooldown: Duration::from_secs(24 * 3600),
        }
    }
}

/// What can go wrong, in domain terms; `http` maps it to responses.
#[derive(Debug, thiserror::Error)]
pub enum PayoutAccountError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// The tailor has no payout account (yet).
    #[error("no payout account")]
    NoAccount,
    #[error("conflict: {1}")]
    Conflict(&'static str, String),
    /// No Paystack key on this server.
    #[error("payouts not configured")]
    NotConfigured,
    /// Paystack could not be reached or gave no usable answer.
    #[error("payment provider unavailable: {0}")]
    ProviderDown(String),
    #[error("throttled")]
    Throttled(RetryAfter),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<FieldErrors> for PayoutAccountError {
    fn from(errors: FieldErrors) -> Self {
        PayoutAccountError::Invalid(errors)
    }
}

impl From<sea_orm::DbErr> for PayoutAccountError {
    fn from(err: sea_orm::DbErr) -> Self {
        PayoutAccountError::Storage(err.into())
    }
}

/// A tailor's current account as the tailor sees it (last 4 digits only).
#[derive(Debug, Clone)]
pub struct PayoutAccountView {
    pub id: Uuid,
    pub bank_code: String,
    pub bank_name: String,
    pub account_name: String,
    pub account_last4: String,
    pub usable_from: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// The bank's name for an account, for the tailor to confirm.
#[derive(Debug, Clone)]
pub struct ResolvedView {
    pub bank_code: String,
    pub bank_name: String,
    pub account_name: String,
    pub account_last4: String,
}

/// An account a payout may be sent to now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsableAccount {
    pub id: Uuid,
    /// Paystack's `RCP_...`: the transfer's `recipient`.
    pub recipient_code: String,
    pub bank_name: String,
    pub account_last4: String,
}

/// Why a tailor's account cannot take a payout.
#[derive(Debug, thiserror::Error)]
pub enum Unusable {
    /// Added or changed too recently: payouts may go to it from `usable_from`.
    #[error("the payout account is usable from {usable_from}")]
    TooNew { usable_from: DateTime<Utc> },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// The tailor's current account if a payout may go to it at `now`; `None`
/// without an account. Takes any connection, so a withdrawal can ask inside
/// its own transaction.
pub async fn usable(
    conn: &impl ConnectionTrait,
    tailor_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<UsableAccount>, Unusable> {
    let Some(row) = records::current(conn, tailor_id).await? else {
        return Ok(None);
    };
    if row.usable_from > now {
        return Err(Unusable::TooNew {
            usable_from: row.usable_from,
        });
    }
    Ok(Some(UsableAccount {
        id: row.id,
        recipient_code: row.recipient_code,
        bank_name: row.bank_name,
        account_last4: row.account_last4,
    }))
}

pub struct PayoutAccountService {
    db: DatabaseConnection,
    /// None without a Paystack key: every provider call answers 503.
    transfers: Option<Transfers>,
    banks: BankCache,
    auth: Arc<AuthService>,
    throttles: Throttles,
    outbox: Outbox,
    settings: PayoutAccountSettings,
    writes: WriteGate,
}

impl PayoutAccountService {
    pub fn new(
        db: DatabaseConnection,
        transfers: Option<Transfers>,
        auth: Arc<AuthService>,
        outbox: Outbox,
        settings: PayoutAccountSettings,
    ) -> Self {
        Self {
            throttles: Throttles::new(db.clone()),
            writes: WriteGate::for_db(&db),
            banks: BankCache::default(),
            db,
            transfers,
            auth,
            outbox,
            settings,
        }
    }

    /// The tailor's current account.
    pub async fn current(
        &self,
        user: &crate::storage::entities::user::Model,
    ) -> Result<PayoutAccountView, PayoutAccountError> {
        ensure_tailor(user)?;
        let row = records::current(&self.db, user.id)
            .await?
            .ok_or(PayoutAccountError::NoAccount)?;
        Ok(records::view(row))
    }

    fn transfers(&self) -> Result<&Transfers, PayoutAccountError> {
        self.transfers
            .as_ref()
            .ok_or(PayoutAccountError::NotConfigured)
    }
}

fn ensure_tailor(user: &crate::storage::entities::user::Model) -> Result<(), PayoutAccountError> {
    if user.role != "tailor" {
        return Err(PayoutAccountError::Forbidden(
            "Only tailors have payout accounts.",
        ));
    }
    Ok(())
}

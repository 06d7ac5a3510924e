//! The wallet's errors, and how the ledger's errors reach the areas that
//! post inside their own transactions.

use axum::http::StatusCode;

use super::ledger::LedgerError;
use crate::commissions::CommissionError;
use crate::error::ApiError;
use crate::storage::StorageError;
use crate::store::StoreError;
use crate::validation::FieldErrors;

#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl From<FieldErrors> for WalletError {
    fn from(errors: FieldErrors) -> Self {
        WalletError::Invalid(errors)
    }
}

impl From<StorageError> for WalletError {
    fn from(err: StorageError) -> Self {
        WalletError::Ledger(err.into())
    }
}

impl From<sea_orm::DbErr> for WalletError {
    fn from(err: sea_orm::DbErr) -> Self {
        WalletError::Ledger(err.into())
    }
}

impl From<LedgerError> for ApiError {
    fn from(err: LedgerError) -> Self {
        match err {
            LedgerError::Insufficient { account, short } => ApiError::new(
                StatusCode::CONFLICT,
                "insufficient_funds",
                format!("Your {account} balance is {short} kobo short."),
            ),
            LedgerError::Invalid(why) => ApiError::Internal(format!("ledger: {why}")),
            LedgerError::Storage(e) => e.into(),
        }
    }
}

impl From<WalletError> for ApiError {
    fn from(err: WalletError) -> Self {
        match err {
            WalletError::Invalid(errors) => ApiError::Validation(errors),
            WalletError::Forbidden(why) => {
                ApiError::new(StatusCode::FORBIDDEN, "permission_denied", why)
            }
            WalletError::Ledger(e) => e.into(),
        }
    }
}

/// A posting refused inside a shop flow is a bug, not the customer's
/// problem: the flow's transaction rolls back and the cause is logged.
impl From<LedgerError> for StoreError {
    fn from(err: LedgerError) -> Self {
        match err {
            LedgerError::Storage(e) => StoreError::Storage(e),
            other => StoreError::Storage(StorageError::Other(format!("ledger: {other}"))),
        }
    }
}

impl From<LedgerError> for CommissionError {
    fn from(err: LedgerError) -> Self {
        match err {
            LedgerError::Storage(e) => CommissionError::Storage(e),
            other => CommissionError::Storage(StorageError::Other(format!("ledger: {other}"))),
        }
    }
}

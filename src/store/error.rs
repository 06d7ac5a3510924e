use crate::storage::StorageError;
use crate::validation::FieldErrors;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("not found")]
    NotFound,
    /// The caller may not do this; the message says why.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// The request clashes with the current state (stock, order status);
    /// the message says what the state is.
    #[error("conflict ({0}): {1}")]
    Conflict(&'static str, String),
    /// A caller that is not who it claims (a webhook with a bad signature).
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    /// The payment provider failed or refused.
    #[error("{0}")]
    Provider(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<FieldErrors> for StoreError {
    fn from(errors: FieldErrors) -> Self {
        StoreError::Invalid(errors)
    }
}

impl From<sea_orm::DbErr> for StoreError {
    fn from(err: sea_orm::DbErr) -> Self {
        StoreError::Storage(err.into())
    }
}

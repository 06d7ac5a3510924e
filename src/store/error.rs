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

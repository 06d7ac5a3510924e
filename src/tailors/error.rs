use crate::storage::StorageError;
use crate::validation::FieldErrors;

#[derive(Debug, thiserror::Error)]
pub enum TailorError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("not found")]
    NotFound,
    /// The caller may not do this; the message says why.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// The request clashes with the current state; code and message say how.
    #[error("conflict ({0}): {1}")]
    Conflict(&'static str, String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<FieldErrors> for TailorError {
    fn from(errors: FieldErrors) -> Self {
        TailorError::Invalid(errors)
    }
}

impl From<sea_orm::DbErr> for TailorError {
    fn from(err: sea_orm::DbErr) -> Self {
        TailorError::Storage(err.into())
    }
}

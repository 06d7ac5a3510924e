use super::slots::SlotView;
use crate::storage::StorageError;
use crate::validation::FieldErrors;

#[derive(Debug, thiserror::Error)]
pub enum FittingError {
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
    /// Someone else holds the slot; the next open ones, to offer instead.
    #[error("slot taken")]
    SlotTaken(Vec<SlotView>),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<FieldErrors> for FittingError {
    fn from(errors: FieldErrors) -> Self {
        FittingError::Invalid(errors)
    }
}

impl From<sea_orm::DbErr> for FittingError {
    fn from(err: sea_orm::DbErr) -> Self {
        FittingError::Storage(err.into())
    }
}

use super::machine::Status;
use crate::chat::ChatError;
use crate::storage::StorageError;
use crate::store::StoreError;
use crate::validation::FieldErrors;

#[derive(Debug, thiserror::Error)]
pub enum CommissionError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    /// Not found, or not one of its two parties: the same from outside.
    #[error("not found")]
    NotFound,
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// The move is not allowed from the commission's current status.
    #[error("not allowed while {current}: {detail}")]
    WrongState { current: Status, detail: String },
    /// Another clash with the current state (code, message).
    #[error("conflict ({0}): {1}")]
    Conflict(&'static str, String),
    /// The payment provider failed or refused.
    #[error("{0}")]
    Provider(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl CommissionError {
    /// The move `what` is refused because the commission is `current`.
    pub fn wrong_state(current: Status, what: &str) -> Self {
        CommissionError::WrongState {
            current,
            detail: format!("Cannot {what}: this commission is {current}."),
        }
    }
}

impl From<FieldErrors> for CommissionError {
    fn from(errors: FieldErrors) -> Self {
        CommissionError::Invalid(errors)
    }
}

impl From<sea_orm::DbErr> for CommissionError {
    fn from(err: sea_orm::DbErr) -> Self {
        CommissionError::Storage(err.into())
    }
}

impl From<StoreError> for CommissionError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Invalid(errors) => CommissionError::Invalid(errors),
            StoreError::NotFound => CommissionError::NotFound,
            StoreError::Forbidden(why) | StoreError::Unauthorized(why) => {
                CommissionError::Forbidden(why)
            }
            StoreError::Conflict(code, detail) => CommissionError::Conflict(code, detail),
            StoreError::Provider(cause) => CommissionError::Provider(cause),
            StoreError::Storage(e) => CommissionError::Storage(e),
        }
    }
}

impl From<ChatError> for CommissionError {
    fn from(err: ChatError) -> Self {
        match err {
            ChatError::Invalid(errors) => CommissionError::Invalid(errors),
            ChatError::NotFound => CommissionError::NotFound,
            ChatError::Forbidden(_, why) => CommissionError::Forbidden(why),
            ChatError::Conflict(code, why) => CommissionError::Conflict(code, why.into()),
            ChatError::Throttled(_) => {
                CommissionError::Conflict("throttled", "Try again in a moment.".into())
            }
            ChatError::Storage(e) => CommissionError::Storage(e),
        }
    }
}

/// Money moved back to the store's error where the store calls us
/// (settling a payment inside its transaction).
impl From<CommissionError> for StoreError {
    fn from(err: CommissionError) -> Self {
        match err {
            CommissionError::Storage(e) => StoreError::Storage(e),
            other => StoreError::Conflict("commission", other.to_string()),
        }
    }
}

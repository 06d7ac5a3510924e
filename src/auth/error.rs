use crate::storage::StorageError;
use crate::throttle::RetryAfter;
use crate::validation::FieldErrors;

/// What can go wrong in an auth flow, in domain terms; `crate::error` maps it to HTTP.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("account not verified")]
    NotVerified,
    #[error("invalid code")]
    InvalidCode,
    #[error("code expired")]
    CodeExpired,
    #[error("token not valid")]
    TokenInvalid,
    #[error("not authenticated")]
    NotAuthenticated,
    #[error("not found")]
    NotFound,
    #[error("throttled")]
    Throttled(RetryAfter),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<FieldErrors> for AuthError {
    fn from(errors: FieldErrors) -> Self {
        AuthError::Invalid(errors)
    }
}

impl From<sea_orm::DbErr> for AuthError {
    fn from(err: sea_orm::DbErr) -> Self {
        AuthError::Storage(err.into())
    }
}

/// Turns a throttle decision into the flow's error.
pub(crate) fn throttled(decision: Result<(), RetryAfter>) -> Result<(), AuthError> {
    decision.map_err(AuthError::Throttled)
}

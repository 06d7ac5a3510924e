//! The one place where errors become HTTP responses, in Django REST
//! framework's shapes: `{"field": ["message"]}` for validation errors and
//! `{"detail": "...", "code": "..."}` for everything else.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::auth::AuthError;
use crate::chat::ChatError;
use crate::commissions::CommissionError;
use crate::fittings::FittingError;
use crate::jobs::JobsError;
use crate::media::MediaError;
use crate::notifications::NotificationError;
use crate::storage::StorageError;
use crate::store::StoreError;
use crate::tailors::TailorError;
use crate::throttle::RetryAfter;
use crate::validation::FieldErrors;

/// Body of every error that is not a validation error.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"detail": "Not found.", "code": "not_found"}))]
pub struct ErrorBody {
    /// Human-readable explanation.
    pub detail: String,
    /// Stable machine-readable code to switch on (`token_not_valid`, `throttled`, ...).
    pub code: String,
}

/// The documented shape of a validation error (what `FieldErrors`
/// serialises to): each key is a request field, or `non_field_errors`, with
/// one or more messages. Its values are arrays, so an `ErrorBody` (string
/// values) never matches it, and it never matches `ErrorBody` (no string
/// `detail` and `code`): a `oneOf` of the two always picks exactly one.
pub struct ValidationError;

impl utoipa::PartialSchema for ValidationError {
    fn schema() -> RefOr<Schema> {
        let messages = ArrayBuilder::new()
            .items(ObjectBuilder::new().schema_type(Type::String))
            .min_items(Some(1));
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "Field errors: each key is a request field (or `non_field_errors`) with its messages.",
            ))
            .additional_properties(Some(messages))
            .min_properties(Some(1))
            .examples([json!({"email": ["This field is required."]})])
            .into()
    }
}

impl ToSchema for ValidationError {}

/// A 400 answer: field errors, or a `{"detail", "code"}` body for a request
/// that could not be read at all (`parse_error`: not JSON or not a JSON
/// object; `invalid_query`; and the codes each operation names).
pub struct BadRequest;

impl utoipa::PartialSchema for BadRequest {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(Ref::from_schema_name(ValidationError::name()))
            .item(Ref::from_schema_name(ErrorBody::name()))
            .description(Some(
                "Field errors (`ValidationError`) or an error with a code (`ErrorBody`).",
            ))
            .into()
    }
}

impl ToSchema for BadRequest {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((ValidationError::name().into(), ValidationError::schema()));
        schemas.push((ErrorBody::name().into(), ErrorBody::schema()));
    }
}

#[derive(Debug)]
pub enum ApiError {
    Validation(FieldErrors),
    Detail {
        status: StatusCode,
        code: &'static str,
        detail: String,
    },
    Throttled(RetryAfter),
    Unavailable,
    /// Logged with its cause; the client sees only a generic message.
    Internal(String),
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        ApiError::Detail {
            status,
            code,
            detail: detail.into(),
        }
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "Not found.")
    }

    pub fn token_not_valid() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "token_not_valid",
            "Given token not valid for any token type",
        )
    }

    pub fn not_authenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "not_authenticated",
            "Authentication credentials were not provided.",
        )
    }

    /// The code and detail of this error as the WebSocket reports it: the
    /// same words the REST API would answer with.
    pub fn code_and_detail(self) -> (&'static str, serde_json::Value) {
        match self {
            ApiError::Validation(errors) => {
                ("invalid", serde_json::to_value(errors).unwrap_or_default())
            }
            ApiError::Detail { code, detail, .. } => (code, detail.into()),
            ApiError::Throttled(RetryAfter(wait)) => (
                "throttled",
                format!(
                    "Sending too fast. Try again in {} seconds.",
                    wait.as_secs().max(1)
                )
                .into(),
            ),
            ApiError::Unavailable => (
                "service_unavailable",
                "The service is temporarily unavailable. Try again shortly.".into(),
            ),
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                ("error", "A server error occurred.".into())
            }
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) => StatusCode::BAD_REQUEST,
            ApiError::Detail { status, .. } => *status,
            ApiError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

fn detail_response(status: StatusCode, code: &str, detail: String) -> Response {
    let body = ErrorBody {
        detail,
        code: code.to_string(),
    };
    (status, Json(body)).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match self {
            ApiError::Validation(errors) => (status, Json(errors)).into_response(),
            ApiError::Detail { code, detail, .. } => {
                let mut response = detail_response(status, code, detail);
                if status == StatusCode::UNAUTHORIZED {
                    response.headers_mut().insert(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static("Bearer realm=\"api\""),
                    );
                }
                response
            }
            ApiError::Throttled(RetryAfter(wait)) => {
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                let mut response = detail_response(
                    status,
                    "throttled",
                    format!("Request was throttled. Expected available in {secs} seconds."),
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
                response
            }
            ApiError::Unavailable => detail_response(
                status,
                "service_unavailable",
                "The service is temporarily unavailable. Try again shortly.".into(),
            ),
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                detail_response(status, "error", "A server error occurred.".into())
            }
        }
    }
}

impl From<FieldErrors> for ApiError {
    fn from(errors: FieldErrors) -> Self {
        ApiError::Validation(errors)
    }
}

impl From<StorageError> for ApiError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::Unavailable(cause) => {
                tracing::warn!(%cause, "database unavailable");
                ApiError::Unavailable
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<MediaError> for ApiError {
    fn from(err: MediaError) -> Self {
        match err {
            MediaError::Invalid(errors) => ApiError::Validation(errors),
            MediaError::TooLarge(_) => crate::http::extract::payload_too_large(),
            MediaError::NotFound => ApiError::not_found(),
            MediaError::Io(e) => ApiError::Internal(format!("media storage: {e}")),
            MediaError::Remote(cause) => {
                tracing::warn!(%cause, "media bucket unavailable");
                ApiError::Unavailable
            }
            MediaError::Storage(e) => e.into(),
        }
    }
}

impl From<JobsError> for ApiError {
    fn from(err: JobsError) -> Self {
        match err {
            JobsError::StaffOnly => {
                ApiError::new(StatusCode::FORBIDDEN, "permission_denied", "Staff only.")
            }
            JobsError::NotFound => ApiError::not_found(),
            JobsError::UnknownStatus(raw) => ApiError::bad_request(
                "invalid_status",
                format!("Unknown status {raw:?}: use dead, queued, running or done."),
            ),
            JobsError::NotDead(status) => ApiError::new(
                StatusCode::CONFLICT,
                "not_dead",
                format!("The job is {status}; only dead jobs are retried."),
            ),
            JobsError::Storage(e) => e.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Invalid(errors) => ApiError::Validation(errors),
            StoreError::NotFound => ApiError::not_found(),
            StoreError::Forbidden(why) => {
                ApiError::new(StatusCode::FORBIDDEN, "permission_denied", why)
            }
            StoreError::Conflict(code, detail) => ApiError::new(StatusCode::CONFLICT, code, detail),
            StoreError::Unauthorized(why) => {
                ApiError::new(StatusCode::UNAUTHORIZED, "invalid_signature", why)
            }
            StoreError::Provider(cause) => {
                tracing::error!(%cause, "payment provider error");
                ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "payment_provider_error",
                    "The payment provider could not be reached or refused the request. Nothing was charged; try again.",
                )
            }
            StoreError::Storage(e) => e.into(),
        }
    }
}

impl From<CommissionError> for ApiError {
    fn from(err: CommissionError) -> Self {
        match err {
            CommissionError::Invalid(errors) => ApiError::Validation(errors),
            CommissionError::NotFound => ApiError::not_found(),
            CommissionError::Forbidden(why) => {
                ApiError::new(StatusCode::FORBIDDEN, "permission_denied", why)
            }
            CommissionError::WrongState { detail, .. } => {
                ApiError::new(StatusCode::CONFLICT, "invalid_state", detail)
            }
            CommissionError::Conflict(code, detail) => {
                ApiError::new(StatusCode::CONFLICT, code, detail)
            }
            CommissionError::Provider(cause) => StoreError::Provider(cause).into(),
            CommissionError::Storage(e) => e.into(),
        }
    }
}

impl From<TailorError> for ApiError {
    fn from(err: TailorError) -> Self {
        match err {
            TailorError::Invalid(errors) => ApiError::Validation(errors),
            TailorError::NotFound => ApiError::not_found(),
            TailorError::Forbidden(why) => {
                ApiError::new(StatusCode::FORBIDDEN, "permission_denied", why)
            }
            TailorError::Conflict(code, detail) => {
                ApiError::new(StatusCode::CONFLICT, code, detail)
            }
            TailorError::Storage(e) => e.into(),
        }
    }
}

impl From<FittingError> for ApiError {
    fn from(err: FittingError) -> Self {
        match err {
            FittingError::Invalid(errors) => ApiError::Validation(errors),
            FittingError::NotFound => ApiError::not_found(),
            FittingError::Forbidden(why) => {
                ApiError::new(StatusCode::FORBIDDEN, "permission_denied", why)
            }
            FittingError::Conflict(code, detail) => {
                ApiError::new(StatusCode::CONFLICT, code, detail)
            }
            // The handlers that can meet it answer with the alternatives
            // (`fittings::http`); this is the plain form.
            FittingError::SlotTaken(_) => ApiError::new(
                StatusCode::CONFLICT,
                "slot_taken",
                "This slot was just taken. Pick another one.",
            ),
            FittingError::Storage(e) => e.into(),
        }
    }
}

impl From<NotificationError> for ApiError {
    fn from(err: NotificationError) -> Self {
        match err {
            NotificationError::Invalid(errors) => ApiError::Validation(errors),
            NotificationError::NotFound => ApiError::not_found(),
            NotificationError::Storage(e) => e.into(),
        }
    }
}

impl From<ChatError> for ApiError {
    fn from(err: ChatError) -> Self {
        match err {
            ChatError::Invalid(errors) => ApiError::Validation(errors),
            ChatError::NotFound => ApiError::not_found(),
            ChatError::Forbidden(code, why) => ApiError::new(StatusCode::FORBIDDEN, code, why),
            ChatError::Conflict(code, why) => ApiError::new(StatusCode::CONFLICT, code, why),
            ChatError::Throttled(wait) => ApiError::Throttled(wait),
            ChatError::Storage(e) => e.into(),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        use StatusCode as S;
        match err {
            AuthError::Invalid(errors) => ApiError::Validation(errors),
            AuthError::InvalidCredentials => ApiError::new(
                S::UNAUTHORIZED,
                "no_active_account",
                "No active account found with the given credentials",
            ),
            AuthError::NotVerified => ApiError::new(
                S::FORBIDDEN,
                "account_not_verified",
                "This account is not verified yet. Enter the code we emailed you.",
            ),
            AuthError::InvalidCode => ApiError::bad_request(
                "otp_invalid",
                "The code is invalid, already used, or not for this address.",
            ),
            AuthError::CodeExpired => {
                ApiError::bad_request("otp_expired", "The code has expired. Request a new one.")
            }
            AuthError::TokenInvalid => ApiError::token_not_valid(),
            AuthError::NotAuthenticated => ApiError::not_authenticated(),
            AuthError::NotFound => ApiError::not_found(),
            AuthError::Throttled(wait) => ApiError::Throttled(wait),
            AuthError::Storage(e) => e.into(),
            AuthError::Internal(cause) => ApiError::Internal(cause),
        }
    }
}

//! Running a money-moving POST once per `Idempotency-Key`: the first
//! request with a key runs; a retry with the same key and body gets the
//! first answer again; the same key with another body is 422; while the
//! first still runs, 409. Checkout, commission deposits and balances use it.

use std::future::Future;

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::ApiError;
use crate::idempotency::Begin;
use crate::state::AppState;

/// What the work answered, and whether a retry with the same key should
/// run it again (refused for a passing reason) rather than replay it.
pub struct Outcome {
    pub response: Response,
    pub retry_runs_again: bool,
}

impl Outcome {
    pub fn of(result: Result<Response, ApiError>) -> Self {
        Self {
            response: result.unwrap_or_else(IntoResponse::into_response),
            retry_runs_again: false,
        }
    }
}

/// The request's key (1–255 characters), or the 400 that asks for one.
pub fn required_key(headers: &HeaderMap, what: &str) -> Result<String, ApiError> {
    headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 255)
        .map(str::to_string)
        .ok_or_else(|| {
            ApiError::bad_request(
                "idempotency_key_required",
                format!("Send an Idempotency-Key header (up to 255 characters) with each {what}."),
            )
        })
}

/// Runs `work` once for `user`'s `key` on `operation` with this `body`.
/// Answers of 5xx (and those the work marks passing) are not kept, so a
/// retry runs again.
pub async fn run_once<F>(
    state: &AppState,
    user: Uuid,
    operation: &str,
    key: &str,
    body: &serde_json::Value,
    work: F,
) -> Result<Response, ApiError>
where
    F: Future<Output = Outcome>,
{
    let key = format!("{user}:{operation}:{key}");
    let hash = hex(&Sha256::digest(body.to_string().as_bytes()));
    match state.idempotency.begin(&key, &hash).await? {
        Begin::Replay { status, body } => return Ok(json_response(status, body)),
        Begin::InFlight => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "request_in_progress",
                "A request with this Idempotency-Key is still running.",
            ));
        }
        Begin::Mismatch => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "This Idempotency-Key was used with a different request.",
            ));
        }
        Begin::Fresh => {}
    }
    let outcome = work.await;
    let (parts, body) = outcome.response.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(e) => {
            state.idempotency.abandon(&key).await?;
            return Err(ApiError::Internal(e.to_string()));
        }
    };
    if parts.status.is_server_error() || outcome.retry_runs_again {
        state.idempotency.abandon(&key).await?;
    } else {
        let text = String::from_utf8_lossy(&bytes);
        state
            .idempotency
            .finish(&key, parts.status.as_u16(), &text)
            .await?;
    }
    Ok(Response::from_parts(parts, Body::from(bytes)))
}

fn json_response(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

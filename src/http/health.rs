//! Liveness, readiness and Prometheus metrics.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or `unavailable` when the database does not answer.
    pub status: &'static str,
    /// Readiness only: `ok` or `unavailable`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<&'static str>,
}

/// Liveness: the process is up and serving.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, description = "Alive", body = Health)))]
pub async fn live() -> Json<Health> {
    Json(Health {
        status: "ok",
        database: None,
    })
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/health/ready", tag = "operations",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "The database does not answer", body = Health)))]
pub async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    match crate::storage::ping(&state.db).await {
        Ok(()) => (
            StatusCode::OK,
            Json(Health {
                status: "ok",
                database: Some("ok"),
            }),
        ),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Health {
                status: "unavailable",
                database: Some("unavailable"),
            }),
        ),
    }
}

/// Prometheus text format: `http_requests_total` by method, route and
/// status, the `http_request_duration_seconds` histogram, and
/// `group_commit_batch_size` by kind of write (`chat_send`, `chat_read`,
/// `cart_add`).
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus metrics", body = String, content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

//! Paystack: checking a payment, and the provider's webhook.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::http::{CurrentUser, DetailBody};
use crate::error::{ApiError, ErrorBody, ValidationError};
use crate::http::extract::ApiPath;
use crate::state::AppState;
use crate::store::PaymentInfo;

const TAG: &str = "shop";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(verify_payment))
        .routes(routes!(paystack_webhook))
}

/// Ask Paystack about your payment now (e.g. when the app returns from the
/// payment page) and update its orders.
#[utoipa::path(get, path = "/shop/api/payments/verify/{reference}", tag = TAG,
    params(("reference" = String, Path, description = "The payment reference from checkout")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The payment after checking", body = PaymentInfo),
        (status = 404, description = "No such payment of yours", body = ErrorBody),
        (status = 409, description = "`payment_mismatch`: the amount or currency paid differs", body = ErrorBody),
        (status = 502, description = "`payment_provider_error`", body = ErrorBody)))]
async fn verify_payment(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(reference): ApiPath<String>,
) -> Result<Json<PaymentInfo>, ApiError> {
    Ok(Json(state.store.verify_payment(&user, &reference).await?))
}

/// Paystack's webhook. The `x-paystack-signature` header must be the hex
/// HMAC-SHA512 of the raw body with the secret key. `charge.success` marks
/// the payment's orders paid, once per reference, if amount and currency match.
#[utoipa::path(post, path = "/shop/api/payments/webhook/paystack", tag = TAG,
    request_body(content = Object, description = "Paystack's event, as it sends it"),
    params(("x-paystack-signature" = String, Header, description = "hex HMAC-SHA512 of the body")),
    responses(
        (status = 200, description = "Accepted (also for events that change nothing)", body = DetailBody),
        (status = 400, description = "`event`: a correctly signed body that is not a Paystack event", body = ValidationError),
        (status = 401, description = "`invalid_signature` (or payments are not configured): nothing changed", body = ErrorBody)))]
async fn paystack_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<DetailBody>), ApiError> {
    let signature = headers
        .get("x-paystack-signature")
        .and_then(|v| v.to_str().ok());
    state.store.paystack_webhook(&body, signature).await?;
    Ok((StatusCode::OK, Json(DetailBody::new("Received."))))
}

//! Withdrawals over HTTP: the tailor's `POST /tailor/api/wallet/withdraw/`
//! and `GET /tailor/api/wallet/payouts/`; staff's `/staff/api/payouts/...`
//! (`staff`).

mod staff;

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{PayoutError, PayoutView};
use crate::auth::http::CurrentUser;
use crate::error::{ApiError, BadRequest, ErrorBody};
use crate::http::extract::{ApiJson, ApiQuery};
use crate::http::idempotent::{Outcome, required_key, run_once};
use crate::http::pagination::{PageLinks, PageRequest, invalid_page};
use crate::state::AppState;
use crate::wallet::http::TAG;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(withdraw))
        .routes(routes!(payouts))
        .merge(staff::routes())
}

impl From<PayoutError> for ApiError {
    fn from(err: PayoutError) -> Self {
        match err {
            PayoutError::Invalid(errors) => ApiError::Validation(errors),
            PayoutError::Forbidden(why) => {
                ApiError::new(StatusCode::FORBIDDEN, "permission_denied", why)
            }
            PayoutError::NotFound => ApiError::not_found(),
            PayoutError::Conflict(code, detail) => {
                ApiError::new(StatusCode::CONFLICT, code, detail)
            }
            // As checkout's `payments_unavailable`: the server's setup, not
            // a passing failure, so not a 5xx.
            PayoutError::NotConfigured => ApiError::new(
                StatusCode::CONFLICT,
                "payouts_unavailable",
                "Payouts are not set up on this server yet (no payment provider).",
            ),
            PayoutError::Provider(detail) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "payouts_unavailable",
                detail,
            ),
            PayoutError::Ledger(e) => e.into(),
        }
    }
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(default)]
pub struct WithdrawRequest {
    /// Kobo; at least `ATELIER_PAYOUT_MINIMUM_KOBO` (default 100000 = ₦1,000).
    #[schema(value_type = i64, required = true, example = 500000)]
    pub amount: Option<i64>,
}

/// Withdraw available money to your payout account (tailors). The amount is
/// held at once and the transfer sent in turn (one transfer in flight per
/// tailor); follow it in `GET /tailor/api/wallet/payouts/`. Send a unique
/// `Idempotency-Key` per withdrawal: a retry with the same key gets the
/// first answer and never withdraws twice.
#[utoipa::path(post, path = "/tailor/api/wallet/withdraw", tag = TAG,
    request_body = WithdrawRequest,
    params(("Idempotency-Key" = String, Header, description = "A unique key per withdrawal, up to 255 characters", min_length = 1, max_length = 255)),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Held and queued for sending", body = PayoutView),
        (status = 400, description = "`amount` below the minimum, or no Idempotency-Key", body = BadRequest),
        (status = 403, description = "`permission_denied`: not a tailor", body = ErrorBody),
        (status = 409, description = "`insufficient_funds` (the message names what is available), `no_payout_account`, `payout_account_too_new` (names `usable_from`), `request_in_progress`, `payouts_unavailable` (no payment provider configured)", body = ErrorBody),
        (status = 422, description = "`idempotency_key_reused` with another body", body = ErrorBody)))]
async fn withdraw(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<WithdrawRequest>,
) -> Result<Response, ApiError> {
    if me.role != "tailor" {
        return Err(PayoutError::Forbidden("Only tailors withdraw money.").into());
    }
    let key = required_key(&headers, "withdrawal")?;
    let fingerprint = serde_json::json!({ "amount": body.amount });
    run_once(&state, me.id, "withdraw", &key, &fingerprint, async {
        let done = state.payouts.withdraw(&me, body.amount).await;
        Outcome::of(
            done.map(|p| (StatusCode::ACCEPTED, Json(p)).into_response())
                .map_err(ApiError::from),
        )
    })
    .await
}

#[derive(Deserialize, IntoParams, Default)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct PayoutsQuery {
    /// 1-based page number.
    #[param(value_type = Option<u64>, minimum = 1)]
    pub page: Option<String>,
    /// At most 100 (default 20; more is capped).
    #[param(value_type = Option<u64>, minimum = 1)]
    pub page_size: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PayoutPageView {
    pub count: u64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<PayoutView>,
}

/// Your withdrawals (tailors), newest first, each with where it stands.
#[utoipa::path(get, path = "/tailor/api/wallet/payouts", tag = TAG, params(PayoutsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page", body = PayoutPageView),
        (status = 403, description = "`permission_denied`: not a tailor", body = ErrorBody),
        (status = 404, description = "Invalid page", body = ErrorBody)))]
async fn payouts(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiQuery(query): ApiQuery<PayoutsQuery>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Json<PayoutPageView>, ApiError> {
    let request = PageRequest::parse(query.page.as_deref(), query.page_size.as_deref())?;
    let page = state
        .payouts
        .mine(&me, request.page, request.page_size)
        .await?
        .ok_or_else(invalid_page)?;
    let (next, previous) = PageLinks::new(&uri, &headers).neighbours(request, page.count);
    Ok(Json(PayoutPageView {
        count: page.count,
        next,
        previous,
        results: page.results,
    }))
}

//! Staff's payouts: list, detail, retry and close (`/staff/api/payouts/...`).

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::http::CurrentUser;
use crate::error::{ApiError, BadRequest, ErrorBody};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::pagination::{PageLinks, PageRequest, invalid_page};
use crate::state::AppState;
use crate::wallet::http::TAG;
use crate::wallet::payouts::{PayoutFilters, StaffClose, StaffPayoutView};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(detail))
        .routes(routes!(retry))
        .routes(routes!(close))
}

#[derive(Deserialize, IntoParams, Default)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct StaffPayoutsQuery {
    /// `pending`, `processing`, `unconfirmed`, `paid`, `failed` or `reversed`.
    pub status: Option<String>,
    /// Only this tailor's (user id).
    #[param(value_type = Option<Uuid>)]
    pub tailor: Option<String>,
    /// 1-based page number.
    #[param(value_type = Option<u64>, minimum = 1)]
    pub page: Option<String>,
    /// At most 100 (default 20; more is capped).
    #[param(value_type = Option<u64>, minimum = 1)]
    pub page_size: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct StaffPayoutPage {
    pub count: u64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<StaffPayoutView>,
}

fn payout_id(raw: &str) -> Result<Uuid, ApiError> {
    raw.trim().parse().map_err(|_| ApiError::not_found())
}

/// Every tailor's payouts, newest first (staff); `unconfirmed` ones wait
/// for a person.
#[utoipa::path(get, path = "/staff/api/payouts", tag = TAG, params(StaffPayoutsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page", body = StaffPayoutPage),
        (status = 400, description = "A bad `status` or `tailor`", body = BadRequest),
        (status = 403, description = "`permission_denied`: staff only", body = ErrorBody),
        (status = 404, description = "Invalid page", body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiQuery(query): ApiQuery<StaffPayoutsQuery>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Json<StaffPayoutPage>, ApiError> {
    let request = PageRequest::parse(query.page.as_deref(), query.page_size.as_deref())?;
    let filters = PayoutFilters {
        status: query.status,
        tailor: query.tailor,
    };
    let page = state
        .payouts
        .staff_list(&me, &filters, request.page, request.page_size)
        .await?
        .ok_or_else(invalid_page)?;
    let (next, previous) = PageLinks::new(&uri, &headers).neighbours(request, page.count);
    Ok(Json(StaffPayoutPage {
        count: page.count,
        next,
        previous,
        results: page.results,
    }))
}

/// One payout (staff).
#[utoipa::path(get, path = "/staff/api/payouts/{payout_id}", tag = TAG,
    params(("payout_id" = Uuid, Path, description = "Payout id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The payout", body = StaffPayoutView),
        (status = 403, description = "`permission_denied`: staff only", body = ErrorBody),
        (status = 404, description = "No such payout", body = ErrorBody)))]
async fn detail(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<StaffPayoutView>, ApiError> {
    Ok(Json(state.payouts.staff_get(&me, payout_id(&id)?).await?))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct RetryRequest {
    /// Why (kept in the audit log).
    pub note: Option<String>,
}

/// Send an `unconfirmed` payout again with the same reference (staff). Only
/// when Paystack, asked now, has no transfer with that reference: the
/// money cannot have left. Writes `payout.retry` in the audit log.
#[utoipa::path(post, path = "/staff/api/payouts/{payout_id}/retry", tag = TAG,
    request_body = RetryRequest,
    params(("payout_id" = Uuid, Path, description = "Payout id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "Queued for sending again", body = StaffPayoutView),
        (status = 403, description = "`permission_denied`: staff only", body = ErrorBody),
        (status = 404, description = "No such payout", body = ErrorBody),
        (status = 409, description = "`invalid_state` (not unconfirmed), `transfer_exists` (Paystack has it: close it instead), `payout_changed`, `payouts_unavailable` (no Paystack key)", body = ErrorBody),
        (status = 503, description = "`payouts_unavailable`: Paystack could not be asked", body = ErrorBody)))]
async fn retry(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RetryRequest>,
) -> Result<Json<StaffPayoutView>, ApiError> {
    let id = payout_id(&id)?;
    Ok(Json(state.payouts.staff_retry(&me, id, body.note).await?))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct CloseRequest {
    /// `paid` (the money reached the bank) or `failed` (it did not: the
    /// amount is available to the tailor again).
    #[schema(value_type = String, required = true, example = "failed")]
    pub outcome: Option<String>,
    /// What staff checked (kept on the payout and in the audit log).
    #[schema(value_type = String, required = true)]
    pub note: Option<String>,
}

/// Settle an `unconfirmed` payout by hand (staff), with the matching ledger
/// entries, once Paystack asked now reports that outcome (`paid`: its
/// transfer succeeded; `failed`: it failed, was reversed or abandoned, or
/// Paystack has none). Writes `payout.close` in the audit log.
#[utoipa::path(post, path = "/staff/api/payouts/{payout_id}/close", tag = TAG,
    request_body = CloseRequest,
    params(("payout_id" = Uuid, Path, description = "Payout id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "Settled", body = StaffPayoutView),
        (status = 400, description = "A bad `outcome` or no `note`", body = BadRequest),
        (status = 403, description = "`permission_denied`: staff only", body = ErrorBody),
        (status = 404, description = "No such payout", body = ErrorBody),
        (status = 409, description = "`invalid_state`: not unconfirmed; `paystack_disagrees`: Paystack reports the other outcome; `transfer_in_flight`: Paystack still holds it (pending or waiting for an OTP); `payout_changed`; `payouts_unavailable` (no Paystack key)", body = ErrorBody),
        (status = 503, description = "`payouts_unavailable`: Paystack could not be asked", body = ErrorBody)))]
async fn close(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<CloseRequest>,
) -> Result<Json<StaffPayoutView>, ApiError> {
    let id = payout_id(&id)?;
    let input = StaffClose {
        outcome: body.outcome,
        note: body.note,
    };
    Ok(Json(state.payouts.staff_close(&me, id, input).await?))
}

//! The commissions API (`/commissions/api/...`): requests, negotiation,
//! payments, progress, delivery, cancellation and disputes.

mod negotiation;
mod work;

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::machine::Status;
use super::views::{ListFilter, Side};
use super::{CommissionDetail, CommissionRequest, CommissionView};
use crate::auth::http::CurrentUser;
use crate::error::{ApiError, BadRequest, ErrorBody};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::pagination::{PageLinks, PageRequest, invalid_page};
use crate::state::AppState;
use crate::validation::FieldErrors;

pub(crate) const TAG: &str = "commissions";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, customer_list))
        .routes(routes!(tailor_list))
        .routes(routes!(detail))
        .merge(negotiation::routes())
        .merge(work::routes())
}

fn commission_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::not_found())
}

/// Ask a tailor to make something for you.
///
/// Opens (or reuses) your chat conversation with the tailor, which then
/// shows this commission.
#[utoipa::path(post, path = "/commissions/api", tag = TAG, request_body = CommissionRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The commission, `requested`", body = CommissionDetail),
        (status = 400, description = "Field errors: unknown tailor, images or measurements not yours, fabric not sold by this tailor, bad dates", body = BadRequest),
        (status = 403, description = "`permission_denied`: a block stands between you and the tailor", body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<CommissionRequest>,
) -> Result<(StatusCode, Json<CommissionDetail>), ApiError> {
    let detail = state.commissions.request(&user, body).await?;
    Ok((StatusCode::CREATED, Json(detail)))
}

#[derive(Deserialize, IntoParams, Default)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this status.
    #[param(value_type = Option<String>)]
    pub status: Option<String>,
    /// Only those due before this time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub due_before: Option<String>,
    /// 1-based page number.
    #[param(value_type = Option<u64>, minimum = 1)]
    pub page: Option<String>,
    /// At most 100 (default 20).
    #[param(value_type = Option<u64>, minimum = 1)]
    pub page_size: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CommissionPage {
    pub count: u64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<CommissionView>,
}

/// Commissions you asked for, newest first.
#[utoipa::path(get, path = "/commissions/api", tag = TAG, params(ListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page", body = CommissionPage),
        (status = 400, description = "Unknown status or unreadable `due_before`", body = BadRequest),
        (status = 404, description = "Invalid page", body = ErrorBody)))]
async fn customer_list(
    state: State<AppState>,
    user: CurrentUser,
    query: ApiQuery<ListQuery>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Result<Json<CommissionPage>, ApiError> {
    list(state, user, query, uri, headers, Side::Customer).await
}

/// Commissions asked of you as a tailor, newest first.
#[utoipa::path(get, path = "/commissions/api/tailor", tag = TAG, params(ListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page", body = CommissionPage),
        (status = 400, description = "Unknown status or unreadable `due_before`", body = BadRequest),
        (status = 404, description = "Invalid page", body = ErrorBody)))]
async fn tailor_list(
    state: State<AppState>,
    user: CurrentUser,
    query: ApiQuery<ListQuery>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Result<Json<CommissionPage>, ApiError> {
    list(state, user, query, uri, headers, Side::Tailor).await
}

async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiQuery(query): ApiQuery<ListQuery>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    side: Side,
) -> Result<Json<CommissionPage>, ApiError> {
    let request = PageRequest::parse(query.page.as_deref(), query.page_size.as_deref())?;
    let mut errors = FieldErrors::new();
    let status = match query.status.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => {
            let parsed = Status::parse(raw);
            if parsed.is_none() {
                errors.add("status", "Unknown status.");
            }
            parsed
        }
    };
    let due_before = match query.due_before.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => match DateTime::parse_from_rfc3339(raw) {
            Ok(at) => Some(at.with_timezone(&Utc)),
            Err(_) => {
                errors.add("due_before", "Use an RFC 3339 date-time.");
                None
            }
        },
    };
    errors.into_result()?;
    let filter = ListFilter {
        status,
        due_before,
        page: request.page,
        page_size: request.page_size,
    };
    let (count, results) = state.commissions.list(&user, side, filter).await?;
    if results.is_empty() && request.page > 1 {
        return Err(invalid_page());
    }
    let (next, previous) = PageLinks::new(&uri, &headers).neighbours(request, count);
    Ok(Json(CommissionPage {
        count,
        next,
        previous,
        results,
    }))
}

/// One of your commissions, with its offers, timeline, payments,
/// measurements and any dispute.
#[utoipa::path(get, path = "/commissions/api/{commission_id}", tag = TAG,
    params(("commission_id" = Uuid, Path, description = "Commission id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The commission", body = CommissionDetail),
        (status = 404, description = "No such commission of yours", body = ErrorBody)))]
async fn detail(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<CommissionDetail>, ApiError> {
    Ok(Json(
        state.commissions.detail(&user, commission_id(&id)?).await?,
    ))
}

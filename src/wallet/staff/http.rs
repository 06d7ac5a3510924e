//! Staff's side of tailors' money (`/staff/api/...`): a tailor's wallet,
//! manual adjustments, and the audit log of what staff did. Staff only.

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{ActionFilters, AdjustmentView, StaffActionView, StaffError};
use crate::auth::http::CurrentUser;
use crate::error::{ApiError, BadRequest, ErrorBody};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::idempotent::{Outcome, run_once};
use crate::http::pagination::{PageLinks, PageRequest, invalid_page};
use crate::state::AppState;
use crate::wallet::WalletView;
use crate::wallet::http::TAG;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(tailor_wallet))
        .routes(routes!(adjust))
        .routes(routes!(actions))
}

impl From<StaffError> for ApiError {
    fn from(err: StaffError) -> Self {
        match err {
            StaffError::Invalid(errors) => ApiError::Validation(errors),
            StaffError::StaffOnly => ApiError::new(
                StatusCode::FORBIDDEN,
                "permission_denied",
                "Only staff may do this.",
            ),
            StaffError::NoSuchTailor => ApiError::not_found(),
            StaffError::Insufficient { account, short } => ApiError::new(
                StatusCode::CONFLICT,
                "insufficient_funds",
                format!("The tailor's {account} balance is {short} kobo short."),
            ),
            StaffError::Storage(e) => e.into(),
        }
    }
}

/// An adjustment (documentation of the body; the handler reads it field by field).
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct AdjustRequest {
    /// Kobo, non-zero: positive gives the tailor money, negative takes it.
    amount: i64,
    /// `available` (withdrawable money; never taken below zero) or `owed`
    /// (the tailor's debt: negative adds to it, positive forgives it).
    #[schema(example = "available")]
    account: String,
    /// Why (required, up to 500 characters): the memo of the statement line.
    reason: String,
}

#[derive(Deserialize, IntoParams, Default)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct ActionsQuery {
    /// 1-based page number.
    #[param(value_type = Option<u64>, minimum = 1)]
    pub page: Option<String>,
    /// At most 100 (default 20; more is capped).
    #[param(value_type = Option<u64>, minimum = 1)]
    pub page_size: Option<String>,
    /// Only this action, e.g. `wallet.adjust`.
    pub action: Option<String>,
    /// Only actions on this subject (a tailor, a payout ...).
    #[param(value_type = Option<Uuid>)]
    pub subject_id: Option<String>,
    /// Only actions of this staff member.
    #[param(value_type = Option<Uuid>)]
    pub staff_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct StaffActionPage {
    pub count: u64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<StaffActionView>,
}

fn tailor_id(raw: &str) -> Result<Uuid, ApiError> {
    raw.trim().parse().map_err(|_| ApiError::not_found())
}

/// A tailor's wallet as the tailor sees it (staff).
#[utoipa::path(get, path = "/staff/api/wallets/{tailor_id}", tag = TAG,
    params(("tailor_id" = Uuid, Path, description = "The tailor's user id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The wallet", body = WalletView),
        (status = 403, description = "`permission_denied`: staff only", body = ErrorBody),
        (status = 404, description = "No such tailor", body = ErrorBody)))]
async fn tailor_wallet(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<WalletView>, ApiError> {
    Ok(Json(state.wallet.staff_wallet(&me, tailor_id(&id)?).await?))
}

/// Adjust a tailor's money by hand (staff), with a reason: one ledger
/// `adjustment` against the platform's `adjustments` account, shown on the
/// tailor's statement with the reason as its memo, and one row in the audit
/// log, written together. Send an `Idempotency-Key` to make a retry safe:
/// the same key and body answer the first response again.
#[utoipa::path(post, path = "/staff/api/wallets/{tailor_id}/adjustments", tag = TAG,
    request_body = AdjustRequest,
    params(("tailor_id" = Uuid, Path, description = "The tailor's user id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Up to 255 characters; optional")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Adjusted", body = AdjustmentView),
        (status = 400, description = "Invalid fields", body = BadRequest),
        (status = 403, description = "`permission_denied`: staff only", body = ErrorBody),
        (status = 404, description = "No such tailor", body = ErrorBody),
        (status = 409, description = "`insufficient_funds`: the balance would go below zero (or a debt above it); `request_in_progress`", body = ErrorBody),
        (status = 422, description = "`idempotency_key_reused` with another body", body = ErrorBody)))]
async fn adjust(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> Result<Response, ApiError> {
    let tailor = tailor_id(&id)?;
    let work = async {
        state
            .wallet
            .adjust(&me, tailor, &body)
            .await
            .map(|view| (StatusCode::CREATED, Json(view)).into_response())
            .map_err(ApiError::from)
    };
    if !headers.contains_key("idempotency-key") {
        return work.await;
    }
    // A key was sent: it must be one the mechanism accepts.
    let key = crate::http::idempotent::required_key(&headers, "adjustment")?;
    let operation = format!("wallet-adjust:{tailor}");
    run_once(&state, me.id, &operation, &key, &body, async {
        Outcome::of(work.await)
    })
    .await
}

/// The audit log of what staff did (staff), newest first.
#[utoipa::path(get, path = "/staff/api/actions", tag = TAG, params(ActionsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page", body = StaffActionPage),
        (status = 400, description = "A bad `subject_id` or `staff_id`", body = BadRequest),
        (status = 403, description = "`permission_denied`: staff only", body = ErrorBody),
        (status = 404, description = "Invalid page", body = ErrorBody)))]
async fn actions(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiQuery(query): ApiQuery<ActionsQuery>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Json<StaffActionPage>, ApiError> {
    let request = PageRequest::parse(query.page.as_deref(), query.page_size.as_deref())?;
    let filters = ActionFilters {
        action: query.action,
        subject_id: query.subject_id,
        staff_id: query.staff_id,
    };
    let page = state
        .wallet
        .staff_actions(&me, &filters, request.page, request.page_size)
        .await?
        .ok_or_else(invalid_page)?;
    let (next, previous) = PageLinks::new(&uri, &headers).neighbours(request, page.count);
    Ok(Json(StaffActionPage {
        count: page.count,
        next,
        previous,
        results: page.actions,
    }))
}

//! Paying, progress, delivery, completion, alterations, cancellation and
//! disputes.

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::negotiation::ReasonRequest;
use super::{TAG, commission_id};
use crate::auth::http::CurrentUser;
use crate::commissions::disputes::ResolutionInput;
use crate::commissions::payments::CommissionPaymentView;
use crate::commissions::progress::{NoteInput, ProgressInput};
use crate::commissions::{CommissionDetail, DisputeView};
use crate::error::{ApiError, BadRequest, ErrorBody};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::idempotent::{Outcome, required_key, run_once};
use crate::http::pagination::{PageLinks, PageRequest, invalid_page};
use crate::state::AppState;
use crate::store::http::PageQuery;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(pay))
        .routes(routes!(verify))
        .routes(routes!(progress))
        .routes(routes!(deliver))
        .routes(routes!(complete))
        .routes(routes!(alterations))
        .routes(routes!(cancel))
        .routes(routes!(dispute))
        .routes(routes!(open_disputes))
        .routes(routes!(resolve))
}

/// Pay what is due now (customer): the deposit of an accepted quote, or
/// the balance of a ready garment. A pending payment is returned again
/// rather than a second one opened.
#[utoipa::path(post, path = "/commissions/api/{commission_id}/pay", tag = TAG,
    params(("commission_id" = Uuid, Path, description = "Commission id"),
        ("Idempotency-Key" = String, Header, description = "A unique key per attempt, up to 255 characters", min_length = 1, max_length = 255)),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The payment to make", body = CommissionPaymentView),
        (status = 400, description = "No Idempotency-Key", body = BadRequest),
        (status = 403, description = "`permission_denied`: only the customer pays", body = ErrorBody),
        (status = 404, description = "No such commission of yours", body = ErrorBody),
        (status = 409, description = "`invalid_state` (nothing is due in this status), `nothing_due`, `payments_unavailable`, `request_in_progress`", body = ErrorBody),
        (status = 422, description = "`idempotency_key_reused` with another body", body = ErrorBody),
        (status = 502, description = "`payment_provider_error`: Paystack unreachable; nothing changed", body = ErrorBody)))]
async fn pay(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = commission_id(&id)?;
    let key = required_key(&headers, "payment")?;
    let operation = format!("commission-pay:{id}");
    run_once(
        &state,
        user.id,
        &operation,
        &key,
        &serde_json::Value::Null,
        async {
            let paid = state.commissions.pay(&user, id).await;
            Outcome::of(
                paid.map(|p| (StatusCode::CREATED, Json(p)).into_response())
                    .map_err(ApiError::from),
            )
        },
    )
    .await
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(default)]
pub struct VerifyRequest {
    /// The payment's reference.
    #[schema(value_type = String, required = true)]
    pub reference: Option<String>,
}

/// Ask Paystack now about one of this commission's payments (when its
/// webhook is late).
#[utoipa::path(post, path = "/commissions/api/{commission_id}/pay/verify", tag = TAG,
    request_body = VerifyRequest,
    params(("commission_id" = Uuid, Path, description = "Commission id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The payment as it is now", body = CommissionPaymentView),
        (status = 404, description = "No such payment of this commission of yours", body = ErrorBody),
        (status = 409, description = "`payment_mismatch`: amount or currency differ", body = ErrorBody),
        (status = 502, description = "`payment_provider_error`", body = ErrorBody)))]
async fn verify(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<VerifyRequest>,
) -> Result<Json<CommissionPaymentView>, ApiError> {
    let reference = body.reference.unwrap_or_default();
    let payment = state
        .commissions
        .verify_payment(&user, commission_id(&id)?, reference.trim())
        .await?;
    Ok(Json(payment))
}

/// Post a progress update (tailor); stage `ready` finishes the work.
#[utoipa::path(post, path = "/commissions/api/{commission_id}/progress", tag = TAG,
    request_body = ProgressInput,
    params(("commission_id" = Uuid, Path, description = "Commission id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The commission with the update", body = CommissionDetail),
        (status = 400, description = "Unknown stage, note too long, photos not yours", body = BadRequest),
        (status = 403, description = "`permission_denied`: only the tailor", body = ErrorBody),
        (status = 404, description = "No such commission of yours", body = ErrorBody),
        (status = 409, description = "`invalid_state`: not in progress", body = ErrorBody)))]
async fn progress(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ProgressInput>,
) -> Result<Json<CommissionDetail>, ApiError> {
    Ok(Json(
        state
            .commissions
            .progress(&user, commission_id(&id)?, body)
            .await?,
    ))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct DeliverRequest {
    /// With a quote that allows it: the customer paid the balance to you in person.
    #[schema(value_type = bool)]
    pub balance_collected: Option<bool>,
}

/// Hand the garment over (tailor); the balance must be paid first, or
/// collected in person when the quote allowed it.
#[utoipa::path(post, path = "/commissions/api/{commission_id}/deliver", tag = TAG,
    request_body = DeliverRequest,
    params(("commission_id" = Uuid, Path, description = "Commission id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The commission, `delivered`", body = CommissionDetail),
        (status = 403, description = "`permission_denied`: only the tailor", body = ErrorBody),
        (status = 404, description = "No such commission of yours", body = ErrorBody),
        (status = 409, description = "`invalid_state` (not ready) or `balance_due`", body = ErrorBody)))]
async fn deliver(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<DeliverRequest>,
) -> Result<Json<CommissionDetail>, ApiError> {
    let collected = body.balance_collected.unwrap_or(false);
    Ok(Json(
        state
            .commissions
            .deliver(&user, commission_id(&id)?, collected)
            .await?,
    ))
}

/// Confirm you received the garment as agreed (customer).
#[utoipa::path(post, path = "/commissions/api/{commission_id}/complete", tag = TAG,
    params(("commission_id" = Uuid, Path, description = "Commission id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The commission, `completed`", body = CommissionDetail),
        (status = 403, description = "`permission_denied`: only the customer", body = ErrorBody),
        (status = 404, description = "No such commission of yours", body = ErrorBody),
        (status = 409, description = "`invalid_state`: not delivered", body = ErrorBody)))]
async fn complete(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<CommissionDetail>, ApiError> {
    Ok(Json(
        state
            .commissions
            .complete(&user, commission_id(&id)?)
            .await?,
    ))
}

/// Send a delivered garment back for alterations (customer, within the
/// alteration window after delivery).
#[utoipa::path(post, path = "/commissions/api/{commission_id}/alterations", tag = TAG,
    request_body = NoteInput,
    params(("commission_id" = Uuid, Path, description = "Commission id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The commission, `in_progress` at stage `alterations`", body = CommissionDetail),
        (status = 400, description = "No reason, or photos not yours", body = BadRequest),
        (status = 403, description = "`permission_denied`: only the customer", body = ErrorBody),
        (status = 404, description = "No such commission of yours", body = ErrorBody),
        (status = 409, description = "`invalid_state` (not delivered) or `alteration_window_closed`", body = ErrorBody)))]
async fn alterations(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<NoteInput>,
) -> Result<Json<CommissionDetail>, ApiError> {
    let detail = state
        .commissions
        .request_alterations(&user, commission_id(&id)?, body)
        .await?;
    Ok(Json(detail))
}

/// Cancel: the customer until work starts, the tailor until delivery.
/// Everything paid is refunded in full.
#[utoipa::path(post, path = "/commissions/api/{commission_id}/cancel", tag = TAG,
    request_body = ReasonRequest,
    params(("commission_id" = Uuid, Path, description = "Commission id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The commission, `cancelled`", body = CommissionDetail),
        (status = 400, description = "Reason too long", body = BadRequest),
        (status = 404, description = "No such commission of yours", body = ErrorBody),
        (status = 409, description = "`invalid_state` (names the status) or `work_started` (dispute instead)", body = ErrorBody)))]
async fn cancel(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ReasonRequest>,
) -> Result<Json<CommissionDetail>, ApiError> {
    let detail = state
        .commissions
        .cancel(&user, commission_id(&id)?, body.reason)
        .await?;
    Ok(Json(detail))
}

/// Dispute work that has started (customer): staff decide.
#[utoipa::path(post, path = "/commissions/api/{commission_id}/dispute", tag = TAG,
    request_body = NoteInput,
    params(("commission_id" = Uuid, Path, description = "Commission id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The commission, `disputed`", body = CommissionDetail),
        (status = 400, description = "No reason, or photos not yours", body = BadRequest),
        (status = 403, description = "`permission_denied`: only the customer", body = ErrorBody),
        (status = 404, description = "No such commission of yours", body = ErrorBody),
        (status = 409, description = "`invalid_state`, `work_not_started` (cancel instead) or `already_disputed`", body = ErrorBody)))]
async fn dispute(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<NoteInput>,
) -> Result<Json<CommissionDetail>, ApiError> {
    Ok(Json(
        state
            .commissions
            .open_dispute(&user, commission_id(&id)?, body)
            .await?,
    ))
}

#[derive(Serialize, ToSchema)]
pub struct DisputePage {
    pub count: u64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<DisputeView>,
}

/// Open disputes, oldest first (staff).
#[utoipa::path(get, path = "/commissions/api/disputes", tag = TAG, params(PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page", body = DisputePage),
        (status = 403, description = "`permission_denied`: staff only", body = ErrorBody),
        (status = 404, description = "Invalid page", body = ErrorBody)))]
async fn open_disputes(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiQuery(query): ApiQuery<PageQuery>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Json<DisputePage>, ApiError> {
    let request = PageRequest::parse(query.page.as_deref(), query.page_size.as_deref())?;
    let (count, results) = state
        .commissions
        .open_disputes(&user, request.page, request.page_size)
        .await?;
    if results.is_empty() && request.page > 1 {
        return Err(invalid_page());
    }
    let (next, previous) = PageLinks::new(&uri, &headers).neighbours(request, count);
    Ok(Json(DisputePage {
        count,
        next,
        previous,
        results,
    }))
}

/// Resolve a dispute (staff): release the money to the tailor, or refund
/// an amount to the customer through Paystack.
#[utoipa::path(post, path = "/commissions/api/disputes/{dispute_id}/resolve", tag = TAG,
    request_body = ResolutionInput,
    params(("dispute_id" = Uuid, Path, description = "Dispute id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The resolved dispute", body = DisputeView),
        (status = 400, description = "Unknown outcome, or an amount beyond what was paid", body = BadRequest),
        (status = 403, description = "`permission_denied`: staff only", body = ErrorBody),
        (status = 404, description = "No such dispute", body = ErrorBody),
        (status = 409, description = "`already_resolved`", body = ErrorBody)))]
async fn resolve(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ResolutionInput>,
) -> Result<Json<DisputeView>, ApiError> {
    let id: Uuid = commission_id(&id)?;
    Ok(Json(
        state.commissions.resolve_dispute(&user, id, body).await?,
    ))
}

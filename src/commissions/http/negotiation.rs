//! Quotes, counter-offers, declines, acceptance, and the measurements.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{TAG, commission_id};
use crate::auth::http::CurrentUser;
use crate::commissions::CommissionDetail;
use crate::commissions::offers::{CounterInput, QuoteInput};
use crate::commissions::payments::CommissionPaymentView;
use crate::error::{ApiError, BadRequest, ErrorBody};
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::idempotent::{Outcome, required_key, run_once};
use crate::state::AppState;
use crate::validation::FieldErrors;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(quote))
        .routes(routes!(counter))
        .routes(routes!(decline))
        .routes(routes!(accept))
        .routes(routes!(attach_measurements))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct ReasonRequest {
    #[schema(value_type = String, max_length = 2000)]
    pub reason: Option<String>,
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(default)]
pub struct AcceptRequest {
    /// The quote you accept (from `offers`); if the tailor replaced it
    /// meanwhile, 409 `quote_changed`. Left out: the open quote.
    #[schema(value_type = Uuid)]
    pub offer_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AcceptBody {
    pub commission: CommissionDetail,
    /// The deposit's payment page (none without a deposit; none either if
    /// the provider could not be reached: pay with `.../pay/`).
    pub payment: Option<CommissionPaymentView>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct MeasurementsRequest {
    /// One of your measurement profiles: its current version is used.
    #[schema(value_type = Uuid, required = true)]
    pub measurement_profile_id: Option<String>,
}

/// Quote a price, deposit and due date (tailor); a re-quote replaces the
/// open quote or answers a counter-offer.
#[utoipa::path(post, path = "/commissions/api/{commission_id}/quote", tag = TAG,
    request_body = QuoteInput,
    params(("commission_id" = Uuid, Path, description = "Commission id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The commission, `quoted`", body = CommissionDetail),
        (status = 400, description = "Field errors", body = BadRequest),
        (status = 403, description = "`permission_denied`: the customer does not quote", body = ErrorBody),
        (status = 404, description = "No such commission of yours", body = ErrorBody),
        (status = 409, description = "`invalid_state`: not open to a quote now (names the status)", body = ErrorBody)))]
async fn quote(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<QuoteInput>,
) -> Result<Json<CommissionDetail>, ApiError> {
    Ok(Json(
        state
            .commissions
            .quote(&user, commission_id(&id)?, body)
            .await?,
    ))
}

/// Counter the open quote with your price (customer).
#[utoipa::path(post, path = "/commissions/api/{commission_id}/counter", tag = TAG,
    request_body = CounterInput,
    params(("commission_id" = Uuid, Path, description = "Commission id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The commission, `countered`", body = CommissionDetail),
        (status = 400, description = "Field errors", body = BadRequest),
        (status = 403, description = "`permission_denied`: the tailor re-quotes instead", body = ErrorBody),
        (status = 404, description = "No such commission of yours", body = ErrorBody),
        (status = 409, description = "`invalid_state`: no open quote", body = ErrorBody)))]
async fn counter(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<CounterInput>,
) -> Result<Json<CommissionDetail>, ApiError> {
    Ok(Json(
        state
            .commissions
            .counter(&user, commission_id(&id)?, body)
            .await?,
    ))
}

/// Decline: the tailor declines a request or counter-offer, the customer a
/// quote. The commission ends.
#[utoipa::path(post, path = "/commissions/api/{commission_id}/decline", tag = TAG,
    request_body = ReasonRequest,
    params(("commission_id" = Uuid, Path, description = "Commission id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The commission, `declined`", body = CommissionDetail),
        (status = 400, description = "Reason too long", body = BadRequest),
        (status = 404, description = "No such commission of yours", body = ErrorBody),
        (status = 409, description = "`invalid_state`: nothing of the other party's to decline", body = ErrorBody)))]
async fn decline(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ReasonRequest>,
) -> Result<Json<CommissionDetail>, ApiError> {
    let detail = state
        .commissions
        .decline(&user, commission_id(&id)?, body.reason)
        .await?;
    Ok(Json(detail))
}

/// Accept the open quote (customer). With a deposit, the commission awaits
/// it and the answer carries the payment page; without, work starts.
///
/// Send an `Idempotency-Key`: a retry with the same key and body gets the
/// first answer.
#[utoipa::path(post, path = "/commissions/api/{commission_id}/accept", tag = TAG,
    request_body = AcceptRequest,
    params(("commission_id" = Uuid, Path, description = "Commission id"),
        ("Idempotency-Key" = String, Header, description = "A unique key per attempt, up to 255 characters", min_length = 1, max_length = 255)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Accepted: `awaiting_deposit` or `in_progress`", body = AcceptBody),
        (status = 400, description = "No Idempotency-Key, or a bad offer id", body = BadRequest),
        (status = 403, description = "`permission_denied`: the tailor does not accept", body = ErrorBody),
        (status = 404, description = "No such commission of yours", body = ErrorBody),
        (status = 409, description = "`invalid_state` (names the status), `quote_expired`, `quote_changed`, `payments_unavailable`, `request_in_progress`", body = ErrorBody),
        (status = 422, description = "`idempotency_key_reused` with another body", body = ErrorBody)))]
async fn accept(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> Result<Response, ApiError> {
    let id = commission_id(&id)?;
    let key = required_key(&headers, "acceptance")?;
    let request: AcceptRequest = serde_json::from_value(body.clone())
        .map_err(|e| ApiError::bad_request("parse_error", format!("Invalid data: {e}")))?;
    let offer_id = match request.offer_id.as_deref().map(str::trim) {
        None => None,
        Some(raw) => Some(
            Uuid::parse_str(raw)
                .map_err(|_| FieldErrors::single("offer_id", "Must be a valid UUID."))?,
        ),
    };
    let operation = format!("commission-accept:{id}");
    run_once(&state, user.id, &operation, &key, &body, async {
        Outcome::of(accept_and_open_payment(&state, &user, id, offer_id).await)
    })
    .await
}

async fn accept_and_open_payment(
    state: &AppState,
    user: &crate::storage::entities::user::Model,
    id: Uuid,
    offer_id: Option<Uuid>,
) -> Result<Response, ApiError> {
    let commission = state.commissions.accept(user, id, offer_id).await?;
    let payment = if commission.commission.status == "awaiting_deposit" {
        match state.commissions.pay(user, id).await {
            Ok(payment) => Some(payment),
            Err(err) => {
                tracing::warn!(commission = %id, error = %err, "deposit page not opened; the customer can pay later");
                None
            }
        }
    } else {
        None
    };
    let commission = state.commissions.detail(user, id).await?;
    Ok((
        StatusCode::OK,
        Json(AcceptBody {
            commission,
            payment,
        }),
    )
        .into_response())
}

/// Use the current version of one of your measurement profiles (customer,
/// before work starts).
#[utoipa::path(post, path = "/commissions/api/{commission_id}/measurements", tag = TAG,
    request_body = MeasurementsRequest,
    params(("commission_id" = Uuid, Path, description = "Commission id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The commission with the new measurements", body = CommissionDetail),
        (status = 400, description = "Not a measurement profile of yours", body = BadRequest),
        (status = 403, description = "`permission_denied`: only the customer chooses", body = ErrorBody),
        (status = 404, description = "No such commission of yours", body = ErrorBody),
        (status = 409, description = "`invalid_state`: work has started", body = ErrorBody)))]
async fn attach_measurements(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<MeasurementsRequest>,
) -> Result<Json<CommissionDetail>, ApiError> {
    let detail = state
        .commissions
        .attach_measurements(&user, commission_id(&id)?, body.measurement_profile_id)
        .await?;
    Ok(Json(detail))
}

//! A tailor's availability and the open slots it makes.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::TAG;
use crate::auth::http::CurrentUser;
use crate::error::{ApiError, BadRequest, ErrorBody};
use crate::fittings::{AvailabilityInput, AvailabilityView, SlotView};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_availability, put_availability))
        .routes(routes!(slots))
}

/// The caller's fitting availability (tailors only).
#[utoipa::path(get, path = "/tailor/api/availability", tag = TAG,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The availability (`published` false: defaults, never saved)", body = AvailabilityView),
        (status = 403, description = "Not a tailor", body = ErrorBody)))]
async fn get_availability(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
) -> Result<Json<AvailabilityView>, ApiError> {
    Ok(Json(state.fittings.availability(&me).await?))
}

/// Replace the caller's fitting availability (tailors only): zone, weekly
/// hours, slot length, buffer, days off, exceptions, horizon, notice, approval.
#[utoipa::path(put, path = "/tailor/api/availability", tag = TAG,
    request_body = AvailabilityInput,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Saved", body = AvailabilityView),
        (status = 400, description = "Field errors", body = BadRequest),
        (status = 403, description = "Not a tailor", body = ErrorBody),
        (status = 409, description = "`no_profile`: create the tailor profile first", body = ErrorBody)))]
async fn put_availability(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiJson(body): ApiJson<AvailabilityInput>,
) -> Result<Json<AvailabilityView>, ApiError> {
    Ok(Json(state.fittings.set_availability(&me, body).await?))
}

#[derive(Deserialize, IntoParams, Default)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct SlotsQuery {
    /// Start of the window: RFC 3339, or a date in the tailor's zone (default: now).
    pub from: Option<String>,
    /// End of the window: RFC 3339, or a date in the tailor's zone (that
    /// whole day); default a week after `from`, at most 31 days after it.
    pub to: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SlotsAnswer {
    pub tailor_id: Uuid,
    /// The tailor's IANA zone.
    pub time_zone: String,
    /// False when the tailor has not published availability (no slots).
    pub published: bool,
    pub slot_minutes: i32,
    /// The window looked at (UTC).
    pub from: String,
    pub to: String,
    /// Open slots in the window, soonest first: not booked, not past, with
    /// the tailor's notice and within their horizon.
    pub slots: Vec<SlotView>,
}

/// A tailor's open fitting slots in a window (at most 31 days).
#[utoipa::path(get, path = "/tailor/api/{tailor_id}/slots", tag = TAG,
    params(("tailor_id" = Uuid, Path, description = "The tailor's user id"), SlotsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Open slots", body = SlotsAnswer),
        (status = 400, description = "Bad `from`/`to`, or a window over 31 days", body = BadRequest),
        (status = 404, description = "No such tailor", body = ErrorBody)))]
async fn slots(
    State(state): State<AppState>,
    CurrentUser(_me): CurrentUser,
    ApiPath(tailor_id): ApiPath<String>,
    ApiQuery(query): ApiQuery<SlotsQuery>,
) -> Result<Json<SlotsAnswer>, ApiError> {
    let tailor_id = Uuid::parse_str(&tailor_id).map_err(|_| ApiError::not_found())?;
    let listing = state
        .fittings
        .open_slots(tailor_id, query.from.as_deref(), query.to.as_deref())
        .await?;
    Ok(Json(SlotsAnswer {
        tailor_id,
        time_zone: listing.time_zone,
        published: listing.published,
        slot_minutes: listing.slot_minutes,
        from: crate::fittings::utc_text(listing.from),
        to: crate::fittings::utc_text(listing.to),
        slots: listing.slots,
    }))
}

//! Booking a fitting, the tailor's accept and decline (old paths), either
//! side's cancel and reschedule, and each side's list.

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::TAG;
use crate::auth::http::CurrentUser;
use crate::error::{ApiError, BadRequest, ErrorBody};
use crate::fittings::{
    Action, BookingFilters, BookingInput, BookingView, FittingError, Side, SlotView,
};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::pagination::{PageLinks, PageRequest, invalid_page};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(book))
        .routes(routes!(accept))
        .routes(routes!(decline))
        .routes(routes!(cancel))
        .routes(routes!(reschedule))
        .routes(routes!(tailor_bookings))
        .routes(routes!(customer_bookings))
}

/// A slot someone else took first, with the next open ones to offer.
#[derive(Serialize, ToSchema)]
pub struct SlotTakenBody {
    pub detail: String,
    /// `slot_taken`.
    pub code: String,
    /// The next open slots after the one asked for (up to 5).
    pub next_slots: Vec<SlotView>,
}

/// Errors as usual, except a taken slot, which carries alternatives.
fn answer(result: Result<BookingView, FittingError>, created: bool) -> Result<Response, ApiError> {
    match result {
        Ok(view) => {
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok((status, Json(view)).into_response())
        }
        Err(FittingError::SlotTaken(next_slots)) => Ok((
            StatusCode::CONFLICT,
            Json(SlotTakenBody {
                detail: "This slot was just taken. Pick another one.".into(),
                code: "slot_taken".into(),
                next_slots,
            }),
        )
            .into_response()),
        Err(err) => Err(err.into()),
    }
}

/// Book a fitting in one of a tailor's open slots: `requested`, or
/// `confirmed` at once when the tailor takes instant bookings.
#[utoipa::path(post, path = "/tailor/api/book", tag = TAG, request_body = BookingInput,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Booked", body = BookingView),
        (status = 400, description = "Field errors: not a slot, too soon, too far ahead, kind not offered, outside the home-visit radius...", body = BadRequest),
        (status = 409, description = "`slot_taken`: someone else holds the slot; `next_slots` offers others", body = SlotTakenBody)))]
async fn book(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiJson(body): ApiJson<BookingInput>,
) -> Result<Response, ApiError> {
    answer(state.fittings.book(&me, body).await, true)
}

fn booking_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::not_found())
}

/// Accept a requested fitting (the tailor).
#[utoipa::path(post, path = "/tailor/api/booking/accept/{booking_id}", tag = TAG,
    params(("booking_id" = Uuid, Path, description = "The booking's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Confirmed", body = BookingView),
        (status = 404, description = "No such booking of the caller's", body = ErrorBody),
        (status = 409, description = "`invalid_transition` (names the current state) or `fitting_started`", body = ErrorBody)))]
async fn accept(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<BookingView>, ApiError> {
    Ok(Json(
        state
            .fittings
            .act(&me, booking_id(&id)?, Action::Accept)
            .await?,
    ))
}

/// Decline a requested fitting (the tailor).
#[utoipa::path(post, path = "/tailor/api/booking/decline/{booking_id}", tag = TAG,
    params(("booking_id" = Uuid, Path, description = "The booking's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Declined", body = BookingView),
        (status = 404, description = "No such booking of the caller's", body = ErrorBody),
        (status = 409, description = "`invalid_transition` (names the current state) or `fitting_started`", body = ErrorBody)))]
async fn decline(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<BookingView>, ApiError> {
    Ok(Json(
        state
            .fittings
            .act(&me, booking_id(&id)?, Action::Decline)
            .await?,
    ))
}

/// Cancel a requested or confirmed fitting (either party; the customer up
/// to `ATELIER_FITTING_CANCEL_NOTICE_HOURS` before it).
#[utoipa::path(post, path = "/tailor/api/booking/cancel/{booking_id}", tag = TAG,
    params(("booking_id" = Uuid, Path, description = "The booking's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Cancelled", body = BookingView),
        (status = 404, description = "No such booking of the caller's", body = ErrorBody),
        (status = 409, description = "`invalid_transition` (names the current state), `fitting_started` or `too_late`", body = ErrorBody)))]
async fn cancel(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<BookingView>, ApiError> {
    Ok(Json(
        state
            .fittings
            .act(&me, booking_id(&id)?, Action::Cancel)
            .await?,
    ))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct RescheduleRequest {
    /// The new slot's start, exactly as `slots` lists it (RFC 3339).
    #[schema(required = true, value_type = String, format = DateTime)]
    pub start: Option<Value>,
}

/// Move a fitting to another open slot in one step (either party; the
/// customer up to the cancel notice). The tailor's move keeps it confirmed;
/// the customer's asks the tailor again unless they take instant bookings.
#[utoipa::path(post, path = "/tailor/api/booking/reschedule/{booking_id}", tag = TAG,
    params(("booking_id" = Uuid, Path, description = "The booking's id")),
    request_body = RescheduleRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Moved", body = BookingView),
        (status = 400, description = "Field errors on `start`", body = BadRequest),
        (status = 404, description = "No such booking of the caller's", body = ErrorBody),
        (status = 409, description = "`invalid_transition` (names the current state, or the booking changed meanwhile), `fitting_started`, `too_late`, `not_taking_bookings`, or `slot_taken` (whose body also carries `next_slots`, as in `book`)", body = ErrorBody)))]
async fn reschedule(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RescheduleRequest>,
) -> Result<Response, ApiError> {
    let id = booking_id(&id)?;
    answer(state.fittings.reschedule(&me, id, body.start).await, false)
}

#[derive(Deserialize, IntoParams, Default)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct BookingListQuery {
    /// 1-based page number.
    #[param(value_type = Option<u64>, minimum = 1)]
    pub page: Option<String>,
    /// At most 100 (default 20; more is capped).
    #[param(value_type = Option<u64>, minimum = 1)]
    pub page_size: Option<String>,
    /// Only bookings in this state.
    #[param(value_type = Option<crate::fittings::BookingStatus>)]
    pub status: Option<String>,
    /// Fittings starting at or after this (RFC 3339, or a UTC date).
    pub from: Option<String>,
    /// Fittings starting before this (RFC 3339, or a UTC date).
    pub to: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct BookingListPage {
    pub count: u64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<BookingView>,
}

/// The tailor's fittings (old `mybooking`), soonest first.
#[utoipa::path(get, path = "/tailor/api/mybooking", tag = TAG, params(BookingListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page", body = BookingListPage),
        (status = 400, description = "Bad filter", body = BadRequest),
        (status = 403, description = "Not a tailor", body = ErrorBody),
        (status = 404, description = "Invalid page", body = ErrorBody)))]
async fn tailor_bookings(
    state: State<AppState>,
    me: CurrentUser,
    query: ApiQuery<BookingListQuery>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Result<Json<BookingListPage>, ApiError> {
    if me.0.role != "tailor" {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "permission_denied",
            "Only tailors have fittings booked with them; your own are at /tailor/api/bookings/.",
        ));
    }
    list(state, me, query, uri, headers, Side::Tailor).await
}

/// The caller's own fittings as a customer, soonest first.
#[utoipa::path(get, path = "/tailor/api/bookings", tag = TAG, params(BookingListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page", body = BookingListPage),
        (status = 400, description = "Bad filter", body = BadRequest),
        (status = 404, description = "Invalid page", body = ErrorBody)))]
async fn customer_bookings(
    state: State<AppState>,
    me: CurrentUser,
    query: ApiQuery<BookingListQuery>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Result<Json<BookingListPage>, ApiError> {
    list(state, me, query, uri, headers, Side::Customer).await
}

async fn list(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiQuery(query): ApiQuery<BookingListQuery>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    side: Side,
) -> Result<Json<BookingListPage>, ApiError> {
    let request = PageRequest::parse(query.page.as_deref(), query.page_size.as_deref())?;
    let filters = BookingFilters {
        status: query.status,
        from: query.from,
        to: query.to,
    };
    let page = state
        .fittings
        .list(&me, side, filters, request.page, request.page_size)
        .await?
        .ok_or_else(invalid_page)?;
    let (next, previous) = PageLinks::new(&uri, &headers).neighbours(request, page.count);
    Ok(Json(BookingListPage {
        count: page.count,
        next,
        previous,
        results: page.bookings,
    }))
}

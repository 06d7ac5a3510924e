//! A user's measurement profiles under `/tailor/api/measurements/`: only the
//! owner sees them; anyone else's are not found.

mod schema;

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use self::schema::{MeasurementsPatchRequest, NewMeasurementsRequest};
use super::TAG;
use crate::auth::http::CurrentUser;
use crate::error::{ApiError, BadRequest, ErrorBody};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::pagination::{PageLinks, PageRequest, invalid_page};
use crate::state::AppState;
use crate::store::http::PageQuery;
use crate::tailors::measurements::table::{MEASURES, Unit};
use crate::tailors::measurements::{MeasurementVersionView, MeasurementView, Page};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_measurements, create_measurements))
        .routes(routes!(measurement_ranges))
        .routes(routes!(
            read_measurements,
            update_measurements,
            delete_measurements
        ))
        .routes(routes!(measurement_history))
}

#[derive(Serialize, ToSchema)]
pub struct MeasurementPage {
    pub count: u64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<MeasurementView>,
}

#[derive(Serialize, ToSchema)]
pub struct MeasurementVersionPage {
    pub count: u64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<MeasurementVersionView>,
}

/// One standard measurement and the values the server accepts for it.
#[derive(Serialize, ToSchema)]
pub struct MeasurementRange {
    /// The field's name in profiles.
    pub name: &'static str,
    /// How to take it.
    pub label: &'static str,
    pub min_mm: i64,
    pub max_mm: i64,
    pub min_cm: f64,
    pub max_cm: f64,
    pub min_in: f64,
    pub max_in: f64,
}

fn profile_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::not_found())
}

fn page_links<T>(
    page: Page<T>,
    request: PageRequest,
    uri: &Uri,
    headers: &HeaderMap,
) -> (u64, Option<String>, Option<String>, Vec<T>) {
    let (next, previous) = PageLinks::new(uri, headers).neighbours(request, page.count);
    (page.count, next, previous, page.results)
}

/// Your measurement profiles, newest first.
#[utoipa::path(get, path = "/tailor/api/measurements", tag = TAG, params(PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page", body = MeasurementPage),
        (status = 404, description = "Invalid page", body = ErrorBody)))]
async fn list_measurements(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiQuery(query): ApiQuery<PageQuery>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Json<MeasurementPage>, ApiError> {
    let request = PageRequest::parse(query.page.as_deref(), query.page_size.as_deref())?;
    let page = state
        .tailors
        .list_measurements(&me, request.page, request.page_size)
        .await?
        .ok_or_else(invalid_page)?;
    let (count, next, previous, results) = page_links(page, request, &uri, &headers);
    Ok(Json(MeasurementPage {
        count,
        next,
        previous,
        results,
    }))
}

/// Keep a new measurement profile ("Me", "My son Tobi"); it is version 1.
#[utoipa::path(post, path = "/tailor/api/measurements", tag = TAG, request_body = NewMeasurementsRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = MeasurementView),
        (status = 400, description = "Field errors: name missing or too long, unknown unit, a value that is not a number or outside its plausible range (the message gives the range in the request's unit), an unknown field", body = BadRequest)))]
async fn create_measurements(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> Result<(StatusCode, Json<MeasurementView>), ApiError> {
    let profile = state.tailors.create_measurements(&me, body).await?;
    Ok((StatusCode::CREATED, Json(profile)))
}

/// The standard measurements and their plausible ranges (what the server accepts).
#[utoipa::path(get, path = "/tailor/api/measurements/ranges", tag = TAG,
    responses((status = 200, description = "Every standard measurement, in the order a tailor takes them", body = [MeasurementRange])))]
async fn measurement_ranges() -> Json<Vec<MeasurementRange>> {
    Json(
        MEASURES
            .iter()
            .map(|m| {
                let (min_cm, max_cm) = Unit::Cm.range(m);
                let (min_in, max_in) = Unit::In.range(m);
                MeasurementRange {
                    name: m.name,
                    label: m.label,
                    min_mm: m.min_mm,
                    max_mm: m.max_mm,
                    min_cm,
                    max_cm,
                    min_in,
                    max_in,
                }
            })
            .collect(),
    )
}

/// One of your measurement profiles.
#[utoipa::path(get, path = "/tailor/api/measurements/{id}", tag = TAG,
    params(("id" = Uuid, Path, description = "Profile id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The profile", body = MeasurementView),
        (status = 404, description = "No such profile of yours", body = ErrorBody)))]
async fn read_measurements(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<MeasurementView>, ApiError> {
    Ok(Json(
        state.tailors.measurements(&me, profile_id(&id)?).await?,
    ))
}

/// Change a profile: only the fields sent change; any real change is the next version.
#[utoipa::path(patch, path = "/tailor/api/measurements/{id}", tag = TAG, request_body = MeasurementsPatchRequest,
    params(("id" = Uuid, Path, description = "Profile id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The profile as it is now", body = MeasurementView),
        (status = 400, description = "Field errors, as on creation", body = BadRequest),
        (status = 404, description = "No such profile of yours", body = ErrorBody)))]
async fn update_measurements(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> Result<Json<MeasurementView>, ApiError> {
    let id = profile_id(&id)?;
    Ok(Json(
        state.tailors.update_measurements(&me, id, body).await?,
    ))
}

/// Delete a profile; its versions are kept for whatever points at them.
#[utoipa::path(delete, path = "/tailor/api/measurements/{id}", tag = TAG,
    params(("id" = Uuid, Path, description = "Profile id")), security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such profile of yours", body = ErrorBody)))]
async fn delete_measurements(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state
        .tailors
        .delete_measurements(&me, profile_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every version of a profile, newest first.
#[utoipa::path(get, path = "/tailor/api/measurements/{id}/history", tag = TAG,
    params(("id" = Uuid, Path, description = "Profile id"), PageQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of versions", body = MeasurementVersionPage),
        (status = 404, description = "No such profile of yours, or invalid page", body = ErrorBody)))]
async fn measurement_history(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Json<MeasurementVersionPage>, ApiError> {
    let id = profile_id(&id)?;
    let request = PageRequest::parse(query.page.as_deref(), query.page_size.as_deref())?;
    let page = state
        .tailors
        .measurement_history(&me, id, request.page, request.page_size)
        .await?
        .ok_or_else(invalid_page)?;
    let (count, next, previous, results) = page_links(page, request, &uri, &headers);
    Ok(Json(MeasurementVersionPage {
        count,
        next,
        previous,
        results,
    }))
}

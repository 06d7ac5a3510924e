//! Tailor profiles and the directory: `/tailor/api/create/`, `me/`,
//! `update/<id>/`, `detail/<id>/`, `<id>/verify/`, `list/`.

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::TAG;
use crate::auth::http::CurrentUser;
use crate::error::{ApiError, BadRequest, ErrorBody};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::pagination::{PageLinks, PageRequest, invalid_page};
use crate::state::AppState;
use crate::tailors::{
    DirectoryQuery, OwnProfileView, ProfileInput, PublicProfileView, TailorSummary,
    VerificationView,
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_profile))
        .routes(routes!(my_profile, update_my_profile))
        .routes(routes!(update_profile))
        .routes(routes!(profile_detail))
        .routes(routes!(verify_tailor))
        .routes(routes!(directory))
}

fn tailor_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::not_found())
}

/// The caller has no tailor profile (they are a customer).
fn no_profile() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no_tailor_profile",
        "You have no tailor profile. Open one with POST /tailor/api/create/.",
    )
}

/// Open your tailor profile (customers): your role becomes `tailor`; your
/// orders and purchases stay yours. `business_name` is required. Followers
/// and rating start from the follows and reviews you already have.
#[utoipa::path(post, path = "/tailor/api/create", tag = TAG, request_body = ProfileInput,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Profile opened", body = OwnProfileView),
        (status = 400, description = "Field errors", body = BadRequest),
        (status = 409, description = "`already_tailor`: you already have a profile", body = ErrorBody)))]
async fn create_profile(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<ProfileInput>,
) -> Result<(StatusCode, Json<OwnProfileView>), ApiError> {
    let profile = state.tailors.open_profile(&user, body).await?;
    Ok((StatusCode::CREATED, Json(profile)))
}

/// Your own profile, everything included (exact coordinates, phone).
#[utoipa::path(get, path = "/tailor/api/me", tag = TAG, security(("bearer" = [])),
    responses(
        (status = 200, description = "Your profile", body = OwnProfileView),
        (status = 404, description = "`no_tailor_profile`: you are not a tailor", body = ErrorBody)))]
async fn my_profile(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<OwnProfileView>, ApiError> {
    let profile = state.tailors.own_profile(&user).await?;
    profile.map(Json).ok_or_else(no_profile)
}

/// Change your profile: only the fields sent change; `null` clears a field.
#[utoipa::path(patch, path = "/tailor/api/me", tag = TAG, request_body = ProfileInput,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Your profile", body = OwnProfileView),
        (status = 400, description = "Field errors", body = BadRequest),
        (status = 404, description = "`no_tailor_profile`: you are not a tailor", body = ErrorBody)))]
async fn update_my_profile(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<ProfileInput>,
) -> Result<Json<OwnProfileView>, ApiError> {
    let profile = state.tailors.update_own_profile(&user, body).await?;
    profile.map(Json).ok_or_else(no_profile)
}

/// The old path of `PATCH /tailor/api/me/`: `id` is your user id.
#[utoipa::path(patch, path = "/tailor/api/update/{id}", tag = TAG, request_body = ProfileInput,
    params(("id" = Uuid, Path, description = "The tailor's user id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "Your profile", body = OwnProfileView),
        (status = 400, description = "Field errors", body = BadRequest),
        (status = 403, description = "`permission_denied`: another tailor's profile", body = ErrorBody),
        (status = 404, description = "No such tailor", body = ErrorBody)))]
async fn update_profile(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ProfileInput>,
) -> Result<Json<OwnProfileView>, ApiError> {
    let profile = state
        .tailors
        .update_profile_of(&user, tailor_id(&id)?, body)
        .await?;
    Ok(Json(profile))
}

/// A tailor's public profile (no sign-in needed): coordinates rounded to
/// about 1 km, no phone; rating, followers, completed orders and the first
/// portfolio items. Profiles the directory does not list (no business name,
/// email not verified, account closed) are 404 for everyone; their owner
/// reads theirs at `/tailor/api/me/`.
#[utoipa::path(get, path = "/tailor/api/detail/{id}", tag = TAG,
    params(("id" = Uuid, Path, description = "The tailor's user id")),
    responses(
        (status = 200, description = "The public profile", body = PublicProfileView),
        (status = 404, description = "No such listed tailor", body = ErrorBody)))]
async fn profile_detail(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<PublicProfileView>, ApiError> {
    Ok(Json(state.tailors.public_profile(tailor_id(&id)?).await?))
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(default)]
pub struct VerifyRequest {
    #[schema(value_type = bool, required = true)]
    pub is_verified_tailor: Option<Value>,
}

/// Mark a tailor verified, or not (staff only).
#[utoipa::path(post, path = "/tailor/api/{tailor_id}/verify", tag = TAG, request_body = VerifyRequest,
    params(("tailor_id" = Uuid, Path, description = "The tailor's user id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "Verification set", body = VerificationView),
        (status = 400, description = "Missing or not a boolean", body = BadRequest),
        (status = 403, description = "`permission_denied`: not staff", body = ErrorBody),
        (status = 404, description = "No such tailor", body = ErrorBody)))]
async fn verify_tailor(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<VerifyRequest>,
) -> Result<Json<VerificationView>, ApiError> {
    if !user.is_staff {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "permission_denied",
            "Only staff can verify tailors.",
        ));
    }
    let view = state
        .tailors
        .set_verified(&user, tailor_id(&id)?, body.is_verified_tailor)
        .await?;
    Ok(Json(view))
}

/// Directory order.
#[derive(ToSchema)]
#[allow(dead_code)]
pub enum DirectoryOrdering {
    #[schema(rename = "-rating")]
    Rating,
    #[schema(rename = "-reviews")]
    Reviews,
    #[schema(rename = "-followers")]
    Followers,
    #[schema(rename = "-experience")]
    Experience,
    /// Nearest first; only with `near` (and its default then).
    #[schema(rename = "distance")]
    Distance,
    /// Lowest first; tailors without a price last.
    #[schema(rename = "price_from")]
    PriceFrom,
    /// Newest profiles first (the default without `near`).
    #[schema(rename = "-created")]
    Newest,
}

#[derive(Deserialize, IntoParams, Default)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct DirectoryParams {
    /// 1-based page number.
    #[param(value_type = Option<u64>, minimum = 1)]
    pub page: Option<String>,
    /// At most 100 (default 20; more is capped).
    #[param(value_type = Option<u64>, minimum = 1)]
    pub page_size: Option<String>,
    /// Words in the business name, specialties or bio.
    pub q: Option<String>,
    #[param(value_type = Option<crate::tailors::Skill>, inline)]
    pub skill: Option<String>,
    /// At least this many years of experience.
    #[param(value_type = Option<u32>)]
    pub min_experience: Option<String>,
    /// Old name of `min_experience`.
    #[param(value_type = Option<u32>)]
    pub exp: Option<String>,
    /// Text in the city or the state.
    pub location: Option<String>,
    /// Old name of `location`.
    pub loc: Option<String>,
    /// `LAT,LNG`, e.g. `6.5244,3.3792`: only tailors within `radius_km`,
    /// each with its `distance_km`.
    #[param(pattern = "^-?[0-9.]+,-?[0-9.]+$", example = "6.5244,3.3792")]
    pub near: Option<String>,
    /// With `near`: km, above 0 and at most 500 (default 25).
    #[param(value_type = Option<f64>, minimum = 0, maximum = 500)]
    pub radius_km: Option<String>,
    /// Average rating of at least this (0–5).
    #[param(value_type = Option<f64>, minimum = 0, maximum = 5)]
    pub min_rating: Option<String>,
    /// Only staff-verified tailors (`true`) or only the others (`false`).
    #[param(value_type = Option<bool>)]
    pub verified: Option<String>,
    /// Only tailors who visit homes (`true`) or who do not (`false`).
    #[param(value_type = Option<bool>)]
    pub home_visits: Option<String>,
    #[param(value_type = Option<DirectoryOrdering>, inline)]
    pub ordering: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DirectoryPageBody {
    pub count: u64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<TailorSummary>,
}

/// The directory: listed tailors (named, email verified), filtered, ordered
/// and paged. A result's `id` is the tailor's user id.
#[utoipa::path(get, path = "/tailor/api/list", tag = TAG, params(DirectoryParams),
    responses(
        (status = 200, description = "One page", body = DirectoryPageBody),
        (status = 400, description = "A bad filter", body = BadRequest),
        (status = 404, description = "Invalid page", body = ErrorBody)))]
async fn directory(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<DirectoryParams>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Json<DirectoryPageBody>, ApiError> {
    let request = PageRequest::parse(params.page.as_deref(), params.page_size.as_deref())?;
    let query = DirectoryQuery {
        q: params.q,
        skill: params.skill,
        min_experience: params.min_experience,
        exp: params.exp,
        location: params.location,
        loc: params.loc,
        near: params.near,
        radius_km: params.radius_km,
        min_rating: params.min_rating,
        verified: params.verified,
        home_visits: params.home_visits,
        ordering: params.ordering,
    };
    let page = state
        .tailors
        .directory(&query, request.page, request.page_size)
        .await?
        .ok_or_else(invalid_page)?;
    let (next, previous) = PageLinks::new(&uri, &headers).neighbours(request, page.count);
    Ok(Json(DirectoryPageBody {
        count: page.count,
        next,
        previous,
        results: page.results,
    }))
}

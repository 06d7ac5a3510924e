//! Follow and unfollow (old `auth_api` paths) and a user's followers and
//! following lists.

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::TAG;
use crate::auth::http::{CurrentUser, UserPage, UserPublic};
use crate::error::{ApiError, BadRequest, ErrorBody};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::pagination::{PageLinks, PageRequest, invalid_page};
use crate::state::AppState;
use crate::store::http::PageQuery;
use crate::tailors::follows::{FollowList, FollowOutcome};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(follow))
        .routes(routes!(unfollow))
        .routes(routes!(followers))
        .routes(routes!(following))
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(default)]
pub struct FollowRequest {
    /// The user to follow or unfollow.
    #[schema(required = true, value_type = Uuid)]
    pub user_id: Option<String>,
}

/// Where the caller stands with the user after the request.
#[derive(Serialize, ToSchema)]
pub struct FollowAnswer {
    pub detail: String,
    pub user_id: Uuid,
    /// Whether the caller follows the user now.
    pub following: bool,
    /// False when the request changed nothing (already followed, or not followed).
    pub changed: bool,
}

/// Follow a user (idempotent: following twice is one follow).
#[utoipa::path(post, path = "/auth/api/follow", tag = TAG, request_body = FollowRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller follows the user (`changed` false if they already did)", body = FollowAnswer),
        (status = 400, description = "`user_id` missing, not a UUID, or the caller", body = BadRequest),
        (status = 403, description = "`blocked`: one of the two blocked the other", body = ErrorBody),
        (status = 404, description = "No such user (or deleted)", body = ErrorBody)))]
async fn follow(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiJson(body): ApiJson<FollowRequest>,
) -> Result<Json<FollowAnswer>, ApiError> {
    let (target, outcome) = state.tailors.follow(&me, body.user_id).await?;
    match outcome {
        FollowOutcome::Blocked(why) => Err(ApiError::new(StatusCode::FORBIDDEN, "blocked", why)),
        FollowOutcome::Following { changed } => Ok(Json(FollowAnswer {
            detail: if changed {
                format!("You now follow {}.", target.username)
            } else {
                format!("You already follow {}.", target.username)
            },
            user_id: target.id,
            following: true,
            changed,
        })),
    }
}

/// Stop following a user (idempotent: unfollowing someone you do not follow is fine).
#[utoipa::path(post, path = "/auth/api/unfollow", tag = TAG, request_body = FollowRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller does not follow the user (`changed` false if they did not before)", body = FollowAnswer),
        (status = 400, description = "`user_id` missing, not a UUID, or the caller", body = BadRequest),
        (status = 404, description = "No such user", body = ErrorBody)))]
async fn unfollow(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiJson(body): ApiJson<FollowRequest>,
) -> Result<Json<FollowAnswer>, ApiError> {
    let (target, changed) = state.tailors.unfollow(&me, body.user_id).await?;
    Ok(Json(FollowAnswer {
        detail: if changed {
            format!("You no longer follow {}.", target.username)
        } else {
            format!("You do not follow {}.", target.username)
        },
        user_id: target.id,
        following: false,
        changed,
    }))
}

/// A user's followers, newest follow first.
#[utoipa::path(get, path = "/auth/api/users/{id}/followers", tag = TAG,
    params(("id" = Uuid, Path, description = "The user's id"), PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of followers (public views)", body = UserPage),
        (status = 404, description = "No such user, or invalid page", body = ErrorBody)))]
async fn followers(
    state: State<AppState>,
    me: CurrentUser,
    id: ApiPath<String>,
    query: ApiQuery<PageQuery>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Result<Json<UserPage>, ApiError> {
    list(state, me, id, query, uri, headers, FollowList::Followers).await
}

/// The users a user follows, newest follow first.
#[utoipa::path(get, path = "/auth/api/users/{id}/following", tag = TAG,
    params(("id" = Uuid, Path, description = "The user's id"), PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of followed users (public views)", body = UserPage),
        (status = 404, description = "No such user, or invalid page", body = ErrorBody)))]
async fn following(
    state: State<AppState>,
    me: CurrentUser,
    id: ApiPath<String>,
    query: ApiQuery<PageQuery>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Result<Json<UserPage>, ApiError> {
    list(state, me, id, query, uri, headers, FollowList::Following).await
}

async fn list(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    which: FollowList,
) -> Result<Json<UserPage>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::not_found())?;
    let request = PageRequest::parse(query.page.as_deref(), query.page_size.as_deref())?;
    let page = state
        .tailors
        .follow_list(&me, id, which, request.page, request.page_size)
        .await?
        .ok_or_else(invalid_page)?;
    let mut avatars = state.auth.avatar_urls(&page.users).await?;
    let (next, previous) = PageLinks::new(&uri, &headers).neighbours(request, page.count);
    Ok(Json(UserPage {
        count: page.count,
        next,
        previous,
        results: page
            .users
            .iter()
            .map(|u| UserPublic::new(u, avatars.remove(&u.id)))
            .collect(),
    }))
}

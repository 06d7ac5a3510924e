//! The private calendar feed: its URL, rotating it, and the feed itself.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::TAG;
use crate::auth::http::CurrentUser;
use crate::error::{ApiError, ErrorBody};
use crate::fittings::render_feed;
use crate::http::extract::ApiPath;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(feed_url))
        .routes(routes!(rotate))
        .routes(routes!(feed))
}

#[derive(Serialize, ToSchema)]
pub struct FeedUrl {
    /// Subscribe to this in Google or Apple Calendar. Keep it private: anyone
    /// with it sees the fittings; rotate it if it leaks.
    #[schema(example = "https://api.example.com/tailor/api/calendar/3f9a….ics")]
    pub url: String,
    /// The same feed with the `webcal://` scheme, which phones open in their calendar app.
    pub webcal_url: String,
}

fn feed_url_of(headers: &HeaderMap, secret: &str) -> FeedUrl {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|p| *p == "https" || *p == "http")
        .unwrap_or("http");
    let path = format!("{host}/tailor/api/calendar/{secret}.ics");
    FeedUrl {
        url: format!("{scheme}://{path}"),
        webcal_url: format!("webcal://{path}"),
    }
}

/// The caller's private calendar feed URL (made on first use).
#[utoipa::path(get, path = "/tailor/api/calendar", tag = TAG,
    security(("bearer" = [])),
    responses((status = 200, description = "The feed's URL", body = FeedUrl)))]
async fn feed_url(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    headers: HeaderMap,
) -> Result<Json<FeedUrl>, ApiError> {
    let secret = state.fittings.feed_secret(&me).await?;
    Ok(Json(feed_url_of(&headers, &secret)))
}

/// A new URL for the caller's feed; the old one answers 404 from now on.
#[utoipa::path(post, path = "/tailor/api/calendar/rotate", tag = TAG,
    security(("bearer" = [])),
    responses((status = 200, description = "The feed's new URL", body = FeedUrl)))]
async fn rotate(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    headers: HeaderMap,
) -> Result<Json<FeedUrl>, ApiError> {
    let secret = state.fittings.rotate_feed(&me).await?;
    Ok(Json(feed_url_of(&headers, &secret)))
}

/// A user's calendar feed (iCalendar): their confirmed fittings and the due
/// dates of their unfinished commissions, as tailor
/// or customer, from 30 days back. The secret in the URL is the only
/// credential; the path is `{secret}.ics`.
#[utoipa::path(get, path = "/tailor/api/calendar/{file}", tag = TAG,
    params(("file" = String, Path, description = "`<secret>.ics`, as in the feed's URL")),
    responses(
        (status = 200, description = "The feed", content_type = "text/calendar", body = String),
        (status = 404, description = "No such feed (or rotated away)", body = ErrorBody)))]
async fn feed(
    State(state): State<AppState>,
    ApiPath(file): ApiPath<String>,
) -> Result<Response, ApiError> {
    let secret = file.strip_suffix(".ics").ok_or_else(ApiError::not_found)?;
    let owner = state
        .fittings
        .feed_owner(secret)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let mut events = state.fittings.fitting_events(&owner).await?;
    events.extend(state.commissions.due_date_events(owner.id).await?);
    let body = render_feed(&format!("Atelier: {}", owner.username), &events);
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/calendar; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=300"),
    );
    Ok(response)
}

//! The notifications API (`/notifications/api/...`): the feed, read marks,
//! devices for pushes, preferences.

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{DeviceView, KindChange, NotificationView, Preferences, QuietHours, ReadTarget};
use crate::auth::http::CurrentUser;
use crate::error::{ApiError, BadRequest, ErrorBody};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::pagination::{PageLinks, PageRequest, invalid_page};
use crate::state::AppState;
use crate::validation::FieldErrors;

const TAG: &str = "notifications";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(read))
        .routes(routes!(register_device))
        .routes(routes!(remove_device))
        .routes(routes!(preferences, change_preferences))
}

#[derive(Debug, Deserialize, IntoParams, Default)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// `true`: only unread notifications.
    #[param(value_type = Option<bool>)]
    pub unread: Option<String>,
    /// 1-based page number.
    #[param(value_type = Option<u64>, minimum = 1)]
    pub page: Option<String>,
    /// At most 100 (default 20; more is capped).
    #[param(value_type = Option<u64>, minimum = 1)]
    pub page_size: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct NotificationPage {
    pub count: u64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<NotificationView>,
    /// All your unread notifications (not only this page's).
    pub unread_count: u64,
}

fn flag(raw: Option<&str>) -> Result<bool, FieldErrors> {
    match raw.map(|r| r.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(_) => Err(FieldErrors::single("unread", "Must be a valid boolean.")),
    }
}

/// Your notifications, newest first.
///
/// Live: the chat WebSocket (`/ws/chat/`) receives
/// `{"type":"notification.new","notification":{...},"unread_count":N}` for
/// each new one (not for chat messages: the socket brings those itself), and `{"type":"notification.read",...}` when they are read
/// on another device.
#[utoipa::path(get, path = "/notifications/api", tag = TAG, params(FeedQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page", body = NotificationPage),
        (status = 400, description = "`unread` is not a boolean", body = BadRequest),
        (status = 404, description = "Invalid page", body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiQuery(query): ApiQuery<FeedQuery>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Json<NotificationPage>, ApiError> {
    let request = PageRequest::parse(query.page.as_deref(), query.page_size.as_deref())?;
    let unread = flag(query.unread.as_deref())?;
    let page = state
        .notifications
        .feed(user.id, unread, request.page, request.page_size)
        .await?;
    if page.results.is_empty() && request.page > 1 {
        return Err(invalid_page());
    }
    let (next, previous) = PageLinks::new(&uri, &headers).neighbours(request, page.count);
    Ok(Json(NotificationPage {
        count: page.count,
        next,
        previous,
        results: page.results,
        unread_count: page.unread_count,
    }))
}

/// `ids`, or `all: true`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReadRequest {
    /// Your notifications to mark read (others' ids are ignored).
    #[schema(value_type = Option<Vec<Uuid>>, max_items = 500)]
    pub ids: Option<Vec<String>>,
    /// Mark every notification read.
    pub all: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReadResponse {
    /// Notifications this request marked read (ones read before do not count).
    pub updated: u64,
    pub unread_count: u64,
}

/// Mark notifications read.
///
/// Your other devices' sockets receive `{"type":"notification.read","ids":[...]}`
/// (or `"all":true`) with the new `unread_count`.
#[utoipa::path(post, path = "/notifications/api/read", tag = TAG, request_body = ReadRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Marked", body = ReadResponse),
        (status = 400, description = "Neither `ids` nor `all`, both, or an id that is not a UUID", body = BadRequest)))]
async fn read(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<ReadRequest>,
) -> Result<Json<ReadResponse>, ApiError> {
    let target = match (body.ids, body.all) {
        (Some(_), Some(true)) => {
            return Err(
                FieldErrors::single("non_field_errors", "Send ids or all, not both.").into(),
            );
        }
        (_, Some(true)) => ReadTarget::All,
        (Some(ids), _) => ReadTarget::Ids(ids),
        (None, _) => {
            return Err(FieldErrors::single(
                "non_field_errors",
                "Send the ids to mark read, or all: true.",
            )
            .into());
        }
    };
    let outcome = state.notifications.mark_read(user.id, target).await?;
    Ok(Json(ReadResponse {
        updated: outcome.updated,
        unread_count: outcome.unread_count,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DeviceRequest {
    /// The FCM registration token.
    #[schema(value_type = String, min_length = 1, max_length = 4096)]
    pub token: Option<String>,
    /// `android`, `ios` or `web`.
    #[schema(value_type = String, example = "android")]
    pub platform: Option<String>,
}

/// Register this install for pushes.
///
/// Call it at each start and whenever FCM gives a new token. Registering a
/// token again is harmless (200); a token new to your account (new, or last
/// registered by another account signed in on the same phone) is 201 and
/// is now yours only. At most 20 installs per account: the one unseen for
/// longest is dropped.
#[utoipa::path(post, path = "/notifications/api/devices", tag = TAG, request_body = DeviceRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Registered", body = DeviceView),
        (status = 200, description = "Already registered to you", body = DeviceView),
        (status = 400, description = "Missing or bad token or platform", body = BadRequest)))]
async fn register_device(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<DeviceRequest>,
) -> Result<(StatusCode, Json<DeviceView>), ApiError> {
    let registered = state
        .notifications
        .register_device(user.id, body.token, body.platform)
        .await?;
    let status = if registered.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(registered.device)))
}

/// Stop pushes to this install (at logout).
#[utoipa::path(delete, path = "/notifications/api/devices/{token}", tag = TAG,
    params(("token" = String, Path, description = "The FCM registration token")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "Not one of your installs", body = ErrorBody)))]
async fn remove_device(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(token): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state.notifications.remove_device(user.id, &token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What is sent to you: push and email per kind, your time zone and quiet
/// hours (pushes that can wait are held until they end; fitting reminders
/// and failed payouts are not).
#[utoipa::path(get, path = "/notifications/api/preferences", tag = TAG,
    security(("bearer" = [])),
    responses((status = 200, description = "Your preferences", body = Preferences)))]
async fn preferences(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<Preferences>, ApiError> {
    Ok(Json(state.notifications.preferences(user.id).await?))
}

/// Changes: only what is sent changes.
#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct PreferencesChange {
    /// Kinds to change, each with `push` and/or `email`.
    pub kinds: Option<Vec<KindChange>>,
    /// IANA zone, e.g. `Africa/Lagos`.
    pub time_zone: Option<String>,
    /// `{"start":"22:00","end":"07:00"}`, or null for none.
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<QuietHours>, required = false)]
    pub quiet_hours: Option<Option<QuietHours>>,
}

/// Tells a JSON null (`Some(None)`) from an absent field (`None`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Ok(Some(Option::<T>::deserialize(d)?))
}

/// Change what is sent to you.
#[utoipa::path(patch, path = "/notifications/api/preferences", tag = TAG,
    request_body = PreferencesChange, security(("bearer" = [])),
    responses(
        (status = 200, description = "Your preferences now", body = Preferences),
        (status = 400, description = "Unknown kind, email for a kind without one, unknown zone, bad times", body = BadRequest)))]
async fn change_preferences(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<PreferencesChange>,
) -> Result<Json<Preferences>, ApiError> {
    Ok(Json(
        state
            .notifications
            .change_preferences(user.id, body.kinds, body.time_zone, body.quiet_hours)
            .await?,
    ))
}

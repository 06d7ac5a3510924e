//! The two calls of the old Django chat app, kept so that app keeps working:
//! `POST /chat/api/create/` and `GET /chat/api/get-messages/<user_id>/`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::TAG;
use crate::auth::http::CurrentUser;
use crate::chat::MessageView;
use crate::error::{ApiError, BadRequest, ErrorBody};
use crate::http::extract::{ApiJson, ApiPath};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(get_messages))
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(default)]
pub struct LegacySendRequest {
    /// The receiving user's id.
    #[schema(required = true, value_type = Uuid)]
    pub receiver: Option<String>,
    /// Up to 4,000 characters.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 4000)]
    pub message: Option<String>,
}

/// A message as the old app knew it (plus the new fields).
#[derive(Serialize, ToSchema)]
pub struct LegacyMessage {
    pub id: Uuid,
    pub sender: Uuid,
    pub receiver: Uuid,
    /// The text (empty when deleted).
    pub message: String,
    pub timestamp: DateTime<Utc>,
    pub conversation_id: Uuid,
    pub seq: i64,
    pub deleted: bool,
}

fn legacy(m: &MessageView, me: Uuid, other: Uuid) -> LegacyMessage {
    LegacyMessage {
        id: m.id,
        sender: m.sender_id,
        receiver: if m.sender_id == me { other } else { me },
        message: m.text.clone(),
        timestamp: m.created_at,
        conversation_id: m.conversation_id,
        seq: m.seq,
        deleted: m.deleted,
    }
}

/// Old app: send a message to a user (the conversation is opened for you).
#[utoipa::path(post, path = "/chat/api/create", tag = TAG, request_body = LegacySendRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Sent", body = LegacyMessage),
        (status = 400, description = "Field errors (`receiver`, `message`)", body = BadRequest),
        (status = 403, description = "`blocked`", body = ErrorBody),
        (status = 429, description = "`throttled`", body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<LegacySendRequest>,
) -> Result<(StatusCode, Json<LegacyMessage>), ApiError> {
    let receiver_raw = body.receiver.clone();
    let sent = state
        .chat
        .send_to_user(&user, body.receiver, body.message)
        .await?;
    let receiver = receiver_raw
        .and_then(|r| Uuid::parse_str(r.trim()).ok())
        .unwrap_or(user.id);
    Ok((StatusCode::CREATED, Json(legacy(&sent, user.id, receiver))))
}

/// Old app: every message between you and a user, oldest first.
#[utoipa::path(get, path = "/chat/api/get-messages/{user_id}", tag = TAG,
    params(("user_id" = Uuid, Path, description = "The other user")), security(("bearer" = [])),
    responses(
        (status = 200, description = "Messages, oldest first (empty when you never talked)", body = [LegacyMessage]),
        (status = 404, description = "Not a user id", body = ErrorBody)))]
async fn get_messages(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(other): ApiPath<String>,
) -> Result<Json<Vec<LegacyMessage>>, ApiError> {
    let other_id = super::uuid_or_404(&other)?;
    let messages = state.chat.messages_with(&user, &other).await?;
    Ok(Json(
        messages
            .iter()
            .map(|m| legacy(m, user.id, other_id))
            .collect(),
    ))
}

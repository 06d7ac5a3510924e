//! The chat API: REST under `/chat/api/` (here) and the WebSocket at
//! `/ws/chat/` (`ws`).

mod legacy;
pub mod ws;

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{
    BlockView, ConversationPage, ConversationView, History, HistoryQuery, MessageView,
    ReadPosition, ReportView, SendInput,
};
use crate::auth::http::CurrentUser;
use crate::error::{ApiError, BadRequest, ErrorBody};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::pagination::{PageLinks, PageRequest, invalid_page};
use crate::state::AppState;

pub(crate) const TAG: &str = "chat";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_conversations, open_conversation))
        .routes(routes!(history, send_message))
        .routes(routes!(edit_message, delete_message))
        .routes(routes!(mark_read))
        .routes(routes!(block_user))
        .routes(routes!(unblock_user))
        .routes(routes!(report_message))
        .merge(legacy::routes())
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(default)]
pub struct OpenConversationRequest {
    /// The other party.
    #[schema(required = true, value_type = Uuid)]
    pub user_id: Option<String>,
    /// An order between the two that the conversation is about.
    #[schema(value_type = Uuid, required = false)]
    pub order_id: Option<String>,
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(default)]
pub struct SendRequest {
    /// Chosen by the client, unique per sender (a UUID is a good choice);
    /// sending again with it returns the original message.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 64, example = "3f1c2a9e-6d1b-4a57-9a1f-2b8c0c6e9d10")]
    pub client_id: Option<String>,
    /// Up to 4,000 characters; may be empty when there are attachments.
    #[schema(value_type = String, required = false, max_length = 4000)]
    pub text: Option<String>,
    /// Ids from `POST /media/api/upload/`, your own uploads, at most 10.
    #[schema(value_type = Vec<Uuid>, required = false, max_items = 10)]
    pub attachment_ids: Option<Vec<String>>,
}

impl From<SendRequest> for SendInput {
    fn from(r: SendRequest) -> Self {
        SendInput {
            client_id: r.client_id,
            text: r.text,
            attachment_ids: r.attachment_ids,
        }
    }
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(default)]
pub struct EditRequest {
    /// Up to 4,000 characters.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 4000)]
    pub text: Option<String>,
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(default)]
pub struct ReadRequest {
    /// Everything up to and including this seq has been read (at most the last seq).
    #[schema(value_type = i64, required = true, minimum = 0)]
    pub seq: Option<i64>,
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(default)]
pub struct BlockRequest {
    #[schema(required = true, value_type = Uuid)]
    pub user_id: Option<String>,
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(default)]
pub struct ReportRequest {
    /// Why (up to 1,000 characters).
    #[schema(value_type = String, required = false, max_length = 1000)]
    pub reason: Option<String>,
}

#[derive(Deserialize, IntoParams, Default)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct ConversationListQuery {
    /// 1-based page number.
    #[param(value_type = Option<u64>, minimum = 1)]
    pub page: Option<String>,
    /// At most 100 (default 20; more is capped).
    #[param(value_type = Option<u64>, minimum = 1)]
    pub page_size: Option<String>,
}

#[derive(Deserialize, IntoParams, Default)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// Messages with a seq below this (newest of them first fetched).
    #[param(value_type = Option<u64>)]
    pub before_seq: Option<String>,
    /// Messages with a seq above this, oldest first.
    #[param(value_type = Option<u64>)]
    pub after_seq: Option<String>,
    /// At most 200 (default 50; more is capped).
    #[param(value_type = Option<u64>, minimum = 1)]
    pub limit: Option<String>,
}

pub(crate) fn uuid_or_404(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw.trim()).map_err(|_| ApiError::not_found())
}

fn created_or_ok<T>(created: bool, body: T) -> (StatusCode, Json<T>) {
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (status, Json(body))
}

/// Your conversations, newest activity first, each with the other member,
/// the last message and your unread count.
#[utoipa::path(get, path = "/chat/api/conversations", tag = TAG, params(ConversationListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of conversations", body = ConversationPage),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "Invalid page", body = ErrorBody)))]
async fn list_conversations(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiQuery(query): ApiQuery<ConversationListQuery>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Json<ConversationPage>, ApiError> {
    let request = PageRequest::parse(query.page.as_deref(), query.page_size.as_deref())?;
    let (count, results) = state
        .chat
        .conversations(&user, request.page, request.page_size)
        .await?
        .ok_or_else(invalid_page)?;
    let (next, previous) = PageLinks::new(&uri, &headers).neighbours(request, count);
    Ok(Json(ConversationPage {
        count,
        next,
        previous,
        results,
    }))
}

/// Your conversation with a user: 200 with the existing one, or 201 when it
/// was created.
#[utoipa::path(post, path = "/chat/api/conversations", tag = TAG,
    request_body = OpenConversationRequest, security(("bearer" = [])),
    responses(
        (status = 200, description = "The existing conversation", body = ConversationView),
        (status = 201, description = "Created", body = ConversationView),
        (status = 400, description = "Missing or unknown user, yourself, or an order not between you", body = BadRequest),
        (status = 403, description = "`blocked`: one of you blocked the other", body = ErrorBody)))]
async fn open_conversation(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<OpenConversationRequest>,
) -> Result<(StatusCode, Json<ConversationView>), ApiError> {
    let (view, created) = state
        .chat
        .open_conversation(&user, body.user_id, body.order_id)
        .await?;
    Ok(created_or_ok(created, view))
}

/// History without gaps or repeats: `after_seq` pages forwards, `before_seq`
/// backwards; with neither, the newest messages. Always oldest first.
#[utoipa::path(get, path = "/chat/api/conversations/{id}/messages", tag = TAG,
    params(("id" = Uuid, Path, description = "Conversation id"), HistoryParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Messages, oldest first", body = History),
        (status = 400, description = "A seq or limit that is not a whole number", body = BadRequest),
        (status = 404, description = "No such conversation, or you are not in it", body = ErrorBody)))]
async fn history(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<HistoryParams>,
) -> Result<Json<History>, ApiError> {
    let query = HistoryQuery {
        before_seq: params.before_seq,
        after_seq: params.after_seq,
        limit: params.limit,
    };
    Ok(Json(
        state.chat.history(&user, uuid_or_404(&id)?, query).await?,
    ))
}

/// Send a message: 201 with it, or 200 with the original when this
/// `client_id` was sent before.
#[utoipa::path(post, path = "/chat/api/conversations/{id}/messages", tag = TAG,
    params(("id" = Uuid, Path, description = "Conversation id")), request_body = SendRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Already sent: the original message", body = MessageView),
        (status = 201, description = "Sent", body = MessageView),
        (status = 400, description = "Field errors", body = BadRequest),
        (status = 403, description = "`blocked`", body = ErrorBody),
        (status = 404, description = "No such conversation, or you are not in it", body = ErrorBody),
        (status = 429, description = "`throttled`: sending too fast", body = ErrorBody)))]
async fn send_message(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<SendRequest>,
) -> Result<(StatusCode, Json<MessageView>), ApiError> {
    let (view, created) = state
        .chat
        .send(&user, uuid_or_404(&id)?, body.into())
        .await?;
    Ok(created_or_ok(created, view))
}

/// Edit the text of your own message, within 15 minutes of sending it.
#[utoipa::path(patch, path = "/chat/api/messages/{id}", tag = TAG,
    params(("id" = Uuid, Path, description = "Message id")), request_body = EditRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Edited", body = MessageView),
        (status = 400, description = "Field errors", body = BadRequest),
        (status = 403, description = "`permission_denied` (not yours) or `edit_window_closed`", body = ErrorBody),
        (status = 404, description = "No such message, or not in your conversations", body = ErrorBody),
        (status = 409, description = "`message_deleted`", body = ErrorBody)))]
async fn edit_message(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<EditRequest>,
) -> Result<Json<MessageView>, ApiError> {
    Ok(Json(state.chat.edit(&user, &id, body.text).await?))
}

/// Delete your own message. It stays as a tombstone (`deleted: true`, no
/// text) so seqs have no gaps.
#[utoipa::path(delete, path = "/chat/api/messages/{id}", tag = TAG,
    params(("id" = Uuid, Path, description = "Message id")), security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "`permission_denied`: not yours", body = ErrorBody),
        (status = 404, description = "No such message, or not in your conversations", body = ErrorBody),
        (status = 409, description = "`message_deleted`: already deleted", body = ErrorBody)))]
async fn delete_message(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state.chat.delete(&user, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Move your read position forward (it never moves back).
#[utoipa::path(post, path = "/chat/api/conversations/{id}/read", tag = TAG,
    params(("id" = Uuid, Path, description = "Conversation id")), request_body = ReadRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Your read position and unread count", body = ReadPosition),
        (status = 400, description = "`seq` missing, negative or beyond the last message", body = BadRequest),
        (status = 404, description = "No such conversation, or you are not in it", body = ErrorBody)))]
async fn mark_read(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ReadRequest>,
) -> Result<Json<ReadPosition>, ApiError> {
    Ok(Json(
        state
            .chat
            .mark_read(&user, uuid_or_404(&id)?, body.seq)
            .await?,
    ))
}

/// Block a user: neither of you can start a conversation or send to the
/// other until you unblock them.
#[utoipa::path(post, path = "/chat/api/block", tag = TAG, request_body = BlockRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Already blocked", body = BlockView),
        (status = 201, description = "Blocked", body = BlockView),
        (status = 400, description = "Missing or unknown user, or yourself", body = BadRequest)))]
async fn block_user(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<BlockRequest>,
) -> Result<(StatusCode, Json<BlockView>), ApiError> {
    let (view, created) = state.chat.block(&user, body.user_id).await?;
    Ok(created_or_ok(created, view))
}

/// Lift a block.
#[utoipa::path(delete, path = "/chat/api/block/{user_id}", tag = TAG,
    params(("user_id" = Uuid, Path, description = "The blocked user")), security(("bearer" = [])),
    responses(
        (status = 204, description = "Unblocked"),
        (status = 404, description = "You had not blocked this user", body = ErrorBody)))]
async fn unblock_user(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(user_id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state.chat.unblock(&user, &user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Report someone else's message to the moderators.
#[utoipa::path(post, path = "/chat/api/messages/{id}/report", tag = TAG,
    params(("id" = Uuid, Path, description = "Message id")), request_body = ReportRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "You had reported it already", body = ReportView),
        (status = 201, description = "Reported", body = ReportView),
        (status = 400, description = "Your own message, or a reason too long", body = BadRequest),
        (status = 404, description = "No such message, or not in your conversations", body = ErrorBody)))]
async fn report_message(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ReportRequest>,
) -> Result<(StatusCode, Json<ReportView>), ApiError> {
    let (view, created) = state.chat.report(&user, &id, body.reason).await?;
    Ok(created_or_ok(created, view))
}

//! What the chat API shows of its rows: the same shapes over REST and
//! WebSocket.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::storage::entities::{message, message_report, user, user_block};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct AttachmentView {
    pub id: Uuid,
    /// Where the image is served, e.g. `/media/0193....jpg`.
    pub url: String,
    pub content_type: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MessageView {
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub sender_id: Uuid,
    /// 1, 2, 3... within the conversation, without gaps.
    pub seq: i64,
    /// The sender's own id for this message (retries with it never duplicate).
    pub client_id: String,
    /// `text` or `image`.
    pub kind: String,
    /// Empty for a deleted message.
    pub text: String,
    pub attachments: Vec<AttachmentView>,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted: bool,
    /// The conversation's change counter at this message's last change
    /// (its send, edit or deletion); resume from it to get later changes.
    pub change_seq: i64,
}

impl From<&message::Model> for MessageView {
    fn from(m: &message::Model) -> Self {
        Self {
            id: m.id,
            conversation_id: m.conversation_id,
            sender_id: m.sender_id,
            seq: m.seq,
            client_id: m.client_id.clone(),
            kind: m.kind.clone(),
            text: m.text.clone(),
            attachments: serde_json::from_str(&m.attachments).unwrap_or_default(),
            created_at: m.created_at,
            edited_at: m.edited_at,
            deleted: m.deleted,
            change_seq: m.change_seq,
        }
    }
}

/// The other party as a chat shows them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChatUser {
    pub id: Uuid,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub role: String,
    /// URL of the avatar image (`/media/...`); null without one.
    pub avatar: Option<String>,
}

impl ChatUser {
    /// `avatar`: the user's avatar URL (`crate::media::avatar_urls`).
    pub fn new(u: &user::Model, avatar: Option<String>) -> Self {
        Self {
            id: u.id,
            username: u.username.clone(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            role: u.role.clone(),
            avatar,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConversationView {
    pub id: Uuid,
    /// The order this conversation is about, if any.
    pub order_id: Option<Uuid>,
    /// The commission the pair last talked about, if any
    /// (`/commissions/api/<id>/`).
    pub commission_id: Option<Uuid>,
    /// The other member (for a two-person conversation).
    pub other_member: Option<ChatUser>,
    pub members: Vec<Uuid>,
    pub last_message: Option<MessageView>,
    /// Seq of the newest message (0 when there is none).
    pub last_seq: i64,
    /// The conversation's last change (send, edit, deletion or read move).
    pub change_seq: i64,
    /// How far the caller has read.
    pub last_read_seq: i64,
    /// `last_seq - last_read_seq`.
    pub unread_count: i64,
    pub activity_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationPage {
    pub count: u64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<ConversationView>,
}

/// A slice of history, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct History {
    pub results: Vec<MessageView>,
    /// More messages exist beyond this slice in the direction asked for.
    pub has_more: bool,
    pub last_seq: i64,
    /// The conversation's last change: a socket resuming with it gets every
    /// later edit, deletion and read move.
    pub change_seq: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReadPosition {
    pub conversation_id: Uuid,
    pub user_id: Uuid,
    pub last_read_seq: i64,
    pub unread_count: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BlockView {
    pub user_id: Uuid,
    pub created_at: DateTime<Utc>,
}

impl From<&user_block::Model> for BlockView {
    fn from(b: &user_block::Model) -> Self {
        Self {
            user_id: b.blocked_id,
            created_at: b.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportView {
    pub id: Uuid,
    pub message_id: Uuid,
    pub reason: String,
    pub created_at: DateTime<Utc>,
}

impl From<&message_report::Model> for ReportView {
    fn from(r: &message_report::Model) -> Self {
        Self {
            id: r.id,
            message_id: r.message_id,
            reason: r.reason.clone(),
            created_at: r.created_at,
        }
    }
}

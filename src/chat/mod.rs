//! Chat between customers and tailors: conversations, messages numbered per
//! conversation, read positions, blocks and reports (this module, no HTTP
//! types), live delivery through the hub (one process) or Redis (several).
//!
//! The database is the truth: a message is committed first, then fanned out.
//! A socket that misses an event gets it back by resuming from its last seq.

mod blocks;
mod broker;
mod changes;
mod conversations;
mod events;
pub mod http;
mod hub;
mod limiter;
mod messages;
mod notices;
mod presence;
mod send_batch;
mod sessions;
mod tracker;
mod views;

use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub use broker::Fanout;
pub use changes::Position;
pub use hub::{Event, Hub, Registration, Topic};
pub use messages::{HistoryQuery, SendInput};
pub use notices::{AwayHook, AwayRecipients};
pub use sessions::is_recheck;
pub use tracker::SeqTracker;
pub use views::{
    AttachmentView, BlockView, ChatUser, ConversationPage, ConversationView, History, MessageView,
    ReadPosition, ReportView,
};

use crate::auth::UserCache;
use crate::storage::group_commit::GroupCommit;
use crate::storage::{StorageError, WriteGate};
use crate::throttle::RetryAfter;
use crate::validation::FieldErrors;
use conversations::Permanent;
use limiter::WindowLimiter;
use presence::PresenceState;
use send_batch::SendBatch;

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    /// Not found, or not a member: the two look the same from outside.
    #[error("not found")]
    NotFound,
    /// The caller may not do this: (code, why).
    #[error("forbidden ({0}): {1}")]
    Forbidden(&'static str, &'static str),
    #[error("conflict ({0}): {1}")]
    Conflict(&'static str, &'static str),
    #[error("sending too fast")]
    Throttled(RetryAfter),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<FieldErrors> for ChatError {
    fn from(errors: FieldErrors) -> Self {
        ChatError::Invalid(errors)
    }
}

impl From<sea_orm::DbErr> for ChatError {
    fn from(err: sea_orm::DbErr) -> Self {
        ChatError::Storage(err.into())
    }
}

#[derive(Clone)]
pub struct ChatSettings {
    /// How long after sending a message its text may still be edited.
    pub edit_window: Duration,
    /// Messages one user may send per `send_window` (all instances together).
    pub send_limit: u32,
    pub send_window: Duration,
    /// Typing frames one user may send per `send_window`; more are dropped.
    pub typing_limit: u32,
    /// An instance's claim that a user is online lasts this long unless
    /// renewed (every third of it); when an instance dies, its users go
    /// offline for their contacts within about this long.
    pub presence_ttl: Duration,
    /// How long a new socket's conversation events wait for its `resume`
    /// (so that the replay comes first); then they flow without one.
    pub resume_wait: Duration,
    /// Server pings this often; a socket silent for two intervals is dropped.
    pub ping_interval: Duration,
    /// Time a socket has to send its `auth` frame.
    pub auth_timeout: Duration,
    /// Events waiting for one socket before it counts as too slow and is closed.
    pub socket_queue: usize,
    /// Redis for fan-out across instances; in-process hub when unset.
    pub redis_url: Option<String>,
}

// Written by hand so a password in the Redis URL never reaches a log line.
impl std::fmt::Debug for ChatSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatSettings")
            .field("edit_window", &self.edit_window)
            .field("send_limit", &self.send_limit)
            .field("send_window", &self.send_window)
            .field("typing_limit", &self.typing_limit)
            .field("presence_ttl", &self.presence_ttl)
            .field("resume_wait", &self.resume_wait)
            .field("ping_interval", &self.ping_interval)
            .field("auth_timeout", &self.auth_timeout)
            .field("socket_queue", &self.socket_queue)
            .field(
                "redis",
                &self.redis_url.as_deref().map(crate::config::mask_url),
            )
            .finish()
    }
}

impl Default for ChatSettings {
    fn default() -> Self {
        Self {
            edit_window: Duration::from_secs(15 * 60),
            send_limit: 120,
            send_window: Duration::from_secs(60),
            typing_limit: 60,
            presence_ttl: Duration::from_secs(30),
            resume_wait: Duration::from_secs(2),
            ping_interval: Duration::from_secs(20),
            auth_timeout: Duration::from_secs(5),
            socket_queue: 256,
            redis_url: None,
        }
    }
}

pub struct ChatService {
    db: DatabaseConnection,
    writes: WriteGate,
    fanout: Fanout,
    /// Each conversation's members.
    members: Permanent<Uuid, Arc<[Uuid]>>,
    /// The conversation of each pair of users (by `pair_key`).
    pairs: Permanent<String, Uuid>,
    /// Recent users rows, shared with auth.
    users: Arc<UserCache>,
    /// Sends share transactions (see `storage::group_commit`).
    sends: GroupCommit<SendBatch>,
    /// So do read-position moves.
    read_moves: GroupCommit<changes::ReadMoves>,
    send_limit: WindowLimiter,
    typing_limit: WindowLimiter,
    presence: PresenceState,
    settings: ChatSettings,
    shutdown: CancellationToken,
    /// Told of messages whose recipients may be offline (notifications).
    away_hook: std::sync::OnceLock<AwayHook>,
}

impl ChatService {
    pub async fn new(
        db: DatabaseConnection,
        settings: ChatSettings,
        users: Arc<UserCache>,
    ) -> anyhow::Result<Arc<Self>> {
        let shutdown = CancellationToken::new();
        let fanout = Fanout::start(
            settings.redis_url.as_deref(),
            settings.presence_ttl,
            shutdown.clone(),
        )
        .await?;
        let writes = WriteGate::for_db(&db);
        let chat = Arc::new(Self {
            sends: GroupCommit::start(db.clone(), writes.clone(), SendBatch),
            read_moves: GroupCommit::start(db.clone(), writes.clone(), changes::ReadMoves),
            writes,
            db,
            fanout,
            members: Permanent::default(),
            pairs: Permanent::default(),
            users,
            send_limit: WindowLimiter::new("send", settings.send_limit, settings.send_window),
            typing_limit: WindowLimiter::new("typing", settings.typing_limit, settings.send_window),
            presence: PresenceState::default(),
            settings,
            shutdown,
            away_hook: std::sync::OnceLock::new(),
        });
        presence::keep_claims(&chat);
        Ok(chat)
    }

    pub fn settings(&self) -> &ChatSettings {
        &self.settings
    }

    pub fn hub(&self) -> &Arc<Hub> {
        self.fanout.hub()
    }

    /// Cancelled when the server stops: every socket closes with 1001.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    pub fn close_all_sockets(&self) {
        self.shutdown.cancel();
    }

    /// Waits (up to `limit`) for the sockets to finish closing.
    pub async fn sockets_closed(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        while self.hub().connected() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The `message.new` frame for a message (as live delivery sends it).
pub fn push_new(message: &MessageView) -> String {
    events::Push::MessageNew { message }.to_frame()
}

/// The frame for a message's current state after an edit or deletion (as
/// resume replays changes): `message.deleted` for a tombstone, else
/// `message.updated`.
pub fn push_changed(message: &MessageView) -> String {
    if message.deleted {
        events::Push::MessageDeleted { message }.to_frame()
    } else {
        events::Push::MessageUpdated { message }.to_frame()
    }
}

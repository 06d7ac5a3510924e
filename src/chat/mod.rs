//! Chat between customers and tailors: conversations, messages numbered per
//! conversation, read positions, blocks and reports (this module, no HTTP
//! types), live delivery through the hub (one process) or Redis (several).
//!
//! The database is the truth: a message is committed first, then fanned out.
//! A socket that misses an event gets it back by resuming from its last seq.

mod blocks;
mod broker;
mod conversations;
mod events;
pub mod http;
mod hub;
mod limiter;
mod messages;
mod presence;
mod sessions;
mod tracker;
mod views;

use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio_util::sync::CancellationToken;

pub use broker::Fanout;
pub use hub::{Event, Hub, Registration};
pub use messages::{HistoryQuery, SendInput};
pub use sessions::is_recheck;
pub use tracker::SeqTracker;
pub use views::{
    AttachmentView, BlockView, ChatUser, ConversationPage, ConversationView, History, MessageView,
    ReadPosition, ReportView,
};

use crate::storage::{StorageError, WriteGate};
use crate::throttle::RetryAfter;
use crate::validation::FieldErrors;
use conversations::MemberCache;
use limiter::SendLimiter;

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
    /// Messages one user may send per `send_window`.
    pub send_limit: u32,
    pub send_window: Duration,
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
    members: MemberCache,
    limiter: SendLimiter,
    settings: ChatSettings,
    shutdown: CancellationToken,
}

impl ChatService {
    pub async fn new(db: DatabaseConnection, settings: ChatSettings) -> anyhow::Result<Arc<Self>> {
        let shutdown = CancellationToken::new();
        let fanout = Fanout::start(settings.redis_url.as_deref(), shutdown.clone()).await?;
        Ok(Arc::new(Self {
            writes: WriteGate::for_db(&db),
            db,
            fanout,
            members: MemberCache::default(),
            limiter: SendLimiter::new(settings.send_limit, settings.send_window),
            settings,
            shutdown,
        }))
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

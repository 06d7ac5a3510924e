//! Notifications: the in-app feed, the devices that receive pushes, what
//! each user wants sent, and the delivery of each notification (live on the
//! chat socket, push, email).
//!
//! Every area reports its events with [`notify`] (through the functions of
//! [`events`]) inside the transaction of its change; the row and its
//! `notification.deliver` job commit with the change or not at all. The job
//! (see `deliver`) then publishes the notification to the user's sockets on
//! every instance, queues one `push.send` job per device and the email.

mod deliver;
mod devices;
pub mod digest;
mod emit;
pub mod events;
pub mod export;
mod feed;
pub mod http;
mod kinds;
mod preferences;
pub mod push;
pub mod push_job;
pub mod templates;

use std::sync::Arc;

use sea_orm::{DatabaseConnection, TransactionTrait};
use uuid::Uuid;

pub use devices::{DeviceView, MAX_DEVICES, MAX_TOKEN_CHARS, PLATFORMS, Registered};
pub use emit::{DELIVER_JOB, Link, NewNotification, notify};
pub use feed::{FeedPage, MAX_READ_IDS, NotificationView, ReadOutcome, ReadTarget, unread_count};
pub use kinds::Kind;
pub use preferences::{
    Choice, KindChange, KindPreference, Preferences, QuietHours, Setting, choice_of, hold_until,
    preferences_of, setting_of,
};
pub use push_job::{PUSH_JOB, PushInput};

use crate::chat::{AwayRecipients, ChatService};
use crate::jobs::JobQueue;
use crate::mail::Outbox;
use crate::storage::StorageError;
use crate::validation::FieldErrors;

#[derive(Debug, thiserror::Error)]
pub enum NotificationError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<FieldErrors> for NotificationError {
    fn from(errors: FieldErrors) -> Self {
        NotificationError::Invalid(errors)
    }
}

impl From<sea_orm::DbErr> for NotificationError {
    fn from(err: sea_orm::DbErr) -> Self {
        NotificationError::Storage(err.into())
    }
}

pub struct NotificationService {
    db: DatabaseConnection,
    chat: Arc<ChatService>,
    outbox: Outbox,
    jobs: Arc<JobQueue>,
}

impl NotificationService {
    /// Registers the delivery job and the chat's away hook; call before
    /// `jobs.start()`.
    pub fn start(
        db: DatabaseConnection,
        chat: Arc<ChatService>,
        outbox: Outbox,
        jobs: Arc<JobQueue>,
    ) -> Arc<Self> {
        let service = Arc::new(Self {
            db,
            chat: chat.clone(),
            outbox,
            jobs: jobs.clone(),
        });
        // Weak: the queue and the chat outlive nothing of ours, and a strong
        // reference from them back to us would be a cycle never freed.
        let weak = Arc::downgrade(&service);
        jobs.register(DELIVER_JOB, move |job| deliver::run(weak.clone(), job));
        let weak = Arc::downgrade(&service);
        chat.on_away_recipients(Arc::new(move |away| {
            if let Some(service) = weak.upgrade() {
                tokio::spawn(async move { service.notify_away(away).await });
            }
        }));
        service
    }

    /// Notifies the recipients of a chat message who have no socket on any
    /// instance. It runs after the send, in its own small transaction: the
    /// send never waits for it or fails because of it, and a crash between
    /// the two loses these notifications (the message itself is safe; the
    /// app shows it at the next open). That trade keeps the group-commit
    /// send path free of notification work.
    async fn notify_away(&self, away: AwayRecipients) {
        let online = self.chat.online_among(&away.recipients).await;
        let offline: Vec<Uuid> = away
            .recipients
            .iter()
            .copied()
            .filter(|u| !online.contains(u))
            .collect();
        if offline.is_empty() {
            return;
        }
        let written = async {
            let txn = self.db.begin().await?;
            for user in offline {
                events::chat_message(
                    &txn,
                    user,
                    away.conversation,
                    away.seq,
                    &away.sender_name,
                    &away.text,
                )
                .await?;
            }
            txn.commit().await?;
            Ok::<_, StorageError>(())
        }
        .await;
        match written {
            Ok(()) => self.jobs.wake(),
            Err(err) => {
                tracing::warn!(conversation = %away.conversation, seq = away.seq, error = %err,
                    "chat message notifications not written")
            }
        }
    }
}

/// An account's notifications, devices and preferences go with it (the
/// account row stays as a tombstone, so no foreign key cascades them).
pub async fn forget_user(
    conn: &impl sea_orm::ConnectionTrait,
    user: Uuid,
) -> Result<(), StorageError> {
    use crate::storage::entities::{
        notification, notification_device, notification_preference, notification_setting,
    };
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    notification::Entity::delete_many()
        .filter(notification::Column::UserId.eq(user))
        .exec(conn)
        .await?;
    notification_device::Entity::delete_many()
        .filter(notification_device::Column::UserId.eq(user))
        .exec(conn)
        .await?;
    notification_preference::Entity::delete_many()
        .filter(notification_preference::Column::UserId.eq(user))
        .exec(conn)
        .await?;
    notification_setting::Entity::delete_many()
        .filter(notification_setting::Column::UserId.eq(user))
        .exec(conn)
        .await?;
    Ok(())
}

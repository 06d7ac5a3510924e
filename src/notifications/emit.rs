//! Writing a notification: one row in the feed and, in the same
//! transaction, the job that delivers it (live, push, email).

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Kind;
use crate::jobs::{NewJob, enqueue};
use crate::storage::StorageError;
use crate::storage::entities::notification;

/// The job that delivers one notification (see `deliver`).
pub const DELIVER_JOB: &str = "notification.deliver";

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct DeliverInput {
    pub notification_id: Uuid,
}

/// Where a tap takes the app.
pub enum Link {
    Order(Uuid),
    Chat(Uuid),
    Commission(Uuid),
    Fitting(Uuid),
    Tailor(Uuid),
    Wallet,
}

impl Link {
    pub fn to_uri(&self) -> String {
        match self {
            Link::Order(id) => format!("atelier://orders/{id}"),
            Link::Chat(id) => format!("atelier://chat/{id}"),
            Link::Commission(id) => format!("atelier://commissions/{id}"),
            Link::Fitting(id) => format!("atelier://fittings/{id}"),
            Link::Tailor(id) => format!("atelier://tailors/{id}"),
            Link::Wallet => "atelier://wallet".into(),
        }
    }
}

/// A notification to write with [`notify`].
pub struct NewNotification {
    pub user: Uuid,
    pub kind: Kind,
    pub title: String,
    pub body: String,
    pub link: Link,
    /// The order, commission, conversation ... it is about.
    pub object_id: Option<String>,
    /// Pushes with the same key replace each other on the phone.
    pub collapse_key: Option<String>,
    /// Names the event and the recipient, deterministically (e.g.
    /// `order:<id>:status:shipped:<user>`): an event reported twice (a
    /// replayed webhook, a retried job) makes one notification.
    pub dedup_key: String,
}

impl NewNotification {
    pub fn new(
        user: Uuid,
        kind: Kind,
        link: Link,
        title: impl Into<String>,
        body: impl Into<String>,
        dedup_key: impl Into<String>,
    ) -> Self {
        Self {
            user,
            kind,
            title: title.into(),
            body: body.into(),
            object_id: None,
            collapse_key: None,
            link,
            dedup_key: dedup_key.into(),
        }
    }

    pub fn about(mut self, object: impl ToString) -> Self {
        self.object_id = Some(object.to_string());
        self
    }

    pub fn collapse(mut self, key: impl Into<String>) -> Self {
        self.collapse_key = Some(key.into());
        self
    }
}

/// Writes the notification and its delivery job, as part of the caller's
/// transaction when `conn` is one: the notification exists exactly when the
/// change it reports committed. None when the event was notified already.
pub async fn notify(
    conn: &impl ConnectionTrait,
    n: NewNotification,
) -> Result<Option<Uuid>, StorageError> {
    let id = Uuid::now_v7();
    let row = notification::ActiveModel {
        id: Set(id),
        user_id: Set(n.user),
        kind: Set(n.kind.as_str().into()),
        title: Set(clip(n.title, 200)),
        body: Set(clip(n.body, 1000)),
        link: Set(n.link.to_uri()),
        object_id: Set(n.object_id),
        collapse_key: Set(n.collapse_key),
        dedup_key: Set(Some(n.dedup_key)),
        read_at: Set(None),
        created_at: Set(Utc::now()),
    };
    // ON CONFLICT DO NOTHING, not a caught violation: on PostgreSQL a failed
    // statement would abort the caller's transaction, i.e. the change itself.
    let written = notification::Entity::insert(row)
        .on_conflict(
            OnConflict::column(notification::Column::DedupKey)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    if written == 0 {
        return Ok(None);
    }
    let job = NewJob::new(
        DELIVER_JOB,
        &DeliverInput {
            notification_id: id,
        },
    )
    .dedup_key(format!("deliver:{id}"));
    enqueue(conn, job).await?;
    metrics::counter!("notifications_total").increment(1);
    Ok(Some(id))
}

/// Texts come from users (a chat message, a note): a feed line and a push
/// stay short.
fn clip(text: String, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => {
            let mut short = text[..cut].trim_end().to_string();
            short.push('…');
            short
        }
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::clip;

    #[test]
    fn long_texts_are_clipped_on_a_character_boundary() {
        assert_eq!(clip("héllo".into(), 10), "héllo");
        assert_eq!(clip("héllo wörld".into(), 2), "hé…");
    }
}

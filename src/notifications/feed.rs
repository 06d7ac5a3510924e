//! The in-app feed: newest first, read marks, and the unread count (a count
//! on the `(user_id, read_at)` index, never a stored counter).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{NotificationError, NotificationService};
use crate::storage::entities::notification;
use crate::storage::{StorageError, page_offset};
use crate::validation::FieldErrors;

/// Ids one read request may name.
pub const MAX_READ_IDS: usize = 500;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotificationView {
    pub id: Uuid,
    /// One of the kinds listed by `GET /notifications/api/preferences/`.
    pub kind: String,
    pub title: String,
    pub body: String,
    /// Where a tap goes, e.g. `atelier://orders/<id>`, `atelier://chat/<id>`.
    pub link: String,
    /// The order, commission, conversation, fitting ... it is about.
    pub object_id: Option<String>,
    /// Notifications with the same key replace each other (e.g. one
    /// conversation's messages).
    pub collapse_key: Option<String>,
    pub read: bool,
    pub read_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<notification::Model> for NotificationView {
    fn from(row: notification::Model) -> Self {
        Self {
            id: row.id,
            kind: row.kind,
            title: row.title,
            body: row.body,
            link: row.link,
            object_id: row.object_id,
            collapse_key: row.collapse_key,
            read: row.read_at.is_some(),
            read_at: row.read_at,
            created_at: row.created_at,
        }
    }
}

/// One page of the feed.
pub struct FeedPage {
    pub count: u64,
    pub unread_count: u64,
    pub results: Vec<NotificationView>,
}

/// Which notifications a read request marks.
pub enum ReadTarget {
    Ids(Vec<String>),
    All,
}

/// What a read request changed.
pub struct ReadOutcome {
    pub updated: u64,
    pub unread_count: u64,
    /// The caller's notifications it marked (None for `all`).
    pub ids: Option<Vec<Uuid>>,
}

pub async fn unread_count(conn: &impl ConnectionTrait, user: Uuid) -> Result<u64, StorageError> {
    Ok(notification::Entity::find()
        .filter(notification::Column::UserId.eq(user))
        .filter(notification::Column::ReadAt.is_null())
        .count(conn)
        .await?)
}

impl NotificationService {
    pub async fn feed(
        &self,
        user: Uuid,
        unread_only: bool,
        page: u64,
        page_size: u64,
    ) -> Result<FeedPage, NotificationError> {
        let mut query = notification::Entity::find().filter(notification::Column::UserId.eq(user));
        if unread_only {
            query = query.filter(notification::Column::ReadAt.is_null());
        }
        let count = query.clone().count(&self.db).await?;
        let unread_count = if unread_only {
            count
        } else {
            unread_count(&self.db, user).await?
        };
        // Past the last page (or too far to address): an empty page, 404.
        let Some(offset) = page_offset(page, page_size, count) else {
            return Ok(FeedPage {
                count,
                unread_count,
                results: Vec::new(),
            });
        };
        let results = query
            .order_by_desc(notification::Column::Id)
            .offset(offset)
            .limit(page_size)
            .all(&self.db)
            .await?
            .into_iter()
            .map(NotificationView::from)
            .collect();
        Ok(FeedPage {
            count,
            unread_count,
            results,
        })
    }

    /// Marks the caller's notifications read; ids of others' are ignored
    /// exactly like unknown ones. The user's sockets everywhere hear of it,
    /// so every device's badge follows.
    pub async fn mark_read(
        &self,
        user: Uuid,
        target: ReadTarget,
    ) -> Result<ReadOutcome, NotificationError> {
        let mut update = notification::Entity::update_many()
            .col_expr(notification::Column::ReadAt, Expr::value(Utc::now()))
            .filter(notification::Column::UserId.eq(user))
            .filter(notification::Column::ReadAt.is_null());
        let all = matches!(target, ReadTarget::All);
        if let ReadTarget::Ids(raw) = target {
            let ids = parse_ids(&raw)?;
            if ids.is_empty() {
                let unread_count = unread_count(&self.db, user).await?;
                return Ok(ReadOutcome {
                    updated: 0,
                    unread_count,
                    ids: Some(Vec::new()),
                });
            }
            update = update.filter(notification::Column::Id.is_in(ids));
        }
        let marked: Vec<Uuid> = update
            .exec_with_returning(&self.db)
            .await
            .map_err(StorageError::from)?
            .into_iter()
            .map(|row| row.id)
            .collect();
        let unread_count = unread_count(&self.db, user).await?;
        let updated = marked.len() as u64;
        let ids = (!all).then_some(marked);
        if updated > 0 || all {
            self.chat
                .publish_to_users(vec![user], read_frame(ids.as_deref(), unread_count));
        }
        Ok(ReadOutcome {
            updated,
            unread_count,
            ids,
        })
    }
}

fn parse_ids(raw: &[String]) -> Result<Vec<Uuid>, FieldErrors> {
    if raw.len() > MAX_READ_IDS {
        return Err(FieldErrors::single(
            "ids",
            format!("At most {MAX_READ_IDS} ids at once."),
        ));
    }
    let mut ids = Vec::with_capacity(raw.len());
    for item in raw {
        match Uuid::parse_str(item.trim()) {
            Ok(id) => ids.push(id),
            Err(_) => {
                return Err(FieldErrors::single(
                    "ids",
                    format!("\"{item}\" is not a valid UUID."),
                ));
            }
        }
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// `notification.read`: which were read here (`ids`, or `all`), and the
/// count left unread.
fn read_frame(ids: Option<&[Uuid]>, unread_count: u64) -> String {
    let frame = match ids {
        Some(ids) => serde_json::json!({
            "type": "notification.read",
            "ids": ids,
            "unread_count": unread_count,
        }),
        None => serde_json::json!({
            "type": "notification.read",
            "all": true,
            "unread_count": unread_count,
        }),
    };
    frame.to_string()
}

/// `notification.new`: the notification as the feed shows it, and the
/// unread count with it.
pub(super) fn new_frame(view: &NotificationView, unread_count: u64) -> String {
    serde_json::json!({
        "type": "notification.new",
        "notification": view,
        "unread_count": unread_count,
    })
    .to_string()
}

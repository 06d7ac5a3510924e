//! The notifications part of a user's data export.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{DeviceView, Kind, NotificationView, Preferences, preferences_of};
use crate::storage::StorageError;
use crate::storage::entities::{notification, notification_device};

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationsExport {
    /// The feed, oldest first.
    pub notifications: Vec<NotificationView>,
    /// Registered installs (their push tokens are left out: they are
    /// credentials to reach the phone).
    pub devices: Vec<DeviceView>,
    pub preferences: Preferences,
}

pub async fn export(
    conn: &impl ConnectionTrait,
    user: Uuid,
) -> Result<NotificationsExport, StorageError> {
    let notifications = notification::Entity::find()
        .filter(notification::Column::UserId.eq(user))
        .order_by_asc(notification::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(|mut row| {
            // Another person's words (a chat message's text) are theirs, as
            // in the export's messages: only the caller's own are given.
            if row.kind == Kind::ChatMessage.as_str() {
                row.body = String::new();
            }
            NotificationView::from(row)
        })
        .collect();
    let devices = notification_device::Entity::find()
        .filter(notification_device::Column::UserId.eq(user))
        .order_by_asc(notification_device::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(DeviceView::from)
        .collect();
    Ok(NotificationsExport {
        notifications,
        devices,
        preferences: preferences_of(conn, user).await?,
    })
}

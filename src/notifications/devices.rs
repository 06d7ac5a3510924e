//! The phones (and browsers) that receive a user's pushes, by FCM
//! registration token. A token names one app install: when another account
//! signs in on that phone, the token moves to it, so pushes never reach the
//! previous account's owner.

use chrono::Utc;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::preferences::lock_settings;
use super::{NotificationError, NotificationService};
use crate::storage::StorageError;
use crate::storage::entities::notification_device;
use crate::validation::FieldErrors;

/// FCM tokens are 150-250 characters today; leave room for change.
pub const MAX_TOKEN_CHARS: usize = 4096;
/// Installs kept per user; registering one more drops the longest unseen.
pub const MAX_DEVICES: u64 = 20;
pub const PLATFORMS: [&str; 3] = ["android", "ios", "web"];

#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceView {
    pub id: Uuid,
    /// `android`, `ios` or `web`.
    pub platform: String,
    pub created_at: chrono::DateTime<Utc>,
    pub updated_at: chrono::DateTime<Utc>,
}

impl From<notification_device::Model> for DeviceView {
    fn from(row: notification_device::Model) -> Self {
        Self {
            id: row.id,
            platform: row.platform,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// A registration and whether it is new for this user (created, or moved
/// from another account) rather than a repeat.
pub struct Registered {
    pub device: DeviceView,
    pub created: bool,
}

fn check(token: Option<String>, platform: Option<String>) -> Result<(String, String), FieldErrors> {
    let mut errors = FieldErrors::new();
    let token = errors
        .required("token", &token)
        .map(|t| t.trim().to_string());
    if let Some(token) = &token {
        errors.max_len("token", token, MAX_TOKEN_CHARS);
        if token.chars().any(char::is_whitespace) {
            errors.add("token", "A registration token has no spaces.");
        }
    }
    let platform = errors
        .required("platform", &platform)
        .map(|p| p.trim().to_string());
    if let Some(p) = &platform
        && !PLATFORMS.contains(&p.as_str())
    {
        errors.add(
            "platform",
            format!("\"{p}\" is not a valid choice: android, ios or web."),
        );
    }
    errors.into_result()?;
    Ok((token.unwrap_or_default(), platform.unwrap_or_default()))
}

impl NotificationService {
    pub async fn register_device(
        &self,
        user: Uuid,
        token: Option<String>,
        platform: Option<String>,
    ) -> Result<Registered, NotificationError> {
        let (token, platform) = check(token, platform)?;
        let txn = self.db.begin().await.map_err(StorageError::from)?;
        // Two registrations of one user at once then cap the devices one
        // after the other, never both under the limit.
        lock_settings(&txn, user).await?;
        // Read after the lock: registrations of one user then get times in
        // the order they commit, which the cap below relies on.
        let now = Utc::now();
        // Writes first: on SQLite a transaction that read first cannot take
        // the write lock while another writer holds it. A token already this
        // user's is renewed; any other is written (or taken over) in one
        // statement, whoever registered it before.
        let renewed = notification_device::Entity::update_many()
            .col_expr(
                notification_device::Column::Platform,
                Expr::value(platform.clone()),
            )
            .col_expr(notification_device::Column::UpdatedAt, Expr::value(now))
            .filter(notification_device::Column::Token.eq(&token))
            .filter(notification_device::Column::UserId.eq(user))
            .exec(&txn)
            .await
            .map_err(StorageError::from)?
            .rows_affected
            == 1;
        if !renewed {
            notification_device::Entity::insert(notification_device::ActiveModel {
                id: Set(Uuid::now_v7()),
                user_id: Set(user),
                token: Set(token.clone()),
                platform: Set(platform),
                created_at: Set(now),
                updated_at: Set(now),
            })
            .on_conflict(
                OnConflict::column(notification_device::Column::Token)
                    .update_columns([
                        notification_device::Column::UserId,
                        notification_device::Column::Platform,
                        notification_device::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await
            .map_err(StorageError::from)?;
        }
        let created = !renewed;
        // Beyond the limit, the installs not seen for longest go (an app
        // re-registers its token at each start, which renews it).
        let stale: Vec<Uuid> = notification_device::Entity::find()
            .select_only()
            .column(notification_device::Column::Id)
            .filter(notification_device::Column::UserId.eq(user))
            .filter(notification_device::Column::Token.ne(&token))
            .order_by_desc(notification_device::Column::UpdatedAt)
            .order_by_desc(notification_device::Column::Id)
            .into_tuple()
            .all(&txn)
            .await
            .map_err(StorageError::from)?;
        // Skipped here, not by OFFSET: SQLite takes no OFFSET without a
        // LIMIT, and a user has at most one more than the limit.
        let stale: Vec<Uuid> = stale.into_iter().skip(MAX_DEVICES as usize - 1).collect();
        if !stale.is_empty() {
            notification_device::Entity::delete_many()
                .filter(notification_device::Column::Id.is_in(stale))
                .exec(&txn)
                .await
                .map_err(StorageError::from)?;
        }
        let row = notification_device::Entity::find()
            .filter(notification_device::Column::Token.eq(&token))
            .one(&txn)
            .await
            .map_err(StorageError::from)?
            .ok_or(NotificationError::NotFound)?;
        txn.commit().await.map_err(StorageError::from)?;
        Ok(Registered {
            device: row.into(),
            created,
        })
    }

    /// Forgets one of the caller's installs (at logout); another account's
    /// token is not found, as an unknown one.
    pub async fn remove_device(&self, user: Uuid, token: &str) -> Result<(), NotificationError> {
        let removed = notification_device::Entity::delete_many()
            .filter(notification_device::Column::Token.eq(token.trim()))
            .filter(notification_device::Column::UserId.eq(user))
            .exec(&self.db)
            .await
            .map_err(StorageError::from)?;
        if removed.rows_affected == 0 {
            return Err(NotificationError::NotFound);
        }
        Ok(())
    }
}

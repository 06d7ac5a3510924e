//! Logins ended early (logout, a reused refresh token), held in memory so
//! that checking an access token's login costs no database round trip on
//! the request path.
//!
//! The database stays the truth. The instance that ends a login records it
//! here at once; every instance reads the revocations made since its last
//! look every `READ_EVERY` (and, at start-up, those young enough to matter).
//! So an access token of an ended login dies at once on the instance that
//! ended it and within `READ_EVERY` on the others. Chat sockets re-check
//! against the database itself (`AuthService::authenticate_until`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::AuthService;
use crate::storage::StorageError;
use crate::storage::entities::token_family;

pub const READ_EVERY: Duration = Duration::from_millis(200);
/// Revocation times are written by each instance's clock: reading a little
/// before the newest one seen tolerates that much skew between instances.
const CLOCK_SKEW: chrono::Duration = chrono::Duration::seconds(5);

pub struct RevokedLogins {
    families: RwLock<HashMap<Uuid, DateTime<Utc>>>,
    /// The newest revocation time read from the database.
    read_up_to: Mutex<DateTime<Utc>>,
    /// After an access token's lifetime (and the skew), every token of a
    /// login revoked that long ago has expired by itself.
    keep_for: chrono::Duration,
}

impl RevokedLogins {
    pub fn new(access_token_ttl: Duration) -> Self {
        let keep_for = chrono::Duration::from_std(access_token_ttl)
            .unwrap_or(chrono::Duration::days(1))
            + CLOCK_SKEW;
        Self {
            families: RwLock::default(),
            read_up_to: Mutex::new(Utc::now() - keep_for),
            keep_for,
        }
    }

    pub fn contains(&self, family: Uuid) -> bool {
        self.families
            .read()
            .expect("revoked logins lock")
            .contains_key(&family)
    }

    pub fn record(&self, family: Uuid, at: DateTime<Utc>) {
        self.families
            .write()
            .expect("revoked logins lock")
            .insert(family, at);
    }

    /// Reads the revocations made since the last look, and forgets those
    /// whose tokens have all expired.
    pub async fn catch_up(&self, db: &DatabaseConnection) -> Result<(), StorageError> {
        use token_family::Column;
        let since = *self.read_up_to.lock().expect("revoked logins lock") - CLOCK_SKEW;
        let rows: Vec<(Uuid, Option<DateTime<Utc>>)> = token_family::Entity::find()
            .select_only()
            .columns([Column::Id, Column::RevokedAt])
            .filter(Column::RevokedAt.gt(since))
            .into_tuple()
            .all(db)
            .await?;
        let horizon = Utc::now() - self.keep_for;
        let mut families = self.families.write().expect("revoked logins lock");
        let mut newest = since + CLOCK_SKEW;
        for (family, at) in rows {
            let at = at.unwrap_or_else(Utc::now);
            newest = newest.max(at);
            families.insert(family, at);
        }
        families.retain(|_, at| *at > horizon);
        drop(families);
        *self.read_up_to.lock().expect("revoked logins lock") = newest;
        Ok(())
    }
}

impl AuthService {
    /// Reads the revocations once now (before serving), then every
    /// `READ_EVERY` while the service lives.
    pub async fn follow_revocations(self: &Arc<Self>) -> Result<(), StorageError> {
        self.revoked.catch_up(&self.db).await?;
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(READ_EVERY);
            loop {
                ticks.tick().await;
                let Some(auth) = weak.upgrade() else { return };
                if let Err(e) = auth.revoked.catch_up(&auth.db).await {
                    tracing::warn!(error = %e, "could not read ended logins; will retry");
                }
            }
        });
        Ok(())
    }
}

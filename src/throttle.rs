//! Counters that protect secrets and email sending: fixed windows kept in the
//! database by key, so they hold across restarts, instances and client
//! addresses. Each bump is one atomic upsert.

use std::time::Duration;

use chrono::Utc;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait};
use sha2::{Digest, Sha256};

use crate::storage::StorageError;
use crate::storage::entities::throttle::{self, Column, Entity as Throttle};

/// The caller must wait this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub Duration);

#[derive(Clone)]
pub struct Throttles {
    db: DatabaseConnection,
}

impl Throttles {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Counts one hit in the key's window and answers whether it is within
    /// `limit`. Atomic: of N racing callers exactly `limit` are let through.
    pub async fn hit(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> Result<Result<(), RetryAfter>, StorageError> {
        let row = self.bump(key, window).await?;
        Ok(within_limit(&row, limit, window))
    }

    /// Records one hit (e.g. a failed password) and returns the counter after it.
    async fn bump(&self, key: &str, window: Duration) -> Result<throttle::Model, StorageError> {
        let now = Utc::now();
        let cutoff = now - window;
        let expired = Expr::col((Throttle, Column::WindowStartedAt)).lte(cutoff);
        let row = throttle::ActiveModel {
            key: Set(stored_key(key)),
            hits: Set(1),
            window_started_at: Set(now),
        };
        let on_conflict = OnConflict::column(Column::Key)
            .value(
                Column::Hits,
                Expr::case(expired.clone(), 1).finally(Expr::col((Throttle, Column::Hits)).add(1)),
            )
            .value(
                Column::WindowStartedAt,
                Expr::case(expired, now).finally(Expr::col((Throttle, Column::WindowStartedAt))),
            )
            .to_owned();
        Ok(Throttle::insert(row)
            .on_conflict(on_conflict)
            .exec_with_returning(&self.db)
            .await?)
    }

    pub async fn clear(&self, key: &str) -> Result<(), StorageError> {
        Throttle::delete_by_id(key.to_string())
            .exec(&self.db)
            .await?;
        Ok(())
    }
}

/// Keys hold user input (an email as typed): a long one is stored as its
/// digest, so that no input can make an oversized index entry.
fn stored_key(key: &str) -> String {
    const MAX_KEY: usize = 128;
    if key.len() <= MAX_KEY {
        return key.to_string();
    }
    let digest = Sha256::digest(key.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// `Ok` while the window holds at most `limit` hits (or has ended).
fn within_limit(row: &throttle::Model, limit: u32, window: Duration) -> Result<(), RetryAfter> {
    let now = Utc::now();
    let window_end = row.window_started_at + window;
    if window_end <= now || i64::from(row.hits) <= i64::from(limit) {
        return Ok(());
    }
    let wait = (window_end - now).to_std().unwrap_or_default();
    Err(RetryAfter(wait.max(Duration::from_secs(1))))
}

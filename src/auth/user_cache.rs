//! The rows of users who made a request a moment ago, so that an
//! authenticated request costs no database round trip.
//!
//! What keeps a cached row honest:
//! - This instance forgets a user's row when it changes it (every write to
//!   a users row goes through a function that calls `forget`), so a client
//!   reads its own writes.
//! - Whatever kills a user's tokens (a password change or reset, account
//!   deletion) also ends all of that user's logins in the database, which
//!   every instance reads every `revoked::READ_EVERY`: an old token dies on
//!   the other instances as fast as after a logout, cached row or not.
//! - A row lives at most `TTL`, so another instance's change to what a row
//!   shows (names, avatar, role) is seen within that.
//! - A row read from the database is kept only if nothing was forgotten
//!   while it was being read (`epoch`), so a slow read cannot put back a row
//!   older than a change that happened meanwhile.

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::storage::entities::user;

pub const TTL: Duration = Duration::from_secs(1);
/// Rows kept before the stale ones are swept out.
const SWEEP_AT: usize = 10_000;

#[derive(Default)]
pub struct UserCache {
    rows: RwLock<HashMap<Uuid, (user::Model, Instant)>>,
    /// Counts `forget` calls; see `put`.
    epoch: AtomicU64,
}

impl UserCache {
    /// The user's row, if cached within `TTL`, active and on the token's
    /// version (a token of an older version is refused by the database path).
    pub fn get(&self, id: Uuid, token_version: i32) -> Option<user::Model> {
        let rows = self.rows.read().expect("user cache lock");
        let (row, at) = rows.get(&id)?;
        let usable = at.elapsed() < TTL && row.is_active && row.token_version == token_version;
        usable.then(|| row.clone())
    }

    /// The user's row if cached within `TTL`, whatever its state: for
    /// showing or checking another user, not for authenticating.
    pub fn recent(&self, id: Uuid) -> Option<user::Model> {
        let rows = self.rows.read().expect("user cache lock");
        let (row, at) = rows.get(&id)?;
        (at.elapsed() < TTL).then(|| row.clone())
    }

    /// Read before loading a row from the database, and handed to `put`.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Keeps a row read from the database after `epoch()` returned `epoch`,
    /// unless a row was forgotten since.
    pub fn put(&self, row: &user::Model, epoch: u64) {
        let mut rows = self.rows.write().expect("user cache lock");
        if self.epoch.load(Ordering::Acquire) != epoch {
            return;
        }
        if rows.len() >= SWEEP_AT {
            rows.retain(|_, (_, at)| at.elapsed() < TTL);
        }
        rows.insert(row.id, (row.clone(), Instant::now()));
    }

    /// The user's row changed (or is about to): read it from the database
    /// next time. Called after the change is committed.
    pub fn forget(&self, id: Uuid) {
        let mut rows = self.rows.write().expect("user cache lock");
        self.epoch.fetch_add(1, Ordering::AcqRel);
        rows.remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> user::Model {
        let now = chrono::Utc::now();
        user::Model {
            id: Uuid::now_v7(),
            email: "ada@example.com".into(),
            email_lower: "ada@example.com".into(),
            username: "ada".into(),
            username_lower: "ada".into(),
            password_hash: String::new(),
            first_name: String::new(),
            last_name: String::new(),
            phone_number: String::new(),
            role: "customer".into(),
            is_verified: true,
            is_active: true,
            is_staff: false,
            is_superuser: false,
            token_version: 3,
            avatar_id: None,
            date_joined: now,
            deleted_at: None,
        }
    }

    #[test]
    fn a_row_serves_only_tokens_of_its_version() {
        let cache = UserCache::default();
        let user = row();
        cache.put(&user, cache.epoch());
        assert!(cache.get(user.id, 3).is_some());
        assert!(cache.get(user.id, 2).is_none());
        cache.forget(user.id);
        assert!(cache.get(user.id, 3).is_none());
    }

    #[test]
    fn a_row_read_before_a_forget_is_not_kept() {
        let cache = UserCache::default();
        let user = row();
        let epoch = cache.epoch();
        cache.forget(Uuid::now_v7());
        cache.put(&user, epoch);
        assert!(cache.get(user.id, 3).is_none());
    }
}

use std::sync::{Arc, OnceLock};

use hmac::{Hmac, Mac};
use sea_orm::DatabaseConnection;
use sha2::Sha256;
use uuid::Uuid;

use super::revoked::RevokedLogins;
use super::tokens::TokenKeys;
use super::user_cache::UserCache;
use super::{AuthError, Passwords};
use crate::config::AuthSettings;
use crate::mail::{Email, Outbox};
use crate::throttle::Throttles;

/// Told when logins end before their tokens expire (logout, a reused refresh
/// token, a password change, account deletion), so that connections that
/// outlive a request (chat sockets) re-check their token at once rather than
/// at their next periodic check. Called after the change is committed.
pub trait SessionWatcher: Send + Sync {
    fn sessions_ended(&self, user_id: Uuid);
}

/// The auth domain: every flow is a method on this (see `account`,
/// `session`, `recovery`). It holds no HTTP types.
pub struct AuthService {
    pub(super) db: DatabaseConnection,
    pub(super) settings: AuthSettings,
    pub(super) passwords: Passwords,
    pub(super) tokens: TokenKeys,
    /// Keys the code hashes; derived from the secret key, distinct from the token key.
    pub(super) code_key: Vec<u8>,
    pub(super) throttles: Throttles,
    outbox: Outbox,
    /// Emails still being sent, so shutdown can wait for them.
    watcher: OnceLock<Arc<dyn SessionWatcher>>,
    pub(super) revoked: RevokedLogins,
    /// Rows of recent callers (see `user_cache`); shared with the other
    /// areas that write users rows.
    pub(super) users: Arc<UserCache>,
}

/// Derives an independent key for one purpose from the secret key.
fn derive_key(secret: &str, purpose: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(purpose.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

impl AuthService {
    pub fn new(
        db: DatabaseConnection,
        settings: AuthSettings,
        secret_key: &str,
        outbox: Outbox,
    ) -> Self {
        Self {
            passwords: Passwords::new(settings.argon2_memory_kib, settings.argon2_iterations),
            tokens: TokenKeys::new(&derive_key(secret_key, "atelier/jwt")),
            code_key: derive_key(secret_key, "atelier/codes"),
            throttles: Throttles::new(db.clone()),
            revoked: RevokedLogins::new(settings.access_token_ttl),
            users: Arc::default(),
            db,
            settings,
            outbox,
            watcher: OnceLock::new(),
        }
    }

    /// The cache of users rows, for other areas that change a user's row:
    /// they `forget` it after committing.
    pub fn user_cache(&self) -> Arc<UserCache> {
        self.users.clone()
    }

    /// Installs the one watcher of ended logins (set once, at start-up).
    pub fn watch_sessions(&self, watcher: Arc<dyn SessionWatcher>) {
        if self.watcher.set(watcher).is_err() {
            tracing::warn!("a session watcher was installed already; keeping the first");
        }
    }

    /// Some of the user's logins ended (or all, with a changed row): forget
    /// the cached row and tell the watcher.
    pub(super) fn sessions_ended(&self, user_id: Uuid) {
        self.users.forget(user_id);
        if let Some(watcher) = self.watcher.get() {
            watcher.sessions_ended(user_id);
        }
    }

    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    /// Counts one try at a secret (password, code) under `key`, before it is
    /// checked, and refuses it (429) past the limit. Counting first keeps the
    /// limit exact under parallel tries; a success forgets the count.
    pub(super) async fn count_attempt(&self, key: &str) -> Result<(), AuthError> {
        let decision = self
            .throttles
            .hit(
                key,
                self.settings.max_failures,
                self.settings.failure_window,
            )
            .await?;
        decision.map_err(AuthError::Throttled)
    }

    pub(super) async fn forget_attempts(&self, key: &str) -> Result<(), AuthError> {
        self.throttles.clear(key).await?;
        Ok(())
    }

    /// Queues the email: the response does not wait for SMTP, and its
    /// timing does not tell whether an address has an account. A failure to
    /// send is retried by the job queue.
    pub(super) async fn send_email(&self, email: Email) -> Result<(), AuthError> {
        self.outbox.send(&email).await?;
        Ok(())
    }
}

use std::sync::Arc;

use hmac::{Hmac, Mac};
use sea_orm::DatabaseConnection;
use sha2::Sha256;
use tracing::Instrument;

use super::tokens::TokenKeys;
use super::{AuthError, Passwords};
use crate::config::AuthSettings;
use crate::mail::{Email, Mailer};
use crate::throttle::Throttles;

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
    mailer: Arc<Mailer>,
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
        mailer: Arc<Mailer>,
    ) -> Self {
        Self {
            passwords: Passwords::new(settings.argon2_memory_kib, settings.argon2_iterations),
            tokens: TokenKeys::new(&derive_key(secret_key, "atelier/jwt")),
            code_key: derive_key(secret_key, "atelier/codes"),
            throttles: Throttles::new(db.clone()),
            db,
            settings,
            mailer,
        }
    }

    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    /// 429 once `key` has had too many failures in the current window.
    pub(super) async fn ensure_not_locked(&self, key: &str) -> Result<(), AuthError> {
        let decision = self
            .throttles
            .check(
                key,
                self.settings.max_failures,
                self.settings.failure_window,
            )
            .await?;
        decision.map_err(AuthError::Throttled)
    }

    pub(super) async fn record_failure(&self, key: &str) -> Result<(), AuthError> {
        self.throttles
            .bump(key, self.settings.failure_window)
            .await?;
        Ok(())
    }

    /// Sends in the background: the response does not wait for SMTP, and its
    /// timing does not tell whether an address has an account.
    pub(super) fn send_email(&self, email: Email) {
        let mailer = self.mailer.clone();
        let send = async move {
            if let Err(err) = mailer.send(&email).await {
                tracing::error!(error = %err, to = %email.to, "sending email failed");
            }
        };
        // Keeps the request id on the email's log lines.
        tokio::spawn(send.instrument(tracing::Span::current()));
    }
}

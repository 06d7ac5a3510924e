//! Confirming a sensitive change with the password and an emailed code, for
//! other areas (a tailor's payout account): the same codes as verification
//! and reset (`codes`), kept under the user's id rather than an address.
//!
//! A stolen access token alone cannot pass it: the password is asked again,
//! and the code goes to the account's email address.

use sea_orm::ConnectionTrait;

use super::codes::{CodePurpose, MatchedCode};
use super::{AuthError, AuthService};
use crate::storage::entities::user;
use crate::validation::FieldErrors;

/// What a confirmation code is for; a code for one cannot confirm another.
#[derive(Debug, Clone, Copy)]
pub enum SensitiveChange {
    PayoutAccount,
}

impl SensitiveChange {
    fn purpose(self) -> CodePurpose {
        match self {
            SensitiveChange::PayoutAccount => CodePurpose::ChangePayoutAccount,
        }
    }

    /// The email cooldown's key.
    fn purpose_key(self) -> &'static str {
        match self {
            SensitiveChange::PayoutAccount => "payout-code",
        }
    }
}

/// A code that matched, to be consumed in the transaction that makes the change.
pub struct ConfirmationCode {
    matched: MatchedCode,
    change: SensitiveChange,
    user_id: uuid::Uuid,
}

impl AuthService {
    /// Checks the password, then emails a fresh code (replacing any earlier
    /// one). Wrong passwords count against the same limit as a password
    /// change; a code is sent at most once per email cooldown.
    pub async fn send_confirmation_code(
        &self,
        user: &user::Model,
        password: Option<&str>,
        change: SensitiveChange,
    ) -> Result<(), AuthError> {
        let password = password.filter(|p| !p.is_empty()).ok_or_else(|| {
            AuthError::Invalid(FieldErrors::single("password", "This field is required."))
        })?;
        let failures_key = format!("password:{}", user.id);
        self.count_attempt(&failures_key).await?;
        if !self
            .passwords
            .verify(password, Some(&user.password_hash))
            .await?
        {
            return Err(FieldErrors::single(
                "password",
                "Your password was entered incorrectly. Please enter it again.",
            )
            .into());
        }
        self.forget_attempts(&failures_key).await?;
        let identifier = user.id.to_string();
        self.email_cooldown(change.purpose_key(), &identifier)
            .await?;
        self.email_code_for(user, change.purpose(), &identifier)
            .await?;
        tracing::info!(user_id = %user.id, ?change, "confirmation code sent");
        Ok(())
    }

    /// Checks the code without consuming it (every try counts; the code dies
    /// after its last). Consume it with [`AuthService::consume_confirmation_code`]
    /// in the transaction that makes the change.
    pub async fn check_confirmation_code(
        &self,
        user: &user::Model,
        code: Option<&str>,
        change: SensitiveChange,
    ) -> Result<ConfirmationCode, AuthError> {
        let code = code
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .ok_or_else(|| {
                AuthError::Invalid(FieldErrors::single("code", "This field is required."))
            })?;
        let matched = self
            .match_code(change.purpose(), &user.id.to_string(), code)
            .await?;
        Ok(ConfirmationCode {
            matched,
            change,
            user_id: user.id,
        })
    }

    /// Deletes the code inside the caller's transaction (a write, so it can
    /// open a SQLite write transaction); false when a concurrent request used
    /// it first, and the caller must then give up.
    pub async fn consume_confirmation_code(
        &self,
        conn: &impl ConnectionTrait,
        code: &ConfirmationCode,
    ) -> Result<bool, AuthError> {
        self.consume_code(conn, &code.matched).await
    }

    /// After the change committed: the code's failed tries are forgotten.
    pub async fn confirmation_done(&self, code: &ConfirmationCode) -> Result<(), AuthError> {
        self.clear_code_attempts(code.change.purpose(), &code.user_id.to_string())
            .await
    }
}

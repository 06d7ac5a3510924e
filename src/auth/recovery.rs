//! Password change (knowing the old one) and reset (by emailed code). Both
//! kill every earlier token on every device.

use sea_orm::TransactionTrait;

use super::codes::CodePurpose;
use super::password::validate_password;
use super::session::TokenPair;
use super::{AuthError, AuthService, token_store, users_repo};
use crate::storage::entities::user;
use crate::validation::FieldErrors;

/// Not `Debug`: it holds passwords.
pub struct PasswordChange {
    pub old_password: Option<String>,
    pub new_password: Option<String>,
    /// The old Django form's pair, accepted when `new_password` is absent.
    pub new_password1: Option<String>,
    pub new_password2: Option<String>,
}

/// Not `Debug`: it holds a code and a password.
pub struct ResetConfirmation {
    pub email: Option<String>,
    pub code: Option<String>,
    pub new_password: Option<String>,
}

fn attributes(user: &user::Model) -> [(&str, &str); 4] {
    [
        ("username", user.username.as_str()),
        ("email", user.email.as_str()),
        ("first name", user.first_name.as_str()),
        ("last name", user.last_name.as_str()),
    ]
}

impl AuthService {
    pub async fn change_password(
        &self,
        user: user::Model,
        change: PasswordChange,
    ) -> Result<TokenPair, AuthError> {
        let mut errors = FieldErrors::new();
        let old = errors.required("old_password", &change.old_password);
        let new = if change.new_password.is_some() || change.new_password1.is_none() {
            errors.required("new_password", &change.new_password)
        } else {
            let first = errors.required("new_password1", &change.new_password1);
            let second = errors.required("new_password2", &change.new_password2);
            if first.is_some() && second.is_some() && first != second {
                errors.add("new_password2", "The two password fields didn’t match.");
            }
            first
        };
        let new_field = if change.new_password.is_some() || change.new_password1.is_none() {
            "new_password"
        } else {
            "new_password1"
        };
        if let Some(new) = new {
            for problem in validate_password(new, &attributes(&user)) {
                errors.add(new_field, problem);
            }
        }
        errors.into_result()?;
        let (Some(old), Some(new)) = (old, new) else {
            unreachable!("checked above");
        };

        let failures_key = format!("password:{}", user.id);
        self.count_attempt(&failures_key).await?;
        if !self
            .passwords
            .verify(old, Some(&user.password_hash))
            .await?
        {
            return Err(FieldErrors::single(
                "old_password",
                "Your old password was entered incorrectly. Please enter it again.",
            )
            .into());
        }
        self.forget_attempts(&failures_key).await?;
        let hash = self.passwords.hash(new).await?;
        let txn = self.db.begin().await?;
        users_repo::set_password(&txn, user.id, hash, false).await?;
        txn.commit().await?;
        self.sessions_ended(user.id);
        tracing::info!(user_id = %user.id, "password changed; earlier tokens revoked");
        self.fresh_login(user.id).await
    }

    async fn fresh_login(&self, user_id: uuid::Uuid) -> Result<TokenPair, AuthError> {
        let user = self.user(user_id).await?;
        let family = token_store::start_family(&self.db, user.id).await?;
        self.issue_pair(&user, family).await
    }

    /// Same answer whether or not the address has an account.
    pub async fn request_password_reset(&self, email: Option<String>) -> Result<(), AuthError> {
        let email = self.email_for_code_request(email)?;
        self.email_cooldown("reset", &email).await?;
        let Some(user) = users_repo::by_email(&self.db, &email).await? else {
            return Ok(());
        };
        if !user.is_active {
            return Ok(());
        }
        self.email_code(&user, CodePurpose::ResetPassword).await
    }

    pub async fn confirm_password_reset(&self, input: ResetConfirmation) -> Result<(), AuthError> {
        let mut errors = FieldErrors::new();
        if let Some(email) = errors.required("email", &input.email) {
            super::rules::check_email(&mut errors, "email", email);
        }
        let email = input.email.as_deref().map(super::rules::normalize_email);
        let code = errors.required("code", &input.code).map(str::trim);
        let new = errors.required("new_password", &input.new_password);
        errors.into_result()?;
        let (Some(email), Some(code), Some(new)) = (email, code, new) else {
            unreachable!("checked above");
        };
        // The code comes first: only someone holding it learns anything about
        // the account, e.g. that the password is too similar to its name.
        let matched = self
            .match_code(CodePurpose::ResetPassword, &email, code)
            .await?;
        let user = users_repo::by_email(&self.db, &email)
            .await?
            .filter(|u| u.is_active)
            .ok_or(AuthError::InvalidCode)?;
        let problems = validate_password(new, &attributes(&user));
        if !problems.is_empty() {
            let mut errors = FieldErrors::new();
            problems
                .into_iter()
                .for_each(|p| errors.add("new_password", p));
            // The code stays valid (one of its tries is spent).
            return Err(errors.into());
        }
        let hash = self.passwords.hash(new).await?;
        let txn = self.db.begin().await?;
        if !self.consume_code(&txn, &matched).await? {
            return Err(AuthError::InvalidCode);
        }
        // Reading the code proved the address, so a reset also verifies it.
        users_repo::set_password(&txn, user.id, hash, true).await?;
        txn.commit().await?;
        self.sessions_ended(user.id);
        self.clear_code_attempts(CodePurpose::ResetPassword, &email)
            .await?;
        tracing::info!(user_id = %user.id, "password reset; earlier tokens revoked");
        Ok(())
    }
}

//! Registration, email verification, profiles and the user directory.

use sea_orm::{ActiveValue::Set, IntoActiveModel, TransactionTrait};
use uuid::Uuid;

use super::codes::CodePurpose;
use super::error::throttled;
use super::password::validate_password;
use super::rules::{self, MAX_NAME, normalize_email};
use super::{AuthError, AuthService, users_repo};
use crate::storage::StorageError;
use crate::storage::entities::user;
use crate::validation::FieldErrors;

/// Registration input as received; deliberately not `Debug` (it holds a password).
#[derive(Default)]
pub struct NewAccount {
    pub email: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub role: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone_number: Option<String>,
}

#[derive(Debug, Default)]
pub struct ProfileChanges {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub phone_number: Option<String>,
    /// Absent: unchanged; `Some(None)`: remove the avatar; `Some(Some(id))`:
    /// an image the user uploaded, as typed.
    pub avatar_id: Option<Option<String>>,
}

pub struct UserQuery {
    pub role: Option<String>,
    pub search: Option<String>,
    /// 1-based page number.
    pub page: u64,
    pub page_size: u64,
}

const EMAIL_TAKEN: &str = "A user with that email already exists.";
const USERNAME_TAKEN: &str = "A user with that username already exists.";
const NOT_YOUR_IMAGE: &str = "No image you uploaded has this id.";

impl AuthService {
    pub async fn register(&self, input: NewAccount) -> Result<user::Model, AuthError> {
        let mut errors = FieldErrors::new();
        let email = errors.required("email", &input.email).map(str::trim);
        if let Some(email) = email {
            rules::check_email(&mut errors, "email", email);
        }
        let username = errors.required("username", &input.username).map(str::trim);
        if let Some(username) = username {
            rules::check_username(&mut errors, username);
        }
        let role = input.role.as_deref().unwrap_or("customer");
        rules::check_role(&mut errors, role);
        let first_name = input.first_name.as_deref().unwrap_or("");
        let last_name = input.last_name.as_deref().unwrap_or("");
        errors.max_len("first_name", first_name, MAX_NAME);
        errors.max_len("last_name", last_name, MAX_NAME);
        let phone = input.phone_number.as_deref().unwrap_or("").trim();
        rules::check_phone(&mut errors, phone);
        if let Some(password) = errors.required("password", &input.password) {
            let attributes = [
                ("username", username.unwrap_or("")),
                ("email", email.unwrap_or("")),
                ("first name", first_name),
                ("last name", last_name),
            ];
            for problem in validate_password(password, &attributes) {
                errors.add("password", problem);
            }
        }
        let (Some(email), Some(username), Some(password)) = (email, username, &input.password)
        else {
            return Err(errors.into());
        };
        errors.into_result()?;
        self.ensure_free(Some(email), Some(username), None).await?;

        let hash = self.passwords.hash(password).await?;
        let row = users_repo::new_row(email, username, hash, role, (first_name, last_name), phone);
        let user = match users_repo::insert(&self.db, row).await {
            Ok(user) => user,
            // Lost a race with an identical registration: report it like the pre-check.
            Err(StorageError::UniqueViolation(_)) => {
                self.ensure_free(Some(email), Some(username), None).await?;
                return Err(FieldErrors::single("email", EMAIL_TAKEN).into());
            }
            Err(e) => return Err(e.into()),
        };
        self.email_code(&user, CodePurpose::VerifyEmail).await?;
        tracing::info!(user_id = %user.id, role = %user.role, "account registered");
        Ok(user)
    }

    /// 400 on each of email/username already used by another account.
    async fn ensure_free(
        &self,
        email: Option<&str>,
        username: Option<&str>,
        except: Option<Uuid>,
    ) -> Result<(), AuthError> {
        let mut errors = FieldErrors::new();
        let other = |u: &user::Model| Some(u.id) != except;
        if let Some(email) = email
            && users_repo::by_email(&self.db, &normalize_email(email))
                .await?
                .is_some_and(|u| other(&u))
        {
            errors.add("email", EMAIL_TAKEN);
        }
        if let Some(username) = username
            && users_repo::by_username(&self.db, &username.to_lowercase())
                .await?
                .is_some_and(|u| other(&u))
        {
            errors.add("username", USERNAME_TAKEN);
        }
        Ok(errors.into_result()?)
    }

    pub async fn verify_email(&self, code: &str, email: Option<String>) -> Result<(), AuthError> {
        let mut errors = FieldErrors::new();
        if let Some(email) = errors.required("email", &email) {
            rules::check_email(&mut errors, "email", email);
        }
        errors.into_result()?;
        let email = normalize_email(email.as_deref().unwrap_or_default());
        let matched = self
            .match_code(CodePurpose::VerifyEmail, &email, code)
            .await?;
        let Some(user) = users_repo::by_email(&self.db, &email).await? else {
            return Err(AuthError::InvalidCode);
        };
        let txn = self.db.begin().await?;
        if !self.consume_code(&txn, &matched).await? {
            return Err(AuthError::InvalidCode);
        }
        users_repo::mark_verified(&txn, user.id).await?;
        txn.commit().await?;
        self.users.forget(user.id);
        self.clear_code_attempts(CodePurpose::VerifyEmail, &email)
            .await?;
        tracing::info!(user_id = %user.id, "email verified");
        Ok(())
    }

    /// Same answer whether or not the address has an account; one email per
    /// address per cooldown either way.
    pub async fn resend_code(&self, email: Option<String>) -> Result<(), AuthError> {
        let email = self.email_for_code_request(email)?;
        self.email_cooldown("resend", &email).await?;
        if let Some(user) = users_repo::by_email(&self.db, &email).await?
            && !user.is_verified
            && user.is_active
        {
            self.email_code(&user, CodePurpose::VerifyEmail).await?;
        }
        Ok(())
    }

    pub(super) fn email_for_code_request(
        &self,
        email: Option<String>,
    ) -> Result<String, AuthError> {
        let mut errors = FieldErrors::new();
        if let Some(email) = errors.required("email", &email) {
            rules::check_email(&mut errors, "email", email);
        }
        errors.into_result()?;
        Ok(normalize_email(email.as_deref().unwrap_or_default()))
    }

    pub(super) async fn email_cooldown(&self, kind: &str, email: &str) -> Result<(), AuthError> {
        let cooldown = self.settings.email_cooldown;
        if cooldown.is_zero() {
            return Ok(());
        }
        throttled(
            self.throttles
                .hit(&format!("{kind}:{email}"), 1, cooldown)
                .await?,
        )
    }

    pub async fn user(&self, id: Uuid) -> Result<user::Model, AuthError> {
        users_repo::by_id(&self.db, id)
            .await?
            .filter(|u| u.is_active)
            .ok_or(AuthError::NotFound)
    }

    /// One page of the directory and the total; `None` past the last page.
    pub async fn list_users(
        &self,
        query: UserQuery,
    ) -> Result<Option<(u64, Vec<user::Model>)>, AuthError> {
        let listing = users_repo::Listing {
            role: query.role,
            search: query.search,
            page: query.page,
            page_size: query.page_size,
        };
        Ok(users_repo::list(&self.db, &listing).await?)
    }

    pub async fn update_profile(
        &self,
        user: user::Model,
        changes: ProfileChanges,
    ) -> Result<user::Model, AuthError> {
        let mut errors = FieldErrors::new();
        let username = match &changes.username {
            Some(_) => errors
                .required("username", &changes.username)
                .map(str::trim),
            None => None,
        };
        if let Some(username) = username {
            rules::check_username(&mut errors, username);
        }
        for (field, value) in [
            ("first_name", &changes.first_name),
            ("last_name", &changes.last_name),
        ] {
            if let Some(value) = value {
                errors.max_len(field, value, MAX_NAME);
            }
        }
        if let Some(phone) = &changes.phone_number {
            rules::check_phone(&mut errors, phone.trim());
        }
        let avatar = changes
            .avatar_id
            .as_ref()
            .map(|raw| parse_avatar_id(&mut errors, raw.as_deref()));
        errors.into_result()?;
        self.ensure_free(None, username, Some(user.id)).await?;

        let user_id = user.id;
        let mut row = user.into_active_model();
        if let Some(username) = username {
            row.username = Set(username.to_string());
            row.username_lower = Set(username.to_lowercase());
        }
        if let Some(v) = changes.first_name {
            row.first_name = Set(v.trim().to_string());
        }
        if let Some(v) = changes.last_name {
            row.last_name = Set(v.trim().to_string());
        }
        if let Some(v) = changes.phone_number {
            row.phone_number = Set(v.trim().to_string());
        }
        // The fields and the avatar change together or not at all. The
        // avatar is written first: on SQLite a transaction that reads before
        // it writes can fail at once when another connection wrote between.
        let txn = self.db.begin().await?;
        if let Some(avatar) = avatar.flatten()
            && !users_repo::set_avatar(&txn, user_id, avatar).await?
        {
            return Err(FieldErrors::single("avatar_id", NOT_YOUR_IMAGE).into());
        }
        // Returns the row as stored, new avatar included.
        let user = match users_repo::update(&txn, row).await {
            Ok(user) => user,
            Err(StorageError::UniqueViolation(_)) => {
                return Err(FieldErrors::single("username", USERNAME_TAKEN).into());
            }
            Err(e) => {
                tracing::debug!(%user_id, "profile update failed");
                return Err(e.into());
            }
        };
        txn.commit().await?;
        self.users.forget(user_id);
        if avatar.is_some() {
            crate::media::forget_avatar(user_id);
        }
        Ok(user)
    }

    /// The avatar URL of each of these users that has one, by user id (one query).
    pub async fn avatar_urls(
        &self,
        users: &[user::Model],
    ) -> Result<std::collections::HashMap<Uuid, String>, AuthError> {
        let with_avatar = users.iter().filter(|u| u.avatar_id.is_some());
        Ok(crate::media::avatar_urls(&self.db, with_avatar.map(|u| u.id)).await?)
    }

    pub async fn avatar_url(&self, user: &user::Model) -> Result<Option<String>, AuthError> {
        Ok(crate::media::avatar_url(&self.db, user).await?)
    }
}

/// `avatar_id` as sent: `None` (JSON null) removes the avatar. Returns the
/// change to make (`Some(new value)`), or `None` after recording an error.
fn parse_avatar_id(errors: &mut FieldErrors, raw: Option<&str>) -> Option<Option<Uuid>> {
    let Some(raw) = raw else {
        return Some(None);
    };
    match Uuid::parse_str(raw.trim()) {
        Ok(id) => Some(Some(id)),
        Err(_) => {
            errors.add("avatar_id", "Must be a valid UUID.");
            None
        }
    }
}

impl AuthService {
    /// An administrator: verified, staff and superuser, hidden from user lists.
    pub async fn create_superuser(
        &self,
        email: &str,
        username: &str,
        password: &str,
    ) -> Result<user::Model, AuthError> {
        let mut errors = FieldErrors::new();
        rules::check_email(&mut errors, "email", email);
        rules::check_username(&mut errors, username);
        for problem in validate_password(password, &[("username", username), ("email", email)]) {
            errors.add("password", problem);
        }
        errors.into_result()?;
        self.ensure_free(Some(email), Some(username), None).await?;
        let hash = self.passwords.hash(password).await?;
        let mut row = users_repo::new_row(email, username, hash, "customer", ("", ""), "");
        row.is_verified = Set(true);
        row.is_staff = Set(true);
        row.is_superuser = Set(true);
        Ok(users_repo::insert(&self.db, row).await?)
    }
}

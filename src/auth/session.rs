//! Login, refresh-token rotation with reuse detection, logout, and checking
//! the access token on each request.

use uuid::Uuid;

use super::tokens::{Subject, TokenType};
use super::{AuthError, AuthService, token_store, users_repo};
use crate::storage::entities::user;
use crate::validation::{FieldErrors, NON_FIELD};

/// Longer than any email (254) or username (150) can be.
const MAX_IDENTIFIER: usize = 254;

pub struct TokenPair {
    pub access: String,
    pub refresh: String,
}

/// Login input; not `Debug` (it holds a password).
pub struct Credentials {
    pub email: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
}

impl AuthService {
    pub async fn login(&self, credentials: Credentials) -> Result<TokenPair, AuthError> {
        let mut errors = FieldErrors::new();
        let present = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_lowercase)
        };
        let email = present(&credentials.email);
        let username = present(&credentials.username);
        let identifier = email.clone().or_else(|| username.clone());
        if identifier.is_none() {
            errors.add(NON_FIELD, "Provide an email or a username.");
        }
        if identifier
            .as_ref()
            .is_some_and(|i| i.len() > MAX_IDENTIFIER)
        {
            errors.add(NON_FIELD, "Enter a valid email or username.");
        }
        let password = errors.required("password", &credentials.password);
        errors.into_result()?;
        let (Some(identifier), Some(password)) = (identifier, password) else {
            unreachable!("checked above");
        };

        // Counted per identifier as typed, known or not, so guessing is
        // limited however many addresses the guesser uses.
        let failures_key = format!("login:{identifier}");
        self.count_attempt(&failures_key).await?;
        let user = match (&email, &username) {
            (Some(email), _) => users_repo::by_email(&self.db, email).await?,
            // Usernames may contain `@`; old clients also send an email as `username`.
            (None, Some(name)) => match users_repo::by_username(&self.db, name).await? {
                None if name.contains('@') => users_repo::by_email(&self.db, name).await?,
                found => found,
            },
            (None, None) => None,
        };
        let hash = user.as_ref().map(|u| u.password_hash.as_str());
        let password_ok = self.passwords.verify(password, hash).await?;
        let user = match user {
            Some(user) if password_ok && user.is_active => user,
            _ => {
                return Err(AuthError::InvalidCredentials);
            }
        };
        self.forget_attempts(&failures_key).await?;
        if !user.is_verified {
            return Err(AuthError::NotVerified);
        }
        let family = token_store::start_family(&self.db, user.id).await?;
        let pair = self.issue_pair(&user, family).await?;
        tracing::info!(user_id = %user.id, "logged in");
        Ok(pair)
    }

    pub(super) async fn issue_pair(
        &self,
        user: &user::Model,
        family: Uuid,
    ) -> Result<TokenPair, AuthError> {
        let subject = Subject {
            user_id: user.id,
            version: user.token_version,
            family,
        };
        let jti = Uuid::now_v7();
        let (refresh, expires) = self.tokens.issue(
            TokenType::Refresh,
            jti,
            subject,
            self.settings.refresh_token_ttl,
        )?;
        token_store::record(&self.db, jti, family, user.id, expires).await?;
        let (access, _) = self.tokens.issue(
            TokenType::Access,
            Uuid::now_v7(),
            subject,
            self.settings.access_token_ttl,
        )?;
        Ok(TokenPair { access, refresh })
    }

    /// Rotation: the presented token dies and a new one of the same family is
    /// issued. A token presented a second time means it leaked: the whole
    /// family (that login) is revoked, with every access token issued in it
    /// (the thief's fresh one too) and the sockets signed in with them.
    pub async fn refresh(&self, refresh: Option<String>) -> Result<TokenPair, AuthError> {
        let token = required_token("refresh", refresh)?;
        let claims = self.tokens.decode(&token, TokenType::Refresh)?;
        let Some(family) = token_store::use_once(&self.db, claims.jti).await? else {
            if let Some(row) = token_store::family_of(&self.db, claims.jti).await?
                && row.used_at.is_some()
            {
                tracing::warn!(user_id = %row.user_id, "refresh token reused; revoking its login");
                self.end_login(row.family_id, row.user_id).await?;
            }
            return Err(AuthError::TokenInvalid);
        };
        let user = self.live_user(claims.user_id, claims.ver, None).await?;
        self.issue_pair(&user, family).await
    }

    /// Ends the login that the refresh token belongs to: its refresh and
    /// access tokens, and its sockets. Other logins of the user live on.
    pub async fn logout(
        &self,
        user: &user::Model,
        refresh: Option<String>,
    ) -> Result<(), AuthError> {
        let token = required_token("refresh", refresh)?;
        let claims = self.tokens.decode(&token, TokenType::Refresh)?;
        if claims.user_id != user.id {
            return Err(AuthError::TokenInvalid);
        }
        let row = token_store::family_of(&self.db, claims.jti)
            .await?
            .ok_or(AuthError::TokenInvalid)?;
        self.end_login(row.family_id, user.id).await?;
        tracing::info!(user_id = %user.id, "logged out");
        Ok(())
    }

    /// The user behind an access token, if the token is still good.
    /// Ends one login: its refresh tokens in the database, its access tokens
    /// here at once (other instances read it within `revoked::READ_EVERY`),
    /// its sockets on every instance.
    async fn end_login(&self, family: Uuid, user_id: Uuid) -> Result<(), AuthError> {
        token_store::revoke_family(&self.db, family).await?;
        self.revoked.record(family, chrono::Utc::now());
        self.sessions_ended(user_id);
        Ok(())
    }

    /// The request path: the login is checked against the ended logins held
    /// in memory (see `revoked`) and the user's row comes from the cache of
    /// recent callers (see `user_cache`), so a request usually costs no query.
    /// A token that names no login (issued before logins were recorded)
    /// always reads the row: nothing else could end it early.
    pub async fn authenticate(&self, access: &str) -> Result<user::Model, AuthError> {
        let claims = self.tokens.decode(access, TokenType::Access)?;
        let Some(family) = claims.fam else {
            return self.live_user(claims.user_id, claims.ver, None).await;
        };
        if self.revoked.contains(family) {
            return Err(AuthError::TokenInvalid);
        }
        if let Some(user) = self.users.get(claims.user_id, claims.ver) {
            return Ok(user);
        }
        let epoch = self.users.epoch();
        let user = self.live_user(claims.user_id, claims.ver, None).await?;
        self.users.put(&user, epoch);
        Ok(user)
    }

    /// Whether a token a connection signed in with still holds, checked in
    /// memory only: its login has not ended. Enough between two requests of a
    /// long-lived connection, because everything that kills a user's tokens
    /// (a password change or reset, deletion) ends all of the user's logins,
    /// which every instance reads every `revoked::READ_EVERY`. A token that
    /// names no login is checked in the database.
    pub async fn login_still_open(&self, access: &str) -> Result<(), AuthError> {
        let claims = self.tokens.decode(access, TokenType::Access)?;
        match claims.fam {
            Some(family) if self.revoked.contains(family) => Err(AuthError::TokenInvalid),
            Some(_) => Ok(()),
            None => self
                .live_user(claims.user_id, claims.ver, None)
                .await
                .map(|_| ()),
        }
    }

    /// The user and when the token expires (Unix seconds), for connections
    /// that outlive one request and must end when their token does. Checks
    /// the login in the database itself: a socket re-checks rarely and must
    /// close at once when its login ends on another instance.
    pub async fn authenticate_until(&self, access: &str) -> Result<(user::Model, i64), AuthError> {
        let claims = self.tokens.decode(access, TokenType::Access)?;
        let user = self
            .live_user(claims.user_id, claims.ver, claims.fam)
            .await?;
        Ok((user, claims.exp))
    }

    /// The token's user if still active, on the token's version and, when
    /// `family` is given, with that login alive in the database: one query.
    async fn live_user(
        &self,
        id: Uuid,
        version: i32,
        family: Option<Uuid>,
    ) -> Result<user::Model, AuthError> {
        match users_repo::by_id_in_live_login(&self.db, id, family).await? {
            Some(user) if user.is_active && user.token_version == version => Ok(user),
            _ => Err(AuthError::TokenInvalid),
        }
    }
}

fn required_token(field: &str, token: Option<String>) -> Result<String, AuthError> {
    let mut errors = FieldErrors::new();
    errors.required(field, &token);
    errors.into_result()?;
    Ok(token.unwrap_or_default())
}

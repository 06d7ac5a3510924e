//! Signed JWTs (HS256 only). Access tokens are short-lived; refresh tokens
//! are also recorded by `jti` in the database so they can be used once.

use std::time::Duration;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AuthError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenType {
    Access,
    Refresh,
}

impl TokenType {
    fn as_str(self) -> &'static str {
        match self {
            TokenType::Access => "access",
            TokenType::Refresh => "refresh",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub token_type: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: Uuid,
    pub user_id: Uuid,
    /// The user's token version when issued; a password change bumps it.
    pub ver: i32,
    /// The login (refresh-token family) the token belongs to: revoking the
    /// family (logout, reuse of a refresh token) kills its access tokens too.
    /// Absent on tokens issued before families were checked; those live
    /// until they expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fam: Option<Uuid>,
}

/// Who and which login a token is issued for.
#[derive(Debug, Clone, Copy)]
pub struct Subject {
    pub user_id: Uuid,
    pub version: i32,
    pub family: Uuid,
}

pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl TokenKeys {
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    pub fn issue(
        &self,
        token_type: TokenType,
        jti: Uuid,
        subject: Subject,
        ttl: Duration,
    ) -> Result<(String, DateTime<Utc>), AuthError> {
        let now = Utc::now();
        let expires = now + ttl;
        let claims = Claims {
            token_type: token_type.as_str().into(),
            exp: expires.timestamp(),
            iat: now.timestamp(),
            jti,
            user_id: subject.user_id,
            ver: subject.version,
            fam: Some(subject.family),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AuthError::Internal(format!("signing failed: {e}")))?;
        Ok((token, expires))
    }

    /// Checks signature, algorithm, expiry and type.
    pub fn decode(&self, token: &str, expected: TokenType) -> Result<Claims, AuthError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| AuthError::TokenInvalid)?;
        if data.claims.token_type != expected.as_str() {
            return Err(AuthError::TokenInvalid);
        }
        Ok(data.claims)
    }
}

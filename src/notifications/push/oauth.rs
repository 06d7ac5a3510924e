//! Google's OAuth2 "JWT bearer" flow for a service account: sign an assertion
//! with the key's RSA private key, trade it for a short-lived access token,
//! and keep that token until shortly before it expires.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::RsaPrivateKey;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::DecodePrivateKey;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use super::PushFailure;

pub const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Google accepts assertions valid for at most an hour.
const ASSERTION_LIFETIME_SECS: u64 = 3600;
const REFRESH_MARGIN: Duration = Duration::from_secs(60);
const MAX_LIFETIME_SECS: u64 = 24 * 3600;

/// The fields of the service-account key this client needs.
#[derive(Deserialize)]
struct KeyFile {
    client_email: String,
    private_key: String,
    private_key_id: String,
    project_id: String,
    token_uri: Option<String>,
}

/// A loaded service account. The private key lives only inside `key`.
pub struct ServiceAccount {
    pub client_email: String,
    pub private_key_id: String,
    pub project_id: String,
    pub token_uri: Option<String>,
    key: EncodingKey,
}

impl ServiceAccount {
    /// Reads and checks the key file, so a bad key stops start-up instead of every send.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "cannot read the FCM service-account key file {}",
                path.display()
            )
        })?;
        Self::parse(&text).with_context(|| {
            format!(
                "{} is not a usable Firebase service-account key (download a new one from \
                 Firebase console > Project settings > Service accounts)",
                path.display()
            )
        })
    }

    pub fn parse(json: &str) -> anyhow::Result<Self> {
        // serde_json's message names the missing field; it never quotes the key material.
        let file: KeyFile = serde_json::from_str(json).context("not a service-account JSON key")?;
        for (name, value) in [
            ("client_email", &file.client_email),
            ("private_key_id", &file.private_key_id),
            ("project_id", &file.project_id),
        ] {
            if value.trim().is_empty() {
                anyhow::bail!("the key's `{name}` is empty");
            }
        }
        // jsonwebtoken's rust_crypto backend signs with a PKCS#1 DER key; Google
        // ships PKCS#8 PEM. The errors of `rsa` describe the format, not the key.
        let private = RsaPrivateKey::from_pkcs8_pem(&file.private_key)
            .or_else(|_| RsaPrivateKey::from_pkcs1_pem(&file.private_key))
            .map_err(|e| anyhow::anyhow!("the key's `private_key` is not an RSA PEM key: {e}"))?;
        let der = private
            .to_pkcs1_der()
            .map_err(|e| anyhow::anyhow!("cannot encode the RSA key: {e}"))?;
        Ok(Self {
            client_email: file.client_email,
            private_key_id: file.private_key_id,
            project_id: file.project_id,
            token_uri: file.token_uri.filter(|u| !u.trim().is_empty()),
            key: EncodingKey::from_rsa_der(der.as_bytes()),
        })
    }

    /// The signed JWT that asks `audience` for an access token.
    pub fn assertion(&self, audience: &str, now: SystemTime) -> Result<String, String> {
        #[derive(Serialize)]
        struct Claims<'a> {
            iss: &'a str,
            scope: &'a str,
            aud: &'a str,
            iat: u64,
            exp: u64,
        }
        let iat = now
            .duration_since(UNIX_EPOCH)
            .map_err(|_| "the system clock is before 1970".to_string())?
            .as_secs();
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.private_key_id.clone());
        let claims = Claims {
            iss: &self.client_email,
            scope: SCOPE,
            aud: audience,
            iat,
            exp: iat + ASSERTION_LIFETIME_SECS,
        };
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| format!("cannot sign the OAuth assertion: {e}"))
    }
}

#[derive(Clone)]
struct Cached {
    token: String,
    refresh_at: Instant,
}

#[derive(Default)]
struct Cache {
    token: Option<Cached>,
    /// The last refresh's failure: when it ended, why, and any `Retry-After`.
    failed: Option<(Instant, String, Option<Duration>)>,
}

/// Hands out access tokens; one refresh at a time however many senders wait.
pub struct TokenSource {
    account: ServiceAccount,
    token_url: String,
    http: reqwest::Client,
    // A tokio Mutex held across the token request: concurrent senders queue
    // behind the one refreshing and then find the fresh token in the cache.
    cache: Mutex<Cache>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: Option<u64>,
}

impl TokenSource {
    pub fn new(account: ServiceAccount, token_url: String, http: reqwest::Client) -> Self {
        Self {
            account,
            token_url,
            http,
            cache: Mutex::new(Cache::default()),
        }
    }

    pub fn project_id(&self) -> &str {
        &self.account.project_id
    }

    pub async fn token(&self) -> Result<String, PushFailure> {
        let asked = Instant::now();
        let mut cache = self.cache.lock().await;
        if let Some(cached) = &cache.token
            && Instant::now() < cached.refresh_at
        {
            return Ok(cached.token.clone());
        }
        // A refresh failed while we queued: share its verdict, or a dead token
        // endpoint would be asked once per waiting sender, each in turn.
        if let Some((at, reason, after)) = &cache.failed
            && *at >= asked
        {
            return Err(PushFailure::Retry {
                reason: reason.clone(),
                after: *after,
            });
        }
        match self.fetch().await {
            Ok(fresh) => {
                let token = fresh.token.clone();
                *cache = Cache {
                    token: Some(fresh),
                    failed: None,
                };
                Ok(token)
            }
            Err(failure) => {
                if let PushFailure::Retry { reason, after } = &failure {
                    cache.failed = Some((Instant::now(), reason.clone(), *after));
                }
                Err(failure)
            }
        }
    }

    /// Forgets `stale` (FCM refused it), unless another sender already replaced it.
    pub async fn invalidate(&self, stale: &str) {
        let mut cache = self.cache.lock().await;
        if cache.token.as_ref().is_some_and(|c| c.token == stale) {
            cache.token = None;
        }
    }

    async fn fetch(&self) -> Result<Cached, PushFailure> {
        let retry = |reason: String| PushFailure::Retry {
            reason,
            after: None,
        };
        let assertion = self
            .account
            .assertion(&self.token_url, SystemTime::now())
            .map_err(retry)?;
        let form = serde_urlencoded::to_string([
            ("grant_type", GRANT_TYPE),
            ("assertion", assertion.as_str()),
        ])
        .map_err(|e| retry(format!("cannot encode the token request: {e}")))?;
        let started = Instant::now();
        let response = self
            .http
            .post(&self.token_url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(form)
            .send()
            .await
            .map_err(|e| retry(format!("OAuth token endpoint unreachable: {e}")))?;
        let status = response.status();
        if !status.is_success() {
            // Even a 400 (invalid_grant: revoked key, skewed clock) is not this
            // message's fault: retrying keeps the message until the key is fixed.
            let after = super::fcm::retry_after(response.headers(), SystemTime::now());
            let body = response.text().await.unwrap_or_default();
            tracing::warn!(%status, body = %truncate(&body, 300), "FCM: the OAuth token endpoint refused the service account");
            return Err(PushFailure::Retry {
                reason: format!("OAuth token endpoint answered {status}"),
                after,
            });
        }
        let parsed: TokenResponse = response.json().await.map_err(|e| {
            retry(format!(
                "OAuth token endpoint sent an unreadable answer: {e}"
            ))
        })?;
        if parsed.access_token.is_empty() {
            return Err(retry("OAuth token endpoint sent an empty token".into()));
        }
        // Google documents 3600 s; assume that when the field is missing, and
        // cap it so an absurd value cannot overflow the deadline.
        let lifetime =
            Duration::from_secs(parsed.expires_in.unwrap_or(3600).min(MAX_LIFETIME_SECS));
        tracing::debug!(
            lifetime_secs = lifetime.as_secs(),
            "FCM: fetched an access token"
        );
        Ok(Cached {
            token: parsed.access_token,
            refresh_at: started + lifetime.saturating_sub(refresh_margin(lifetime)),
        })
    }
}

/// Renew 60 s early, or a quarter early for lifetimes too short for that,
/// so a token never expires between our check and FCM's.
pub fn refresh_margin(lifetime: Duration) -> Duration {
    REFRESH_MARGIN.min(lifetime / 4)
}

pub fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_renewed_early_but_never_before_they_are_used() {
        assert_eq!(
            refresh_margin(Duration::from_secs(3600)),
            Duration::from_secs(60)
        );
        assert_eq!(
            refresh_margin(Duration::from_secs(2)),
            Duration::from_millis(500)
        );
        assert_eq!(refresh_margin(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn a_key_without_an_identity_is_refused() {
        let pem = include_str!("../../../tests/fixtures/fcm_test_only_private_key.pem");
        let key = |email: &str| {
            serde_json::json!({"client_email": email, "private_key": pem,
                "private_key_id": "k1", "project_id": "p"})
            .to_string()
        };
        let account = ServiceAccount::parse(&key("a@p.iam.gserviceaccount.com")).unwrap();
        let assertion = account.assertion("https://t", SystemTime::now()).unwrap();
        let header = jsonwebtoken::decode_header(&assertion).unwrap();
        assert_eq!(header.alg, Algorithm::RS256);
        assert_eq!(header.kid.as_deref(), Some("k1"));
        let error = ServiceAccount::parse(&key(" ")).err().unwrap().to_string();
        assert!(error.contains("client_email"), "{error}");
    }
}

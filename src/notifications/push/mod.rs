//! Push notifications through Firebase Cloud Messaging (HTTP v1): one message
//! to one device token, and a verdict the delivery queue can act on
//! (delete the device, try later, or give up).

mod fcm;
mod oauth;

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use anyhow::Context;

use fcm::Outcome;
use oauth::{ServiceAccount, TokenSource};

#[derive(Clone, Debug)]
pub struct FcmSettings {
    /// Path of the service-account JSON key (Firebase console > Project settings > Service accounts). None: push is off.
    pub service_account_file: Option<PathBuf>,
    /// OAuth2 token endpoint; None: the key's `token_uri` (normally https://oauth2.googleapis.com/token).
    pub token_url: Option<String>,
    /// FCM base URL, default "https://fcm.googleapis.com"; tests point it at a loopback stand-in.
    pub base_url: String,
}

pub const DEFAULT_BASE_URL: &str = "https://fcm.googleapis.com";
const DEFAULT_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";

impl Default for FcmSettings {
    fn default() -> Self {
        Self {
            service_account_file: None,
            token_url: None,
            base_url: DEFAULT_BASE_URL.into(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Platform {
    Android,
    Ios,
    Web,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Android => "android",
            Platform::Ios => "ios",
            Platform::Web => "web",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "android" => Some(Platform::Android),
            "ios" => Some(Platform::Ios),
            "web" => Some(Platform::Web),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct PushMessage {
    /// The device's FCM registration token.
    pub token: String,
    pub platform: Platform,
    pub title: String,
    pub body: String,
    /// e.g. "chat_message", "order_status".
    pub kind: String,
    /// Deep link, e.g. atelier://orders/<id>.
    pub link: String,
    pub object_id: Option<String>,
    pub notification_id: uuid::Uuid,
    /// The user's unread count.
    pub badge: i64,
    /// e.g. "chat:<conversation id>": a newer push replaces an older one on the device.
    pub collapse_key: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PushFailure {
    /// FCM says the token is no longer valid (404 UNREGISTERED, or 400 INVALID_ARGUMENT about the token): delete the device.
    #[error("device token no longer valid: {0}")]
    Unregistered(String),
    /// Try again later (429, 5xx, network error, token endpoint unavailable). `after` comes from `Retry-After` (seconds, or an HTTP date) when FCM sent one.
    #[error("push failed for now ({reason}); retry after {after:?}")]
    Retry {
        reason: String,
        after: Option<Duration>,
    },
    /// Will never succeed for this message (other 4xx, e.g. 403 SENDER_ID_MISMATCH, bad payload).
    #[error("push failed: {0}")]
    Failed(String),
}

/// Sends to FCM with the service account's access token. Cheap to share behind
/// an `Arc`: one HTTP connection pool and one token cache for all senders.
pub struct FcmClient {
    http: reqwest::Client,
    send_url: String,
    tokens: TokenSource,
}

// Written by hand so the key and the access token never reach a log line.
impl std::fmt::Debug for FcmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FcmClient")
            .field("project_id", &self.tokens.project_id())
            .field("send_url", &self.send_url)
            .finish()
    }
}

impl FcmClient {
    /// Ok(None) when no key file is configured. A missing/unreadable/invalid key is a clear error at start-up.
    pub fn from_settings(settings: &FcmSettings) -> anyhow::Result<Option<Self>> {
        let Some(path) = &settings.service_account_file else {
            return Ok(None);
        };
        let account = ServiceAccount::load(path)?;
        let token_url = settings
            .token_url
            .clone()
            .or_else(|| account.token_uri.clone())
            .unwrap_or_else(|| DEFAULT_TOKEN_URL.into());
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            // FCM answers in well under a second; a hung request would hold a
            // queue worker (and, for the token, every sender) for too long.
            .timeout(Duration::from_secs(15))
            .build()
            .context("cannot build the HTTP client for FCM")?;
        let base_url = settings.base_url.trim_end_matches('/');
        let send_url = format!(
            "{base_url}/v1/projects/{}/messages:send",
            account.project_id
        );
        Ok(Some(Self {
            tokens: TokenSource::new(account, token_url, http.clone()),
            http,
            send_url,
        }))
    }

    /// Sends one message to one device. A 401 for a cached access token gets
    /// one more try with a fresh token (it may have been revoked early).
    pub async fn send(&self, message: &PushMessage) -> Result<(), PushFailure> {
        let body = fcm::message_body(message);
        let token = self.tokens.token().await?;
        match self.post(&token, &body).await {
            Outcome::Sent => Ok(()),
            Outcome::Failure(failure) => Err(failure),
            Outcome::Unauthenticated => {
                self.tokens.invalidate(&token).await;
                let token = self.tokens.token().await?;
                match self.post(&token, &body).await {
                    Outcome::Sent => Ok(()),
                    Outcome::Failure(failure) => Err(failure),
                    // Our key is refused even with a fresh token (revoked, or the
                    // API is off for the project): keep the message for later.
                    Outcome::Unauthenticated => Err(PushFailure::Retry {
                        reason: "FCM refused a freshly issued access token (401)".into(),
                        after: None,
                    }),
                }
            }
        }
    }

    async fn post(&self, token: &str, body: &serde_json::Value) -> Outcome {
        let response = match self
            .http
            .post(&self.send_url)
            .bearer_auth(token)
            .json(body)
            .send()
            .await
        {
            Ok(response) => response,
            Err(e) => {
                return Outcome::Failure(PushFailure::Retry {
                    reason: format!("FCM unreachable: {e}"),
                    after: None,
                });
            }
        };
        let status = response.status();
        let after = fcm::retry_after(response.headers(), SystemTime::now());
        let text = match response.text().await {
            Ok(text) => text,
            Err(_) if status.is_success() => String::new(),
            Err(e) => {
                return Outcome::Failure(PushFailure::Retry {
                    reason: format!("FCM answer cut short ({status}): {e}"),
                    after,
                });
            }
        };
        fcm::classify(status, after, &text)
    }
}

#[cfg(test)]
mod tests {
    use super::Platform;

    #[test]
    fn platforms_round_trip() {
        for platform in [Platform::Android, Platform::Ios, Platform::Web] {
            assert_eq!(Platform::parse(platform.as_str()), Some(platform));
        }
        assert_eq!(Platform::parse("Android"), None);
    }
}

//! A stand-in for Google's OAuth2 token endpoint and FCM's HTTP v1 API on
//! loopback, answering with the documented JSON. The token endpoint checks
//! the JWT assertion's RS256 signature against the test-only public key in
//! `tests/fixtures`; `messages:send` accepts only tokens it issued.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs8::DecodePublicKey;
use serde_json::{Value, json};
use uuid::Uuid;

pub const PROJECT_ID: &str = "atelier-test";
pub const CLIENT_EMAIL: &str = "atelier-push@atelier-test.iam.gserviceaccount.com";
pub const KEY_ID: &str = "test-only-key-1";
pub const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
/// Test-only key pair: never used anywhere but these tests.
pub const PRIVATE_KEY_PEM: &str = include_str!("../fixtures/fcm_test_only_private_key.pem");
const PUBLIC_KEY_PEM: &str = include_str!("../fixtures/fcm_test_only_public_key.pem");

/// How `messages:send` answers for one registration token.
#[derive(Clone, Copy, Debug)]
pub enum Behaviour {
    /// 404 NOT_FOUND / UNREGISTERED: the app was uninstalled.
    Unregistered,
    /// 400 INVALID_ARGUMENT naming `message.token`.
    InvalidToken,
    /// 503 UNAVAILABLE with `Retry-After: retry_after` for the first `times` sends.
    Unavailable { times: usize, retry_after: u64 },
    /// 429 RESOURCE_EXHAUSTED / QUOTA_EXCEEDED, without `Retry-After`.
    QuotaExceeded,
    /// 401 UNAUTHENTICATED once, revoking the access token presented.
    RejectAuthOnce,
    /// 403 PERMISSION_DENIED / SENDER_ID_MISMATCH.
    SenderIdMismatch,
}

#[derive(Default)]
struct Inner {
    /// Issued access tokens and when they expire.
    issued: HashMap<String, Instant>,
    token_requests: usize,
    token_lifetime_secs: u64,
    token_endpoint_down: bool,
    received: Vec<Value>,
    scripts: HashMap<String, (Behaviour, usize)>,
}

#[derive(Clone)]
pub struct FcmStandIn {
    url: String,
    inner: Arc<Mutex<Inner>>,
}

impl FcmStandIn {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner {
            token_lifetime_secs: 3599,
            ..Inner::default()
        }));
        let app = Router::new()
            .route("/token", post(token))
            .route("/v1/projects/{project}/messages:send", post(send))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, inner }
    }

    pub fn base_url(&self) -> String {
        self.url.clone()
    }

    pub fn token_url(&self) -> String {
        format!("{}/token", self.url)
    }

    /// Every `messages:send` body accepted, in order.
    pub fn received(&self) -> Vec<Value> {
        self.inner.lock().unwrap().received.clone()
    }

    pub fn token_requests(&self) -> usize {
        self.inner.lock().unwrap().token_requests
    }

    /// `expires_in` of the access tokens issued from now on.
    pub fn set_token_lifetime(&self, secs: u64) {
        self.inner.lock().unwrap().token_lifetime_secs = secs;
    }

    /// The token endpoint answers 503 while this is on.
    pub fn set_token_endpoint_down(&self, down: bool) {
        self.inner.lock().unwrap().token_endpoint_down = down;
    }

    /// Answers sends to this registration token with `behaviour`.
    pub fn script(&self, registration_token: &str, behaviour: Behaviour) {
        self.inner
            .lock()
            .unwrap()
            .scripts
            .insert(registration_token.to_string(), (behaviour, 0));
    }
}

/// Writes a service-account key for `standin` into a fresh temporary folder.
pub fn write_service_account(standin: &FcmStandIn) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("atelier-fcm-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("service-account.json");
    let key = json!({
        "type": "service_account",
        "project_id": PROJECT_ID,
        "private_key_id": KEY_ID,
        "private_key": PRIVATE_KEY_PEM,
        "client_email": CLIENT_EMAIL,
        "client_id": "100000000000000000001",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": standin.token_url(),
    });
    std::fs::write(&path, key.to_string()).unwrap();
    path
}

fn oauth_error(description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": "invalid_grant", "error_description": description})),
    )
        .into_response()
}

async fn token(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let audience = format!("http://{}/token", headers["host"].to_str().unwrap());
    {
        let mut inner = inner.lock().unwrap();
        inner.token_requests += 1;
        if inner.token_endpoint_down {
            return (StatusCode::SERVICE_UNAVAILABLE, "token service down").into_response();
        }
    }
    if headers.get("content-type").and_then(|v| v.to_str().ok())
        != Some("application/x-www-form-urlencoded")
    {
        return oauth_error("form body expected");
    }
    let form: HashMap<String, String> = match serde_urlencoded::from_str(&body) {
        Ok(form) => form,
        Err(_) => return oauth_error("unreadable form"),
    };
    if form.get("grant_type").map(String::as_str)
        != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "unsupported_grant_type"})),
        )
            .into_response();
    }
    let Some(assertion) = form.get("assertion") else {
        return oauth_error("no assertion");
    };
    let header = match jsonwebtoken::decode_header(assertion) {
        Ok(header) => header,
        Err(_) => return oauth_error("unreadable assertion"),
    };
    if header.alg != Algorithm::RS256 || header.kid.as_deref() != Some(KEY_ID) {
        return oauth_error("wrong algorithm or key id");
    }
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[CLIENT_EMAIL]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud"]);
    let claims = match jsonwebtoken::decode::<Value>(assertion, &public_key(), &validation) {
        Ok(data) => data.claims,
        Err(e) => return oauth_error(&format!("Invalid JWT: {e}")),
    };
    let (Some(iat), Some(exp)) = (claims["iat"].as_u64(), claims["exp"].as_u64()) else {
        return oauth_error("iat and exp must be numbers");
    };
    if claims["scope"] != SCOPE || exp != iat + 3600 {
        return oauth_error("wrong scope or lifetime");
    }
    let mut inner = inner.lock().unwrap();
    let lifetime = inner.token_lifetime_secs;
    let access_token = format!("ya29.standin-{}", Uuid::new_v4().simple());
    inner.issued.insert(
        access_token.clone(),
        Instant::now() + Duration::from_secs(lifetime),
    );
    Json(json!({"access_token": access_token, "expires_in": lifetime, "token_type": "Bearer"}))
        .into_response()
}

fn public_key() -> DecodingKey {
    let key = rsa::RsaPublicKey::from_public_key_pem(PUBLIC_KEY_PEM).unwrap();
    DecodingKey::from_rsa_der(key.to_pkcs1_der().unwrap().as_bytes())
}

fn fcm_error(
    status: StatusCode,
    grpc: &str,
    code: &str,
    message: &str,
    extra: &[Value],
) -> Response {
    let mut details = vec![json!({
        "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
        "errorCode": code,
    })];
    details.extend_from_slice(extra);
    let body = json!({"error": {"code": status.as_u16(), "message": message, "status": grpc, "details": details}});
    (status, Json(body)).into_response()
}

fn unauthenticated() -> Response {
    let body = json!({"error": {"code": 401, "status": "UNAUTHENTICATED",
        "message": "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential."}});
    (StatusCode::UNAUTHORIZED, Json(body)).into_response()
}

async fn send(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(project): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_string();
    let mut inner = inner.lock().unwrap();
    let valid = inner
        .issued
        .get(&bearer)
        .is_some_and(|expires| Instant::now() < *expires);
    if !valid {
        return unauthenticated();
    }
    if project != PROJECT_ID {
        return fcm_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "",
            "Requested entity was not found.",
            &[],
        );
    }
    let registration = body["message"]["token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if let Some((behaviour, calls)) = inner.scripts.get_mut(&registration) {
        *calls += 1;
        let calls = *calls;
        match *behaviour {
            Behaviour::Unregistered => {
                return fcm_error(
                    StatusCode::NOT_FOUND,
                    "NOT_FOUND",
                    "UNREGISTERED",
                    "Requested entity was not found.",
                    &[],
                );
            }
            Behaviour::InvalidToken => {
                let violation = json!({"@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [{"field": "message.token", "description": "Invalid registration token"}]});
                return fcm_error(
                    StatusCode::BAD_REQUEST,
                    "INVALID_ARGUMENT",
                    "INVALID_ARGUMENT",
                    "The registration token is not a valid FCM registration token",
                    &[violation],
                );
            }
            Behaviour::Unavailable { times, retry_after } if calls <= times => {
                let mut response = fcm_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "UNAVAILABLE",
                    "UNAVAILABLE",
                    "The service is currently unavailable.",
                    &[],
                );
                response
                    .headers_mut()
                    .insert("retry-after", retry_after.into());
                return response;
            }
            Behaviour::QuotaExceeded => {
                return fcm_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "RESOURCE_EXHAUSTED",
                    "QUOTA_EXCEEDED",
                    "Quota exceeded for quota metric 'Send messages'.",
                    &[],
                );
            }
            Behaviour::RejectAuthOnce if calls == 1 => {
                inner.issued.remove(&bearer);
                return unauthenticated();
            }
            Behaviour::SenderIdMismatch => {
                return fcm_error(
                    StatusCode::FORBIDDEN,
                    "PERMISSION_DENIED",
                    "SENDER_ID_MISMATCH",
                    "SenderId mismatch",
                    &[],
                );
            }
            _ => {}
        }
    }
    inner.received.push(body);
    let name = format!(
        "projects/{PROJECT_ID}/messages/0:{}",
        Uuid::new_v4().simple()
    );
    Json(json!({ "name": name })).into_response()
}

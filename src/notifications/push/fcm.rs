//! The FCM HTTP v1 wire format: the `messages:send` body, and what an error
//! answer means for the device and for the message.
//! Schema: https://firebase.google.com/docs/reference/fcm/rest/v1/projects.messages
//! Errors: https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode

use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::{Platform, PushFailure, PushMessage};

/// APNs refuses an `apns-collapse-id` longer than this many bytes.
const APNS_COLLAPSE_ID_MAX: usize = 64;
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// The `{"message": ...}` body for one device.
pub fn message_body(message: &PushMessage) -> Value {
    let mut data = Map::new();
    data.insert("kind".into(), json!(message.kind));
    data.insert("link".into(), json!(message.link));
    if let Some(object_id) = &message.object_id {
        data.insert("object_id".into(), json!(object_id));
    }
    data.insert(
        "notification_id".into(),
        json!(message.notification_id.to_string()),
    );
    let mut body = Map::new();
    body.insert("token".into(), json!(message.token));
    body.insert(
        "notification".into(),
        json!({"title": message.title, "body": message.body}),
    );
    body.insert("data".into(), Value::Object(data));
    let collapse = message.collapse_key.as_deref().filter(|k| !k.is_empty());
    // Counts can't be negative, and Android's field is an int32.
    let badge = message.badge.clamp(0, i64::from(i32::MAX));
    // The token belongs to one platform, so only its block is sent.
    match message.platform {
        Platform::Android => {
            let mut notification = Map::new();
            notification.insert("notification_count".into(), json!(badge));
            let mut android = Map::new();
            if let Some(key) = collapse {
                android.insert("collapse_key".into(), json!(key));
                // The tag is what replaces an older notification in the tray;
                // collapse_key only drops undelivered ones.
                notification.insert("tag".into(), json!(key));
            }
            // A user-visible notification: HIGH is what FCM allows for those.
            android.insert("priority".into(), json!("HIGH"));
            android.insert("notification".into(), Value::Object(notification));
            body.insert("android".into(), Value::Object(android));
        }
        Platform::Ios => {
            let mut aps = Map::new();
            aps.insert("badge".into(), json!(badge));
            let mut apns = Map::new();
            if let Some(key) = collapse {
                aps.insert("thread-id".into(), json!(key));
                apns.insert(
                    "headers".into(),
                    json!({"apns-collapse-id": apns_collapse_id(key)}),
                );
            }
            apns.insert("payload".into(), json!({"aps": aps}));
            body.insert("apns".into(), Value::Object(apns));
        }
        Platform::Web => {
            let mut webpush = Map::new();
            if let Some(key) = collapse {
                webpush.insert("notification".into(), json!({"tag": key}));
            }
            // FCM rejects the whole message when this link is not HTTPS; an app
            // deep link (atelier://) still reaches the page through `data.link`.
            if message.link.starts_with("https://") {
                webpush.insert("fcm_options".into(), json!({"link": message.link}));
            }
            if !webpush.is_empty() {
                body.insert("webpush".into(), Value::Object(webpush));
            }
        }
    }
    json!({ "message": body })
}

/// Keys up to 64 bytes go as they are; a longer one is hashed to 64 hex
/// characters, so it still collapses instead of failing the send.
fn apns_collapse_id(key: &str) -> String {
    if key.len() <= APNS_COLLAPSE_ID_MAX {
        return key.to_string();
    }
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `Retry-After` as delta-seconds or an HTTP date; a date in the past is "now".
/// Capped at a day, so a caller adding it to a clock cannot overflow.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let after = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => {
            let at = httpdate::parse_http_date(value).ok()?;
            at.duration_since(now).unwrap_or(Duration::ZERO)
        }
    };
    Some(after.min(MAX_RETRY_AFTER))
}

/// What one `messages:send` answer means.
#[derive(Debug)]
pub enum Outcome {
    Sent,
    /// Our access token was refused: fetch a new one and try once more.
    Unauthenticated,
    Failure(PushFailure),
}

#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    error: ErrorStatus,
}

#[derive(Deserialize, Default)]
struct ErrorStatus {
    #[serde(default)]
    message: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    details: Vec<Value>,
}

/// Reads an answer's status, `Retry-After` and (Google API error) body.
pub fn classify(status: StatusCode, after: Option<Duration>, body: &str) -> Outcome {
    if status.is_success() {
        return Outcome::Sent;
    }
    let parsed: ErrorBody = serde_json::from_str(body).unwrap_or_default();
    let error = parsed.error;
    // FCM's own code (FcmError detail) is more precise than the gRPC status.
    let fcm_code = error
        .details
        .iter()
        .filter_map(|d| d.get("errorCode").and_then(Value::as_str))
        .next()
        .unwrap_or("");
    let code = if fcm_code.is_empty() {
        error.status.as_str()
    } else {
        fcm_code
    };
    let reason = format!(
        "FCM answered {} {}: {}",
        status.as_u16(),
        if code.is_empty() {
            "(no error code)"
        } else {
            code
        },
        super::oauth::truncate(&error.message, 200)
    );
    match (status, code) {
        (_, "UNREGISTERED") => Outcome::Failure(PushFailure::Unregistered(reason)),
        (_, "INVALID_ARGUMENT") if about_the_token(&error) => {
            Outcome::Failure(PushFailure::Unregistered(reason))
        }
        // A broken APNs certificate or web-push key: a configuration fault in the
        // Firebase console, not our token, so a fresh token would not help.
        (_, "THIRD_PARTY_AUTH_ERROR") => Outcome::Failure(PushFailure::Failed(reason)),
        (StatusCode::UNAUTHORIZED, _) => Outcome::Unauthenticated,
        (_, "QUOTA_EXCEEDED" | "UNAVAILABLE" | "INTERNAL") => {
            Outcome::Failure(PushFailure::Retry { reason, after })
        }
        (s, _) if s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error() => {
            Outcome::Failure(PushFailure::Retry { reason, after })
        }
        // Proxies and load balancers answer 408 for their own time-outs.
        (StatusCode::REQUEST_TIMEOUT, _) => Outcome::Failure(PushFailure::Retry { reason, after }),
        // A 404 without UNREGISTERED (a wrong project id, say) is ours to fix:
        // deleting the device for it would lose a good token.
        _ => Outcome::Failure(PushFailure::Failed(reason)),
    }
}

/// INVALID_ARGUMENT covers both a bad payload and a malformed token; only the
/// latter says the device must go. FCM names the field in a BadRequest detail.
fn about_the_token(error: &ErrorStatus) -> bool {
    let names_token = error.details.iter().any(|d| {
        d.get("fieldViolations")
            .and_then(Value::as_array)
            .is_some_and(|violations| {
                violations
                    .iter()
                    .any(|v| v.get("field").and_then(Value::as_str) == Some("message.token"))
            })
    });
    names_token
        || error
            .message
            .to_ascii_lowercase()
            .contains("registration token")
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(
            retry_after(&headers("120"), now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            retry_after(&headers("Sun, 06 Nov 1994 08:50:07 GMT"), now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after(&headers("Sun, 06 Nov 1994 08:00:00 GMT"), now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            retry_after(&headers("18446744073709551615"), now),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(retry_after(&headers("soon"), now), None);
        assert_eq!(retry_after(&headers("-5"), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    fn fcm_error(code: u16, status: &str, fcm_code: &str, extra: Value) -> String {
        json!({"error": {"code": code, "message": "m", "status": status, "details": [
            {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": fcm_code},
            extra,
        ]}})
        .to_string()
    }

    fn kind(status: u16, body: &str) -> String {
        let status = StatusCode::from_u16(status).unwrap();
        match classify(status, None, body) {
            Outcome::Sent => "sent".into(),
            Outcome::Unauthenticated => "unauthenticated".into(),
            Outcome::Failure(PushFailure::Unregistered(_)) => "unregistered".into(),
            Outcome::Failure(PushFailure::Retry { .. }) => "retry".into(),
            Outcome::Failure(PushFailure::Failed(_)) => "failed".into(),
        }
    }

    #[test]
    fn errors_are_classified_as_fcm_documents_them() {
        let token_violation = json!({"@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [{"field": "message.token", "description": "Invalid registration token"}]});
        let payload_violation = json!({"@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [{"field": "message.android.ttl", "description": "Invalid duration"}]});
        let none = json!({});
        assert_eq!(kind(200, "{}"), "sent");
        assert_eq!(
            kind(
                404,
                &fcm_error(404, "NOT_FOUND", "UNREGISTERED", none.clone())
            ),
            "unregistered"
        );
        assert_eq!(
            kind(404, r#"{"error":{"code":404,"status":"NOT_FOUND"}}"#),
            "failed"
        );
        assert_eq!(
            kind(
                400,
                &fcm_error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", token_violation)
            ),
            "unregistered"
        );
        assert_eq!(
            kind(
                400,
                &fcm_error(
                    400,
                    "INVALID_ARGUMENT",
                    "INVALID_ARGUMENT",
                    payload_violation
                )
            ),
            "failed"
        );
        assert_eq!(
            kind(
                403,
                &fcm_error(403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH", none.clone())
            ),
            "failed"
        );
        assert_eq!(
            kind(
                429,
                &fcm_error(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED", none.clone())
            ),
            "retry"
        );
        assert_eq!(
            kind(
                503,
                &fcm_error(503, "UNAVAILABLE", "UNAVAILABLE", none.clone())
            ),
            "retry"
        );
        assert_eq!(
            kind(500, &fcm_error(500, "INTERNAL", "INTERNAL", none.clone())),
            "retry"
        );
        assert_eq!(kind(502, "<html>bad gateway</html>"), "retry");
        assert_eq!(
            kind(401, r#"{"error":{"code":401,"status":"UNAUTHENTICATED"}}"#),
            "unauthenticated"
        );
        assert_eq!(
            kind(
                401,
                &fcm_error(401, "UNAUTHENTICATED", "THIRD_PARTY_AUTH_ERROR", none)
            ),
            "failed"
        );
    }

    #[test]
    fn long_collapse_keys_fit_apns() {
        assert_eq!(apns_collapse_id("chat:1"), "chat:1");
        let long = "x".repeat(100);
        assert_eq!(apns_collapse_id(&long).len(), APNS_COLLAPSE_ID_MAX);
    }
}

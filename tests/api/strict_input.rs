//! Input a client should never get away with, and refusals that must leave
//! the connection usable.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::both_backends;
use crate::helpers::{TestApp, body_of, create_superuser, status_and_body};

const NOT_OBJECTS: [&str; 7] = [
    "[]",
    "[\"a@example.com\"]",
    "[\"Positional name\"]",
    "\"text\"",
    "42",
    "null",
    "true",
];

/// Every JSON operation in the spec, with its path parameters filled in.
fn json_operations(spec: &Value) -> Vec<(Method, String)> {
    let mut operations = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            // The webhook checks a signature over its raw bytes first.
            if operation["requestBody"]["content"]["application/json"].is_null()
                || path.contains("webhook")
            {
                continue;
            }
            let concrete = path
                .split('/')
                .map(|segment| match segment {
                    s if s.starts_with('{') => uuid::Uuid::now_v7().to_string(),
                    s => s.to_string(),
                })
                .collect::<Vec<_>>()
                .join("/");
            operations.push((method.to_uppercase().parse().unwrap(), concrete));
        }
    }
    operations
}

both_backends! {
    async fn a_json_body_that_is_not_an_object_is_400_everywhere(backend) {
        let app = TestApp::spawn(backend).await;
        create_superuser(&app, "root");
        let admin = body_of(app.login("root", "Admin-Chalk-Marks-31").await).await;
        let token = admin["access"].as_str().unwrap().to_string();
        let spec = body_of(app.get("/api/openapi.json").await).await;
        let operations = json_operations(&spec);
        assert!(operations.len() > 20, "{operations:?}");
        for (method, path) in &operations {
            for body in NOT_OBJECTS {
                let response = app.client.request(method.clone(), app.url(path))
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .header("idempotency-key", uuid::Uuid::now_v7().to_string())
                    .body(body)
                    .send().await.unwrap();
                let (status, answer) = status_and_body(response).await;
                // A path naming nothing, or a role the caller lacks, may be
                // refused before the body is read.
                if status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN {
                    continue;
                }
                assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {path} with {body}: {answer}");
                assert_eq!(answer["code"], "parse_error", "{method} {path} with {body}");
                assert!(answer["detail"].as_str().unwrap().contains("Expected a JSON object"), "{answer}");
            }
        }

        // The two the issue names: nothing was created or changed.
        let categories = body_of(app.get("/shop/api/categories/").await).await;
        assert_eq!(categories, json!([]));
        let me = app.client.patch(app.url("/auth/api/users/me/")).bearer_auth(&token)
            .header("content-type", "application/json").body("[]").send().await.unwrap();
        assert_eq!(me.status(), StatusCode::BAD_REQUEST);
    }

    async fn a_refusal_before_the_body_is_read_leaves_the_connection_usable(backend) {
        let app = TestApp::spawn(backend).await;
        let address = app.address.trim_start_matches("http://").to_string();
        let mut conn = TcpStream::connect(&address).await.unwrap();

        // 401: no token, a body the handler never reads.
        let body = format!("{{\"first_name\": \"{}\"}}", "x".repeat(64 * 1024));
        let (status, _) = exchange(&mut conn, "PATCH", "/auth/api/users/me/", "application/json", body.as_bytes()).await;
        assert_eq!(status, 401);
        // 415: the content type is refused first.
        let (status, _) = exchange(&mut conn, "POST", "/auth/api/login/", "text/plain", &[b'y'; 100_000]).await;
        assert_eq!(status, 415);
        // 413: over the 1 MiB limit by its Content-Length.
        let (status, headers) = exchange(&mut conn, "POST", "/auth/api/login/", "application/json", &vec![b' '; 2 * 1024 * 1024]).await;
        assert_eq!(status, 413);
        assert!(!headers.to_ascii_lowercase().contains("connection: close"), "{headers}");
        // The same connection still serves the next request.
        let (status, _) = exchange(&mut conn, "GET", "/health", "application/json", b"").await;
        assert_eq!(status, 200);
    }
}

/// Writes one HTTP/1.1 request on a kept-alive connection and reads its
/// answer: the status and the raw header block.
async fn exchange(
    conn: &mut TcpStream,
    method: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> (u16, String) {
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: test\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(body).await.unwrap();
    let mut received = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let n = conn.read(&mut chunk).await.expect("the answer arrives");
        assert!(
            n > 0,
            "connection closed before the answer ({method} {path})"
        );
        received.extend_from_slice(&chunk[..n]);
    };
    let headers = String::from_utf8_lossy(&received[..header_end]).to_string();
    let length: usize = headers
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })
        .unwrap_or(0);
    while received.len() < header_end + length {
        let n = conn.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed inside the answer");
        received.extend_from_slice(&chunk[..n]);
    }
    let status = headers[9..12].parse().unwrap();
    (status, headers)
}

//! The real `atelier` binary as a user runs it: zero-config start, clear
//! start-up errors, no secrets in the logs, graceful stop on SIGTERM.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::both_backends;
use crate::chat_support::ChatSocket;
use crate::helpers::{PASSWORD, TestDatabase, body_of, free_port};
use crate::smtp::SmtpSink;

/// `atelier serve` with a clean environment plus `env`, logging to a file.
struct Server {
    child: Child,
    log: PathBuf,
    base: String,
}

impl Server {
    fn start(dir: &Path, env: &[(&str, String)]) -> Self {
        let port = free_port();
        let log = dir.join("server.log");
        let file = std::fs::File::create(&log).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_atelier"));
        command
            .arg("serve")
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("ATELIER_LISTEN", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "debug,sqlx=warn,sea_orm=warn,hyper=info")
            .stdout(Stdio::from(file.try_clone().unwrap()))
            .stderr(Stdio::from(file));
        for (key, value) in env {
            command.env(key, value);
        }
        Server {
            child: command.spawn().expect("start atelier serve"),
            log,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    async fn wait_ready(&self) {
        for _ in 0..100 {
            if let Ok(r) = reqwest::get(format!("{}/health/ready", self.base)).await
                && r.status() == StatusCode::OK
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("server did not start: {}", self.log_text());
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    async fn wait_exit(&mut self) -> std::process::ExitStatus {
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = self.child.kill();
        panic!("server did not exit after SIGTERM: {}", self.log_text());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

both_backends! {
    async fn the_binary_logs_no_secrets_and_drains_on_sigterm(backend) {
        let database = TestDatabase::create(backend).await;
        let smtp = SmtpSink::start().await;
        let dir = database.data_dir();
        let mut server = Server::start(&dir, &[
            ("DATABASE_URL", database.url.clone()),
            ("SMTP_URL", smtp.url()),
            ("ATELIER_DATA_DIR", dir.display().to_string()),
        ]);
        server.wait_ready().await;
        let client = reqwest::Client::new();
        let url = |p: &str| format!("{}{p}", server.base);
        let registered = client.post(url("/auth/api/register/"))
            .json(&json!({"email": "quiet@example.com", "username": "quiet", "password": PASSWORD}))
            .send().await.unwrap();
        assert_eq!(registered.status(), StatusCode::CREATED);
        let code = smtp.wait_for_nth("quiet@example.com", 1).await.code();
        let verified = client.post(url(&format!("/auth/api/register/verify-otp/{code}/")))
            .json(&json!({"email": "quiet@example.com"})).send().await.unwrap();
        assert_eq!(verified.status(), StatusCode::OK);
        let tokens = body_of(client.post(url("/auth/api/login/"))
            .json(&json!({"username": "quiet", "password": PASSWORD})).send().await.unwrap()).await;
        let access = tokens["access"].as_str().unwrap().to_string();
        let refresh = tokens["refresh"].as_str().unwrap().to_string();
        // A chat socket signed in through the query string: the token stays
        // out of the log, and SIGTERM closes the socket cleanly.
        let mut socket = ChatSocket::open(&server.base, &format!("?token={access}")).await;
        socket.next_of("ready").await;

        // A request still in flight when SIGTERM arrives: headers sent, body not yet.
        let mut slow = tokio::net::TcpStream::connect(server.base.trim_start_matches("http://")).await.unwrap();
        let body = json!({"username": "quiet", "password": "Wrong-Password-1"}).to_string();
        let head = format!(
            "POST /auth/api/login/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        slow.write_all(head.as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        server.terminate();
        tokio::time::sleep(Duration::from_millis(300)).await;
        slow.write_all(body.as_bytes()).await.unwrap();
        let mut answer = String::new();
        let _ = tokio::time::timeout(Duration::from_secs(10), slow.read_to_string(&mut answer)).await;
        assert!(answer.starts_with("HTTP/1.1 401"), "in-flight request was not answered: {answer:?}");
        assert_eq!(socket.closed_with().await, 1001, "the chat socket is closed as going away");

        let status = server.wait_exit().await;
        assert!(status.success(), "exit status {status:?}");
        let log = server.log_text();
        assert!(log.contains("account registered") && log.contains("request_id"), "{log}");
        assert!(log.contains("verify-otp/{otp}"), "the route template is logged: {log}");
        for secret in [code.as_str(), PASSWORD, access.as_str(), refresh.as_str(), "argon2id", "test-secret"] {
            assert!(!log.contains(secret), "the log contains a secret ({secret}):\n{log}");
        }
    }
}

#[tokio::test]
async fn emails_in_flight_at_sigterm_are_still_sent() {
    let database = TestDatabase::create(crate::helpers::Backend::Sqlite).await;
    let smtp = SmtpSink::start_with_delay(Duration::from_millis(1500)).await;
    let dir = database.data_dir();
    let mut server = Server::start(
        &dir,
        &[
            ("DATABASE_URL", database.url.clone()),
            ("SMTP_URL", smtp.url()),
            ("ATELIER_DATA_DIR", dir.display().to_string()),
        ],
    );
    server.wait_ready().await;
    let registered = reqwest::Client::new()
        .post(format!("{}/auth/api/register/", server.base))
        .json(&json!({"email": "deploy@example.com", "username": "deploy", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), StatusCode::CREATED);
    server.terminate();
    assert!(server.wait_exit().await.success());
    assert_eq!(
        smtp.emails_to("deploy@example.com").len(),
        1,
        "the code email was lost at shutdown"
    );
}

#[tokio::test]
async fn zero_config_serve_creates_its_database_key_and_outbox() {
    let dir = std::env::temp_dir().join(format!("atelier-zero-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut server = Server::start(&dir, &[]);
    server.wait_ready().await;
    let registered = reqwest::Client::new()
        .post(format!("{}/auth/api/register", server.base))
        .json(&json!({"email": "first@example.com", "username": "first", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), StatusCode::CREATED);
    let data = dir.join("atelier-data");
    assert!(data.join("atelier.db").exists());
    assert!(
        std::fs::read_to_string(data.join("secret_key"))
            .unwrap()
            .len()
            >= 32
    );
    let mut outbox = Vec::new();
    for _ in 0..50 {
        outbox = std::fs::read_dir(data.join("outbox"))
            .map(|d| d.flatten().collect())
            .unwrap_or_default();
        if !outbox.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(outbox.len(), 1);
    let email = std::fs::read_to_string(outbox[0].path()).unwrap();
    assert!(email.contains("verification code is"));
    server.terminate();
    assert!(server.wait_exit().await.success());
    assert!(
        server.log_text().contains("verification code is"),
        "the development mailer prints emails"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `atelier serve` expecting it to fail at once; returns stderr.
fn failing_start(env: &[(&str, &str)]) -> String {
    let dir = std::env::temp_dir().join(format!("atelier-fail-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_atelier"));
    command
        .arg("serve")
        .current_dir(&dir)
        .env_clear()
        .env("RUST_LOG", "off");
    for (k, v) in env {
        command.env(k, v);
    }
    let output = command.output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!output.status.success(), "expected a failure");
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
    assert_eq!(stderr.lines().count(), 1, "one clear line: {stderr}");
    stderr
}

#[test]
fn start_up_errors_are_one_clear_line() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let err = failing_start(&[("ATELIER_LISTEN", &address)]);
    assert!(err.contains("cannot listen on"), "{err}");

    let err = failing_start(&[("DATABASE_URL", "mysql://localhost/db")]);
    assert!(err.contains("DATABASE_URL"), "{err}");

    let err = failing_start(&[("DATABASE_URL", "postgres://postgres@127.0.0.1:1/nowhere")]);
    assert!(err.contains("cannot connect to PostgreSQL"), "{err}");

    let err = failing_start(&[("ATELIER_SECRET_KEY", "short")]);
    assert!(err.contains("at least 32"), "{err}");

    let err = failing_start(&[("ATELIER_REFRESH_TOKEN_TTL_SECS", "99999999999")]);
    assert!(err.contains("ATELIER_REFRESH_TOKEN_TTL_SECS"), "{err}");
}

/// A mail server that accepts connections and never says a word: a send
/// to it hangs until the client gives up.
async fn silent_smtp() -> (u16, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    (port, task)
}

both_backends! {
    async fn an_email_claimed_by_a_killed_process_is_sent_once_by_another(backend) {
        use atelier::storage::entities::job;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

        let database = TestDatabase::create(backend).await;
        let dir = database.data_dir();
        let (silent, _hold) = silent_smtp().await;
        let common = |smtp: String| vec![
            ("DATABASE_URL", database.url.clone()),
            ("SMTP_URL", smtp),
            ("ATELIER_DATA_DIR", dir.display().to_string()),
            ("ATELIER_SECRET_KEY", "a-shared-secret-key-for-both-processes-0123".to_string()),
            ("ATELIER_JOBS_LEASE_SECS", "2".to_string()),
            ("ATELIER_JOBS_POLL_MS", "100".to_string()),
        ];
        let mut first = Server::start(&dir, &common(format!("smtp://127.0.0.1:{silent}")));
        first.wait_ready().await;
        let registered = reqwest::Client::new()
            .post(format!("{}/auth/api/register/", first.base))
            .json(&json!({"email": "crash@example.com", "username": "crash", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(registered.status(), StatusCode::CREATED);
        let db = atelier::storage::connect(&database.url, 2, Duration::from_secs(5)).await.unwrap();
        let email_job = || job::Entity::find().filter(job::Column::Kind.eq("email.send")).one(&db);
        // The first process has claimed it and hangs in the send.
        for _ in 0..100 {
            if email_job().await.unwrap().is_some_and(|j| j.status == "running") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(email_job().await.unwrap().unwrap().status, "running");
        first.child.kill().unwrap();
        first.child.wait().unwrap();

        let smtp = SmtpSink::start().await;
        let second = Server::start(&dir, &common(smtp.url()));
        second.wait_ready().await;
        let email = smtp.wait_for_nth("crash@example.com", 1).await;
        assert_eq!(email.code().len(), 6);
        // Give a duplicate every chance to show up.
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(smtp.emails_to("crash@example.com").len(), 1, "sent once");
        let row = email_job().await.unwrap().unwrap();
        assert_eq!((row.status.as_str(), row.attempts), ("done", 2), "run again after the lease, once");
    }
}

//! Spawning the real server on a free port, on SQLite or PostgreSQL, with a
//! real SMTP sink, plus the steps most stories start with.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Once;
use std::time::Duration;

use atelier::config::{AuthSettings, Settings};
use atelier::startup::Application;
use reqwest::{Response, StatusCode};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::smtp::SmtpSink;

pub const PASSWORD: &str = "Needle&Thread-2026";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A port nobody listens on right now, for a helper process to take.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn postgres_admin_url() -> Option<String> {
    std::env::var("ATELIER_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// Said once per run, on stderr directly so that the test harness's output
/// capture does not hide it.
pub fn announce_postgres_skipped() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = writeln!(
            std::io::stderr(),
            "\n*** ATELIER_TEST_POSTGRES_URL is not set: every `postgres` test variant is SKIPPED (they pass without running). \
             Set it, e.g. postgres://postgres@127.0.0.1:5432/test, to run them. ***\n"
        );
    });
}

/// Runs each scenario on SQLite and on PostgreSQL:
/// `both_backends! { async fn name(backend) { ... } }`.
#[macro_export]
macro_rules! both_backends {
    ($(async fn $name:ident($backend:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn scenario($backend: $crate::helpers::Backend) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                scenario($crate::helpers::Backend::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::helpers::postgres_admin_url().is_none() {
                    $crate::helpers::announce_postgres_skipped();
                    return;
                }
                scenario($crate::helpers::Backend::Postgres).await
            }
        }
    )*};
}

/// A fresh, empty database for one test, dropped afterwards.
pub struct TestDatabase {
    pub url: String,
    data_dir: PathBuf,
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    pub async fn create(backend: Backend) -> Self {
        let data_dir = std::env::temp_dir().join(format!("atelier-test-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&data_dir).unwrap();
        match backend {
            Backend::Sqlite => Self {
                url: format!("sqlite://{}", data_dir.join("atelier.db").display()),
                data_dir,
                postgres: None,
            },
            Backend::Postgres => {
                let admin = postgres_admin_url().expect("ATELIER_TEST_POSTGRES_URL");
                let name = format!("atelier_test_{}", Uuid::new_v4().simple());
                let conn = Database::connect(&admin)
                    .await
                    .expect("connect to PostgreSQL");
                conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create test database");
                let _ = conn.close().await;
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
                Self {
                    url: format!("{base}/{name}"),
                    data_dir,
                    postgres: Some((admin.clone(), name)),
                }
            }
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.data_dir.clone()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
        if let Some((admin, name)) = self.postgres.take() {
            // Drop runs inside the test's runtime: use a thread with its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                rt.block_on(async {
                    if let Ok(conn) = Database::connect(&admin).await {
                        let _ = conn
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            ))
                            .await;
                        let _ = conn.close().await;
                    }
                });
                Ok::<_, std::io::Error>(())
            })
            .join();
        }
    }
}

pub fn test_settings(database_url: &str, data_dir: PathBuf, smtp_url: String) -> Settings {
    Settings {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url: database_url.to_string(),
        media_dir: data_dir.join("media"),
        media_s3: None,
        max_upload_bytes: 64 * 1024,
        data_dir,
        smtp_url: Some(smtp_url),
        email_from: "Atelier <no-reply@atelier.test>".into(),
        secret_key: Some("test-secret-key-that-is-long-enough-0123456789".into()),
        rate_limit_ip_per_minute: 0,
        trust_forwarded_for: false,
        db_max_connections: 8,
        db_acquire_timeout: Duration::from_secs(2),
        payments: atelier::config::PaymentSettings {
            paystack_secret_key: None,
            paystack_base_url: "http://127.0.0.1:9".into(),
            unpaid_order_ttl: Duration::from_secs(1800),
            refund_retry_after: Duration::from_secs(30),
        },
        chat: atelier::chat::ChatSettings::default(),
        commissions: Default::default(),
        fittings: atelier::fittings::FittingSettings::default(),
        wallet: atelier::config::WalletSettings::default(),
        digest: None,
        payout_accounts: Default::default(),
        // Transfers still pending are verified soon after, not in 10 minutes.
        payouts: atelier::config::PayoutSettings {
            verify_after: Duration::from_secs(2),
            verify_soon: Duration::from_millis(300),
            turn_recheck: Duration::from_secs(5),
            ..Default::default()
        },
        // Tests wait for emails and pushes: look for due jobs often.
        jobs: atelier::jobs::JobSettings {
            poll_every: Duration::from_millis(50),
            retry_after: Duration::from_secs(1),
            drain_limit: Duration::from_secs(5),
            ..Default::default()
        },
        fcm: atelier::notifications::push::FcmSettings::default(),
        auth: AuthSettings {
            access_token_ttl: Duration::from_secs(900),
            refresh_token_ttl: Duration::from_secs(7 * 24 * 3600),
            code_ttl: Duration::from_secs(600),
            code_max_attempts: 5,
            email_cooldown: Duration::from_secs(60),
            max_failures: 10,
            failure_window: Duration::from_secs(900),
            argon2_memory_kib: 19456,
            argon2_iterations: 2,
        },
    }
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub smtp: SmtpSink,
    pub database: TestDatabase,
    stop: Option<oneshot::Sender<()>>,
}

pub struct TestUser {
    pub id: String,
    pub password: String,
    pub access: String,
    pub refresh: String,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Spawns with settings adjusted by `tweak` (shorter lifetimes, limits...).
    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> Self {
        let database = TestDatabase::create(backend).await;
        let smtp = SmtpSink::start().await;
        let mut settings = test_settings(&database.url, database.data_dir(), smtp.url());
        tweak(&mut settings);
        Self::spawn_on(database, smtp, settings).await
    }

    pub async fn spawn_on(database: TestDatabase, smtp: SmtpSink, settings: Settings) -> Self {
        let (address, stop) = start_server(settings).await;
        Self {
            address,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            smtp,
            database,
            stop: Some(stop),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn post(&self, path: &str, body: Value) -> Response {
        self.client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_as(&self, token: &str, path: &str, body: Value) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn get_as(&self, token: &str, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn register(&self, email: &str, username: &str) -> Response {
        self.post(
            "/auth/api/register/",
            json!({"email": email, "username": username, "password": PASSWORD}),
        )
        .await
    }

    /// The code in the newest email to `email`, waiting for email number `nth`.
    pub async fn code_from_email(&self, email: &str, nth: usize) -> String {
        self.smtp.wait_for_nth(email, nth).await.code()
    }

    pub async fn verify(&self, email: &str, code: &str) -> Response {
        self.post(
            &format!("/auth/api/register/verify-otp/{code}/"),
            json!({"email": email}),
        )
        .await
    }

    pub async fn login(&self, identifier: &str, password: &str) -> Response {
        let field = if identifier.contains('@') {
            "email"
        } else {
            "username"
        };
        self.post(
            "/auth/api/login/",
            json!({field: identifier, "password": password}),
        )
        .await
    }

    /// Registers, verifies with the emailed code and logs in.
    pub async fn verified_user(&self, username: &str) -> TestUser {
        self.verified_user_with(username, json!({})).await
    }

    /// As `verified_user`, with extra registration fields (role, names...).
    pub async fn verified_user_with(&self, username: &str, extra: Value) -> TestUser {
        let email = format!("{username}@example.com");
        let mut body = json!({"email": email, "username": username, "password": PASSWORD});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().cloned().unwrap_or_default());
        let registered = self.post("/auth/api/register/", body).await;
        assert_eq!(
            registered.status(),
            StatusCode::CREATED,
            "register {username}"
        );
        let id = body_of(registered).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let code = self.code_from_email(&email, 1).await;
        assert_eq!(self.verify(&email, &code).await.status(), StatusCode::OK);
        let tokens = body_of(self.login(&email, PASSWORD).await).await;
        TestUser {
            id,
            password: PASSWORD.to_string(),
            access: tokens["access"].as_str().unwrap().to_string(),
            refresh: tokens["refresh"].as_str().unwrap().to_string(),
        }
    }

    /// Another server on the same database and secret key, as behind a load
    /// balancer. It stops when the returned sender is dropped.
    pub async fn second_instance(&self) -> (String, oneshot::Sender<()>) {
        self.second_instance_with(|_| {}).await
    }

    /// As `second_instance`, with settings adjusted by `tweak`.
    pub async fn second_instance_with(
        &self,
        tweak: impl FnOnce(&mut Settings),
    ) -> (String, oneshot::Sender<()>) {
        let mut settings = test_settings(
            &self.database.url,
            self.database.data_dir(),
            self.smtp.url(),
        );
        tweak(&mut settings);
        start_server(settings).await
    }

    /// Stops the server as SIGTERM would.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Builds and runs the application until the returned sender fires or drops.
async fn start_server(settings: Settings) -> (String, oneshot::Sender<()>) {
    let app = Application::build(settings)
        .await
        .expect("application builds");
    let address = format!("http://{}", app.local_addr());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    (address, stop)
}

pub async fn body_of(response: Response) -> Value {
    let text = response.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

/// Status and JSON body, for one-line assertions.
pub async fn status_and_body(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    (status, body_of(response).await)
}

/// Runs the real `atelier createsuperuser` against the test's database.
pub fn create_superuser(app: &TestApp, username: &str) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_atelier"))
        .args([
            "createsuperuser",
            "--email",
            &format!("{username}@example.com"),
            "--username",
            username,
        ])
        .env("DATABASE_URL", &app.database.url)
        .env("ATELIER_DATA_DIR", app.database.data_dir())
        .env("ATELIER_SUPERUSER_PASSWORD", "Admin-Chalk-Marks-31")
        .output()
        .expect("run atelier createsuperuser");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

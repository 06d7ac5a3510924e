//! The database going away while the server runs: 503s, not a crash, and
//! recovery when it returns. PostgreSQL only: SQLite is a file inside the
//! process and cannot go away like a server.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

use crate::helpers::{
    Backend, TestApp, TestDatabase, announce_postgres_skipped, body_of, postgres_admin_url,
    test_settings,
};
use crate::smtp::SmtpSink;

/// A TCP proxy in front of PostgreSQL that the test can cut and restore.
#[derive(Clone)]
struct Proxy {
    port: u16,
    down: Arc<Mutex<bool>>,
    links: Arc<Mutex<Vec<AbortHandle>>>,
}

impl Proxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = Proxy {
            port: listener.local_addr().unwrap().port(),
            down: Arc::default(),
            links: Arc::default(),
        };
        let handle = proxy.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if *handle.down.lock().unwrap() {
                    continue; // dropped: the connection closes at once
                }
                let upstream = upstream.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                handle.links.lock().unwrap().push(task.abort_handle());
            }
        });
        proxy
    }

    fn cut(&self) {
        *self.down.lock().unwrap() = true;
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    fn restore(&self) {
        *self.down.lock().unwrap() = false;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_database_gives_503_and_the_server_recovers() {
    let Some(admin) = postgres_admin_url() else {
        announce_postgres_skipped();
        return;
    };
    let database = TestDatabase::create(Backend::Postgres).await;
    let host_port = admin
        .split('@')
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("127.0.0.1:5432")
        .to_string();
    let proxy = Proxy::start(host_port.clone()).await;
    let proxied_url = database
        .url
        .replacen(&host_port, &format!("127.0.0.1:{}", proxy.port), 1);
    let smtp = SmtpSink::start().await;
    let settings = test_settings(&proxied_url, database.data_dir(), smtp.url());
    let app = TestApp::spawn_on(database, smtp, settings).await;
    let user = app.verified_user("steady").await;

    proxy.cut();
    let (status, body) = {
        let r = app.get_as(&user.access, "/auth/api/users/me/").await;
        (r.status(), body_of(r).await)
    };
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["code"], "service_unavailable");
    assert_eq!(
        app.get("/health/ready").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        app.get("/health").await.status(),
        StatusCode::OK,
        "alive while the database is gone"
    );

    proxy.restore();
    let mut recovered = false;
    for _ in 0..50 {
        if app
            .get_as(&user.access, "/auth/api/users/me/")
            .await
            .status()
            == StatusCode::OK
        {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        recovered,
        "the server did not recover after the database came back"
    );
    assert_eq!(app.get("/health/ready").await.status(), StatusCode::OK);
}

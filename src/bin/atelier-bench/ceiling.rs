//! The ceiling: what this HTTP stack (tokio, axum 0.8, mimalloc) serves on
//! this machine when a request costs nothing else. One route, no
//! middleware, no database; it answers a ~250-byte JSON user, as
//! `users/me` does. The API's own read scenarios are quoted as a share of it.

use std::net::SocketAddr;
use std::thread;

use anyhow::{Context, Result};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use tokio::sync::oneshot;

#[derive(Serialize)]
struct User {
    id: &'static str,
    email: &'static str,
    username: &'static str,
    first_name: &'static str,
    last_name: &'static str,
    role: &'static str,
    phone_number: Option<&'static str>,
    is_verified: bool,
    avatar: Option<&'static str>,
    date_joined: &'static str,
}

async fn user() -> Json<User> {
    Json(User {
        id: "019ac6d2-6c7e-7a41-9d2b-2f1f6f0c8e31",
        email: "ada.okafor@example.com",
        username: "ada_okafor",
        first_name: "Ada",
        last_name: "Okafor",
        role: "customer",
        phone_number: None,
        is_verified: true,
        avatar: None,
        date_joined: "2026-11-28T09:15:42.123456Z",
    })
}

/// The running ceiling server; it stops when this is dropped.
pub struct Ceiling {
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Ceiling {
    /// Serves on a free loopback port from a runtime of its own (threads like
    /// the server's: one per core), so the load generator's runtime does not
    /// serve it.
    pub fn start() -> Result<Self> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").context("cannot bind")?;
        listener.set_nonblocking(true)?;
        let addr: SocketAddr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("ceiling")
            .build()
            .context("cannot start the ceiling's runtime")?;
        let thread = thread::spawn(move || {
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let app = Router::new().route("/user", get(user));
                tokio::select! {
                    _ = axum::serve(listener, app) => {}
                    _ = stopped => {}
                }
            });
            // The client keeps its connections open: end them with the runtime.
            runtime.shutdown_background();
        });
        Ok(Ceiling {
            url: format!("http://{addr}/user"),
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Ceiling {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

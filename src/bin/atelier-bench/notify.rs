//! `atelier-bench notify`: many notifications enqueued at once (one
//! transaction, as a burst of events would), each to a user with a phone;
//! an FCM stand-in in this process receives the pushes. Prints the
//! throughput from commit to the last push and the enqueue-to-push latency.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use axum::Json;
use axum::extract::State;
use axum::routing::post;
use chrono::Utc;
use clap::Args;
use reqwest::Client;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use serde_json::{Value, json};
use uuid::Uuid;

use atelier::notifications::{Kind, Link, NewNotification, notify};
use atelier::storage::entities::{notification_device, user};

use crate::api::Api;
use crate::prepare::prepare_users;
use crate::server::EXTRA_ENV;
use crate::target::{TargetArgs, with_target};

pub const LONG_ABOUT: &str = "Enqueues --count notifications in one transaction, spread over \
--users users with one phone each, and waits until an FCM stand-in (in this process, on \
loopback) has received every push. The server sends them through its job queue: the delivery \
job, then one push job per device. Prints pushes/s from the commit to the last push, and the \
enqueue-to-push latency percentiles.";

/// The stand-in signs nothing, but the server needs a well-formed key.
const TEST_ONLY_KEY: &str = include_str!("../../../tests/fixtures/fcm_test_only_private_key.pem");
const WAIT_LIMIT: Duration = Duration::from_secs(300);

#[derive(Args)]
pub struct NotifyArgs {
    /// Notifications enqueued at once.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    count: u32,
    /// Users they are spread over (each has one phone).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    users: u32,
    #[command(flatten)]
    target: TargetArgs,
}

#[derive(Default)]
struct Received {
    /// When each notification's push arrived.
    at: HashMap<String, Instant>,
    duplicates: usize,
}

type Shared = Arc<Mutex<Received>>;

pub async fn bench_notify(args: NotifyArgs) -> Result<()> {
    let received = Shared::default();
    let fcm = start_standin(received.clone()).await?;
    let key_file = write_service_account(fcm)?;
    EXTRA_ENV
        .set(vec![
            (
                "FCM_SERVICE_ACCOUNT_FILE".into(),
                key_file.display().to_string(),
            ),
            ("FCM_TOKEN_URL".into(), format!("http://{fcm}/token")),
            ("FCM_BASE_URL".into(), format!("http://{fcm}")),
        ])
        .map_err(|_| anyhow::anyhow!("the server's environment was set twice"))?;
    with_target(
        16,
        &args.target,
        async |client: &Client, api: &Arc<Api>, outbox: &Path| {
            run(client, api, outbox, &args, &received).await
        },
    )
    .await
}

async fn run(
    client: &Client,
    api: &Arc<Api>,
    outbox: &Path,
    args: &NotifyArgs,
    received: &Shared,
) -> Result<()> {
    if args.target.database_url().is_none() && outbox.parent().is_none() {
        bail!("cannot find the server's database");
    }
    let sessions = prepare_users(client, api, outbox, args.users as usize, "customer").await?;
    let url = match args.target.database_url() {
        Some(url) => url.to_string(),
        None => {
            let data_dir = outbox.parent().context("the outbox has no parent folder")?;
            format!("sqlite://{}", data_dir.join("atelier.db").display())
        }
    };
    let db = atelier::storage::connect(&url, 4, Duration::from_secs(30)).await?;
    let emails: Vec<String> = sessions.iter().map(|s| s.email.to_lowercase()).collect();
    let users: Vec<Uuid> = user::Entity::find()
        .filter(user::Column::EmailLower.is_in(emails))
        .all(&db)
        .await?
        .into_iter()
        .map(|u| u.id)
        .collect();
    for user in &users {
        add_phone(&db, *user).await?;
    }

    let txn = db.begin().await?;
    for n in 0..args.count {
        let user = users[n as usize % users.len()];
        enqueue_one(&txn, user, n).await?;
    }
    txn.commit().await?;
    let committed = Instant::now();
    eprintln!(
        "{} notifications committed; waiting for the pushes",
        args.count
    );

    let deadline = committed + WAIT_LIMIT;
    loop {
        let have = received.lock().expect("received lock").at.len();
        if have >= args.count as usize {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "only {have} of {} pushes arrived within {WAIT_LIMIT:?}",
                args.count
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Late duplicates would show up now.
    tokio::time::sleep(Duration::from_millis(500)).await;
    report(
        args.count,
        committed,
        &received.lock().expect("received lock"),
    );
    db.close().await?;
    Ok(())
}

async fn add_phone(db: &sea_orm::DatabaseConnection, user: Uuid) -> Result<()> {
    let now = Utc::now();
    notification_device::Entity::insert(notification_device::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user),
        token: Set(format!("bench-device-{user}")),
        platform: Set("android".into()),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

fn report(count: u32, committed: Instant, received: &Received) {
    let mut latencies: Vec<Duration> = received
        .at
        .values()
        .map(|at| at.saturating_duration_since(committed))
        .collect();
    latencies.sort_unstable();
    let last = latencies.last().copied().unwrap_or_default();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    println!(
        "notify    count={count} pushes={} duplicates={} elapsed={:.2}s throughput={:.0}/s enqueue-to-push p50={:.0}ms p90={:.0}ms p99={:.0}ms max={:.0}ms",
        latencies.len(),
        received.duplicates,
        last.as_secs_f64(),
        latencies.len() as f64 / last.as_secs_f64().max(1e-9),
        at(0.5).as_secs_f64() * 1e3,
        at(0.9).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        last.as_secs_f64() * 1e3,
    );
}

async fn start_standin(received: Shared) -> Result<SocketAddr> {
    let app = axum::Router::new()
        .route("/token", post(token))
        .route("/v1/projects/{project}/{method}", post(send))
        .with_state(received);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(address)
}

async fn token() -> Json<Value> {
    Json(json!({"access_token": "bench-access-token", "expires_in": 3600, "token_type": "Bearer"}))
}

async fn send(State(received): State<Shared>, Json(body): Json<Value>) -> Json<Value> {
    let id = body["message"]["data"]["notification_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut received = received.lock().expect("received lock");
    if received.at.insert(id, Instant::now()).is_some() {
        received.duplicates += 1;
    }
    Json(json!({"name": format!("projects/bench/messages/{}", Uuid::now_v7())}))
}

fn write_service_account(fcm: SocketAddr) -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("atelier-bench-fcm-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("service-account.json");
    let key = json!({
        "type": "service_account",
        "project_id": "bench",
        "private_key_id": "bench",
        "private_key": TEST_ONLY_KEY,
        "client_email": "bench@bench.iam.gserviceaccount.com",
        "token_uri": format!("http://{fcm}/token"),
    });
    std::fs::write(&path, key.to_string())?;
    Ok(path)
}

/// One notification, written the way the server's events write theirs
/// (the row and its delivery job).
async fn enqueue_one(txn: &sea_orm::DatabaseTransaction, user: Uuid, n: u32) -> Result<()> {
    let order = Uuid::now_v7();
    let new = NewNotification::new(
        user,
        Kind::OrderStatus,
        Link::Order(order),
        format!("Order {n} shipped"),
        "Your order is on its way.",
        format!("bench:{order}"),
    )
    .about(order);
    notify(txn, new).await?;
    Ok(())
}

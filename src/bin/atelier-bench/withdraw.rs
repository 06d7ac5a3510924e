//! `atelier-bench withdraw`: the withdrawal storm. Tailors each with a
//! balance for `--fit` withdrawals and a usable payout account (seeded in
//! the database), then `--per-tailor` withdrawals per tailor fired at once
//! with different Idempotency-Keys; a Paystack stand-in in this process
//! takes the transfers. Prints requests/s and latency percentiles of the
//! storm, checks that exactly `--fit` per tailor were accepted, then waits
//! until every accepted payout is paid and checks that no tailor ever had
//! two transfers unsettled at once.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use axum::Json;
use axum::extract::State;
use axum::routing::post;
use chrono::Utc;
use clap::Args;
use futures_util::StreamExt;
use reqwest::{Client, StatusCode};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use atelier::storage::entities::{payout, payout_account, user};
use atelier::wallet::ledger::{self, Posting};
use atelier::wallet::{Entry, Kind, PlatformAccount, Source, SourceKind, TailorAccount};

use crate::api::Api;
use crate::prepare::prepare_users;
use crate::server::EXTRA_ENV;
use crate::target::{TargetArgs, with_target};

pub const LONG_ABOUT: &str = "The withdrawal storm: --tailors tailors, each with a usable payout \
account and exactly --fit withdrawals of --amount kobo available (seeded in the database), send \
--per-tailor withdrawals each, all at once (--connections in flight), with different \
Idempotency-Keys. Exactly --fit per tailor must be accepted (202) and the rest refused \
(409 insufficient_funds). A Paystack stand-in in this process takes each transfer as `success`; \
the bench then waits for every payout to be paid and checks that no tailor ever had two \
transfers unsettled at once. Prints the storm's requests/s and p50/p99, and the payout rate.";

const SECRET: &str = "sk_test_atelier_bench";
const WAIT_LIMIT: Duration = Duration::from_secs(600);

#[derive(Args)]
pub struct WithdrawArgs {
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    tailors: u32,
    /// Withdrawals asked for by each tailor, at once.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    per_tailor: u32,
    /// Withdrawals each tailor's balance covers.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    fit: u32,
    /// Kobo per withdrawal (at least the server's minimum).
    #[arg(long, default_value_t = 100_000)]
    amount: i64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    connections: u32,
    #[command(flatten)]
    target: TargetArgs,
}

/// The stand-in's view: per recipient, transfers sent and not yet
/// answered, and the most ever at once.
#[derive(Default)]
struct Standin {
    open: HashMap<String, usize>,
    most_open: usize,
    sent: usize,
}

type Shared = Arc<Mutex<Standin>>;

pub async fn bench_withdraw(args: WithdrawArgs) -> Result<()> {
    let standin = Shared::default();
    let paystack = start_standin(standin.clone()).await?;
    EXTRA_ENV
        .set(vec![
            ("PAYSTACK_SECRET_KEY".into(), SECRET.into()),
            ("PAYSTACK_BASE_URL".into(), format!("http://{paystack}")),
            (
                "ATELIER_PAYOUT_MINIMUM_KOBO".into(),
                args.amount.to_string(),
            ),
        ])
        .map_err(|_| anyhow::anyhow!("the server's environment was set twice"))?;
    with_target(
        args.connections as usize,
        &args.target,
        async |client: &Client, api: &Arc<Api>, outbox: &Path| {
            run(client, api, outbox, &args, &standin).await
        },
    )
    .await
}

async fn run(
    client: &Client,
    api: &Arc<Api>,
    outbox: &Path,
    args: &WithdrawArgs,
    standin: &Shared,
) -> Result<()> {
    let sessions = prepare_users(client, api, outbox, args.tailors as usize, "tailor").await?;
    let url = match args.target.database_url() {
        Some(url) => url.to_string(),
        None => {
            let data_dir = outbox.parent().context("the outbox has no parent folder")?;
            format!("sqlite://{}", data_dir.join("atelier.db").display())
        }
    };
    let db = atelier::storage::connect(&url, 4, Duration::from_secs(30)).await?;
    let mut tailors = Vec::new();
    for session in &sessions {
        let row = user::Entity::find()
            .filter(user::Column::EmailLower.eq(session.email.to_lowercase()))
            .one(&db)
            .await?
            .context("a prepared tailor is missing")?;
        seed(&db, row.id, args.amount * i64::from(args.fit)).await?;
        tailors.push(session.access.clone());
    }
    println!(
        "target {} tailors={} per_tailor={} fit={} amount={} connections={}",
        api.base, args.tailors, args.per_tailor, args.fit, args.amount, args.connections
    );

    let withdraw = format!("{}/tailor/api/wallet/withdraw/", api.base);
    let asks: Vec<(String, String)> = (0..args.per_tailor)
        .flat_map(|i| {
            tailors
                .iter()
                .map(move |t| (t.clone(), format!("storm-{i}")))
        })
        .collect();
    let total = asks.len();
    let started = Instant::now();
    let results: Vec<(Duration, Result<StatusCode, reqwest::Error>)> =
        futures_util::stream::iter(asks.into_iter().map(|(access, key)| {
            let (client, url, amount) = (client.clone(), withdraw.clone(), args.amount);
            async move {
                let at = Instant::now();
                let answer = client
                    .post(&url)
                    .bearer_auth(&access)
                    .header("Idempotency-Key", &key)
                    .json(&json!({"amount": amount}))
                    .send()
                    .await
                    .map(|r| r.status());
                (at.elapsed(), answer)
            }
        }))
        .buffer_unordered(args.connections as usize)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let (mut accepted, mut refused, mut other) = (0usize, 0usize, 0usize);
    let mut latencies: Vec<Duration> = Vec::with_capacity(total);
    for (latency, answer) in results {
        latencies.push(latency);
        match answer {
            Ok(StatusCode::ACCEPTED) => accepted += 1,
            Ok(StatusCode::CONFLICT) => refused += 1,
            _ => other += 1,
        }
    }
    latencies.sort_unstable();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    println!(
        "withdraw  requests={total} accepted={accepted} refused={refused} other={other} elapsed={:.2}s throughput={:.0} req/s p50={:.1}ms p99={:.1}ms max={:.1}ms",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64().max(1e-9),
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        latencies[latencies.len() - 1].as_secs_f64() * 1e3,
    );
    let expected = (args.tailors * args.fit.min(args.per_tailor)) as usize;
    if accepted != expected || other != 0 {
        bail!("expected {expected} accepted and the rest refused");
    }

    let deadline = Instant::now() + WAIT_LIMIT;
    loop {
        let paid = payout::Entity::find()
            .filter(payout::Column::Status.eq("paid"))
            .count(&db)
            .await? as usize;
        if paid >= expected {
            break;
        }
        if Instant::now() > deadline {
            bail!("only {paid} of {expected} payouts paid within {WAIT_LIMIT:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let all_paid = started.elapsed();
    let (sent, most_open) = {
        let standin = standin.lock().expect("standin lock");
        (standin.sent, standin.most_open)
    };
    println!(
        "payouts   paid={expected} transfers={} most_unsettled_per_tailor={} all_paid_after={:.2}s payout_rate={:.0}/s",
        sent,
        most_open,
        all_paid.as_secs_f64(),
        expected as f64 / all_paid.as_secs_f64().max(1e-9),
    );
    if sent != expected || most_open > 1 {
        bail!("transfers sent twice, or two of one tailor's in flight at once");
    }
    db.close().await?;
    Ok(())
}

/// A usable payout account and `available` kobo, as the server would have
/// written them (the ledger's own posting API).
async fn seed(db: &sea_orm::DatabaseConnection, tailor: Uuid, available: i64) -> Result<()> {
    let now = Utc::now();
    payout_account::Entity::insert(payout_account::ActiveModel {
        id: Set(Uuid::now_v7()),
        tailor_id: Set(tailor),
        bank_code: Set("058".into()),
        bank_name: Set("Guaranty Trust Bank".into()),
        account_name: Set("BENCH TAILOR".into()),
        account_last4: Set("6789".into()),
        recipient_code: Set(format!("RCP_bench{}", tailor.simple())),
        usable_from: Set(now - chrono::Duration::days(2)),
        replaced_at: Set(None),
        created_at: Set(now - chrono::Duration::days(2)),
    })
    .exec_without_returning(db)
    .await?;
    let source = Source {
        kind: SourceKind::Adjustment,
        id: Uuid::now_v7(),
    };
    ledger::post(
        db,
        Posting {
            kind: Kind::Adjustment,
            dedup_key: format!("bench-seed:{}", source.id),
            tailor_id: Some(tailor),
            source,
            memo: "Bench balance.".into(),
            entries: vec![
                Entry::tailor(TailorAccount::Available, available),
                Entry::platform(PlatformAccount::Clearing, -available),
            ],
        },
    )
    .await?;
    Ok(())
}

async fn start_standin(standin: Shared) -> Result<SocketAddr> {
    let app = axum::Router::new()
        .route("/transfer", post(transfer))
        .with_state(standin);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(address)
}

/// Takes the transfer as `success` at once; counts, per recipient, how
/// many are being handled at the same moment.
async fn transfer(State(standin): State<Shared>, Json(body): Json<Value>) -> Json<Value> {
    let recipient = body["recipient"].as_str().unwrap_or_default().to_string();
    {
        let mut s = standin.lock().expect("standin lock");
        s.sent += 1;
        let open = s.open.entry(recipient.clone()).or_default();
        *open += 1;
        let open = *open;
        s.most_open = s.most_open.max(open);
    }
    // A little of Paystack's time, so overlapping sends would show.
    tokio::time::sleep(Duration::from_millis(5)).await;
    if let Some(open) = standin
        .lock()
        .expect("standin lock")
        .open
        .get_mut(&recipient)
    {
        *open -= 1;
    }
    Json(json!({
        "status": true, "message": "Transfer has been queued",
        "data": {
            "amount": body["amount"], "currency": "NGN", "reference": body["reference"],
            "status": "success", "transfer_code": format!("TRF_bench{}", Uuid::now_v7().simple()),
        }
    }))
}

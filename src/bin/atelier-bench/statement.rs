//! `atelier-bench statement`: a tailor with a long ledger (payments,
//! releases and refunds posted through the ledger's own posting API, so the
//! balances and escrow are what the server would have written), then the
//! first page of the tailor's statement at full concurrency.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use atelier::wallet::Source;
use atelier::wallet::flows::{self, Credit, RefundQueued};
use clap::Args;
use reqwest::{Client, StatusCode};
use sea_orm::{DatabaseConnection, TransactionTrait};
use serde::Deserialize;
use uuid::Uuid;

use crate::api::{Api, Failure, expect_json, fetch};
use crate::load::{LoadArgs, LoadWorker, measure};
use crate::prepare::prepare_users;
use crate::target::{TargetArgs, with_target};
use crate::target_help;

pub const LONG_ABOUT: &str = concat!(
    "Benchmark a tailor's statement (/tailor/api/wallet/transactions/): prepares a
tailor through the API, posts --lines ledger transactions for them straight
into the server's database through the ledger's posting API (orders paid,
most released, one in ten refunded), then measures the statement's first
page (20 lines, newest first) at full concurrency.

Seeding writes to the database the server uses: the one it started
(--database-url, or its SQLite file), or --seed-database-url with --url.",
    target_help!()
);

/// Postings per database transaction while seeding.
const BATCH: usize = 500;

#[derive(Args)]
pub struct StatementArgs {
    /// Ledger transactions (statement lines) seeded for the tailor.
    #[arg(long, default_value_t = 100_000)]
    lines: u32,
    /// With --url: the DATABASE_URL of that server, for the seeding.
    #[arg(long, requires = "url")]
    seed_database_url: Option<String>,
    #[command(flatten)]
    load: LoadArgs,
    #[command(flatten)]
    target: TargetArgs,
}

pub async fn bench_statement(args: StatementArgs) -> Result<()> {
    with_target(
        args.load.connections as usize,
        &args.target,
        async |client: &Client, api: &Arc<Api>, outbox: &Path| {
            run(client, api, outbox, &args).await
        },
    )
    .await
}

#[derive(Deserialize)]
struct Me {
    id: Uuid,
}

#[derive(Deserialize)]
struct Page {
    count: u64,
    results: Vec<serde_json::Value>,
}

async fn run(client: &Client, api: &Arc<Api>, outbox: &Path, args: &StatementArgs) -> Result<()> {
    let tailor = prepare_users(client, api, outbox, 1, "tailor")
        .await?
        .remove(0);
    let me: Me = expect_json(
        client.get(&api.me).bearer_auth(&tailor.access),
        StatusCode::OK,
    )
    .await?;
    let url = match (&args.seed_database_url, args.target.database_url()) {
        (Some(url), _) => url.clone(),
        (None, Some(url)) => url.to_string(),
        (None, None) => {
            let data_dir = outbox.parent().context("the outbox has no parent folder")?;
            format!("sqlite://{}", data_dir.join("atelier.db").display())
        }
    };
    let db = atelier::storage::connect(&url, 4, std::time::Duration::from_secs(30)).await?;
    seed(&db, me.id, args.lines as usize).await?;
    db.close().await?;

    let statement = format!("{}/tailor/api/wallet/transactions/", api.base);
    let page: Page = expect_json(
        client.get(&statement).bearer_auth(&tailor.access),
        StatusCode::OK,
    )
    .await?;
    if page.count != u64::from(args.lines) || page.results.len() != 20 {
        bail!(
            "the statement has {} lines ({} on the first page), not {}",
            page.count,
            page.results.len(),
            args.lines
        );
    }
    args.load
        .print_target(api, &format!("lines={} page_size=20", args.lines));
    let workers = (0..args.load.connections)
        .map(|_| StatementWorker {
            client: client.clone(),
            url: statement.clone(),
            access: tailor.access.clone(),
        })
        .collect();
    measure("statement", workers, args.load.duration())
        .await?
        .print();
    Ok(())
}

/// Posts `lines` transactions for the tailor: per order a payment, then
/// (nine in ten) its release or (one in ten) a refund of half of it.
async fn seed(db: &DatabaseConnection, tailor: Uuid, lines: usize) -> Result<()> {
    let started = Instant::now();
    eprintln!("posting {lines} ledger transactions");
    let mut posted = 0;
    let mut order = 0u64;
    while posted < lines {
        let txn = db.begin().await?;
        let mut in_batch = 0;
        while in_batch < BATCH && posted < lines {
            order += 1;
            let source = Source::order(Uuid::now_v7());
            let amount = 500_000 + ((order * 7_919) % 2_000_000) as i64;
            let credit = Credit {
                payment_id: Uuid::now_v7(),
                tailor_id: tailor,
                source,
                amount,
                memo: "Order paid online.".into(),
            };
            let payment = credit.payment_id;
            flows::credit_payment(&txn, 1000, credit).await?;
            posted += 1;
            in_batch += 1;
            if posted == lines {
                break;
            }
            if order.is_multiple_of(10) {
                let refund = RefundQueued {
                    refund_id: Uuid::now_v7(),
                    payment_id: payment,
                    source,
                    amount: amount / 2,
                };
                flows::refund_queued(&txn, refund).await?;
            } else {
                flows::release(&txn, tailor, source, "Released 3 days after delivery.").await?;
            }
            posted += 1;
            in_batch += 1;
        }
        txn.commit().await?;
    }
    eprintln!(
        "posted {posted} ledger transactions in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Asks for the statement's first page, again and again.
struct StatementWorker {
    client: Client,
    url: String,
    access: String,
}

impl LoadWorker for StatementWorker {
    async fn step(&mut self) -> Option<Result<(), Failure>> {
        Some(fetch(self.client.get(&self.url).bearer_auth(&self.access)).await)
    }
}

//! Load generator for the Atelier API.
//!
//! `atelier-bench auth` and `atelier-bench shop` start a throw-away
//! `atelier serve` (or target a running one with `--url`), prepare verified
//! users (and for `shop` a catalog), then drive the endpoints from concurrent
//! workers and print throughput and latency percentiles per scenario.
//! `atelier-bench storm` fires one checkout per customer at the same moment
//! on a few hot variants and checks the stock afterwards. `atelier-bench chat`
//! holds thousands of chat sockets and measures delivery. `atelier-bench
//! tailors` seeds a directory of tailors and measures its searches.
//! `atelier-bench hot` puts the stack's ceiling, the authenticated reads and
//! the chat send side by side. `atelier-bench fittings` measures a busy
//! tailor's slot listing and a booking storm. `atelier-bench statement`
//! measures the first page of a tailor's 100,000-line statement.
//! `atelier-bench withdraw` fires the withdrawal storm (many withdrawals per
//! tailor at once against balances for a few) and follows the payouts.

mod api;
mod catalog;
mod ceiling;
mod chat;
mod fittings;
mod hot;
mod load;
mod notify;
mod outbox;
mod prepare;
mod scenarios;
mod server;
mod shop;
mod statement;
mod stats;
mod storm;
mod tailors;
mod target;
mod withdraw;

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use clap::{Args, Parser, Subcommand, ValueEnum};
use reqwest::Client;

use crate::api::Api;
use crate::load::LoadArgs;
use crate::prepare::prepare_users;
use crate::scenarios::{Scenario, run_scenario};
use crate::shop::ShopArgs;
use crate::storm::StormArgs;
use crate::target::{TargetArgs, with_target};

/// Strong enough for the server's password rules, unlike the generated names.
const PASSWORD: &str = "Bench-Needle-7431!";
/// Registration and login hash passwords with argon2 (CPU and ~19 MiB each);
/// more parallel setup requests than this only queue inside the server.
const SETUP_CONCURRENCY: usize = 16;
const WARM_UP: Duration = Duration::from_secs(1);
/// Upper bound for any single request, so a stuck server cannot hang the bench.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// How the bench finds its server; the end of each subcommand's long help.
macro_rules! target_help {
    () => {
        "

By default the bench starts its own server: the `atelier` binary next to this
executable (build both with `cargo build --release`), in a fresh temporary data
folder, on a free 127.0.0.1 port, with RUST_LOG=warn, and with the per-address
rate limit and the per-user chat send limit off. Other ATELIER_* variables in the environment reach that server
unchanged (e.g. ATELIER_DB_MAX_CONNECTIONS); SMTP_URL and DATABASE_URL do not.

With --url the bench targets a running server instead. The prepared users must
verify their email, so that server must use the development mailer (no
SMTP_URL) and --data-dir must point at its ATELIER_DATA_DIR, whose outbox/
folder receives the codes. Run it with ATELIER_RATE_LIMIT_IP_PER_MINUTE=0, or
the scenarios measure 429 answers (and with ATELIER_CHAT_SEND_PER_MINUTE=0 for
the chat send scenarios)."
    };
}
use target_help;

const AUTH_LONG_ABOUT: &str = concat!(
    "Benchmark the auth API: users/me, users/list, token refresh and login.",
    target_help!()
);

#[derive(Parser)]
#[command(name = "atelier-bench", about = "Load generator for the Atelier API")]
struct Cli {
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Benchmark the auth API: users/me, users/list, token refresh and login.
    #[command(long_about = AUTH_LONG_ABOUT)]
    Auth(AuthArgs),
    /// Benchmark the shop catalog: product/list unfiltered and with a mix of filters.
    #[command(long_about = shop::LONG_ABOUT)]
    Shop(ShopArgs),
    /// A checkout storm: every customer checks out at once on a few hot variants.
    #[command(long_about = storm::LONG_ABOUT)]
    Storm(StormArgs),
    /// Live chat: thousands of sockets in pairs, each sending every second.
    #[command(long_about = chat::LONG_ABOUT)]
    Chat(chat::ChatArgs),
    /// The tailor directory: seeds tailors, portfolios and reviews, then a search mix.
    #[command(long_about = tailors::LONG_ABOUT)]
    Tailors(tailors::TailorsArgs),
    /// Fittings: the slot listing of a busy tailor's 14 days, and a booking storm.
    #[command(long_about = fittings::LONG_ABOUT)]
    Fittings(fittings::FittingsArgs),
    /// Notifications: a burst enqueued at once, pushed through the job queue to an FCM stand-in.
    #[command(long_about = notify::LONG_ABOUT)]
    Notify(notify::NotifyArgs),
    /// A tailor's statement: seeds 100,000 ledger lines, then the first page at full concurrency.
    #[command(long_about = statement::LONG_ABOUT)]
    Statement(statement::StatementArgs),
    /// The withdrawal storm: each tailor asks for many withdrawals at once against a balance for a few.
    #[command(long_about = withdraw::LONG_ABOUT)]
    Withdraw(withdraw::WithdrawArgs),
    /// The hot paths side by side: the HTTP stack's ceiling, users/me, users/detail, chat send.
    #[command(long_about = hot::LONG_ABOUT)]
    Hot(hot::HotArgs),
}

#[derive(Args)]
struct AuthArgs {
    /// Scenario to run; `all` runs me, list, refresh and login in that order.
    #[arg(long, value_enum, default_value_t = ScenarioChoice::All)]
    scenario: ScenarioChoice,
    /// Users registered, verified and logged in before the scenarios;
    /// worker i acts as user i % users.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    users: u32,
    #[command(flatten)]
    load: LoadArgs,
    #[command(flatten)]
    target: TargetArgs,
}

#[derive(Clone, Copy, ValueEnum)]
enum ScenarioChoice {
    All,
    Me,
    List,
    Refresh,
    Login,
}

impl ScenarioChoice {
    fn scenarios(self) -> Vec<Scenario> {
        match self {
            // Cheap token checks first, so the argon2-bound login runs last
            // and cannot leave the server busy for the others.
            ScenarioChoice::All => vec![
                Scenario::Me,
                Scenario::List,
                Scenario::Refresh,
                Scenario::Login,
            ],
            ScenarioChoice::Me => vec![Scenario::Me],
            ScenarioChoice::List => vec![Scenario::List],
            ScenarioChoice::Refresh => vec![Scenario::Refresh],
            ScenarioChoice::Login => vec![Scenario::Login],
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        BenchCommand::Auth(args) => bench_auth(args).await,
        BenchCommand::Shop(args) => shop::bench_shop(args).await,
        BenchCommand::Storm(args) => storm::bench_storm(args).await,
        BenchCommand::Chat(args) => chat::bench_chat(args).await,
        BenchCommand::Tailors(args) => tailors::bench_tailors(args).await,
        BenchCommand::Hot(args) => hot::bench_hot(args).await,
        BenchCommand::Fittings(args) => fittings::bench_fittings(args).await,
        BenchCommand::Notify(args) => notify::bench_notify(args).await,
        BenchCommand::Statement(args) => statement::bench_statement(args).await,
        BenchCommand::Withdraw(args) => withdraw::bench_withdraw(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("atelier-bench: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn bench_auth(args: AuthArgs) -> Result<()> {
    with_target(
        args.load.connections as usize,
        &args.target,
        async |client: &Client, api: &Arc<Api>, outbox: &Path| {
            run_auth(client, api, outbox, &args).await
        },
    )
    .await
}

/// Prepares the users, then runs and prints each chosen scenario.
async fn run_auth(client: &Client, api: &Arc<Api>, outbox: &Path, args: &AuthArgs) -> Result<()> {
    let users = args.users as usize;
    let sessions = Arc::new(prepare_users(client, api, outbox, users, "customer").await?);
    args.load.print_target(api, &format!("users={users}"));
    for scenario in args.scenario.scenarios() {
        let connections = args.load.connections as usize;
        run_scenario(
            client,
            api,
            &sessions,
            scenario,
            connections,
            args.load.duration(),
        )
        .await?
        .print();
    }
    Ok(())
}

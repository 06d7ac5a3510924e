//! Load generator for the Atelier API.
//!
//! `atelier-bench auth` starts a throw-away `atelier serve` (or targets a
//! running one with `--url`), prepares verified users, then drives the auth
//! endpoints from concurrent workers and prints throughput and latency
//! percentiles per scenario.

mod api;
mod outbox;
mod prepare;
mod scenarios;
mod server;
mod stats;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use reqwest::Client;

use crate::api::{Api, health};
use crate::prepare::prepare_users;
use crate::scenarios::{Scenario, run_scenario};
use crate::server::Server;

/// Strong enough for the server's password rules, unlike the generated names.
const PASSWORD: &str = "Bench-Needle-7431!";
/// Registration and login hash passwords with argon2 (CPU and ~19 MiB each);
/// more parallel setup requests than this only queue inside the server.
const SETUP_CONCURRENCY: usize = 16;
const WARM_UP: Duration = Duration::from_secs(1);
/// Upper bound for any single request, so a stuck server cannot hang the bench.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const POLL_INTERVAL: Duration = Duration::from_millis(100);

const AUTH_LONG_ABOUT: &str = "\
Benchmark the auth API: users/me, users/list, token refresh and login.

By default the bench starts its own server: the `atelier` binary next to this
executable (build both with `cargo build --release`), in a fresh temporary data
folder, on a free 127.0.0.1 port, with RUST_LOG=warn and the per-address rate
limit off. Other ATELIER_* variables in the environment reach that server
unchanged (e.g. ATELIER_DB_MAX_CONNECTIONS); SMTP_URL and DATABASE_URL do not.

With --url the bench targets a running server instead. The prepared users must
verify their email, so that server must use the development mailer (no
SMTP_URL) and --data-dir must point at its ATELIER_DATA_DIR, whose outbox/
folder receives the codes. Run it with ATELIER_RATE_LIMIT_IP_PER_MINUTE=0, or
the login scenario measures 429 answers.";

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
}

#[derive(Args)]
struct AuthArgs {
    /// Scenario to run; `all` runs me, list, refresh and login in that order.
    #[arg(long, value_enum, default_value_t = ScenarioChoice::All)]
    scenario: ScenarioChoice,
    /// Seconds each scenario is measured, after a 1 s warm-up that is not counted.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    duration: u64,
    /// Concurrent workers; worker i acts as user i % users.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    connections: u32,
    /// Users registered, verified and logged in before the scenarios.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    users: u32,
    /// Target a running server (http://host:port) instead of starting one; needs --data-dir.
    #[arg(long, requires = "data_dir")]
    url: Option<String>,
    /// With --url: that server's ATELIER_DATA_DIR; verification codes are read from its outbox/.
    #[arg(long, requires = "url")]
    data_dir: Option<PathBuf>,
    /// DATABASE_URL for the server the bench starts (default: SQLite in its temporary folder).
    /// Must be a fresh, empty database, e.g. postgres://user:pass@127.0.0.1/atelier_bench.
    #[arg(long, conflicts_with = "url")]
    database_url: Option<String>,
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
    let client = http_client(args.connections as usize)?;
    if let Some(url) = &args.url {
        let api = Arc::new(Api::new(&base_url(url)?));
        let data_dir = args
            .data_dir
            .as_ref()
            .context("--url needs --data-dir (the server's ATELIER_DATA_DIR)")?;
        health(&client, &api)
            .await
            .with_context(|| format!("{} is not answering", api.base))?;
        return run_auth(&client, &api, &data_dir.join("outbox"), &args).await;
    }

    let mut server = Server::start(args.database_url.as_deref())?;
    let api = Arc::new(Api::new(&server.base_url));
    let outcome = async {
        server.wait_healthy(&client, &api).await?;
        run_auth(&client, &api, &server.data_dir.join("outbox"), &args).await
    }
    .await;
    // /proc/<pid> disappears once the server has stopped.
    let rss = server.rss_mb();
    let stopped = server.stop().await;
    if outcome.is_err() || stopped.is_err() {
        for err in [outcome.err(), stopped.err()].into_iter().flatten() {
            eprintln!("atelier-bench: {err:#}");
        }
        bail!(
            "the server's log and data are kept in {}",
            server.data_dir.display()
        );
    }
    match rss {
        Ok(mb) => println!("server    rss={mb:.1}MB (VmRSS after the run)"),
        Err(err) => println!("server    rss=unavailable ({err:#})"),
    }
    server.remove_data_dir()
}

/// Prepares the users, then runs and prints each chosen scenario.
async fn run_auth(client: &Client, api: &Arc<Api>, outbox: &Path, args: &AuthArgs) -> Result<()> {
    let sessions = Arc::new(prepare_users(client, api, outbox, args.users as usize).await?);
    println!(
        "target {} users={} connections={} duration={}s (+{}s warm-up per scenario)",
        api.base,
        args.users,
        args.connections,
        args.duration,
        WARM_UP.as_secs()
    );
    for scenario in args.scenario.scenarios() {
        let report = run_scenario(
            client,
            api,
            &sessions,
            scenario,
            args.connections as usize,
            Duration::from_secs(args.duration),
        )
        .await?;
        println!("{}", report.line());
        if let Some(failure) = &report.first_failure {
            println!("{:<9} first failure: {failure}", "");
        }
    }
    Ok(())
}

fn http_client(connections: usize) -> Result<Client> {
    Client::builder()
        // Traffic goes straight to the target, never through a proxy from the environment.
        .no_proxy()
        .pool_max_idle_per_host(connections.max(SETUP_CONCURRENCY))
        .timeout(REQUEST_TIMEOUT)
        .build()
        .context("cannot build the HTTP client")
}

fn base_url(url: &str) -> Result<String> {
    let url = url.trim_end_matches('/');
    let parsed = reqwest::Url::parse(url).with_context(|| format!("--url {url:?} is not a URL"))?;
    if parsed.scheme() != "http" {
        bail!("--url must be http://host:port (this build has no TLS support)");
    }
    Ok(url.to_string())
}

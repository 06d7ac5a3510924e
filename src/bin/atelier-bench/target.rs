//! The server under test: a running one named by --url, or a throw-away one
//! the bench starts, measures the memory of, and stops.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::Args;
use reqwest::Client;

use crate::api::{Api, health};
use crate::server::Server;
use crate::{REQUEST_TIMEOUT, SETUP_CONCURRENCY};

/// Which server to measure; shared by the subcommands.
#[derive(Args)]
pub struct TargetArgs {
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

impl TargetArgs {
    /// --database-url: the database of the server the bench starts (`None`:
    /// its SQLite default in the data folder), for benches that seed it.
    pub fn database_url(&self) -> Option<&str> {
        self.database_url.as_deref()
    }
}

/// Runs `bench` with an HTTP client for `connections` concurrent requests,
/// the API and the outbox folder of the target; see `on_target`.
pub async fn with_target(
    connections: usize,
    args: &TargetArgs,
    bench: impl AsyncFnOnce(&Client, &Arc<Api>, &Path) -> Result<()>,
) -> Result<()> {
    let client = http_client(connections)?;
    on_target(&client, args, async |api: &Arc<Api>, outbox: &Path| {
        bench(&client, api, outbox).await
    })
    .await
}

/// Runs `bench` with the API and the outbox folder of the target. A server
/// the bench started is stopped afterwards, its memory reported and its data
/// removed, or kept (with the log) when something failed.
async fn on_target(
    client: &Client,
    args: &TargetArgs,
    bench: impl AsyncFnOnce(&Arc<Api>, &Path) -> Result<()>,
) -> Result<()> {
    if let Some(url) = &args.url {
        let api = Arc::new(Api::new(&base_url(url)?));
        let data_dir = args
            .data_dir
            .as_ref()
            .context("--url needs --data-dir (the server's ATELIER_DATA_DIR)")?;
        health(client, &api)
            .await
            .with_context(|| format!("{} is not answering", api.base))?;
        return bench(&api, &data_dir.join("outbox")).await;
    }

    let mut server = Server::start(args.database_url.as_deref())?;
    let api = Arc::new(Api::new(&server.base_url));
    let outcome = async {
        server.wait_healthy(client, &api).await?;
        bench(&api, &server.data_dir.join("outbox")).await
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

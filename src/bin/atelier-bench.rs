//! Load generator for the Atelier API.
//!
//! `atelier-bench auth` starts a throw-away `atelier serve` (or targets a
//! running one with `--url`), prepares verified users, then drives the auth
//! endpoints from concurrent workers and prints throughput and latency
//! percentiles per scenario.

use std::collections::{HashMap, HashSet};
use std::error::Error as StdError;
use std::fs::File;
use std::future::Future;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use reqwest::{Client, RequestBuilder, Response, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Strong enough for the server's password rules, unlike the generated names.
const PASSWORD: &str = "Bench-Needle-7431!";
/// Registration and login hash passwords with argon2 (CPU and ~19 MiB each);
/// more parallel setup requests than this only queue inside the server.
const SETUP_CONCURRENCY: usize = 16;
const WARM_UP: Duration = Duration::from_secs(1);
/// Upper bound for any single request, so a stuck server cannot hang the bench.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Covers migrations on a fresh (possibly remote PostgreSQL) database.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
const OUTBOX_TIMEOUT: Duration = Duration::from_secs(30);
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// Pause after a failed re-login so a broken server is not hammered in a tight loop.
const RETRY_PAUSE: Duration = Duration::from_millis(50);

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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scenario {
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

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Me => "me",
            Scenario::List => "list",
            Scenario::Refresh => "refresh",
            Scenario::Login => "login",
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

/// The endpoint URLs, built once.
struct Api {
    base: String,
    health: String,
    register: String,
    login: String,
    refresh: String,
    me: String,
    list: String,
}

impl Api {
    fn new(base: &str) -> Self {
        let at = |path: &str| format!("{base}{path}");
        Api {
            base: base.to_string(),
            health: at("/health"),
            register: at("/auth/api/register"),
            login: at("/auth/api/login"),
            refresh: at("/auth/api/login/token/refresh"),
            me: at("/auth/api/users/me"),
            list: at("/auth/api/users/list?page=1&page_size=20"),
        }
    }

    fn verify(&self, code: &str) -> String {
        format!("{}/auth/api/register/verify-otp/{code}", self.base)
    }
}

async fn health(client: &Client, api: &Api) -> Result<()> {
    let status = client.get(&api.health).send().await?.status();
    if status != StatusCode::OK {
        bail!("/health answered {status}");
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The server the bench starts itself.

struct Server {
    child: Child,
    data_dir: PathBuf,
    log_path: PathBuf,
    base_url: String,
}

impl Server {
    fn start(database_url: Option<&str>) -> Result<Self> {
        let binary = server_binary()?;
        let data_dir = std::env::temp_dir().join(format!("atelier-bench-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&data_dir)
            .with_context(|| format!("cannot create {}", data_dir.display()))?;
        let port = free_port()?;
        let log_path = data_dir.join("server.log");
        let log = File::create(&log_path)
            .with_context(|| format!("cannot create {}", log_path.display()))?;
        let mut command = Process::new(&binary);
        command
            .arg("serve")
            .env("ATELIER_LISTEN", format!("127.0.0.1:{port}"))
            .env("ATELIER_DATA_DIR", &data_dir)
            .env("ATELIER_RATE_LIMIT_IP_PER_MINUTE", "0")
            // Request logging would otherwise dominate the measurement.
            .env("RUST_LOG", "warn")
            // Codes must land in the outbox, and an inherited DATABASE_URL
            // could point at a database that is not fresh.
            .env_remove("SMTP_URL")
            .env_remove("DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log));
        if let Some(url) = database_url {
            command.env("DATABASE_URL", url);
        }
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        eprintln!(
            "started {} (pid {}) on 127.0.0.1:{port}, data in {}",
            binary.display(),
            child.id(),
            data_dir.display()
        );
        Ok(Server {
            child,
            data_dir,
            log_path,
            base_url: format!("http://127.0.0.1:{port}"),
        })
    }

    async fn wait_healthy(&mut self, client: &Client, api: &Api) -> Result<()> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "the server exited during startup ({status}):\n{}",
                    self.log_tail()
                );
            }
            let last_error = match health(client, api).await {
                Ok(()) => return Ok(()),
                Err(err) => err,
            };
            if Instant::now() >= deadline {
                bail!(
                    "the server did not become healthy within {}s ({last_error:#}):\n{}",
                    STARTUP_TIMEOUT.as_secs(),
                    self.log_tail()
                );
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Resident memory from /proc (Linux only).
    fn rss_mb(&self) -> Result<f64> {
        let path = format!("/proc/{}/status", self.child.id());
        let status =
            std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
        let kib: f64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .with_context(|| format!("no VmRSS in {path}"))?;
        Ok(kib / 1024.0)
    }

    /// SIGTERM for a graceful shutdown, SIGKILL if it does not come.
    /// Fails when the server had already died, which means it crashed mid-run.
    async fn stop(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "the server exited during the run ({status}):\n{}",
                self.log_tail()
            );
        }
        let pid = self.child.id().to_string();
        let signalled = Process::new("kill")
            .args(["-TERM", &pid])
            .status()
            .is_ok_and(|s| s.success());
        if signalled {
            let deadline = Instant::now() + SHUTDOWN_TIMEOUT;
            while Instant::now() < deadline {
                if self.child.try_wait()?.is_some() {
                    return Ok(());
                }
                tokio::time::sleep(POLL_INTERVAL).await;
            }
            eprintln!(
                "the server ignored SIGTERM for {}s; killing it",
                SHUTDOWN_TIMEOUT.as_secs()
            );
        }
        self.child.kill().context("cannot kill the server")?;
        self.child.wait().context("cannot reap the server")?;
        Ok(())
    }

    fn remove_data_dir(&self) -> Result<()> {
        std::fs::remove_dir_all(&self.data_dir)
            .with_context(|| format!("cannot remove {}", self.data_dir.display()))
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        if lines.is_empty() {
            return "(the server log is empty)".into();
        }
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Server {
    /// Error paths must not leave a server running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `atelier` sits next to `atelier-bench` in cargo's target folder.
fn server_binary() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot locate the bench executable")?;
    let dir = exe
        .parent()
        .context("the bench executable has no parent folder")?;
    let binary = dir.join(format!("atelier{}", std::env::consts::EXE_SUFFIX));
    if !binary.is_file() {
        bail!(
            "no server binary at {}: build it with `cargo build --release` (or pass --url)",
            binary.display()
        );
    }
    Ok(binary)
}

/// The server cannot report an OS-assigned port, so borrow one from the OS
/// and hand it over; another process could grab it in between, which is rare
/// enough for a benchmark.
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(listener.local_addr()?.port())
}

// ---------------------------------------------------------------------------
// Preparing users.

#[derive(Deserialize)]
struct TokenPair {
    access: String,
    refresh: String,
}

/// A prepared, verified user and the access token of its first login.
struct Session {
    email: String,
    access: String,
}

async fn prepare_users(
    client: &Client,
    api: &Arc<Api>,
    outbox: &Path,
    count: usize,
) -> Result<Vec<Session>> {
    let started = Instant::now();
    eprintln!("preparing {count} users");
    // A per-run tag keeps emails and usernames unique across runs against one database.
    let run = uuid::Uuid::new_v4().simple().to_string();
    let run = &run[..12];
    let emails: Vec<String> = (0..count)
        .map(|i| format!("bench-{run}-{i}@example.com"))
        .collect();

    bounded(emails.iter().enumerate().map(|(i, email)| {
        let (client, api, email) = (client.clone(), api.clone(), email.clone());
        let username = format!("bench_{run}_{i}");
        async move { register(&client, &api, &email, &username).await }
    }))
    .await?;

    let codes = wait_for_codes(outbox, &emails, OUTBOX_TIMEOUT).await?;
    bounded(emails.iter().zip(codes).map(|(email, code)| {
        let (client, api, email) = (client.clone(), api.clone(), email.clone());
        async move { verify(&client, &api, &email, &code).await }
    }))
    .await?;

    let sessions = bounded(emails.into_iter().map(|email| {
        let (client, api) = (client.clone(), api.clone());
        async move {
            let pair = login(&client, &api, &email).await?;
            Ok(Session {
                email,
                access: pair.access,
            })
        }
    }))
    .await?;
    eprintln!(
        "prepared {count} users in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(sessions)
}

async fn register(client: &Client, api: &Api, email: &str, username: &str) -> Result<()> {
    let body = json!({ "email": email, "username": username, "password": PASSWORD });
    post_expect(client, &api.register, &body, StatusCode::CREATED)
        .await
        .with_context(|| format!("registering {email}"))?;
    Ok(())
}

async fn verify(client: &Client, api: &Api, email: &str, code: &str) -> Result<()> {
    post_expect(
        client,
        &api.verify(code),
        &json!({ "email": email }),
        StatusCode::OK,
    )
    .await
    .with_context(|| format!("verifying {email}"))?;
    Ok(())
}

async fn login(client: &Client, api: &Api, email: &str) -> Result<TokenPair> {
    let body = json!({ "email": email, "password": PASSWORD });
    let text = post_expect(client, &api.login, &body, StatusCode::OK)
        .await
        .with_context(|| format!("logging in {email}"))?;
    serde_json::from_str(&text).with_context(|| format!("login of {email} answered {text}"))
}

async fn post_expect(
    client: &Client,
    url: &str,
    body: &Value,
    expected: StatusCode,
) -> Result<String> {
    let response = client.post(url).json(body).send().await?;
    let status = response.status();
    let text = response.text().await?;
    if status != expected {
        bail!("expected {expected}, got {status}: {}", snippet(&text));
    }
    Ok(text)
}

/// Runs the tasks at most `SETUP_CONCURRENCY` at a time; results keep the
/// input order. The first error aborts the rest (dropping the set aborts them).
async fn bounded<T, Fut>(tasks: impl IntoIterator<Item = Fut>) -> Result<Vec<T>>
where
    T: Send + 'static,
    Fut: Future<Output = Result<T>> + Send + 'static,
{
    let limit = Arc::new(Semaphore::new(SETUP_CONCURRENCY));
    let mut set = JoinSet::new();
    let mut count = 0;
    for (index, task) in tasks.into_iter().enumerate() {
        let limit = limit.clone();
        set.spawn(async move {
            let _permit = limit.acquire_owned().await?;
            task.await.map(|value| (index, value))
        });
        count += 1;
    }
    let mut results: Vec<Option<T>> = (0..count).map(|_| None).collect();
    while let Some(joined) = set.join_next().await {
        let (index, value) = joined.context("a setup task panicked")??;
        results[index] = Some(value);
    }
    results
        .into_iter()
        .map(|value| value.context("a setup task returned no result"))
        .collect()
}

/// Polls the development mailer's outbox until every address has a code;
/// returns the codes in the order of `emails`.
async fn wait_for_codes(
    outbox: &Path,
    emails: &[String],
    timeout: Duration,
) -> Result<Vec<String>> {
    let wanted: HashSet<&str> = emails.iter().map(String::as_str).collect();
    let mut found: HashMap<String, String> = HashMap::new();
    let mut done_files: HashSet<PathBuf> = HashSet::new();
    let deadline = Instant::now() + timeout;
    loop {
        scan_outbox(outbox, &wanted, &mut done_files, &mut found).await?;
        if found.len() == wanted.len() {
            break;
        }
        if Instant::now() >= deadline {
            bail!(
                "after {}s only {} of {} verification emails were in {} \
                 (the server must use the development mailer, i.e. no SMTP_URL, with this data dir)",
                timeout.as_secs(),
                found.len(),
                wanted.len(),
                outbox.display()
            );
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    emails
        .iter()
        .map(|email| {
            found
                .remove(email)
                .with_context(|| format!("no code for {email}"))
        })
        .collect()
}

/// Reads the `.eml` files not settled yet. A file is settled once it proves
/// to be for someone else or yields our code; an incomplete one (the mailer
/// may still be writing it) is read again on the next scan.
async fn scan_outbox(
    outbox: &Path,
    wanted: &HashSet<&str>,
    done_files: &mut HashSet<PathBuf>,
    found: &mut HashMap<String, String>,
) -> Result<()> {
    let mut entries = match tokio::fs::read_dir(outbox).await {
        Ok(entries) => entries,
        // The mailer creates the folder with its first email.
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(err).with_context(|| format!("cannot read {}", outbox.display())),
    };
    let mut paths = Vec::new();
    while let Some(entry) = entries.next_entry().await? {
        let path = entry.path();
        if path.extension().is_some_and(|ext| ext == "eml") && !done_files.contains(&path) {
            paths.push(path);
        }
    }
    // Names are UUIDv7, so name order is sending order and a later code for
    // the same address wins.
    paths.sort();
    for path in paths {
        let Ok(bytes) = tokio::fs::read(&path).await else {
            continue;
        };
        let message = String::from_utf8_lossy(&bytes);
        let Some(to) = recipient(&message) else {
            continue;
        };
        if !wanted.contains(to.as_str()) {
            done_files.insert(path);
            continue;
        }
        if let Some(code) = verification_code(&message) {
            found.insert(to, code);
            done_files.insert(path);
        }
    }
    Ok(())
}

/// The address in the `To:` header, lowercased.
fn recipient(message: &str) -> Option<String> {
    let headers = message.split("\r\n\r\n").next()?;
    let value = headers.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("to").then_some(value.trim())
    })?;
    let address = match (value.find('<'), value.rfind('>')) {
        (Some(open), Some(close)) if open < close => &value[open + 1..close],
        _ => value,
    };
    Some(address.trim().to_lowercase())
}

fn verification_code(message: &str) -> Option<String> {
    const MARKER: &str = "verification code is ";
    let start = message.find(MARKER)? + MARKER.len();
    let code = message.get(start..start + 6)?;
    code.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| code.to_string())
}

// ---------------------------------------------------------------------------
// Running a scenario.

async fn run_scenario(
    client: &Client,
    api: &Arc<Api>,
    sessions: &Arc<Vec<Session>>,
    scenario: Scenario,
    connections: usize,
    duration: Duration,
) -> Result<Report> {
    let mut workers: Vec<Worker> = (0..connections)
        .map(|i| Worker::new(client, api, &sessions[i % sessions.len()]))
        .collect();
    if scenario == Scenario::Refresh {
        workers = start_login_families(workers).await?;
    }
    let warm_up_end = Instant::now() + WARM_UP;
    let end = warm_up_end + duration;
    let mut set = JoinSet::new();
    for worker in workers {
        set.spawn(worker.run(scenario, warm_up_end, end));
    }
    let mut stats = Vec::with_capacity(connections);
    while let Some(joined) = set.join_next().await {
        stats.push(joined.context("a worker panicked")?);
    }
    Ok(Report::new(scenario, connections, warm_up_end, stats))
}

/// Refresh tokens are single-use and reuse revokes the whole login, so every
/// worker needs a login of its own, even when workers share a user.
async fn start_login_families(workers: Vec<Worker>) -> Result<Vec<Worker>> {
    bounded(workers.into_iter().map(|mut worker| async move {
        worker
            .relogin()
            .await
            .map_err(|failure| anyhow!("login before the refresh scenario failed: {failure}"))?;
        Ok(worker)
    }))
    .await
}

/// Why a measured request did not succeed.
enum Failure {
    /// The server answered, but not with 2xx.
    Status(String),
    /// No complete answer: connection error, timeout or unreadable body.
    Transport(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Status(text) => write!(f, "HTTP {text}"),
            Failure::Transport(text) => write!(f, "transport: {text}"),
        }
    }
}

fn transport(err: reqwest::Error) -> Failure {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    Failure::Transport(text)
}

/// Sends the request; a non-2xx answer becomes a failure carrying its body.
/// Callers read the body of a success, which lets the connection be reused.
async fn exchange(request: RequestBuilder) -> Result<Response, Failure> {
    let response = request.send().await.map_err(transport)?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body = response.text().await.unwrap_or_default();
    Err(Failure::Status(format!("{status} {}", snippet(&body))))
}

struct Worker {
    client: Client,
    api: Arc<Api>,
    access: String,
    login_body: Value,
    /// The newest refresh token of this worker's own login (refresh scenario).
    refresh: Option<String>,
}

impl Worker {
    fn new(client: &Client, api: &Arc<Api>, session: &Session) -> Self {
        Worker {
            client: client.clone(),
            api: api.clone(),
            access: session.access.clone(),
            login_body: json!({ "email": session.email, "password": PASSWORD }),
            refresh: None,
        }
    }

    /// Loops until `end`; only requests started after `warm_up_end` count.
    /// The request in flight at `end` is awaited and counted.
    async fn run(mut self, scenario: Scenario, warm_up_end: Instant, end: Instant) -> WorkerStats {
        let mut stats = WorkerStats::default();
        loop {
            let started = Instant::now();
            if started >= end {
                break;
            }
            if scenario == Scenario::Refresh && self.refresh.is_none() {
                // A failed refresh leaves no usable token (it was consumed or
                // its login revoked), so start a new login, untimed.
                if self.relogin().await.is_err() {
                    tokio::time::sleep(RETRY_PAUSE).await;
                }
                continue;
            }
            let result = self.request(scenario).await;
            if started >= warm_up_end {
                stats.record(started.elapsed(), result);
            }
        }
        stats.finished = Some(Instant::now());
        stats
    }

    async fn request(&mut self, scenario: Scenario) -> Result<(), Failure> {
        match scenario {
            Scenario::Me => self.get_authorized(&self.api.me).await,
            Scenario::List => self.get_authorized(&self.api.list).await,
            Scenario::Login => {
                let response = exchange(self.login_request()).await?;
                response.bytes().await.map_err(transport)?;
                Ok(())
            }
            Scenario::Refresh => self.refresh().await,
        }
    }

    async fn get_authorized(&self, url: &str) -> Result<(), Failure> {
        let response = exchange(self.client.get(url).bearer_auth(&self.access)).await?;
        response.bytes().await.map_err(transport)?;
        Ok(())
    }

    fn login_request(&self) -> RequestBuilder {
        self.client.post(&self.api.login).json(&self.login_body)
    }

    /// A fresh login: new access token and the start of a new refresh chain.
    async fn relogin(&mut self) -> Result<(), Failure> {
        let response = exchange(self.login_request()).await?;
        let pair: TokenPair = response.json().await.map_err(transport)?;
        self.access = pair.access;
        self.refresh = Some(pair.refresh);
        Ok(())
    }

    /// Presents the newest refresh token and keeps the one that replaces it.
    async fn refresh(&mut self) -> Result<(), Failure> {
        let Some(token) = self.refresh.take() else {
            return Err(Failure::Transport("no refresh token to present".into()));
        };
        let request = self
            .client
            .post(&self.api.refresh)
            .json(&json!({ "refresh": token }));
        let pair: TokenPair = exchange(request).await?.json().await.map_err(transport)?;
        self.access = pair.access;
        self.refresh = Some(pair.refresh);
        Ok(())
    }
}

#[derive(Default)]
struct WorkerStats {
    /// Every counted request, failed ones included.
    latencies: Vec<Duration>,
    non_2xx: u64,
    errors: u64,
    finished: Option<Instant>,
    first_failure: Option<String>,
}

impl WorkerStats {
    fn record(&mut self, latency: Duration, result: Result<(), Failure>) {
        self.latencies.push(latency);
        let Err(failure) = result else {
            return;
        };
        match failure {
            Failure::Status(_) => self.non_2xx += 1,
            Failure::Transport(_) => self.errors += 1,
        }
        if self.first_failure.is_none() {
            self.first_failure = Some(failure.to_string());
        }
    }
}

struct Report {
    scenario: Scenario,
    connections: usize,
    errors: u64,
    non_2xx: u64,
    /// From the end of the warm-up until the last worker finished.
    elapsed: Duration,
    sorted: Vec<Duration>,
    first_failure: Option<String>,
}

impl Report {
    fn new(
        scenario: Scenario,
        connections: usize,
        warm_up_end: Instant,
        stats: Vec<WorkerStats>,
    ) -> Self {
        let finished = stats.iter().filter_map(|s| s.finished).max();
        let elapsed = finished.map_or(Duration::ZERO, |f| f.saturating_duration_since(warm_up_end));
        let first_failure = stats.iter().find_map(|s| s.first_failure.clone());
        let errors = stats.iter().map(|s| s.errors).sum();
        let non_2xx = stats.iter().map(|s| s.non_2xx).sum();
        let mut sorted: Vec<Duration> = stats.into_iter().flat_map(|s| s.latencies).collect();
        sorted.sort_unstable();
        Report {
            scenario,
            connections,
            errors,
            non_2xx,
            elapsed,
            sorted,
            first_failure,
        }
    }

    /// Nearest-rank percentile.
    fn percentile(&self, p: f64) -> Option<Duration> {
        let rank = ((p / 100.0) * self.sorted.len() as f64).ceil() as usize;
        self.sorted
            .get(rank.clamp(1, self.sorted.len().max(1)) - 1)
            .copied()
    }

    fn line(&self) -> String {
        let seconds = self.elapsed.as_secs_f64();
        let rps = if seconds > 0.0 {
            self.sorted.len() as f64 / seconds
        } else {
            0.0
        };
        let ms = |d: Option<Duration>, decimals: usize| match d {
            Some(d) => format!("{:.*}ms", decimals, d.as_secs_f64() * 1000.0),
            None => "-".into(),
        };
        format!(
            "{:<9} connections={} requests={} errors={} non_2xx={} rps={rps:.1} p50={} p90={} p99={} max={}",
            self.scenario.name(),
            self.connections,
            self.sorted.len(),
            self.errors,
            self.non_2xx,
            ms(self.percentile(50.0), 2),
            ms(self.percentile(90.0), 2),
            ms(self.percentile(99.0), 2),
            ms(self.sorted.last().copied(), 1),
        )
    }
}

/// The start of a response body, enough to see what went wrong.
fn snippet(body: &str) -> String {
    const MAX: usize = 200;
    match body.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &body[..cut]),
        None => body.to_string(),
    }
}

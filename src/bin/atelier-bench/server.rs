//! The throw-away server the bench starts itself when no --url is given.

use std::fs::File;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use reqwest::Client;

use crate::POLL_INTERVAL;
use crate::api::{Api, health};

/// Covers migrations on a fresh (possibly remote PostgreSQL) database.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// The pid of the server this bench started, for benches that watch its
/// memory while they run.
pub static SERVER_PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();

/// Resident memory of a process from /proc (Linux only).
pub fn rss_mb_of(pid: u32) -> Result<f64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    let kib: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| format!("no VmRSS in {path}"))?;
    Ok(kib / 1024.0)
}

/// Variables a bench adds to the environment of the server it starts
/// (e.g. where the FCM stand-in listens).
pub static EXTRA_ENV: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();

pub struct Server {
    child: Child,
    pub data_dir: PathBuf,
    log_path: PathBuf,
    pub base_url: String,
}

impl Server {
    pub fn start(database_url: Option<&str>) -> Result<Self> {
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
            // A chat scenario sends far more than a person's 120 a minute.
            .env(
                "ATELIER_CHAT_SEND_PER_MINUTE",
                std::env::var("ATELIER_CHAT_SEND_PER_MINUTE").unwrap_or_else(|_| "0".into()),
            )
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
        for (key, value) in EXTRA_ENV.get().into_iter().flatten() {
            command.env(key, value);
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
        let _ = SERVER_PID.set(child.id());
        Ok(Server {
            child,
            data_dir,
            log_path,
            base_url: format!("http://127.0.0.1:{port}"),
        })
    }

    pub async fn wait_healthy(&mut self, client: &Client, api: &Api) -> Result<()> {
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
    pub fn rss_mb(&self) -> Result<f64> {
        rss_mb_of(self.child.id())
    }

    /// SIGTERM for a graceful shutdown, SIGKILL if it does not come.
    /// Fails when the server had already died, which means it crashed mid-run.
    pub async fn stop(&mut self) -> Result<()> {
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

    pub fn remove_data_dir(&self) -> Result<()> {
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

use std::io::BufRead;
use std::process::ExitCode;
use std::sync::Arc;

use atelier::auth::{AuthError, AuthService};
use atelier::config::{ConfigArgs, Settings};
use atelier::mail::{EmailQueue, Outbox};
use atelier::startup::{Application, shutdown_signal};
use clap::{Parser, Subcommand};

/// glibc's malloc took a fifth of the server's time under catalog load
/// (arena locks and consolidation across the runtime and SQLite threads).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "atelier", version, about = "The Atelier marketplace API")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API (migrates the database first).
    Serve(ConfigArgs),
    /// Apply database migrations and exit.
    Migrate(ConfigArgs),
    /// Print the OpenAPI spec as JSON.
    Openapi,
    /// Create an administrator account. The password is read from
    /// ATELIER_SUPERUSER_PASSWORD or, if unset, from the first line of stdin.
    Createsuperuser {
        #[arg(long)]
        email: String,
        #[arg(long)]
        username: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Compare one UTC day of Paystack's charges and transfers with our
    /// payments, payouts and ledger; print every difference. Exit code 0:
    /// everything matches; 1: differences; 2: could not check (no Paystack
    /// key, Paystack or the database unreachable, a bad date).
    Reconcile {
        /// The UTC day, `YYYY-MM-DD`.
        #[arg(long)]
        date: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

fn main() -> ExitCode {
    tune_allocator();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("atelier: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async_main())
}

/// Each password hash allocates ~19 MiB. glibc's default raises its mmap
/// threshold after the first such block is freed, and from then on keeps the
/// blocks in per-thread arenas that it never returns: RSS grows by hundreds of
/// MB after a burst of logins. A fixed threshold (which also switches the
/// dynamic one off) sends big blocks straight back to the OS, and fewer arenas
/// limit fragmentation.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: called first thing in main, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1024 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 4);
    }
}

async fn async_main() -> ExitCode {
    let cli = Cli::parse();
    // Its report is the output: no log lines mixed into it.
    if let Command::Reconcile { date, config } = cli.command {
        return reconcile(&date, config).await;
    }
    let log_format = match &cli.command {
        Command::Serve(c) | Command::Migrate(c) | Command::Createsuperuser { config: c, .. } => {
            c.log_format.clone()
        }
        Command::Openapi | Command::Reconcile { .. } => "text".into(),
    };
    if !matches!(cli.command, Command::Openapi) {
        atelier::telemetry::init(&log_format);
    }
    match run(cli.command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("atelier: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(config) => {
            let app = Application::build(config.into_settings()?).await?;
            app.run_until(shutdown_signal()).await?;
        }
        Command::Migrate(config) => {
            let settings = config.into_settings()?;
            let db = connect(&settings).await?;
            atelier::storage::migrate(&db).await?;
            println!("migrations applied");
        }
        Command::Openapi => {
            println!("{}", atelier::openapi::spec().to_pretty_json()?);
        }
        Command::Reconcile { .. } => unreachable!("handled before logging starts"),
        Command::Createsuperuser {
            email,
            username,
            config,
        } => {
            let settings = config.into_settings()?;
            let password = match std::env::var("ATELIER_SUPERUSER_PASSWORD") {
                Ok(p) if !p.is_empty() => p,
                _ => {
                    eprintln!("Password (one line on stdin):");
                    let mut line = String::new();
                    std::io::stdin().lock().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_string()
                }
            };
            let db = connect(&settings).await?;
            atelier::storage::migrate(&db).await?;
            let secret = "createsuperuser does not sign anything, so any key will do";
            // Nothing is emailed: the queue is never started.
            let jobs = atelier::jobs::JobQueue::new(db.clone(), settings.jobs.clone());
            let outbox = Outbox::new(Arc::new(EmailQueue::new(secret)), jobs);
            let auth = AuthService::new(db, settings.auth.clone(), secret, outbox);
            match auth.create_superuser(&email, &username, &password).await {
                Ok(user) => println!("superuser {} created (id {})", user.username, user.id),
                Err(AuthError::Invalid(errors)) => {
                    anyhow::bail!("{}", serde_json::to_string(&errors)?)
                }
                Err(err) => anyhow::bail!("{err}"),
            }
        }
    }
    Ok(())
}

/// `atelier reconcile`: 0 when everything matches, 1 on differences, 2 when
/// the check could not be made.
async fn reconcile(date: &str, config: ConfigArgs) -> ExitCode {
    let fail = |why: String| {
        eprintln!("atelier reconcile: {why}");
        ExitCode::from(2)
    };
    let day = match chrono::NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d") {
        Ok(day) => day,
        Err(_) => return fail(format!("--date must be YYYY-MM-DD, not {date:?}")),
    };
    let settings = match config.into_settings() {
        Ok(settings) => settings,
        Err(err) => return fail(format!("{err:#}")),
    };
    let Some(key) = settings.payments.paystack_secret_key.as_deref() else {
        return fail("no Paystack key configured (PAYSTACK_SECRET_KEY)".into());
    };
    let paystack = atelier::store::Paystack::new(&settings.payments.paystack_base_url, key);
    let db = match connect(&settings).await {
        Ok(db) => db,
        Err(err) => return fail(format!("database: {err:#}")),
    };
    let report = atelier::wallet::reconcile::reconcile(&db, &paystack, day).await;
    let _ = db.close().await;
    match report {
        Ok(report) => {
            for line in report.lines() {
                println!("{line}");
            }
            if report.is_clean() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(err) => fail(err.to_string()),
    }
}

async fn connect(settings: &Settings) -> anyhow::Result<sea_orm::DatabaseConnection> {
    atelier::storage::connect(
        &settings.database_url,
        settings.db_max_connections,
        settings.db_acquire_timeout,
    )
    .await
}

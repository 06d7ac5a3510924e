//! Building and running the application: connect and migrate, assemble the
//! router, bind, serve until told to stop.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::AuthService;
use crate::chat::ChatService;
use crate::config::{Settings, mask_url};
use crate::http::middleware;
use crate::idempotency::IdempotencyStore;
use crate::jobs::JobQueue;
use crate::mail::{EmailQueue, Mailer, Outbox};
use crate::media::{MediaService, MediaStore};
use crate::state::AppState;
use crate::store::StoreService;

pub const MAX_BODY_BYTES: usize = 1024 * 1024;
const PURGE_EVERY: Duration = Duration::from_secs(600);
const SOCKET_CLOSE_LIMIT: Duration = Duration::from_secs(3);

pub struct Application {
    listener: TcpListener,
    router: Router,
    db: DatabaseConnection,
    jobs: Arc<JobQueue>,
    chat: Arc<ChatService>,
}

impl Application {
    /// Everything that can fail at start-up fails here, with a clear message.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        tracing::info!(database = %mask_url(&settings.database_url), "connecting to the database");
        let db = crate::storage::connect(
            &settings.database_url,
            settings.db_max_connections,
            settings.db_acquire_timeout,
        )
        .await?;
        crate::storage::migrate(&db).await?;
        let secret = secret_key(&settings)?;
        let mailer = Mailer::from_settings(
            settings.smtp_url.as_deref(),
            &settings.email_from,
            settings.data_dir.join("outbox"),
        )?;
        tracing::info!(mailer = %mailer.describe(), "email");
        let mailer = Arc::new(mailer);
        let jobs = JobQueue::new(db.clone(), settings.jobs.clone());
        let emails = Arc::new(EmailQueue::new(&secret));
        emails.serve(&jobs, mailer);
        let outbox = Outbox::new(emails, jobs.clone());
        let auth = AuthService::new(db.clone(), settings.auth.clone(), &secret, outbox.clone());
        let longest_window = settings
            .auth
            .failure_window
            .max(settings.auth.email_cooldown);
        crate::housekeeping::schedule(&jobs, longest_window, PURGE_EVERY);
        let auth = Arc::new(auth);
        auth.follow_revocations().await?;
        let payments = &settings.payments;
        let paystack = payments
            .paystack_secret_key
            .as_deref()
            .map(|key| crate::store::Paystack::new(&payments.paystack_base_url, key));
        tracing::info!(paystack = paystack.is_some(), "payments");
        let payout_accounts = Arc::new(crate::wallet::payout_accounts::PayoutAccountService::new(
            db.clone(),
            paystack
                .clone()
                .map(crate::wallet::transfers::Transfers::new),
            auth.clone(),
            outbox.clone(),
            settings.payout_accounts.clone(),
        ));
        let payouts = crate::wallet::payouts::PayoutService::new(
            db.clone(),
            paystack
                .clone()
                .map(crate::wallet::transfers::Transfers::new),
            settings.payouts,
            jobs.clone(),
        );
        payouts.serve();
        let store = Arc::new(
            StoreService::new(db.clone(), paystack, payments).with_wallet(settings.wallet),
        );
        store.register_transfer_events(Arc::new(crate::wallet::payouts::PayoutEvents(
            payouts.clone(),
        )));
        store.schedule_expiry(&jobs);
        store.serve_refunds(&jobs);
        let chat =
            crate::chat::ChatService::new(db.clone(), settings.chat.clone(), auth.user_cache())
                .await?;
        // Logins that end close their chat sockets at once.
        auth.watch_sessions(chat.clone());
        let media_store = match &settings.media_s3 {
            Some(bucket) => MediaStore::bucket(bucket)?,
            None => MediaStore::folder(settings.media_dir.clone()),
        };
        let media = Arc::new(MediaService::new(
            db.clone(),
            media_store,
            settings.max_upload_bytes,
        ));
        tracing::info!(store = %media.describe(), "media");
        let commissions = crate::commissions::CommissionService::start(
            db.clone(),
            store.clone(),
            chat.clone(),
            outbox.clone(),
            settings.commissions.clone(),
        );
        commissions.schedule_due_work(&jobs);
        let fittings = Arc::new(crate::fittings::FittingService::new(
            db.clone(),
            settings.fittings.clone(),
            outbox.clone(),
            &secret,
        ));
        fittings.schedule_reminders(&jobs);
        let wallet = crate::wallet::WalletService::new(db.clone(), settings.wallet);
        wallet.schedule_releases(&jobs);
        let fcm =
            crate::notifications::push::FcmClient::from_settings(&settings.fcm)?.map(Arc::new);
        tracing::info!(push = fcm.is_some(), "push notifications (FCM)");
        crate::notifications::push_job::serve(&jobs, fcm);
        if let Some(digest) = settings.digest.clone() {
            crate::notifications::digest::schedule(&jobs, chat.clone(), outbox.clone(), digest);
        }
        let notifications = crate::notifications::NotificationService::start(
            db.clone(),
            chat.clone(),
            outbox.clone(),
            jobs.clone(),
        );
        // Every handler is registered: this instance may start claiming.
        jobs.start();
        let state = AppState {
            jobs: jobs.clone(),
            db: db.clone(),
            auth: auth.clone(),
            store: store.clone(),
            idempotency: IdempotencyStore::new(db.clone()),
            media: media.clone(),
            metrics: metrics_handle(),
            commissions,
            chat: chat.clone(),
            tailors: Arc::new(crate::tailors::TailorService::new(
                db.clone(),
                auth.user_cache(),
            )),
            fittings,
            notifications,
            payout_accounts,
            payouts,
            wallet,
        };
        let router = router(state, &settings);
        let listener = TcpListener::bind(settings.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.listen))?;
        Ok(Self {
            listener,
            router,
            db,
            jobs,
            chat,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("bound listener has an address")
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        tracing::info!(address = %self.local_addr(), "listening");
        // Sockets are told to close when the signal comes, so that draining
        // requests is not held up by connections that never end on their own.
        let chat = self.chat.clone();
        let shutdown = async move {
            shutdown.await;
            chat.close_all_sockets();
        };
        let service = tower::Layer::layer(
            &tower::util::MapRequestLayer::new(middleware::trim_trailing_slash),
            self.router,
        );
        // Pushes and small replies go out at once: with Nagle's algorithm a
        // frame written while an earlier one is unacknowledged waits for the
        // peer's delayed ACK (40 ms on Linux), e.g. a message after a ping.
        let listener = axum::serve::ListenerExt::tap_io(self.listener, |tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "could not set TCP_NODELAY");
            }
        });
        axum::serve(
            listener,
            axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<
                SocketAddr,
            >(service),
        )
        .with_graceful_shutdown(shutdown)
        .await?;
        self.chat.sockets_closed(SOCKET_CLOSE_LIMIT).await;
        self.jobs.shut_down().await;
        let _ = self.db.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

pub fn router(state: AppState, settings: &Settings) -> Router {
    let (api, spec) = crate::openapi::api_router().split_for_parts();
    api.route(
        "/ws/chat",
        axum::routing::get(crate::chat::http::ws::chat_socket),
    )
    .merge(SwaggerUi::new("/api/docs").url("/api/openapi.json", spec))
    .fallback(middleware::not_found)
    .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
    .layer(crate::auth::http::ip_limit_layer(
        settings.rate_limit_ip_per_minute,
        settings.trust_forwarded_for,
    ))
    .layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(middleware::request_span)
                    .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
            )
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(axum::middleware::from_fn(
                crate::http::unread_body::finish_unread_body,
            ))
            .layer(axum::middleware::from_fn(middleware::record_metrics))
            .layer(axum::middleware::from_fn(middleware::json_error_bodies))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::SERVICE_UNAVAILABLE,
                Duration::from_secs(30),
            )),
    )
    .with_state(state)
}

/// One recorder per process (tests run many apps in one process).
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("http_request_duration_seconds".into()),
                    &[
                        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    ],
                )
                .expect("non-empty buckets")
                .install_recorder()
                .expect("metrics recorder installs once")
        })
        .clone()
}

/// The configured key, or one generated on first start and kept in the data folder.
fn secret_key(settings: &Settings) -> anyhow::Result<String> {
    if let Some(key) = &settings.secret_key {
        if key.len() < 32 {
            anyhow::bail!("ATELIER_SECRET_KEY must be at least 32 characters");
        }
        return Ok(key.clone());
    }
    let path = settings.data_dir.join("secret_key");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim().to_string();
        if existing.len() >= 32 {
            return Ok(existing);
        }
    }
    let key = generate_key();
    write_private(&path, &key)
        .map_err(|e| anyhow::anyhow!("cannot write the secret key to {}: {e}", path.display()))?;
    tracing::info!(path = %path.display(), "generated a secret key (set ATELIER_SECRET_KEY to share one between instances)");
    Ok(key)
}

fn generate_key() -> String {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    let mut bytes = [0u8; 48];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    use std::io::Write;
    options.open(path)?.write_all(contents.as_bytes())
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

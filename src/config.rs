//! Run-time configuration, read from the environment (or flags) by `clap`.
//! The defaults are chosen so that `atelier serve` works with no configuration.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;

use crate::chat::ChatSettings;
use crate::fittings::FittingSettings;
use crate::jobs::JobSettings;
use crate::media::S3Settings;
use crate::notifications::digest::DigestSettings;
use crate::notifications::push::FcmSettings;
use crate::wallet::payout_accounts::PayoutAccountSettings;

/// Every setting, as flags with an environment-variable twin.
#[derive(Args, Clone, Debug)]
pub struct ConfigArgs {
    /// Address and port the API listens on.
    #[arg(long, env = "ATELIER_LISTEN", default_value = "127.0.0.1:8000")]
    pub listen: SocketAddr,
    /// `sqlite://PATH` or `postgres://USER@HOST:PORT/DB`; defaults to a SQLite file in the data folder.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Folder for the default SQLite database, the generated secret key and the email outbox.
    #[arg(long, env = "ATELIER_DATA_DIR", default_value = "atelier-data")]
    pub data_dir: PathBuf,
    /// Where uploaded images are kept (default: `media` in the data folder).
    #[arg(long, env = "ATELIER_MEDIA_DIR")]
    pub media_dir: Option<PathBuf>,
    /// Keep uploaded images in this S3-compatible bucket instead of the media folder.
    #[arg(long, env = "ATELIER_MEDIA_S3_BUCKET")]
    pub media_s3_bucket: Option<String>,
    #[arg(long, env = "ATELIER_MEDIA_S3_REGION", default_value = "us-east-1")]
    pub media_s3_region: String,
    /// The bucket's endpoint for providers other than AWS (MinIO, R2, ...), e.g. `http://127.0.0.1:9000`.
    #[arg(long, env = "ATELIER_MEDIA_S3_ENDPOINT")]
    pub media_s3_endpoint: Option<String>,
    #[arg(long, env = "AWS_ACCESS_KEY_ID", hide_env_values = true)]
    pub aws_access_key_id: Option<String>,
    #[arg(long, env = "AWS_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub aws_secret_access_key: Option<String>,
    /// Largest accepted image upload, in bytes.
    #[arg(long, env = "ATELIER_MAX_UPLOAD_BYTES", default_value_t = 10 * 1024 * 1024)]
    pub max_upload_bytes: usize,
    /// `smtp://host:port`, `smtps://user:pass@host:465` or `smtp://...?tls=starttls`; unset: log/outbox mailer.
    #[arg(long, env = "SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    #[arg(
        long,
        env = "ATELIER_EMAIL_FROM",
        default_value = "Atelier <no-reply@atelier.local>"
    )]
    pub email_from: String,
    /// Signs tokens and keys the code hashes; at least 32 characters. Generated and kept in the data folder when unset.
    #[arg(long, env = "ATELIER_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// Requests per minute per client address on register, login, verify, resend and reset; 0 turns it off.
    #[arg(long, env = "ATELIER_RATE_LIMIT_IP_PER_MINUTE", default_value_t = 300)]
    pub rate_limit_ip_per_minute: u32,
    /// Behind a load balancer: take the client address from the last `X-Forwarded-For` entry.
    #[arg(long, env = "ATELIER_TRUST_FORWARDED_FOR", default_value_t = false)]
    pub trust_forwarded_for: bool,
    #[arg(long, env = "ATELIER_ACCESS_TOKEN_TTL_SECS", default_value_t = 900)]
    pub access_token_ttl_secs: u64,
    #[arg(long, env = "ATELIER_REFRESH_TOKEN_TTL_SECS", default_value_t = 7 * 24 * 3600)]
    pub refresh_token_ttl_secs: u64,
    #[arg(long, env = "ATELIER_CODE_TTL_SECS", default_value_t = 600)]
    pub code_ttl_secs: u64,
    /// Wrong tries after which a code dies.
    #[arg(long, env = "ATELIER_CODE_MAX_ATTEMPTS", default_value_t = 5)]
    pub code_max_attempts: u32,
    /// Seconds between two code emails (resend, password reset) to one address.
    #[arg(long, env = "ATELIER_EMAIL_COOLDOWN_SECS", default_value_t = 60)]
    pub email_cooldown_secs: u64,
    /// Failed secret checks (password, code) per account identifier within the window before 429.
    #[arg(long, env = "ATELIER_MAX_FAILURES", default_value_t = 10)]
    pub max_failures: u32,
    #[arg(long, env = "ATELIER_FAILURE_WINDOW_SECS", default_value_t = 900)]
    pub failure_window_secs: u64,
    /// argon2id memory cost in KiB (minimum 19456).
    #[arg(long, env = "ATELIER_ARGON2_MEMORY_KIB", default_value_t = 19456)]
    pub argon2_memory_kib: u32,
    /// argon2id iterations (minimum 2).
    #[arg(long, env = "ATELIER_ARGON2_ITERATIONS", default_value_t = 2)]
    pub argon2_iterations: u32,
    /// Database pool size; default 16 on PostgreSQL and twice the cores (4 to
    /// 16) on SQLite, whose connections each hold a thread of this machine.
    #[arg(long, env = "ATELIER_DB_MAX_CONNECTIONS")]
    pub db_max_connections: Option<u32>,
    /// How long a request waits for a database connection before it gets a 503.
    #[arg(long, env = "ATELIER_DB_ACQUIRE_TIMEOUT_SECS", default_value_t = 3)]
    pub db_acquire_timeout_secs: u64,
    /// Paystack secret key; without it only pay-on-delivery is offered.
    #[arg(long, env = "PAYSTACK_SECRET_KEY", hide_env_values = true)]
    pub paystack_secret_key: Option<String>,
    #[arg(
        long,
        env = "PAYSTACK_BASE_URL",
        default_value = "https://api.paystack.co"
    )]
    pub paystack_base_url: String,
    /// Orders still unpaid after this long are cancelled and their stock returned.
    #[arg(long, env = "ATELIER_UNPAID_ORDER_TTL_SECS", default_value_t = 1800)]
    pub unpaid_order_ttl_secs: u64,
    /// First wait before resending a refund Paystack could not take; it doubles per attempt.
    #[arg(long, env = "ATELIER_REFUND_RETRY_SECS", default_value_t = 30)]
    pub refund_retry_secs: u64,
    /// Days after delivery when a commission nobody disputed completes by itself.
    #[arg(
        long,
        env = "ATELIER_COMMISSION_AUTO_COMPLETE_DAYS",
        default_value_t = 7
    )]
    pub commission_auto_complete_days: u64,
    /// Days after delivery when the customer may still ask for alterations.
    #[arg(long, env = "ATELIER_COMMISSION_ALTERATION_DAYS", default_value_t = 7)]
    pub commission_alteration_days: u64,
    /// Hours a newly added or changed payout bank account waits before payouts may go to it.
    #[arg(
        long,
        env = "ATELIER_PAYOUT_ACCOUNT_COOLDOWN_HOURS",
        default_value_t = 24
    )]
    pub payout_account_cooldown_hours: u64,
    /// The smallest withdrawal a tailor may ask for, in kobo (100000 = ₦1,000).
    #[arg(long, env = "ATELIER_PAYOUT_MINIMUM_KOBO", default_value_t = 100_000)]
    pub payout_minimum_kobo: i64,
    /// Seconds after a transfer Paystack accepted as `pending` before it is verified, in
    /// case its webhook never comes.
    #[arg(long, env = "ATELIER_PAYOUT_VERIFY_AFTER_SECS", default_value_t = 600)]
    pub payout_verify_after_secs: u64,
    /// `redis://host:port`: fan chat events out to every instance through Redis. Unset: one process.
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Chat messages one user may send per minute (all instances together); 0 turns the limit off.
    #[arg(long, env = "ATELIER_CHAT_SEND_PER_MINUTE", default_value_t = 120)]
    pub chat_send_per_minute: u32,
    /// Chat typing frames one user may send per minute (all instances together); more are dropped.
    #[arg(long, env = "ATELIER_CHAT_TYPING_PER_MINUTE", default_value_t = 60)]
    pub chat_typing_per_minute: u32,
    /// Seconds an instance's claim that a user is online lasts unless renewed; a dead
    /// instance's users go offline for their contacts within about this long.
    #[arg(long, env = "ATELIER_CHAT_PRESENCE_TTL_SECS", default_value_t = 30)]
    pub chat_presence_ttl_secs: u64,
    /// Milliseconds a new chat socket's conversation events wait for its `resume` frame.
    #[arg(long, env = "ATELIER_CHAT_RESUME_WAIT_MS", default_value_t = 2000)]
    pub chat_resume_wait_ms: u64,
    /// Seconds between server pings on chat sockets; a socket silent for two intervals is closed.
    #[arg(long, env = "ATELIER_CHAT_PING_SECS", default_value_t = 20)]
    pub chat_ping_secs: u64,
    /// Seconds a chat socket has to send its auth frame.
    #[arg(long, env = "ATELIER_CHAT_AUTH_TIMEOUT_SECS", default_value_t = 5)]
    pub chat_auth_timeout_secs: u64,
    /// A customer may cancel or move a fitting up to this many hours before it.
    #[arg(
        long,
        env = "ATELIER_FITTING_CANCEL_NOTICE_HOURS",
        default_value_t = 12
    )]
    pub fitting_cancel_notice_hours: u64,
    /// Seconds between two looks for fitting reminders that are due (24 h and 1 h before).
    #[arg(long, env = "ATELIER_FITTING_REMINDER_POLL_SECS", default_value_t = 60)]
    pub fitting_reminder_poll_secs: u64,
    /// Background jobs (emails, pushes, refunds, reminders ...) one instance runs at once.
    #[arg(long, env = "ATELIER_JOBS_CONCURRENCY", default_value_t = 16)]
    pub jobs_concurrency: usize,
    /// Milliseconds between two looks for due jobs when the queue is idle.
    #[arg(long, env = "ATELIER_JOBS_POLL_MS", default_value_t = 500)]
    pub jobs_poll_ms: u64,
    /// Seconds a claimed job is reserved for its worker (extended while it runs); a job whose
    /// worker died runs again after this long.
    #[arg(long, env = "ATELIER_JOBS_LEASE_SECS", default_value_t = 60)]
    pub jobs_lease_secs: u64,
    /// First wait before a failed job is retried; it doubles per attempt (at most an hour).
    #[arg(long, env = "ATELIER_JOBS_RETRY_SECS", default_value_t = 5)]
    pub jobs_retry_secs: u64,
    /// Firebase service-account JSON key for push notifications; unset: push is off.
    #[arg(long, env = "FCM_SERVICE_ACCOUNT_FILE")]
    pub fcm_service_account_file: Option<PathBuf>,
    /// OAuth2 token endpoint for FCM; unset: the key's `token_uri`.
    #[arg(long, env = "FCM_TOKEN_URL")]
    pub fcm_token_url: Option<String>,
    /// FCM's API; tests point it at a loopback stand-in.
    #[arg(
        long,
        env = "FCM_BASE_URL",
        default_value = crate::notifications::push::DEFAULT_BASE_URL
    )]
    pub fcm_base_url: String,
    /// Minutes a user must have been away, with unread chat messages that old, before one
    /// digest email sums them up (0 turns digests off).
    #[arg(long, env = "ATELIER_CHAT_DIGEST_AFTER_MINUTES", default_value_t = 60)]
    pub chat_digest_after_minutes: u64,
    /// The platform's fee on every payment to a tailor, in basis points (1000 = 10%).
    #[arg(long, env = "ATELIER_PLATFORM_FEE_BPS", default_value_t = 1000)]
    pub platform_fee_bps: u32,
    /// Days a shop order's earnings stay in escrow after delivery before they are available.
    #[arg(long, env = "ATELIER_WALLET_HOLD_DAYS", default_value_t = 3)]
    pub wallet_hold_days: u64,
    /// The same hold in seconds; when set it wins over the days (tests, staging).
    #[arg(long, env = "ATELIER_WALLET_HOLD_SECS")]
    pub wallet_hold_secs: Option<u64>,
    /// `text` or `json`.
    #[arg(long, env = "ATELIER_LOG_FORMAT", default_value = "text")]
    pub log_format: String,
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub listen: SocketAddr,
    pub database_url: String,
    pub data_dir: PathBuf,
    pub media_dir: PathBuf,
    /// When set, images go to this bucket instead of `media_dir`.
    pub media_s3: Option<S3Settings>,
    pub max_upload_bytes: usize,
    pub smtp_url: Option<String>,
    pub email_from: String,
    pub secret_key: Option<String>,
    pub rate_limit_ip_per_minute: u32,
    pub trust_forwarded_for: bool,
    pub db_max_connections: u32,
    pub db_acquire_timeout: Duration,
    pub auth: AuthSettings,
    pub payments: PaymentSettings,
    pub chat: ChatSettings,
    pub commissions: CommissionSettings,
    pub fittings: FittingSettings,
    pub wallet: WalletSettings,
    pub jobs: JobSettings,
    pub fcm: FcmSettings,
    /// None: no chat digest emails.
    pub digest: Option<DigestSettings>,
    pub payout_accounts: PayoutAccountSettings,
    pub payouts: PayoutSettings,
}

#[derive(Clone, Debug)]
pub struct CommissionSettings {
    /// A delivered commission nobody disputed completes after this long.
    pub auto_complete_after: Duration,
    /// The customer may ask for alterations for this long after delivery.
    pub alteration_window: Duration,
    /// How often reminders and automatic completions are looked for.
    pub check_every: Duration,
}

impl Default for CommissionSettings {
    fn default() -> Self {
        Self {
            auto_complete_after: Duration::from_secs(7 * 24 * 3600),
            alteration_window: Duration::from_secs(7 * 24 * 3600),
            check_every: Duration::from_secs(30),
        }
    }
}

/// Tailors' money: the platform's fee and the escrow hold.
#[derive(Clone, Copy, Debug)]
pub struct WalletSettings {
    /// The platform's fee in basis points of each payment (0 to 10,000).
    pub fee_bps: u32,
    /// A delivered shop order's earnings become available this long after
    /// delivery (a completed order's at once).
    pub hold: Duration,
    /// How often due earnings are looked for.
    pub release_every: Duration,
}

impl WalletSettings {
    pub fn new(fee_bps: u32, hold: Duration) -> Self {
        Self {
            fee_bps,
            hold,
            // A release is at most a quarter of the hold late, and the
            // sweep is cheap (one indexed range read) even every second.
            release_every: (hold / 4).clamp(Duration::from_millis(200), Duration::from_secs(60)),
        }
    }
}

impl Default for WalletSettings {
    fn default() -> Self {
        Self::new(1000, Duration::from_secs(3 * 24 * 3600))
    }
}

/// Withdrawals (`wallet::payouts`).
#[derive(Clone, Copy, Debug)]
pub struct PayoutSettings {
    /// The smallest withdrawal, in kobo.
    pub minimum_kobo: i64,
    /// A transfer Paystack accepted as `pending` is verified after this
    /// long if no webhook settled it first (and again as long as it stays
    /// pending).
    pub verify_after: Duration,
    /// The first wait before verifying a transfer whose outcome is unknown;
    /// it doubles per try, up to `verify_tries` tries.
    pub verify_soon: Duration,
    /// Tries of verify that find nothing (or no answer) before the payout is
    /// left `unconfirmed` for staff.
    pub verify_tries: i32,
    /// How often a waiting payout looks again whether its tailor's transfer
    /// in flight has settled (settling wakes it too; this is the fallback).
    pub turn_recheck: Duration,
    /// How often the sweep looks for `pending` and `processing` payouts
    /// that no job follows any more.
    pub sweep_every: Duration,
    /// A payout unmoved for this long, with no job queued or running for
    /// it, is given a job again by the sweep.
    pub stuck_after: Duration,
}

impl Default for PayoutSettings {
    fn default() -> Self {
        Self {
            minimum_kobo: 100_000,
            verify_after: Duration::from_secs(600),
            verify_soon: Duration::from_secs(30),
            // 30 s doubling to 20 min, 8 tries: about an hour.
            verify_tries: 8,
            turn_recheck: Duration::from_secs(60),
            sweep_every: Duration::from_secs(300),
            stuck_after: Duration::from_secs(900),
        }
    }
}

#[derive(Clone)]
pub struct PaymentSettings {
    pub paystack_secret_key: Option<String>,
    pub paystack_base_url: String,
    pub unpaid_order_ttl: Duration,
    /// The first wait before resending a refund Paystack could not take
    /// (unreachable or busy); it doubles with each attempt.
    pub refund_retry_after: Duration,
}

// Written by hand so the secret key never reaches a log line.
impl std::fmt::Debug for PaymentSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaymentSettings")
            .field("paystack", &self.paystack_secret_key.is_some())
            .field("paystack_base_url", &self.paystack_base_url)
            .field("unpaid_order_ttl", &self.unpaid_order_ttl)
            .finish()
    }
}

#[derive(Clone, Debug)]
pub struct AuthSettings {
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub code_ttl: Duration,
    pub code_max_attempts: u32,
    pub email_cooldown: Duration,
    pub max_failures: u32,
    pub failure_window: Duration,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
}

/// At most ten years, so a typo cannot overflow a timestamp.
fn days(n: u64) -> Duration {
    Duration::from_secs(n.min(3650) * 24 * 3600)
}

pub const MIN_ARGON2_MEMORY_KIB: u32 = 19456;
pub const MIN_ARGON2_ITERATIONS: u32 = 2;
const MAX_DURATION_SECS: u64 = 10 * 365 * 24 * 3600;

impl ConfigArgs {
    pub fn into_settings(self) -> anyhow::Result<Settings> {
        if self.argon2_memory_kib < MIN_ARGON2_MEMORY_KIB {
            anyhow::bail!("ATELIER_ARGON2_MEMORY_KIB must be at least {MIN_ARGON2_MEMORY_KIB}");
        }
        if self.argon2_iterations < MIN_ARGON2_ITERATIONS {
            anyhow::bail!("ATELIER_ARGON2_ITERATIONS must be at least {MIN_ARGON2_ITERATIONS}");
        }
        let durations = [
            ("ATELIER_ACCESS_TOKEN_TTL_SECS", self.access_token_ttl_secs),
            (
                "ATELIER_REFRESH_TOKEN_TTL_SECS",
                self.refresh_token_ttl_secs,
            ),
            ("ATELIER_CODE_TTL_SECS", self.code_ttl_secs),
            ("ATELIER_EMAIL_COOLDOWN_SECS", self.email_cooldown_secs),
            ("ATELIER_FAILURE_WINDOW_SECS", self.failure_window_secs),
            ("ATELIER_UNPAID_ORDER_TTL_SECS", self.unpaid_order_ttl_secs),
            ("ATELIER_REFUND_RETRY_SECS", self.refund_retry_secs),
            (
                "ATELIER_FITTING_REMINDER_POLL_SECS",
                self.fitting_reminder_poll_secs,
            ),
        ];
        for (name, secs) in durations {
            if secs > MAX_DURATION_SECS {
                anyhow::bail!("{name} must be at most {MAX_DURATION_SECS} (ten years)");
            }
        }
        if self.access_token_ttl_secs == 0
            || self.refresh_token_ttl_secs == 0
            || self.code_ttl_secs == 0
        {
            anyhow::bail!("token and code lifetimes must be at least one second");
        }
        if self.fitting_cancel_notice_hours > 24 * 365 {
            anyhow::bail!("ATELIER_FITTING_CANCEL_NOTICE_HOURS must be at most a year");
        }
        if self.platform_fee_bps > 10_000 {
            anyhow::bail!("ATELIER_PLATFORM_FEE_BPS must be between 0 and 10000 (100%)");
        }
        if self.code_max_attempts > 1000 || self.max_failures > 1_000_000 {
            anyhow::bail!(
                "ATELIER_CODE_MAX_ATTEMPTS must be at most 1000 and ATELIER_MAX_FAILURES at most 1000000"
            );
        }
        let database_url = self
            .database_url
            .unwrap_or_else(|| default_database_url(&self.data_dir));
        let db_max_connections = self
            .db_max_connections
            .unwrap_or_else(|| default_pool_size(&database_url))
            .max(1);
        Ok(Settings {
            listen: self.listen,
            database_url,
            media_dir: self
                .media_dir
                .unwrap_or_else(|| self.data_dir.join("media")),
            media_s3: self
                .media_s3_bucket
                .filter(|b| !b.trim().is_empty())
                .map(|bucket| S3Settings {
                    bucket,
                    region: self.media_s3_region,
                    endpoint: self.media_s3_endpoint.filter(|e| !e.trim().is_empty()),
                    access_key_id: self.aws_access_key_id,
                    secret_access_key: self.aws_secret_access_key,
                }),
            max_upload_bytes: self.max_upload_bytes,
            data_dir: self.data_dir,
            smtp_url: self.smtp_url.filter(|u| !u.trim().is_empty()),
            email_from: self.email_from,
            secret_key: self.secret_key.filter(|k| !k.is_empty()),
            rate_limit_ip_per_minute: self.rate_limit_ip_per_minute,
            trust_forwarded_for: self.trust_forwarded_for,
            db_max_connections,
            db_acquire_timeout: Duration::from_secs(self.db_acquire_timeout_secs.max(1)),
            payments: PaymentSettings {
                paystack_secret_key: self.paystack_secret_key.filter(|k| !k.is_empty()),
                paystack_base_url: self.paystack_base_url.trim_end_matches('/').to_string(),
                unpaid_order_ttl: Duration::from_secs(self.unpaid_order_ttl_secs.max(1)),
                refund_retry_after: Duration::from_secs(self.refund_retry_secs.max(1)),
            },
            chat: ChatSettings {
                send_limit: self.chat_send_per_minute,
                send_window: Duration::from_secs(60),
                typing_limit: self.chat_typing_per_minute,
                presence_ttl: Duration::from_secs(self.chat_presence_ttl_secs.clamp(3, 3600)),
                resume_wait: Duration::from_millis(self.chat_resume_wait_ms.min(60_000)),
                ping_interval: Duration::from_secs(self.chat_ping_secs.clamp(1, 3600)),
                auth_timeout: Duration::from_secs(self.chat_auth_timeout_secs.clamp(1, 300)),
                redis_url: self.redis_url.filter(|u| !u.trim().is_empty()),
                ..ChatSettings::default()
            },
            digest: (self.chat_digest_after_minutes > 0).then(|| {
                let after =
                    Duration::from_secs(self.chat_digest_after_minutes.min(7 * 24 * 60) * 60);
                DigestSettings {
                    after,
                    every: (after / 12).clamp(Duration::from_secs(60), Duration::from_secs(600)),
                }
            }),
            jobs: JobSettings {
                concurrency: self.jobs_concurrency.clamp(1, 1024),
                poll_every: Duration::from_millis(self.jobs_poll_ms.clamp(10, 60_000)),
                lease: Duration::from_secs(self.jobs_lease_secs.clamp(1, 3600)),
                retry_after: Duration::from_secs(self.jobs_retry_secs.clamp(1, 3600)),
                ..JobSettings::default()
            },
            commissions: CommissionSettings {
                auto_complete_after: days(self.commission_auto_complete_days),
                alteration_window: days(self.commission_alteration_days),
                ..CommissionSettings::default()
            },
            payout_accounts: PayoutAccountSettings {
                cooldown: Duration::from_secs(
                    self.payout_account_cooldown_hours.min(24 * 365) * 3600,
                ),
            },
            payouts: PayoutSettings {
                minimum_kobo: self.payout_minimum_kobo.max(1),
                verify_after: Duration::from_secs(
                    self.payout_verify_after_secs.clamp(1, 24 * 3600),
                ),
                ..PayoutSettings::default()
            },
            wallet: WalletSettings::new(
                self.platform_fee_bps,
                match self.wallet_hold_secs {
                    Some(secs) => Duration::from_secs(secs.min(MAX_DURATION_SECS)),
                    None => days(self.wallet_hold_days),
                },
            ),
            fittings: FittingSettings {
                customer_cancel_notice: Duration::from_secs(
                    self.fitting_cancel_notice_hours * 3600,
                ),
                reminder_poll: Duration::from_secs(self.fitting_reminder_poll_secs.max(1)),
            },
            fcm: FcmSettings {
                service_account_file: self
                    .fcm_service_account_file
                    .filter(|p| !p.as_os_str().is_empty()),
                token_url: self.fcm_token_url.filter(|u| !u.trim().is_empty()),
                base_url: self.fcm_base_url.trim_end_matches('/').to_string(),
            },
            auth: AuthSettings {
                access_token_ttl: Duration::from_secs(self.access_token_ttl_secs),
                refresh_token_ttl: Duration::from_secs(self.refresh_token_ttl_secs),
                code_ttl: Duration::from_secs(self.code_ttl_secs),
                code_max_attempts: self.code_max_attempts.max(1),
                email_cooldown: Duration::from_secs(self.email_cooldown_secs),
                max_failures: self.max_failures.max(1),
                failure_window: Duration::from_secs(self.failure_window_secs),
                argon2_memory_kib: self.argon2_memory_kib,
                argon2_iterations: self.argon2_iterations,
            },
        })
    }
}

fn default_database_url(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("atelier.db").display())
}

/// Each SQLite connection runs its statements on a thread of its own, so
/// more connections than a few per core only make them contend; measured
/// with the catalog bench, 4 connections on 2 cores served 15% more than 16.
fn default_pool_size(database_url: &str) -> u32 {
    if database_url.starts_with("sqlite:") {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get() as u32);
        (2 * cores).clamp(4, 16)
    } else {
        16
    }
}

/// The URL with its password replaced by `***`, safe to print.
pub fn mask_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            let masked = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                user.to_string()
            };
            format!("{scheme}://{masked}@{host}{tail}")
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::mask_url;

    #[test]
    fn masks_passwords_only() {
        assert_eq!(
            mask_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(mask_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(mask_url("sqlite://atelier.db"), "sqlite://atelier.db");
    }
}

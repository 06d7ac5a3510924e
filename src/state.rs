use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use sea_orm::DatabaseConnection;

use crate::auth::AuthService;
use crate::chat::ChatService;
use crate::commissions::CommissionService;
use crate::fittings::FittingService;
use crate::idempotency::IdempotencyStore;
use crate::jobs::JobQueue;
use crate::media::MediaService;
use crate::notifications::NotificationService;
use crate::store::StoreService;
use crate::tailors::TailorService;
use crate::wallet::WalletService;
use crate::wallet::payout_accounts::PayoutAccountService;

/// Shared by every handler; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub auth: Arc<AuthService>,
    pub store: Arc<StoreService>,
    pub idempotency: IdempotencyStore,
    pub media: Arc<MediaService>,
    pub chat: Arc<ChatService>,
    pub tailors: Arc<TailorService>,
    pub commissions: Arc<CommissionService>,
    pub fittings: Arc<FittingService>,
    pub jobs: Arc<JobQueue>,
    pub notifications: Arc<NotificationService>,
    pub payout_accounts: Arc<PayoutAccountService>,
    pub payouts: Arc<crate::wallet::payouts::PayoutService>,
    pub wallet: Arc<WalletService>,
    pub metrics: PrometheusHandle,
}

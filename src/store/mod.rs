//! The shop (app `shop_api`): categories, tailors' products with variants,
//! the public catalog, favourites, the cart, checkout, orders and reviews.
//! Online payment with Paystack, media uploads in `crate::media`.
//!
//! The domain (`StoreService` and its siblings) knows nothing of HTTP;
//! `http` turns requests into calls.

mod browse;
mod cart;
mod categories;
mod checkout;
pub use checkout::{CHECKOUT_IN_PROGRESS, CheckoutResult};
mod error;
mod favorites;
pub mod http;
mod orders;
mod payment_owners;
mod payments;
mod paystack;
mod pricing;
mod products;
mod refunds;
mod reviews;
mod views;

pub use browse::{CatalogQuery, Ordering};
pub use cart::{CartLine, CartView};
pub use error::StoreError;
pub use orders::{
    OrderEventView, OrderItemView, OrderPage, OrderView, Party, PaymentView, Status, order_lines,
};
pub use payment_owners::{PaymentOwner, PaymentPage, TransferEvents, record_payment};
pub use payments::PaymentInfo;
pub use paystack::{ListPage, Listed, Paystack, ProviderError};
pub use products::{ProductInput, VariantInput};
pub use refunds::queue_commission_refund;
pub use reviews::{ReviewPage, ReviewView};
pub use views::{CategoryView, ProductDetail, ProductSummary, RatingSummary, VariantView};

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::time::{Duration, Instant};

use crate::storage::WriteGate;
use crate::storage::group_commit::GroupCommit;

use sea_orm::{
    ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryTrait, Select,
};

pub const KINDS: [&str; 3] = ["ready_made", "fabric", "accessory"];
pub const CURRENCY: &str = "NGN";

pub struct StoreService {
    db: DatabaseConnection,
    /// None when no Paystack key is configured: pay on delivery only.
    paystack: Option<Paystack>,
    unpaid_ttl: Duration,
    /// The first wait before a refund the provider could not take is sent again.
    refund_retry_after: Duration,
    /// Bumped by every write that can change which products a filter
    /// matches; cached counts from an older version are not used.
    catalog_version: AtomicU64,
    /// Catalog counts by query: counting thousands of rows on every page
    /// request was most of the list's cost (see the shop benchmark).
    counts: Mutex<HashMap<String, CachedCount>>,
    /// Adds to carts share transactions (see `storage::group_commit`).
    cart_adds: GroupCommit<cart::CartAdds>,
    /// Checkouts' orders are written by one writer, in shared transactions.
    checkouts: GroupCommit<checkout::Checkouts>,
    /// The platform's fee and the escrow hold, for the ledger postings made
    /// in the shop's transactions.
    wallet: crate::config::WalletSettings,
    /// Who settles payments that are not a checkout's, by purpose.
    payment_owners: std::sync::RwLock<HashMap<&'static str, std::sync::Arc<dyn PaymentOwner>>>,
    /// Who follows `transfer.*` webhook events (payouts).
    transfer_events: std::sync::RwLock<Option<std::sync::Arc<dyn TransferEvents>>>,
}

struct CachedCount {
    version: u64,
    at: Instant,
    count: u64,
    /// One request is recounting this expired entry; the others keep
    /// answering with it meanwhile instead of all counting at once.
    refreshing: bool,
}

/// Writes made by another instance show in counts after at most this long.
const COUNT_TTL: Duration = Duration::from_secs(2);
const MAX_CACHED_COUNTS: usize = 10_000;

impl StoreService {
    pub fn new(
        db: DatabaseConnection,
        paystack: Option<Paystack>,
        payments: &crate::config::PaymentSettings,
    ) -> Self {
        Self {
            cart_adds: GroupCommit::start(db.clone(), WriteGate::for_db(&db), cart::CartAdds),
            checkouts: GroupCommit::start(db.clone(), WriteGate::for_db(&db), checkout::Checkouts),
            db,
            paystack,
            unpaid_ttl: payments.unpaid_order_ttl,
            refund_retry_after: payments.refund_retry_after,
            catalog_version: AtomicU64::new(0),
            counts: Mutex::new(HashMap::new()),
            payment_owners: Default::default(),
            transfer_events: Default::default(),
            wallet: Default::default(),
        }
    }

    pub fn with_wallet(mut self, wallet: crate::config::WalletSettings) -> Self {
        self.wallet = wallet;
        self
    }

    pub fn wallet_settings(&self) -> crate::config::WalletSettings {
        self.wallet
    }

    fn catalog_changed(&self) {
        self.catalog_version.fetch_add(1, AtomicOrdering::SeqCst);
    }

    /// `select.count()`, reused while the catalog has not changed here and
    /// for `COUNT_TTL`; after that one request recounts while the others
    /// still get the previous count.
    async fn count_cached<E>(&self, select: &Select<E>) -> Result<u64, StoreError>
    where
        E: EntityTrait,
        E::Model: Sync,
    {
        let key = select.build(self.db.get_database_backend()).to_string();
        let version = self.catalog_version.load(AtomicOrdering::SeqCst);
        if let Ok(mut counts) = self.counts.lock()
            && let Some(cached) = counts.get_mut(&key).filter(|c| c.version == version)
        {
            if cached.at.elapsed() < COUNT_TTL || cached.refreshing {
                return Ok(cached.count);
            }
            cached.refreshing = true;
        }
        let count = match select.clone().count(&self.db).await {
            Ok(count) => count,
            Err(err) => {
                // Let the next request try again rather than serving this one forever.
                if let Ok(mut counts) = self.counts.lock() {
                    counts.remove(&key);
                }
                return Err(err.into());
            }
        };
        if let Ok(mut counts) = self.counts.lock() {
            if counts.len() >= MAX_CACHED_COUNTS {
                counts.clear();
            }
            counts.insert(
                key,
                CachedCount {
                    version,
                    at: Instant::now(),
                    count,
                    refreshing: false,
                },
            );
        }
        Ok(count)
    }
}

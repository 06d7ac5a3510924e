//! Withdrawals: a tailor's available money sent to its bank through
//! Paystack Transfers, followed to the end.
//!
//! A withdrawal holds its amount in the ledger and writes its `payouts` row
//! and its `payout.send` job in one transaction (`withdraw`). The sender
//! (`send`) sends a tailor's payouts one at a time (the unique index of
//! m0028 allows one transfer in flight per tailor), and never sends one
//! twice: a send whose outcome is unknown is verified, never repeated. The
//! webhooks (`events`), the verifier (`send`) and staff (`staff`) settle
//! payouts through one table of allowed moves (`machine`), each move with
//! its ledger postings and notification in the same transaction (`settle`).
//! A scheduled sweep (`sweep`) gives a payout whose jobs died a job again.

mod events;
pub mod http;
mod machine;
mod send;
mod settle;
mod staff;
mod sweep;
mod withdraw;

pub use events::PayoutEvents;
pub use machine::{EVENTS, Event, STATUSES, Status, next_status};
pub use staff::{PayoutFilters, StaffClose};
pub use sweep::SWEEP_JOB;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, PaginatorTrait, QueryOrder, QuerySelect, Select};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::LedgerError;
use super::transfers::Transfers;
use crate::config::PayoutSettings;
use crate::jobs::JobQueue;
use crate::storage::entities::payout;
use crate::storage::{StorageError, WriteGate, page_offset};
use crate::validation::FieldErrors;

/// Our transfer reference for a payout: `atlpo_` and the id's 32 hex
/// digits (the reconcile command reads them back).
pub fn reference_of(id: Uuid) -> String {
    format!("atlpo_{}", id.simple())
}

#[derive(Debug, thiserror::Error)]
pub enum PayoutError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    #[error("not found")]
    NotFound,
    #[error("{0}: {1}")]
    Conflict(&'static str, String),
    /// The server has no Paystack key.
    #[error("payouts are not configured")]
    NotConfigured,
    /// Paystack did not answer a staff question.
    #[error("{0}")]
    Provider(String),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl From<StorageError> for PayoutError {
    fn from(err: StorageError) -> Self {
        PayoutError::Ledger(err.into())
    }
}

impl From<sea_orm::DbErr> for PayoutError {
    fn from(err: sea_orm::DbErr) -> Self {
        PayoutError::Ledger(err.into())
    }
}

impl From<FieldErrors> for PayoutError {
    fn from(errors: FieldErrors) -> Self {
        PayoutError::Invalid(errors)
    }
}

/// A payout as its tailor sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PayoutView {
    pub id: Uuid,
    /// Kobo.
    pub amount: i64,
    pub currency: String,
    /// `pending` (money held, waiting its turn), `processing` (sent to
    /// Paystack), `paid`, `failed`, `reversed` (the bank sent it back: the
    /// money is available again), `unconfirmed` (staff are checking it).
    pub status: String,
    /// Our transfer reference, as the bank statement may show it.
    pub reference: String,
    /// Why it failed, when it did.
    pub failure_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A payout as staff see it: also its tailor and staff's note.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StaffPayoutView {
    #[serde(flatten)]
    pub payout: PayoutView,
    pub tailor_id: Uuid,
    pub staff_note: Option<String>,
}

fn view(row: payout::Model) -> PayoutView {
    PayoutView {
        id: row.id,
        amount: row.amount_kobo,
        currency: row.currency,
        status: row.status,
        reference: row.reference,
        failure_reason: row.failure_reason,
        created_at: row.created_at,
        updated_at: row.updated_at,
        finished_at: row.finished_at,
    }
}

/// One page of payouts.
pub struct PayoutPage<T> {
    pub count: u64,
    pub results: Vec<T>,
}

impl PayoutService {
    /// One page of `query`'s payouts, newest first, each as `to_view` shows
    /// it (the tailor's view or staff's); None past the last page.
    async fn page_of<V>(
        &self,
        query: Select<payout::Entity>,
        page: u64,
        page_size: u64,
        to_view: impl Fn(payout::Model) -> V,
    ) -> Result<Option<PayoutPage<V>>, PayoutError> {
        let count = query.clone().count(&self.db).await?;
        let Some(offset) = page_offset(page, page_size, count) else {
            return Ok(None);
        };
        let rows = query
            .order_by_desc(payout::Column::CreatedAt)
            .order_by_desc(payout::Column::Id)
            .offset(offset)
            .limit(page_size)
            .all(&self.db)
            .await?;
        Ok(Some(PayoutPage {
            count,
            results: rows.into_iter().map(to_view).collect(),
        }))
    }
}

pub struct PayoutService {
    db: DatabaseConnection,
    /// None without a Paystack key: withdrawals are refused (409) and no
    /// sender runs.
    transfers: Option<Transfers>,
    settings: PayoutSettings,
    jobs: Arc<JobQueue>,
    /// On SQLite, withdrawals and settlements wait in line rather than in
    /// SQLite's busy handler (a storm of withdrawals is the case it is for).
    writes: WriteGate,
}

impl PayoutService {
    pub fn new(
        db: DatabaseConnection,
        transfers: Option<Transfers>,
        settings: PayoutSettings,
        jobs: Arc<JobQueue>,
    ) -> Arc<Self> {
        Arc::new(Self {
            writes: WriteGate::for_db(&db),
            db,
            transfers,
            settings,
            jobs,
        })
    }

    pub fn settings(&self) -> PayoutSettings {
        self.settings
    }
}

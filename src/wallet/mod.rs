//! Tailors' money: a double-entry, append-only ledger (`ledger`), the
//! marketplace's flows posted through it (`flows`: payments into escrow
//! less the platform's fee, releases, refunds, fees owed on money collected
//! in person, and the steps of a withdrawal), the release of delivered
//! orders' escrow after the hold (`release`), and what tailors read: the
//! wallet and the statement (`statement`, `http`); payout bank accounts
//! (`payout_accounts`), Paystack Transfers (`transfers`), withdrawals
//! (`payouts`), the log of what staff did (`staff_actions`), staff's
//! adjustments and views (`staff`) and the daily reconciliation with
//! Paystack (`reconcile`). Tables: migrations m0025, m0026, m0028.

mod accounts;
pub mod audit;
mod error;
pub mod fees;
pub mod flows;
pub mod http;
pub mod ledger;
pub mod payout_accounts;
pub mod payouts;
pub mod reconcile;
mod release;
pub mod staff;
pub mod staff_actions;
mod statement;
pub mod transfers;

pub use error::WalletError;
pub use ledger::{
    Account, Balances, Entry, Kind, LedgerError, PlatformAccount, Posted, Posting, Source,
    SourceKind, TailorAccount,
};
pub use statement::{
    BalanceEffect, StatementFilters, StatementLine, StatementPage, UpcomingRelease, WalletView,
};

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::config::WalletSettings;

pub struct WalletService {
    db: DatabaseConnection,
    settings: WalletSettings,
}

impl WalletService {
    pub fn new(db: DatabaseConnection, settings: WalletSettings) -> Arc<Self> {
        Arc::new(Self { db, settings })
    }

    pub fn settings(&self) -> WalletSettings {
        self.settings
    }
}

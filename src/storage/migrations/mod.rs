//! One migration set for SQLite and PostgreSQL, written with the schema
//! builder so that each backend gets its own SQL from the same source.

use sea_orm_migration::prelude::*;

mod columns;
mod m0001_auth;
mod m0002_catalog;
mod m0003_orders;
mod m0004_reviews;
mod m0005_media;
mod m0006_catalog_indexes;
mod m0007_payments;
mod m0008_review_images;
mod m0009_catalog_order_indexes;
mod m0010_chat;
mod m0011_refunds;
mod m0012_checkout_claims;
mod m0013_chat_changes;
mod m0014_account_deletion;
mod m0015_avatars;
mod m0016_revoked_logins_index;
mod m0017_tailors;
mod m0018_tailor_directory_indexes;
mod m0019_portfolio_positions;
mod m0021_changed_messages_index;
mod m0022_commissions;
mod m0023_fittings;
mod m0024_jobs_notifications;
mod m0025_ledger;
mod m0026_payout_accounts;
mod m0027_jobs_statistics;
mod m0028_payouts;

/// See m0021: the query for changed messages repeats the index's condition.
pub use m0021_changed_messages_index::CONDITION as CHANGED_MESSAGES_CONDITION;
/// See m0023: queries for live bookings repeat the partial index's condition.
pub use m0023_fittings::LIVE_CONDITION as LIVE_BOOKING_CONDITION;
/// See m0028: a payout sent and not settled, as the one-per-tailor index reads it.
pub use m0028_payouts::IN_FLIGHT_CONDITION as PAYOUT_IN_FLIGHT_CONDITION;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_auth::Migration),
            Box::new(m0002_catalog::Migration),
            Box::new(m0003_orders::Migration),
            Box::new(m0004_reviews::Migration),
            Box::new(m0005_media::Migration),
            Box::new(m0006_catalog_indexes::Migration),
            Box::new(m0007_payments::Migration),
            Box::new(m0008_review_images::Migration),
            Box::new(m0009_catalog_order_indexes::Migration),
            Box::new(m0010_chat::Migration),
            Box::new(m0011_refunds::Migration),
            Box::new(m0012_checkout_claims::Migration),
            Box::new(m0013_chat_changes::Migration),
            Box::new(m0014_account_deletion::Migration),
            Box::new(m0015_avatars::Migration),
            Box::new(m0016_revoked_logins_index::Migration),
            Box::new(m0017_tailors::Migration),
            Box::new(m0018_tailor_directory_indexes::Migration),
            Box::new(m0019_portfolio_positions::Migration),
            Box::new(m0021_changed_messages_index::Migration),
            Box::new(m0022_commissions::Migration),
            Box::new(m0023_fittings::Migration),
            Box::new(m0024_jobs_notifications::Migration),
            Box::new(m0025_ledger::Migration),
            Box::new(m0026_payout_accounts::Migration),
            Box::new(m0027_jobs_statistics::Migration),
            Box::new(m0028_payouts::Migration),
        ]
    }
}

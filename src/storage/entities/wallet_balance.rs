use sea_orm::entity::prelude::*;

/// A tailor's balances: sums of ledger entries, kept in the posting's
/// transaction (never written otherwise). Kobo.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "wallet_balances")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tailor_id: Uuid,
    /// In escrow until released.
    pub pending: i64,
    /// Can be withdrawn.
    pub available: i64,
    /// Held for a transfer in flight.
    pub withdrawing: i64,
    pub paid_out: i64,
    /// What the tailor owes the platform, as a balance: zero or below.
    pub owed: i64,
    /// Customers' payments credited, after fees and refunds.
    pub earned: i64,
    /// The platform's fees on the tailor's money.
    pub fees: i64,
    /// Ledger transactions naming the tailor: the statement's length.
    pub lines: i64,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

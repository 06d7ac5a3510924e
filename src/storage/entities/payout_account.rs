use sea_orm::entity::prelude::*;

/// A tailor's bank account for payouts, registered with Paystack as a
/// transfer recipient. The account number itself is not kept: transfers go
/// to `recipient_code`, and the tailor is shown the last four digits.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payout_accounts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tailor_id: Uuid,
    pub bank_code: String,
    pub bank_name: String,
    /// The name the bank has on the account.
    pub account_name: String,
    pub account_last4: String,
    /// Paystack's `RCP_...` code.
    pub recipient_code: String,
    /// Payouts may go to it from then (a new account waits, so that a stolen
    /// session cannot redirect money at once).
    pub usable_from: DateTimeUtc,
    /// Set when another account took its place; the current one has none.
    pub replaced_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

use sea_orm::entity::prelude::*;

/// One signed line of a ledger transaction on one account. Positive means
/// more for the account's holder (a tailor, the platform's fees ...).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_entries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub transaction_id: Uuid,
    /// The tailor who holds the account; none for the platform's accounts.
    pub tailor_id: Option<Uuid>,
    /// `pending`, `available`, `withdrawing`, `paid_out`, `owed` (a tailor's),
    /// or `fees`, `refunds`, `clearing` (the platform's).
    pub account: String,
    pub amount_kobo: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

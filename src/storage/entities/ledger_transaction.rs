use sea_orm::entity::prelude::*;

/// One movement of money (see `crate::wallet::ledger`): never changed once
/// written; its entries sum to zero.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_transactions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// See `wallet::Kind`: `payment`, `release`, `refund`, `fee_owed` ...
    pub kind: String,
    /// One business or provider event posts once, however often it arrives.
    #[sea_orm(unique)]
    pub dedup_key: String,
    /// The tailor whose accounts it touches; none for platform-only ones.
    pub tailor_id: Option<Uuid>,
    /// `order`, `commission`, `payment`, `payout` or `adjustment`.
    pub source_kind: String,
    pub source_id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub memo: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

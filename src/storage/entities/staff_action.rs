use sea_orm::entity::prelude::*;

/// One thing a staff member did to money or to a payout (retry, close,
/// adjustment): the audit log. Written in the same transaction as the
/// action, never changed.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "staff_actions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub staff_id: Uuid,
    /// e.g. `payout.retry`, `payout.close`, `wallet.adjust`.
    pub action: String,
    /// `payout`, `tailor`, ...
    pub subject_kind: String,
    pub subject_id: Uuid,
    /// The reason staff gave.
    pub note: String,
    /// JSON with what the action changed (amounts, statuses).
    pub details: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

use sea_orm::entity::prelude::*;

/// What one order or commission still holds in a tailor's escrow (the sum
/// of its `pending` entries), and when it is released.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "wallet_escrows")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub source_id: Uuid,
    /// `order` or `commission`.
    pub source_kind: String,
    pub tailor_id: Uuid,
    pub held_kobo: i64,
    /// Set while something is held and a time is known (a delivered shop
    /// order); a commission is released by its completion instead.
    pub release_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

use sea_orm::entity::prelude::*;

/// A price on the table: the tailor's quote or the customer's counter-offer.
/// Kept for the timeline whatever becomes of it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "commission_offers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub commission_id: Uuid,
    /// `tailor` (a quote) or `customer` (a counter-offer).
    pub author: String,
    pub price_kobo: i64,
    pub deposit_percent: Option<i32>,
    pub due_at: Option<DateTimeUtc>,
    pub notes: String,
    pub valid_until: Option<DateTimeUtc>,
    pub balance_on_collection: bool,
    /// `open`, `accepted`, `declined` or `superseded`.
    pub status: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

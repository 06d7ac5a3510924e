use sea_orm::entity::prelude::*;

/// A customer's dispute of a commission, resolved by staff.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "commission_disputes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub commission_id: Uuid,
    pub opened_by: Uuid,
    pub reason: String,
    /// JSON array of upload ids.
    pub image_ids: String,
    /// `open` or `resolved`.
    pub status: String,
    /// `release` (to the tailor) or `refund`.
    pub resolution: Option<String>,
    pub refund_kobo: i64,
    pub resolved_by: Option<Uuid>,
    pub resolution_note: String,
    pub created_at: DateTimeUtc,
    pub resolved_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

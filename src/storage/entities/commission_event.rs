use sea_orm::entity::prelude::*;

/// One line of a commission's timeline; never changed once written.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "commission_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub commission_id: Uuid,
    pub actor_id: Option<Uuid>,
    /// `customer`, `tailor`, `staff` or `system`.
    pub actor: String,
    pub kind: String,
    /// The commission's status after the event.
    pub status: String,
    pub stage: Option<String>,
    pub note: String,
    /// JSON array of upload ids.
    pub image_ids: String,
    pub offer_id: Option<Uuid>,
    pub amount_kobo: Option<i64>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

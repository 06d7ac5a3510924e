use sea_orm::entity::prelude::*;

/// One customer's review of one tailor (a second review edits the first).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tailor_reviews")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tailor_id: Uuid,
    pub customer_id: Uuid,
    /// 1–5 stars.
    pub rating: i32,
    pub feedback: String,
    /// JSON array of the customer's media ids, in order.
    pub image_ids: String,
    /// The tailor's one answer.
    pub reply: Option<String>,
    pub replied_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

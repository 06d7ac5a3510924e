use sea_orm::entity::prelude::*;

/// One customer's review of one product (a second review edits the first).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reviews")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub product_id: Uuid,
    pub customer_id: Uuid,
    /// 1–5 stars.
    pub rating: i32,
    pub text: String,
    /// Stored names of the review's images (see `media`), comma-separated, in order.
    pub image_names: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

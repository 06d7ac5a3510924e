use sea_orm::entity::prelude::*;

/// One piece of a tailor's portfolio; its images are `portfolio_image` rows.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "portfolio_items")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tailor_id: Uuid,
    pub title: String,
    pub description: String,
    /// JSON array of tags.
    pub tags: String,
    /// Kobo; an indication, not a price anyone is charged.
    pub price_indication: Option<i64>,
    /// One of the tailor's products this piece can be bought as.
    pub product_id: Option<Uuid>,
    /// The tailor's own order of their portfolio (ascending).
    pub position: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

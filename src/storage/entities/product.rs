use sea_orm::entity::prelude::*;

/// A tailor's product. Prices are integer kobo; `effective_price_kobo` is the
/// price after the discount, kept on write so lists can filter and sort by it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "products")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tailor_id: Uuid,
    pub category_id: Option<Uuid>,
    pub name: String,
    pub description: String,
    /// `ready_made`, `fabric` or `accessory`.
    pub kind: String,
    pub material: String,
    /// Comma-separated, lower-case.
    pub colors: String,
    pub price_kobo: i64,
    pub currency: String,
    pub discount_percent: i32,
    pub effective_price_kobo: i64,
    /// Hidden products stay in the tailor's store but leave the catalog.
    pub is_active: bool,
    /// Average rating × 100, for ordering.
    pub rating_avg_centi: i64,
    pub rating_count: i64,
    pub favorites_count: i64,
    /// Soft delete: gone from the catalog, kept for orders.
    pub deleted_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

use sea_orm::entity::prelude::*;

/// A size and/or colour of a product with its own stock (units, or yards for
/// fabric) and an optional price change in kobo.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "product_variants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub product_id: Uuid,
    /// Empty when the product has no sizes.
    pub size: String,
    /// Empty when the product has no colours; lower-case.
    pub color: String,
    pub stock: i64,
    pub price_delta_kobo: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

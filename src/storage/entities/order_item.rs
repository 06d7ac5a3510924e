use sea_orm::entity::prelude::*;

/// A line of an order, with the name and price as they were at checkout.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "order_items")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub order_id: Uuid,
    pub product_id: Uuid,
    pub variant_id: Uuid,
    pub product_name: String,
    pub size: String,
    pub color: String,
    pub unit_price_kobo: i64,
    pub quantity: i64,
    pub line_total_kobo: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

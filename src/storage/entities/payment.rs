use sea_orm::entity::prelude::*;

/// One online payment for one checkout (it may cover several orders).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Our reference, sent to the provider and echoed in its webhooks.
    #[sea_orm(unique)]
    pub reference: String,
    pub customer_id: Uuid,
    /// `paystack`.
    pub provider: String,
    pub amount_kobo: i64,
    pub currency: String,
    /// `pending`, `paid`, `failed`, `expired` or `refunded` (paid after expiry).
    pub status: String,
    pub authorization_url: String,
    /// `order` (a checkout's orders) or `commission` (see `commission_payments`).
    pub purpose: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

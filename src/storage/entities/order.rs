use sea_orm::entity::prelude::*;

/// One customer's order from one tailor. Amounts are kobo.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub customer_id: Uuid,
    pub tailor_id: Uuid,
    /// See `store::orders::Status`.
    pub status: String,
    /// `paystack` or `pay_on_delivery`.
    pub payment_method: String,
    pub subtotal_kobo: i64,
    pub total_kobo: i64,
    /// Recorded when a paid order is cancelled.
    pub refund_kobo: i64,
    pub currency: String,
    pub delivery_address: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The online payment that pays for this order, if any.
    pub payment_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

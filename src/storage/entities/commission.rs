use sea_orm::entity::prelude::*;

/// A garment made to measure for one customer by one tailor. `status` moves
/// only as `commissions::machine` allows; money fields are integer kobo.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "commissions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub customer_id: Uuid,
    pub tailor_id: Uuid,
    pub status: String,
    /// The stage of the work the tailor last reported (`cutting` ... `ready`).
    pub stage: Option<String>,
    pub garment_type: String,
    pub description: String,
    /// JSON array of the customer's upload ids, in order.
    pub reference_image_ids: String,
    pub measurement_profile_id: Option<Uuid>,
    /// The exact version of the measurements the tailor works to.
    pub measurement_version_id: Option<Uuid>,
    /// `customer_supplies`, `tailor_supplies` or `shop_fabric`.
    pub fabric_source: String,
    pub fabric_variant_id: Option<Uuid>,
    pub fabric_yards_tenths: Option<i32>,
    pub desired_date: Option<Date>,
    pub budget_kobo: Option<i64>,
    /// `pickup` or `delivery`.
    pub fulfilment: String,
    pub delivery_address: Option<String>,
    pub conversation_id: Option<Uuid>,
    /// The accepted price (the open quote's until one is accepted).
    pub price_kobo: Option<i64>,
    pub deposit_kobo: i64,
    pub due_at: Option<DateTimeUtc>,
    /// The tailor takes the balance when the customer collects.
    pub balance_on_collection: bool,
    /// Paid through the provider so far (deposit, then balance).
    pub paid_kobo: i64,
    pub refunded_kobo: i64,
    /// The first progress update: before it, the customer may still cancel
    /// with a full refund or attach other measurements.
    pub work_started_at: Option<DateTimeUtc>,
    pub delivered_at: Option<DateTimeUtc>,
    pub reminded24h_at: Option<DateTimeUtc>,
    pub reminded12h_at: Option<DateTimeUtc>,
    pub reminded6h_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

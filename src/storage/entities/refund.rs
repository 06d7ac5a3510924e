use sea_orm::entity::prelude::*;

/// Money going back to a customer for one cancelled order, sent to the
/// payment provider by its `refund.send` job (an outbox row).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refunds")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The order refunded, or none for a commission's refund.
    #[sea_orm(unique)]
    pub order_id: Option<Uuid>,
    pub commission_id: Option<Uuid>,
    pub payment_id: Uuid,
    /// The payment's reference: the provider's transaction to refund.
    pub reference: String,
    pub amount_kobo: i64,
    pub currency: String,
    /// `queued`, `sent`, `failed` or `unconfirmed`.
    pub status: String,
    /// Sends tried so far.
    pub attempts: i64,
    /// When a queued refund is next sent (also a lease: a sender moves it
    /// forward before calling the provider, so two instances never both send).
    pub next_attempt_at: DateTimeUtc,
    /// The provider's id for the refund once it accepted it.
    pub provider_id: Option<String>,
    /// What went wrong last, for the person who follows up.
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

use sea_orm::entity::prelude::*;

/// A withdrawal of a tailor's available money to its bank, followed to the
/// end at Paystack. See migration m0028 for the statuses and the
/// one-transfer-in-flight rule.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payouts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tailor_id: Uuid,
    pub amount_kobo: i64,
    pub currency: String,
    /// `pending`, `processing`, `unconfirmed`, `paid`, `failed`, `reversed`.
    pub status: String,
    /// Our own transfer reference, sent to Paystack: `atlpo_` and the id's
    /// 32 hex digits.
    #[sea_orm(unique)]
    pub reference: String,
    pub payout_account_id: Uuid,
    pub recipient_code: String,
    /// Paystack's `TRF_...` code, once it has one.
    pub transfer_code: Option<String>,
    pub failure_reason: Option<String>,
    /// What staff wrote when they settled it.
    pub staff_note: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

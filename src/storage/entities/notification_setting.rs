use sea_orm::entity::prelude::*;

/// A user's time zone and quiet hours, and when their last chat digest went.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notification_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    /// IANA zone, e.g. `Africa/Lagos`.
    pub time_zone: String,
    /// Minutes after local midnight; both set or both unset.
    pub quiet_start_minute: Option<i32>,
    pub quiet_end_minute: Option<i32>,
    pub digest_sent_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

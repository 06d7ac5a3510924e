use sea_orm::entity::prelude::*;

/// A tailor's published availability for fittings (one row per tailor).
/// Its row is also the lock that orders every change to that tailor's bookings.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "fitting_availability")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tailor_id: Uuid,
    /// IANA name, e.g. `Africa/Lagos`.
    pub time_zone: String,
    /// JSON: weekday (`monday`..) → `[["09:00", "17:00"], ...]`, local times.
    pub weekly_hours: String,
    pub slot_minutes: i32,
    pub buffer_minutes: i32,
    /// JSON array of `YYYY-MM-DD` local dates.
    pub days_off: String,
    /// JSON array of `{"date": "YYYY-MM-DD", "hours": [["10:00", "13:00"]]}`;
    /// empty hours mean closed that day.
    pub exceptions: String,
    pub horizon_days: i32,
    pub min_notice_minutes: i32,
    pub requires_approval: bool,
    /// Moved by every change to the tailor's live bookings, in the same
    /// transaction: a cached list of them is current while this is unchanged.
    pub bookings_version: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

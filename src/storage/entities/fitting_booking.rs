use sea_orm::entity::prelude::*;

/// A fitting booked by a customer with a tailor (the old `Booking`).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "fitting_bookings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tailor_id: Uuid,
    pub customer_id: Uuid,
    pub start_at: DateTimeUtc,
    pub end_at: DateTimeUtc,
    /// `in_shop` or `home_visit`.
    pub kind: String,
    /// `requested`, `confirmed`, `declined` or `cancelled` (see `fittings::machine`).
    pub status: String,
    /// The commission the fitting is for, if any.
    pub commission_id: Option<Uuid>,
    pub note: String,
    /// Where a home visit goes, when the customer said.
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// `tailor`, `customer` or `system` (an account deleted) once cancelled.
    pub cancelled_by: Option<String>,
    /// Claimed by the reminder sender before it sends (at most once each).
    pub reminded_24h_at: Option<DateTimeUtc>,
    pub reminded_1h_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

//! Booking a fitting: the request, its checks, and the transaction that
//! takes the slot. Moves after that are in `transitions`.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    TransactionTrait,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::availability::schedule_of;
use super::machine::{Status, settle};
use super::schedule::Schedule;
use super::slots::{busy_between, local_text, utc_text};
use super::{FittingError, FittingService};
use crate::storage::StorageError;
use crate::storage::entities::{fitting_availability, fitting_booking, tailor_profile, user};
use crate::validation::FieldErrors;

pub const MAX_NOTE: usize = 500;

/// A booking as the customer sends it.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct BookingInput {
    /// The tailor to book.
    #[schema(required = true, value_type = Uuid)]
    pub tailor_id: Option<Value>,
    /// The slot's start, exactly as `slots` lists it (RFC 3339).
    #[schema(required = true, value_type = String, format = DateTime)]
    pub start: Option<Value>,
    /// `in_shop` (default) or `home_visit` (if the tailor offers home visits).
    #[schema(value_type = Option<BookingKind>)]
    pub kind: Option<Value>,
    /// The commission this fitting is for.
    #[schema(value_type = Option<Uuid>, nullable = true)]
    pub commission_id: Option<Value>,
    /// At most 500 characters.
    #[schema(value_type = Option<String>, max_length = 500)]
    pub note: Option<Value>,
    /// Where a home visit goes; checked against the tailor's radius.
    #[schema(value_type = Option<f64>, nullable = true, minimum = -90, maximum = 90)]
    pub latitude: Option<Value>,
    #[schema(value_type = Option<f64>, nullable = true, minimum = -180, maximum = 180)]
    pub longitude: Option<Value>,
}

/// Where the fitting happens.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // documents the wire values of `kind`
pub enum BookingKind {
    InShop,
    HomeVisit,
}

struct ValidBooking {
    tailor: Uuid,
    start: DateTime<Utc>,
    home_visit: bool,
    commission: Option<Uuid>,
    note: String,
    place: Option<(f64, f64)>,
}

fn uuid_field(errors: &mut FieldErrors, field: &str, raw: &Option<Value>) -> Option<Uuid> {
    match raw {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if Uuid::parse_str(s.trim()).is_ok() => {
            Uuid::parse_str(s.trim()).ok()
        }
        Some(_) => {
            errors.add(field, "Must be a valid UUID.");
            None
        }
    }
}

/// An RFC 3339 instant, required.
pub fn start_field(errors: &mut FieldErrors, raw: &Option<Value>) -> Option<DateTime<Utc>> {
    match raw {
        None | Some(Value::Null) => {
            errors.add("start", crate::validation::REQUIRED);
            None
        }
        Some(Value::String(s)) => match DateTime::parse_from_rfc3339(s.trim()) {
            Ok(at) => Some(at.with_timezone(&Utc)),
            Err(_) => {
                errors.add(
                    "start",
                    "Must be an RFC 3339 date-time, e.g. 2026-03-30T08:00:00Z.",
                );
                None
            }
        },
        Some(_) => {
            errors.add(
                "start",
                "Must be an RFC 3339 date-time, e.g. 2026-03-30T08:00:00Z.",
            );
            None
        }
    }
}

fn coordinate(
    errors: &mut FieldErrors,
    field: &str,
    raw: &Option<Value>,
    limit: f64,
) -> Option<f64> {
    match raw {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.as_f64().is_some_and(|v| v.abs() <= limit) => n.as_f64(),
        Some(_) => {
            errors.add(field, format!("Must be a number from -{limit} to {limit}."));
            None
        }
    }
}

impl BookingInput {
    fn validate(self, me: &user::Model) -> Result<ValidBooking, FieldErrors> {
        let mut errors = FieldErrors::new();
        let tailor = match &self.tailor_id {
            None | Some(Value::Null) => {
                errors.add("tailor_id", crate::validation::REQUIRED);
                None
            }
            raw => uuid_field(&mut errors, "tailor_id", raw),
        };
        if tailor == Some(me.id) {
            errors.add("tailor_id", "You cannot book a fitting with yourself.");
        }
        let start = start_field(&mut errors, &self.start);
        let home_visit = match &self.kind {
            None | Some(Value::Null) => false,
            Some(Value::String(k)) if k == "in_shop" => false,
            Some(Value::String(k)) if k == "home_visit" => true,
            Some(_) => {
                errors.add("kind", "Must be `in_shop` or `home_visit`.");
                false
            }
        };
        let commission = uuid_field(&mut errors, "commission_id", &self.commission_id);
        let note = match &self.note {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(n)) => {
                errors.max_len("note", n, MAX_NOTE);
                n.trim().to_string()
            }
            Some(_) => {
                errors.add("note", "Must be a string.");
                String::new()
            }
        };
        let latitude = coordinate(&mut errors, "latitude", &self.latitude, 90.0);
        let longitude = coordinate(&mut errors, "longitude", &self.longitude, 180.0);
        if latitude.is_some() != longitude.is_some() {
            errors.add(
                "non_field_errors",
                "Give both latitude and longitude, or neither.",
            );
        }
        errors.into_result()?;
        Ok(ValidBooking {
            tailor: tailor.unwrap_or_default(),
            start: start.unwrap_or_default(),
            home_visit,
            commission,
            note,
            place: latitude.zip(longitude),
        })
    }
}

/// A booking as answered to either party.
#[derive(Debug, Serialize, ToSchema)]
pub struct BookingView {
    pub id: Uuid,
    pub tailor_id: Uuid,
    pub customer_id: Uuid,
    #[schema(example = "2026-03-30T08:00:00Z")]
    pub start: String,
    pub end: String,
    /// In the tailor's zone, with its offset.
    #[schema(example = "2026-03-30T09:00:00+01:00")]
    pub start_local: String,
    pub end_local: String,
    /// The tailor's IANA zone.
    pub time_zone: String,
    /// `in_shop` or `home_visit`.
    #[schema(value_type = BookingKind)]
    pub kind: String,
    /// `requested`, `confirmed`, `declined` or `cancelled`.
    #[schema(value_type = BookingStatus)]
    pub status: String,
    pub commission_id: Option<Uuid>,
    pub note: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// `tailor`, `customer` or `system` once cancelled.
    pub cancelled_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A booking's state.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // documents the wire values of `status`
pub enum BookingStatus {
    Requested,
    Confirmed,
    Declined,
    Cancelled,
}

impl BookingView {
    pub fn of(row: fitting_booking::Model, zone: Tz) -> Self {
        Self {
            id: row.id,
            tailor_id: row.tailor_id,
            customer_id: row.customer_id,
            start: utc_text(row.start_at),
            end: utc_text(row.end_at),
            start_local: local_text(row.start_at, zone),
            end_local: local_text(row.end_at, zone),
            time_zone: zone.name().to_string(),
            kind: row.kind,
            status: row.status,
            commission_id: row.commission_id,
            note: row.note,
            latitude: row.latitude,
            longitude: row.longitude,
            cancelled_by: row.cancelled_by,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// Moves the tailor's `bookings_version` on: the lock on their availability
/// row to the end of the transaction, taken first so that changes to one
/// tailor's bookings queue here (on SQLite it takes the write lock at once,
/// never upgrading a read lock), and the sign for cached booking lists that
/// they are stale. False when the tailor has no availability.
pub(super) async fn lock_availability(
    conn: &impl ConnectionTrait,
    tailor: Uuid,
) -> Result<bool, sea_orm::DbErr> {
    let locked = fitting_availability::Entity::update_many()
        .col_expr(
            fitting_availability::Column::BookingsVersion,
            Expr::col(fitting_availability::Column::BookingsVersion).add(1),
        )
        .filter(fitting_availability::Column::TailorId.eq(tailor))
        .exec(conn)
        .await?;
    Ok(locked.rows_affected == 1)
}

/// Great-circle distance in km.
fn haversine_km((lat1, lon1): (f64, f64), (lat2, lon2): (f64, f64)) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    6371.0 * 2.0 * a.sqrt().asin()
}

/// Whether the tailor offers this kind of fitting at this place.
fn check_kind(profile: &tailor_profile::Model, wanted: &ValidBooking) -> Result<(), FieldErrors> {
    if !wanted.home_visit {
        if !profile.in_shop_fittings {
            return Err(FieldErrors::single(
                "kind",
                "This tailor does not offer in-shop fittings.",
            ));
        }
        return Ok(());
    }
    if !profile.home_visits {
        return Err(FieldErrors::single(
            "kind",
            "This tailor does not offer home visits.",
        ));
    }
    let tailor_place = profile.latitude.zip(profile.longitude);
    if let (Some(here), Some(there), Some(radius)) =
        (wanted.place, tailor_place, profile.home_visit_radius_km)
        && haversine_km(here, there) > f64::from(radius)
    {
        return Err(FieldErrors::single(
            "non_field_errors",
            format!("This place is outside the tailor's home-visit radius ({radius} km)."),
        ));
    }
    Ok(())
}

/// Whether `start` is a slot of the schedule that may be booked at `now`.
pub(super) fn check_start(
    schedule: &Schedule,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), FieldErrors> {
    if schedule.slot_at(start).is_none() {
        return Err(FieldErrors::single(
            "start",
            "Not one of this tailor's slots; pick one from the slot list.",
        ));
    }
    let (earliest, latest) = schedule.bookable_window(now);
    if start < earliest {
        return Err(FieldErrors::single(
            "start",
            format!(
                "Too soon: this tailor needs {} minutes' notice.",
                schedule.min_notice.num_minutes()
            ),
        ));
    }
    if start > latest {
        return Err(FieldErrors::single(
            "start",
            format!(
                "Too far ahead: this tailor takes bookings up to {} days ahead.",
                schedule.horizon.num_days()
            ),
        ));
    }
    Ok(())
}

/// Commits on success and rolls back at once on failure: a dropped
/// PostgreSQL transaction would keep its row locks (here the tailor's lock)
/// until its connection is next used.
pub(super) async fn commit_or_rollback<T>(
    txn: DatabaseTransaction,
    result: Result<T, FittingError>,
) -> Result<T, FittingError> {
    match result {
        Ok(value) => {
            txn.commit().await?;
            Ok(value)
        }
        Err(err) => {
            if let Err(e) = txn.rollback().await {
                tracing::warn!(error = %e, "rollback failed");
            }
            Err(err)
        }
    }
}

pub(super) fn is_unique_violation(err: &FittingError) -> bool {
    matches!(err, FittingError::Storage(StorageError::UniqueViolation(_)))
}

impl FittingService {
    /// The tailor's zone for showing times (their availability's, else the default).
    pub(super) async fn zone_of(&self, tailor: Uuid) -> Tz {
        match self.calendar(tailor).await {
            Ok(Some(calendar)) => calendar.schedule.zone,
            _ => chrono_tz::Africa::Lagos,
        }
    }

    /// Books a slot for `me`: `requested`, or `confirmed` when the tailor
    /// takes instant bookings. A slot someone else holds is `SlotTaken`.
    pub async fn book(
        &self,
        me: &user::Model,
        input: BookingInput,
    ) -> Result<BookingView, FittingError> {
        let wanted = input.validate(me)?;
        let booked = {
            let _queue = self.write_gate.enter().await;
            self.book_in_transaction(me, &wanted).await
        };
        match booked {
            Ok(row) => {
                let zone = self.zone_of(row.tailor_id).await;
                Ok(BookingView::of(row, zone))
            }
            Err(err) if matches!(err, FittingError::SlotTaken(_)) || is_unique_violation(&err) => {
                Err(FittingError::SlotTaken(
                    self.alternatives(wanted.tailor, wanted.start).await,
                ))
            }
            Err(err) => Err(err),
        }
    }

    async fn book_in_transaction(
        &self,
        me: &user::Model,
        wanted: &ValidBooking,
    ) -> Result<fitting_booking::Model, FittingError> {
        let txn = self.db.begin().await?;
        let result = self.book_steps(&txn, me, wanted).await;
        commit_or_rollback(txn, result).await
    }

    async fn book_steps(
        &self,
        txn: &DatabaseTransaction,
        me: &user::Model,
        wanted: &ValidBooking,
    ) -> Result<fitting_booking::Model, FittingError> {
        if !lock_availability(txn, wanted.tailor).await? {
            return Err(FieldErrors::single(
                "tailor_id",
                "This tailor does not take fitting bookings.",
            )
            .into());
        }
        let (Some(row), Some(profile)) = (
            fitting_availability::Entity::find_by_id(wanted.tailor)
                .one(txn)
                .await?,
            tailor_profile::Entity::find_by_id(wanted.tailor)
                .one(txn)
                .await?,
        ) else {
            return Err(FieldErrors::single(
                "tailor_id",
                "This tailor does not take fitting bookings.",
            )
            .into());
        };
        check_kind(&profile, wanted)?;
        if let Some(commission) = wanted.commission {
            check_commission(txn, commission, me.id, wanted.tailor).await?;
        }
        let schedule = schedule_of(&row);
        let now = Utc::now();
        check_start(&schedule, wanted.start, now)?;
        let end = wanted.start + schedule.slot;
        let busy = busy_between(txn, wanted.tailor, wanted.start, end).await?;
        if busy.iter().any(|b| schedule.clashes(wanted.start, end, b)) {
            return Err(FittingError::SlotTaken(Vec::new()));
        }
        let status = settle(Status::Requested, row.requires_approval);
        let booking = fitting_booking::ActiveModel {
            id: Set(Uuid::now_v7()),
            tailor_id: Set(wanted.tailor),
            customer_id: Set(me.id),
            start_at: Set(wanted.start),
            end_at: Set(end),
            kind: Set(if wanted.home_visit {
                "home_visit"
            } else {
                "in_shop"
            }
            .into()),
            status: Set(status.as_str().into()),
            commission_id: Set(wanted.commission),
            note: Set(wanted.note.clone()),
            latitude: Set(wanted.place.map(|p| p.0)),
            longitude: Set(wanted.place.map(|p| p.1)),
            cancelled_by: Set(None),
            reminded_24h_at: Set(None),
            reminded_1h_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        };
        let inserted = fitting_booking::Entity::insert(booking)
            .exec_with_returning(txn)
            .await?;
        crate::notifications::events::fitting_requested(txn, &inserted).await?;
        Ok(inserted)
    }
}

/// A fitting booked for a commission is for one of the customer's own with
/// this tailor that is not finished.
async fn check_commission(
    conn: &impl sea_orm::ConnectionTrait,
    id: Uuid,
    customer: Uuid,
    tailor: Uuid,
) -> Result<(), FittingError> {
    use crate::commissions::machine::Status as Commission;
    use crate::storage::entities::commission;
    let found = commission::Entity::find_by_id(id)
        .filter(commission::Column::CustomerId.eq(customer))
        .filter(commission::Column::TailorId.eq(tailor))
        .one(conn)
        .await?;
    let unfinished = found
        .and_then(|c| Commission::parse(&c.status))
        .is_some_and(|s| {
            !matches!(
                s,
                Commission::Completed
                    | Commission::Declined
                    | Commission::Cancelled
                    | Commission::Refunded
            )
        });
    if unfinished {
        Ok(())
    } else {
        Err(FieldErrors::single(
            "commission_id",
            "No unfinished commission of yours with this tailor.",
        )
        .into())
    }
}

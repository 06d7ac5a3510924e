//! Open slots of a tailor: their schedule minus live bookings (with the
//! buffer), past and too-soon times, and anything beyond the horizon.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, SecondsFormat, TimeDelta, Utc};
use chrono_tz::Tz;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::availability::schedule_of;
use super::schedule::{Blocked, Busy, Schedule, Slot};
use super::{FittingError, FittingService};
use crate::storage::entities::{fitting_availability, fitting_booking, user};
use crate::validation::FieldErrors;

/// The longest window one slot listing covers.
pub const MAX_WINDOW_DAYS: i64 = 31;
/// Without `to`: a week from `from`.
const DEFAULT_WINDOW_DAYS: i64 = 7;
/// Bookings this far ahead are kept in a tailor's calendar: past the longest
/// horizon (365 days), and bookings made under a longer one.
const BOOKINGS_AHEAD_DAYS: i64 = 400;
/// Past this many tailors the cache starts again (memory stays bounded).
const MAX_CACHED_TAILORS: usize = 10_000;
/// Slots offered instead of a taken one.
pub const ALTERNATIVES: usize = 5;

/// One open slot: instants in UTC, and the tailor's local view with its offset.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SlotView {
    #[schema(example = "2026-03-30T08:00:00Z")]
    pub start: String,
    #[schema(example = "2026-03-30T09:00:00Z")]
    pub end: String,
    /// Start in the tailor's zone, with its offset at that instant.
    #[schema(example = "2026-03-30T09:00:00+01:00")]
    pub start_local: String,
    #[schema(example = "2026-03-30T10:00:00+01:00")]
    pub end_local: String,
    /// The tailor's UTC offset at the start.
    #[schema(example = "+01:00")]
    pub utc_offset: String,
}

pub fn utc_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub fn local_text(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

impl From<Slot> for SlotView {
    fn from(slot: Slot) -> Self {
        let local = slot.start_local();
        Self {
            start: utc_text(slot.start),
            end: utc_text(slot.end),
            start_local: local_text(slot.start, slot.zone),
            end_local: local_text(slot.end, slot.zone),
            utc_offset: local.format("%:z").to_string(),
        }
    }
}

/// Open slots of one tailor in one window.
pub struct SlotListing {
    pub time_zone: String,
    pub slot_minutes: i32,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// False when the tailor has not published availability (no slots).
    pub published: bool,
    pub slots: Vec<SlotView>,
}

/// A tailor's schedule and live bookings as last read; current while their
/// availability row's `updated_at` and `bookings_version` are unchanged
/// (every change to their bookings moves the version in its transaction).
pub(super) struct TailorCalendar {
    updated_at: DateTime<Utc>,
    version: i64,
    pub schedule: Schedule,
    /// Live bookings starting from a day before the read, widened by the
    /// buffer (earlier ones cannot reach a bookable slot).
    pub blocked: Blocked,
}

/// The last `TailorCalendar` read of each tailor.
#[derive(Default)]
pub(super) struct CalendarCache(std::sync::Mutex<HashMap<Uuid, Arc<TailorCalendar>>>);

impl CalendarCache {
    fn get(&self, tailor: Uuid) -> Option<Arc<TailorCalendar>> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&tailor).cloned()
    }

    fn put(&self, tailor: Uuid, calendar: Arc<TailorCalendar>) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_CACHED_TAILORS {
            map.clear();
        }
        map.insert(tailor, calendar);
    }
}

/// `from` or `to` of a listing: an RFC 3339 instant, or a date in the
/// tailor's zone (its start for `from`; for `to`, the end of that day).
fn parse_bound(
    field: &str,
    raw: Option<&str>,
    zone: Tz,
    end_of_day: bool,
    errors: &mut FieldErrors,
) -> Option<DateTime<Utc>> {
    let raw = raw.map(str::trim).filter(|r| !r.is_empty())?;
    if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
        return Some(at.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .filter(|_| raw.len() == 10)
        .map(|d| {
            if end_of_day {
                d.succ_opt().unwrap_or(d)
            } else {
                d
            }
        });
    match day.and_then(|d| d.and_hms_opt(0, 0, 0)?.and_local_timezone(zone).earliest()) {
        Some(at) => Some(at.with_timezone(&Utc)),
        None => {
            errors.add(
                field,
                "Must be a date (YYYY-MM-DD) or an RFC 3339 date-time.",
            );
            None
        }
    }
}

/// The live bookings of `tailor` that can touch `[from, to)`: one range read
/// on the `(tailor_id, start_at)` index (a fitting and its buffer last well
/// under a day).
pub(super) async fn busy_between(
    conn: &impl ConnectionTrait,
    tailor: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Busy>, sea_orm::DbErr> {
    let rows: Vec<(DateTime<Utc>, DateTime<Utc>)> = fitting_booking::Entity::find()
        .select_only()
        .column(fitting_booking::Column::StartAt)
        .column(fitting_booking::Column::EndAt)
        .filter(fitting_booking::Column::TailorId.eq(tailor))
        .filter(fitting_booking::Column::StartAt.gte(from - TimeDelta::days(1)))
        .filter(fitting_booking::Column::StartAt.lt(to + TimeDelta::days(1)))
        .filter(fitting_booking::Column::Status.is_in(["requested", "confirmed"]))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(start, end)| Busy { start, end })
        .collect())
}

impl FittingService {
    /// The tailor's schedule and live bookings: one read of their
    /// availability row, and of their bookings only when those changed since
    /// the last read. `NotFound` when `tailor` is not a live tailor, `None`
    /// when they have published no availability.
    pub(super) async fn calendar(
        &self,
        tailor: Uuid,
    ) -> Result<Option<Arc<TailorCalendar>>, FittingError> {
        // The version is read before the bookings: a change committed in
        // between moves it, and the next read loads the bookings again.
        let Some(row) = fitting_availability::Entity::find_by_id(tailor)
            .one(&self.db)
            .await?
        else {
            if !is_live_tailor(&self.db, tailor).await? {
                return Err(FittingError::NotFound);
            }
            return Ok(None);
        };
        if let Some(hit) = self.calendars.get(tailor)
            && hit.updated_at == row.updated_at
            && hit.version == row.bookings_version
        {
            return Ok(Some(hit));
        }
        let schedule = schedule_of(&row);
        let now = Utc::now();
        let busy = busy_between(
            &self.db,
            tailor,
            now,
            now + TimeDelta::days(BOOKINGS_AHEAD_DAYS),
        )
        .await?;
        let calendar = Arc::new(TailorCalendar {
            updated_at: row.updated_at,
            version: row.bookings_version,
            blocked: Blocked::new(&busy, schedule.buffer),
            schedule,
        });
        self.calendars.put(tailor, calendar.clone());
        Ok(Some(calendar))
    }

    /// Open slots of `tailor` between `from` and `to` (defaults: now and a
    /// week later; at most 31 days).
    pub async fn open_slots(
        &self,
        tailor: Uuid,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<SlotListing, FittingError> {
        let calendar = self.calendar(tailor).await?;
        let zone = calendar
            .as_ref()
            .map_or(chrono_tz::Africa::Lagos, |c| c.schedule.zone);
        let now = Utc::now();
        let mut errors = FieldErrors::new();
        let from_at = parse_bound("from", from, zone, false, &mut errors);
        let to_at = parse_bound("to", to, zone, true, &mut errors);
        errors.into_result()?;
        let from_at = from_at.unwrap_or(now);
        let to_at = to_at.unwrap_or(from_at + TimeDelta::days(DEFAULT_WINDOW_DAYS));
        if to_at <= from_at {
            return Err(FieldErrors::single("to", "Must be after `from`.").into());
        }
        if to_at - from_at > TimeDelta::days(MAX_WINDOW_DAYS) {
            return Err(FieldErrors::single(
                "to",
                format!("The window may span at most {MAX_WINDOW_DAYS} days."),
            )
            .into());
        }
        let Some(calendar) = calendar else {
            return Ok(SlotListing {
                time_zone: zone.name().to_string(),
                slot_minutes: 0,
                from: from_at,
                to: to_at,
                published: false,
                slots: Vec::new(),
            });
        };
        let schedule = &calendar.schedule;
        let slots = schedule.open_slots(from_at, to_at, now, &calendar.blocked);
        Ok(SlotListing {
            time_zone: schedule.zone.name().to_string(),
            slot_minutes: schedule.slot.num_minutes() as i32,
            from: from_at,
            to: to_at,
            published: true,
            slots: slots.into_iter().map(SlotView::from).collect(),
        })
    }

    /// The next few open slots from `after`, offered when a slot was taken.
    pub(super) async fn alternatives(&self, tailor: Uuid, after: DateTime<Utc>) -> Vec<SlotView> {
        let found = async {
            let Some(calendar) = self.calendar(tailor).await? else {
                return Ok::<_, FittingError>(Vec::new());
            };
            let now = Utc::now();
            let (_, latest) = calendar.schedule.bookable_window(now);
            let mut from = after.max(now);
            let mut out = Vec::new();
            // A week at a time, so that a full week does not end the search.
            while out.len() < ALTERNATIVES && from < latest {
                let to = from + TimeDelta::days(7);
                out.extend(
                    calendar
                        .schedule
                        .open_slots(from, to, now, &calendar.blocked),
                );
                from = to;
            }
            out.truncate(ALTERNATIVES);
            Ok(out.into_iter().map(SlotView::from).collect())
        };
        found.await.unwrap_or_else(|err| {
            tracing::warn!(error = %err, "could not list alternative slots");
            Vec::new()
        })
    }
}

/// A user with role `tailor` whose account is not deleted.
pub(super) async fn is_live_tailor(
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<bool, sea_orm::DbErr> {
    let found = user::Entity::find_by_id(id).one(conn).await?;
    Ok(found.is_some_and(|u| u.role == "tailor" && u.deleted_at.is_none()))
}

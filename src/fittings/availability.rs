//! A tailor's availability: what they send, checked field by field, and the
//! stored row turned into a `Schedule`. Fields arrive as raw JSON values so
//! that a wrong type is a field error like any other invalid value.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{NaiveDate, TimeDelta};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::schedule::{Hours, Schedule, StoredHours, WEEKDAYS, parse_time};
use crate::storage::entities::fitting_availability;
use crate::validation::FieldErrors;

pub const DEFAULT_TIME_ZONE: &str = "Africa/Lagos";
pub const DEFAULT_SLOT_MINUTES: i64 = 60;
pub const DEFAULT_HORIZON_DAYS: i64 = 60;
pub const DEFAULT_MIN_NOTICE_MINUTES: i64 = 120;
pub const SLOT_MINUTES: (i64, i64) = (10, 480);
pub const BUFFER_MINUTES: (i64, i64) = (0, 240);
pub const HORIZON_DAYS: (i64, i64) = (1, 365);
/// A week.
pub const MIN_NOTICE_MINUTES: (i64, i64) = (0, 10_080);
const MAX_HOURS_PER_DAY: usize = 6;
const MAX_DATES: usize = 366;

/// Opening hours within a day, local time (`HH:MM`, 24-hour; end after start).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HoursBody {
    #[schema(example = "09:00")]
    pub start: String,
    #[schema(example = "17:00")]
    pub end: String,
}

/// One date with its own hours; no hours (an empty list) means closed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExceptionBody {
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    pub hours: Vec<HoursBody>,
}

/// Weekly hours: one list per weekday (empty: closed that day).
#[derive(Debug, Serialize, ToSchema)]
pub struct WeeklyHoursBody {
    pub monday: Vec<HoursBody>,
    pub tuesday: Vec<HoursBody>,
    pub wednesday: Vec<HoursBody>,
    pub thursday: Vec<HoursBody>,
    pub friday: Vec<HoursBody>,
    pub saturday: Vec<HoursBody>,
    pub sunday: Vec<HoursBody>,
}

/// Availability as a tailor sends it (`PUT` replaces it whole: an absent
/// field takes its default).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct AvailabilityInput {
    /// IANA time zone; default `Africa/Lagos`.
    #[schema(value_type = Option<String>, example = "Africa/Lagos")]
    pub time_zone: Option<Value>,
    /// Per weekday (`monday`..`sunday`), up to 6 non-overlapping intervals of
    /// local time; a missing weekday is closed.
    #[schema(value_type = Option<WeeklyHoursBody>)]
    pub weekly_hours: Option<Value>,
    /// Length of a fitting, 10–480 minutes (default 60).
    #[schema(value_type = Option<i64>, minimum = 10, maximum = 480)]
    pub slot_minutes: Option<Value>,
    /// Time kept free between two fittings, 0–240 minutes (default 0).
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 240)]
    pub buffer_minutes: Option<Value>,
    /// Local dates with no fittings.
    #[schema(value_type = Option<Vec<String>>)]
    pub days_off: Option<Value>,
    /// Local dates with their own hours (`hours: []`: closed); they win over
    /// weekly hours and days off.
    #[schema(value_type = Option<Vec<ExceptionBody>>)]
    pub exceptions: Option<Value>,
    /// How far ahead customers may book, 1–365 days (default 60).
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 365)]
    pub horizon_days: Option<Value>,
    /// How soon a fitting may start after booking, 0–10080 minutes (default 120).
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 10080)]
    pub min_notice_minutes: Option<Value>,
    /// Whether each booking waits for the tailor's accept (default true);
    /// false: instant booking.
    #[schema(value_type = Option<bool>)]
    pub requires_approval: Option<Value>,
}

/// Checked availability, ready to store.
pub struct ValidAvailability {
    pub time_zone: String,
    pub weekly: [Vec<Hours>; 7],
    pub slot_minutes: i32,
    pub buffer_minutes: i32,
    pub days_off: BTreeSet<NaiveDate>,
    pub exceptions: BTreeMap<NaiveDate, Vec<Hours>>,
    pub horizon_days: i32,
    pub min_notice_minutes: i32,
    pub requires_approval: bool,
}

impl AvailabilityInput {
    pub fn validate(self) -> Result<ValidAvailability, FieldErrors> {
        let mut errors = FieldErrors::new();
        let time_zone = match &self.time_zone {
            None | Some(Value::Null) => DEFAULT_TIME_ZONE.to_string(),
            Some(Value::String(name)) if name.trim().parse::<Tz>().is_ok() => {
                name.trim().to_string()
            }
            Some(_) => {
                errors.add(
                    "time_zone",
                    "Not a known IANA time zone (e.g. Africa/Lagos).",
                );
                String::new()
            }
        };
        let mut int = |field: &str, value: &Option<Value>, default: i64, (min, max): (i64, i64)| {
            match value {
                None | Some(Value::Null) => default as i32,
                Some(Value::Number(n)) if n.as_i64().is_some_and(|v| (min..=max).contains(&v)) => {
                    n.as_i64().unwrap_or(default) as i32
                }
                Some(_) => {
                    errors.add(
                        field,
                        format!("Must be a whole number from {min} to {max}."),
                    );
                    0
                }
            }
        };
        let slot_minutes = int(
            "slot_minutes",
            &self.slot_minutes,
            DEFAULT_SLOT_MINUTES,
            SLOT_MINUTES,
        );
        let buffer_minutes = int("buffer_minutes", &self.buffer_minutes, 0, BUFFER_MINUTES);
        let horizon_days = int(
            "horizon_days",
            &self.horizon_days,
            DEFAULT_HORIZON_DAYS,
            HORIZON_DAYS,
        );
        let min_notice_minutes = int(
            "min_notice_minutes",
            &self.min_notice_minutes,
            DEFAULT_MIN_NOTICE_MINUTES,
            MIN_NOTICE_MINUTES,
        );
        let requires_approval = match &self.requires_approval {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                errors.add("requires_approval", "Must be a boolean.");
                true
            }
        };
        let weekly = weekly_hours(self.weekly_hours.as_ref(), &mut errors);
        let days_off = dates(self.days_off.as_ref(), &mut errors);
        let exceptions = exceptions(self.exceptions.as_ref(), &mut errors);
        errors.into_result()?;
        Ok(ValidAvailability {
            time_zone,
            weekly,
            slot_minutes,
            buffer_minutes,
            days_off,
            exceptions,
            horizon_days,
            min_notice_minutes,
            requires_approval,
        })
    }
}

fn weekly_hours(raw: Option<&Value>, errors: &mut FieldErrors) -> [Vec<Hours>; 7] {
    let mut weekly: [Vec<Hours>; 7] = Default::default();
    let map = match raw {
        None | Some(Value::Null) => return weekly,
        Some(Value::Object(map)) => map,
        Some(_) => {
            errors.add(
                "weekly_hours",
                "Must be an object keyed by weekday (monday..sunday).",
            );
            return weekly;
        }
    };
    for (key, value) in map {
        match WEEKDAYS.iter().position(|d| d == key) {
            Some(i) => weekly[i] = day_hours(key, value, "weekly_hours", errors),
            None => errors.add(
                "weekly_hours",
                format!("`{key}` is not a weekday (monday..sunday)."),
            ),
        }
    }
    weekly
}

/// A list of `{start, end}` for one day, sorted and checked for overlaps.
fn day_hours(label: &str, raw: &Value, field: &str, errors: &mut FieldErrors) -> Vec<Hours> {
    let Some(items) = raw.as_array() else {
        errors.add(
            field,
            format!("{label}: must be a list of {{\"start\", \"end\"}}."),
        );
        return Vec::new();
    };
    if items.len() > MAX_HOURS_PER_DAY {
        errors.add(
            field,
            format!("{label}: at most {MAX_HOURS_PER_DAY} intervals a day."),
        );
        return Vec::new();
    }
    let mut hours = Vec::new();
    for item in items {
        let time = |key: &str| item.get(key).and_then(Value::as_str).and_then(parse_time);
        match (time("start"), time("end")) {
            (Some(start), Some(end)) if start < end => hours.push(Hours { start, end }),
            (Some(_), Some(_)) => {
                errors.add(field, format!("{label}: each end must be after its start."))
            }
            _ => errors.add(
                field,
                format!("{label}: each interval needs `start` and `end` as HH:MM (24-hour)."),
            ),
        }
    }
    hours.sort();
    if hours.windows(2).any(|pair| pair[1].start < pair[0].end) {
        errors.add(field, format!("{label}: intervals overlap."));
    }
    hours
}

fn date(raw: &Value) -> Option<NaiveDate> {
    let text = raw.as_str()?;
    (text.len() == 10).then_some(())?;
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

fn dates(raw: Option<&Value>, errors: &mut FieldErrors) -> BTreeSet<NaiveDate> {
    let items = match raw {
        None | Some(Value::Null) => return BTreeSet::new(),
        Some(Value::Array(items)) if items.len() <= MAX_DATES => items,
        Some(Value::Array(_)) => {
            errors.add("days_off", format!("At most {MAX_DATES} dates."));
            return BTreeSet::new();
        }
        Some(_) => {
            errors.add("days_off", "Must be a list of dates (YYYY-MM-DD).");
            return BTreeSet::new();
        }
    };
    let parsed: Option<BTreeSet<NaiveDate>> = items.iter().map(date).collect();
    parsed.unwrap_or_else(|| {
        errors.add("days_off", "Each date must be YYYY-MM-DD.");
        BTreeSet::new()
    })
}

fn exceptions(raw: Option<&Value>, errors: &mut FieldErrors) -> BTreeMap<NaiveDate, Vec<Hours>> {
    let mut out = BTreeMap::new();
    let items = match raw {
        None | Some(Value::Null) => return out,
        Some(Value::Array(items)) if items.len() <= MAX_DATES => items,
        Some(Value::Array(_)) => {
            errors.add("exceptions", format!("At most {MAX_DATES} exceptions."));
            return out;
        }
        Some(_) => {
            errors.add("exceptions", "Must be a list of {\"date\", \"hours\"}.");
            return out;
        }
    };
    for item in items {
        let Some(day) = item.get("date").and_then(date) else {
            errors.add("exceptions", "Each exception needs a `date` (YYYY-MM-DD).");
            continue;
        };
        let hours = match item.get("hours") {
            None | Some(Value::Null) => Vec::new(),
            Some(raw) => day_hours(&day.to_string(), raw, "exceptions", errors),
        };
        if out.insert(day, hours).is_some() {
            errors.add("exceptions", format!("{day}: given twice."));
        }
    }
    out
}

/// The stored JSON of each field, written by `ValidAvailability::columns`.
pub struct Columns {
    pub weekly_hours: String,
    pub days_off: String,
    pub exceptions: String,
}

#[derive(Serialize, Deserialize)]
struct StoredException {
    date: NaiveDate,
    hours: Vec<StoredHours>,
}

impl ValidAvailability {
    pub fn columns(&self) -> Columns {
        let weekly: BTreeMap<&str, Vec<StoredHours>> = WEEKDAYS
            .iter()
            .zip(&self.weekly)
            .map(|(day, hours)| (*day, hours.iter().map(|h| h.to_stored()).collect()))
            .collect();
        let exceptions: Vec<StoredException> = self
            .exceptions
            .iter()
            .map(|(date, hours)| StoredException {
                date: *date,
                hours: hours.iter().map(|h| h.to_stored()).collect(),
            })
            .collect();
        Columns {
            weekly_hours: serde_json::to_string(&weekly).unwrap_or_default(),
            days_off: serde_json::to_string(&self.days_off).unwrap_or_default(),
            exceptions: serde_json::to_string(&exceptions).unwrap_or_default(),
        }
    }
}

/// The stored row as slot arithmetic needs it. A row this code wrote always
/// reads back; anything unreadable counts as closed rather than failing.
pub fn schedule_of(row: &fitting_availability::Model) -> Schedule {
    let hours_of = |list: &[StoredHours]| -> Vec<Hours> {
        list.iter().filter_map(Hours::from_stored).collect()
    };
    let weekly_map: BTreeMap<String, Vec<StoredHours>> =
        serde_json::from_str(&row.weekly_hours).unwrap_or_default();
    let weekly = std::array::from_fn(|i| {
        weekly_map
            .get(WEEKDAYS[i])
            .map(|l| hours_of(l))
            .unwrap_or_default()
    });
    let exceptions: Vec<StoredException> =
        serde_json::from_str(&row.exceptions).unwrap_or_default();
    Schedule {
        zone: row.time_zone.parse().unwrap_or(chrono_tz::Africa::Lagos),
        weekly,
        slot: TimeDelta::minutes(row.slot_minutes.into()),
        buffer: TimeDelta::minutes(row.buffer_minutes.into()),
        days_off: serde_json::from_str(&row.days_off).unwrap_or_default(),
        exceptions: exceptions
            .into_iter()
            .map(|e| (e.date, hours_of(&e.hours)))
            .collect(),
        horizon: TimeDelta::days(row.horizon_days.into()),
        min_notice: TimeDelta::minutes(row.min_notice_minutes.into()),
    }
}

/// Availability as answered.
#[derive(Debug, Serialize, ToSchema)]
pub struct AvailabilityView {
    /// False until the tailor first saves availability (the values shown
    /// are then the defaults, and customers see no slots).
    pub published: bool,
    pub time_zone: String,
    pub weekly_hours: WeeklyHoursBody,
    pub slot_minutes: i32,
    pub buffer_minutes: i32,
    #[schema(value_type = Vec<String>)]
    pub days_off: Vec<NaiveDate>,
    pub exceptions: Vec<ExceptionBody>,
    pub horizon_days: i32,
    pub min_notice_minutes: i32,
    pub requires_approval: bool,
}

fn hours_body(hours: &[Hours]) -> Vec<HoursBody> {
    hours
        .iter()
        .map(|h| HoursBody {
            start: h.start.format("%H:%M").to_string(),
            end: h.end.format("%H:%M").to_string(),
        })
        .collect()
}

impl AvailabilityView {
    pub fn of(row: Option<&fitting_availability::Model>) -> Self {
        let Some(row) = row else {
            return Self {
                published: false,
                time_zone: DEFAULT_TIME_ZONE.into(),
                weekly_hours: weekly_body(&Default::default()),
                slot_minutes: DEFAULT_SLOT_MINUTES as i32,
                buffer_minutes: 0,
                days_off: Vec::new(),
                exceptions: Vec::new(),
                horizon_days: DEFAULT_HORIZON_DAYS as i32,
                min_notice_minutes: DEFAULT_MIN_NOTICE_MINUTES as i32,
                requires_approval: true,
            };
        };
        let schedule = schedule_of(row);
        Self {
            published: true,
            time_zone: row.time_zone.clone(),
            weekly_hours: weekly_body(&schedule.weekly),
            slot_minutes: row.slot_minutes,
            buffer_minutes: row.buffer_minutes,
            days_off: schedule.days_off.iter().copied().collect(),
            exceptions: schedule
                .exceptions
                .iter()
                .map(|(date, hours)| ExceptionBody {
                    date: *date,
                    hours: hours_body(hours),
                })
                .collect(),
            horizon_days: row.horizon_days,
            min_notice_minutes: row.min_notice_minutes,
            requires_approval: row.requires_approval,
        }
    }
}

fn weekly_body(weekly: &[Vec<Hours>; 7]) -> WeeklyHoursBody {
    WeeklyHoursBody {
        monday: hours_body(&weekly[0]),
        tuesday: hours_body(&weekly[1]),
        wednesday: hours_body(&weekly[2]),
        thursday: hours_body(&weekly[3]),
        friday: hours_body(&weekly[4]),
        saturday: hours_body(&weekly[5]),
        sunday: hours_body(&weekly[6]),
    }
}

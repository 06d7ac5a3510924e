//! Slot arithmetic on a tailor's calendar, in their IANA time zone.
//!
//! Slots are laid out in local wall-clock time (a tailor who opens at 09:00
//! opens at 09:00 in summer and in winter), then turned into instants with
//! the zone's rules for that date: a local time that does not exist (the hour
//! skipped when clocks spring forward) has no slot; one that exists twice
//! (clocks fall back) gets one slot, at its first occurrence. A slot lasts
//! `slot_minutes` of real time whatever the clocks do.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// Weekday keys, Monday first, as stored and sent.
pub const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// Opening hours within one day, local time; `start < end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

/// Hours as stored: `["09:00", "17:00"]`.
#[derive(Serialize, Deserialize)]
pub struct StoredHours(pub String, pub String);

impl Hours {
    pub fn to_stored(self) -> StoredHours {
        StoredHours(
            self.start.format("%H:%M").to_string(),
            self.end.format("%H:%M").to_string(),
        )
    }

    pub fn from_stored(stored: &StoredHours) -> Option<Self> {
        let start = parse_time(&stored.0)?;
        let end = parse_time(&stored.1)?;
        (start < end).then_some(Hours { start, end })
    }
}

/// `HH:MM`, 24-hour.
pub fn parse_time(raw: &str) -> Option<NaiveTime> {
    if raw.len() != 5 {
        return None;
    }
    NaiveTime::parse_from_str(raw, "%H:%M").ok()
}

/// Everything slot arithmetic needs about one tailor.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub zone: Tz,
    /// Monday first.
    pub weekly: [Vec<Hours>; 7],
    pub slot: TimeDelta,
    pub buffer: TimeDelta,
    pub days_off: BTreeSet<NaiveDate>,
    /// A date with its own hours (empty: closed).
    pub exceptions: BTreeMap<NaiveDate, Vec<Hours>>,
    pub horizon: TimeDelta,
    pub min_notice: TimeDelta,
}

/// One slot: its instants and the tailor's local view of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub zone: Tz,
}

impl Slot {
    pub fn start_local(&self) -> DateTime<Tz> {
        self.start.with_timezone(&self.zone)
    }

    pub fn end_local(&self) -> DateTime<Tz> {
        self.end.with_timezone(&self.zone)
    }
}

/// A live booking's time, as far as slots care.
#[derive(Debug, Clone, Copy)]
pub struct Busy {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// Busy intervals widened by the buffer, in Unix seconds, sorted by start:
/// a slot is checked with a binary search instead of against every booking
/// (the slot listing's hot loop).
pub struct Blocked {
    spans: Vec<(i64, i64)>,
    longest: i64,
}

impl Blocked {
    pub fn new(busy: &[Busy], buffer: TimeDelta) -> Self {
        let buffer = buffer.num_seconds();
        let mut spans: Vec<(i64, i64)> = busy
            .iter()
            .map(|b| (b.start.timestamp() - buffer, b.end.timestamp() + buffer))
            .collect();
        spans.sort_unstable();
        let longest = spans.iter().map(|(s, e)| e - s).max().unwrap_or(0);
        Self { spans, longest }
    }

    /// Whether `[start, end)` overlaps a span.
    fn clashes(&self, start: i64, end: i64) -> bool {
        // Spans starting before `end`; only the last few can reach `start`.
        let before_end = self.spans.partition_point(|(s, _)| *s < end);
        self.spans[..before_end]
            .iter()
            .rev()
            .take_while(|(s, _)| *s > start - self.longest)
            .any(|(_, e)| *e > start)
    }
}

impl Schedule {
    /// The opening hours of a local date.
    fn hours_on(&self, date: NaiveDate) -> &[Hours] {
        if let Some(hours) = self.exceptions.get(&date) {
            return hours;
        }
        if self.days_off.contains(&date) {
            return &[];
        }
        &self.weekly[date.weekday().num_days_from_monday() as usize]
    }

    /// Every slot of a local date, booked or not, in order.
    pub fn slots_on(&self, date: NaiveDate) -> Vec<Slot> {
        let mut slots = Vec::new();
        let step = self.slot + self.buffer;
        for hours in self.hours_on(date) {
            let mut local = date.and_time(hours.start);
            let close = date.and_time(hours.end);
            while local + self.slot <= close {
                // `earliest`: the first of an ambiguous time, none for a
                // time that the zone skips.
                if let Some(start) = local.and_local_timezone(self.zone).earliest() {
                    let start = start.with_timezone(&Utc);
                    slots.push(Slot {
                        start,
                        end: start + self.slot,
                        zone: self.zone,
                    });
                }
                local += step;
            }
        }
        slots
    }

    /// The first and last instants a booking may start at, seen at `now`.
    pub fn bookable_window(&self, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        (now + self.min_notice, now + self.horizon)
    }

    /// Slots starting in `[from, to)` that are bookable at `now` and clear
    /// of the `blocked` spans (live bookings widened by this buffer).
    pub fn open_slots(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        now: DateTime<Utc>,
        blocked: &Blocked,
    ) -> Vec<Slot> {
        let (earliest, latest) = self.bookable_window(now);
        let from = from.max(earliest);
        let to = to.min(latest + TimeDelta::seconds(1));
        if from >= to {
            return Vec::new();
        }
        // A local date's slots can start up to a day either side of its UTC
        // date (zones run from -12 to +14 hours).
        let first = from.with_timezone(&self.zone).date_naive() - TimeDelta::days(1);
        let last = to.with_timezone(&self.zone).date_naive() + TimeDelta::days(1);
        let mut slots = Vec::new();
        let mut seen_until = DateTime::<Utc>::MIN_UTC;
        for date in first.iter_days().take_while(|d| *d <= last) {
            for slot in self.slots_on(date) {
                // A slot of a fall-back night may repeat an instant of the day
                // before; each instant is offered once.
                if slot.start < from || slot.start >= to || slot.start <= seen_until {
                    continue;
                }
                if blocked.clashes(slot.start.timestamp(), slot.end.timestamp()) {
                    continue;
                }
                seen_until = slot.start;
                slots.push(slot);
            }
        }
        slots
    }

    /// Whether a fitting at `[start, end)` comes closer than the buffer to `busy`.
    pub fn clashes(&self, start: DateTime<Utc>, end: DateTime<Utc>, busy: &Busy) -> bool {
        start < busy.end + self.buffer && busy.start < end + self.buffer
    }

    /// The slot starting exactly at `start`, if the calendar has one
    /// (booked or not, bookable now or not).
    pub fn slot_at(&self, start: DateTime<Utc>) -> Option<Slot> {
        let date = start.with_timezone(&self.zone).date_naive();
        [date - TimeDelta::days(1), date, date + TimeDelta::days(1)]
            .into_iter()
            .flat_map(|d| self.slots_on(d))
            .find(|slot| slot.start == start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nine_to_five(zone: &str) -> Schedule {
        let hours = vec![Hours {
            start: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            end: NaiveTime::from_hms_opt(17, 0, 0).unwrap(),
        }];
        Schedule {
            zone: zone.parse().unwrap(),
            weekly: std::array::from_fn(|_| hours.clone()),
            slot: TimeDelta::minutes(60),
            buffer: TimeDelta::minutes(0),
            days_off: BTreeSet::new(),
            exceptions: BTreeMap::new(),
            horizon: TimeDelta::days(400),
            min_notice: TimeDelta::zero(),
        }
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn nine_local_moves_in_utc_across_spring_forward() {
        let london = nine_to_five("Europe/London");
        let before = london.slots_on(NaiveDate::from_ymd_opt(2026, 3, 28).unwrap());
        let after = london.slots_on(NaiveDate::from_ymd_opt(2026, 3, 29).unwrap());
        assert_eq!(before[0].start, utc("2026-03-28T09:00:00Z"));
        assert_eq!(after[0].start, utc("2026-03-29T08:00:00Z"));
        assert_eq!(
            after[0].start_local().to_rfc3339(),
            "2026-03-29T09:00:00+01:00"
        );
        assert_eq!(before.len(), 8);
        assert_eq!(after.len(), 8);
    }

    #[test]
    fn a_skipped_local_time_has_no_slot_and_a_repeated_one_has_one() {
        let mut night = nine_to_five("America/New_York");
        let small_hours = vec![Hours {
            start: NaiveTime::from_hms_opt(0, 0, 0).unwrap(),
            end: NaiveTime::from_hms_opt(4, 0, 0).unwrap(),
        }];
        night.weekly = std::array::from_fn(|_| small_hours.clone());
        // 2026-03-08: 02:00 does not exist in New York.
        let spring = night.slots_on(NaiveDate::from_ymd_opt(2026, 3, 8).unwrap());
        let local: Vec<String> = spring
            .iter()
            .map(|s| s.start_local().format("%H:%M").to_string())
            .collect();
        assert_eq!(local, ["00:00", "01:00", "03:00"]);
        // 2026-11-01: 01:00 happens twice; one slot, at the first (EDT).
        let fall = night.slots_on(NaiveDate::from_ymd_opt(2026, 11, 1).unwrap());
        assert_eq!(fall.len(), 4);
        assert_eq!(
            fall[1].start_local().to_rfc3339(),
            "2026-11-01T01:00:00-04:00"
        );
        // Real durations: the 01:00 slot ends at 01:00 EST.
        assert_eq!(
            fall[1].end_local().to_rfc3339(),
            "2026-11-01T01:00:00-05:00"
        );
    }

    #[test]
    fn buffers_keep_slots_apart_from_bookings() {
        let mut lagos = nine_to_five("Africa/Lagos");
        lagos.buffer = TimeDelta::minutes(30);
        // 09:00, 10:30, 12:00, 13:30, 15:00 local = 08:00.. UTC
        let day = lagos.slots_on(NaiveDate::from_ymd_opt(2026, 6, 1).unwrap());
        assert_eq!(day.len(), 5);
        let busy = [Busy {
            start: utc("2026-06-01T09:30:00Z"),
            end: utc("2026-06-01T10:30:00Z"),
        }];
        let open = lagos.open_slots(
            utc("2026-06-01T00:00:00Z"),
            utc("2026-06-02T00:00:00Z"),
            utc("2026-05-01T00:00:00Z"),
            &Blocked::new(&busy, lagos.buffer),
        );
        let starts: Vec<String> = open
            .iter()
            .map(|s| s.start.format("%H:%M").to_string())
            .collect();
        assert_eq!(starts, ["08:00", "11:00", "12:30", "14:00"]);
    }
}

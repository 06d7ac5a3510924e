//! Fittings on a real calendar (the old `Booking`): a tailor's availability
//! in their IANA time zone, the open slots it makes, bookings against them
//! with a state machine, reminder emails, and a private calendar feed.
//!
//! The domain (`FittingService`) knows nothing of HTTP; `http` turns requests
//! into calls. Tables: migration m0023.
//!
//! Concurrency: every write that takes or moves a slot locks the tailor's
//! availability row first (a no-op update), then checks for overlap and
//! writes, in one transaction; a partial unique index on `(tailor_id,
//! start_at)` of live bookings is the last line.

mod availability;
mod bookings;
mod calendar;
mod error;
pub mod export;
pub mod http;
mod lists;
mod machine;
mod publishing;
mod reminders;
mod schedule;
mod slots;
mod transitions;

pub use availability::{AvailabilityInput, AvailabilityView};
pub use bookings::{BookingInput, BookingKind, BookingStatus, BookingView};
pub use calendar::{FeedEvent, render_feed};
pub use error::FittingError;
pub use lists::{BookingFilters, BookingPage, Side};
pub use machine::{Action, Actor, MOVES, Status};
pub use reminders::run_due_reminders;
pub use slots::{SlotListing, SlotView, utc_text};

use std::time::Duration;

use sea_orm::DatabaseConnection;

use crate::mail::Outbox;
use crate::storage::WriteGate;

/// What the fittings area reads from the configuration.
#[derive(Clone, Debug)]
pub struct FittingSettings {
    /// A customer may cancel or move a fitting up to this long before it.
    pub customer_cancel_notice: Duration,
    /// How often the reminder sender looks for fittings coming up.
    pub reminder_poll: Duration,
}

impl Default for FittingSettings {
    fn default() -> Self {
        Self {
            customer_cancel_notice: Duration::from_secs(12 * 3600),
            reminder_poll: Duration::from_secs(60),
        }
    }
}

pub struct FittingService {
    db: DatabaseConnection,
    settings: FittingSettings,
    outbox: Outbox,
    /// Derives each calendar feed's secret (see `calendar`).
    feed_key: Vec<u8>,
    /// On SQLite, bookings queue here rather than in SQLite's busy handler.
    write_gate: WriteGate,
    /// Each tailor's schedule and live bookings as last read (see `slots`).
    calendars: slots::CalendarCache,
}

impl FittingService {
    pub fn new(
        db: DatabaseConnection,
        settings: FittingSettings,
        outbox: Outbox,
        secret_key: &str,
    ) -> Self {
        Self {
            write_gate: WriteGate::for_db(&db),
            db,
            settings,
            outbox,
            feed_key: calendar::feed_key(secret_key),
            calendars: Default::default(),
        }
    }
}

/// A deleted account's fittings: its future live bookings (as tailor or
/// customer) are cancelled, the notes and home-visit places it wrote are
/// erased, and its availability and calendar feed go. Past bookings stay as
/// the other party's history. Runs in the deletion's transaction.
pub async fn forget_fittings_side(
    conn: &impl sea_orm::ConnectionTrait,
    account: uuid::Uuid,
) -> Result<(), sea_orm::DbErr> {
    export::forget(conn, account).await
}

//! Reminder emails 24 hours and 1 hour before a confirmed fitting, to both
//! parties. Each reminder is claimed by a conditional UPDATE of its column
//! (`reminded_24h_at IS NULL`) and its emails are queued in the claim's
//! transaction, so however many instances look, one of them claims it, once,
//! and a crash after the claim cannot lose the emails (the queue retries a
//! failed send).

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};

use super::FittingService;
use super::slots::local_text;
use crate::jobs::{JobFailure, JobQueue, Outcome};
use crate::mail::{Layout, Outbox};
use crate::storage::StorageError;
use crate::storage::entities::{fitting_availability, fitting_booking, user};

const REMINDER_JOB: &str = "fittings.reminders";

/// Fittings handled per look and window.
const BATCH: u64 = 100;

#[derive(Clone, Copy)]
enum Reminder {
    DayBefore,
    HourBefore,
}

impl Reminder {
    fn lead(self) -> TimeDelta {
        match self {
            Reminder::DayBefore => TimeDelta::hours(24),
            Reminder::HourBefore => TimeDelta::hours(1),
        }
    }

    fn column(self) -> fitting_booking::Column {
        match self {
            Reminder::DayBefore => fitting_booking::Column::Reminded24hAt,
            Reminder::HourBefore => fitting_booking::Column::Reminded1hAt,
        }
    }

    fn words(self) -> &'static str {
        match self {
            Reminder::DayBefore => "in 24 hours",
            Reminder::HourBefore => "in 1 hour",
        }
    }
}

/// Queues the reminders that are due now; returns how many fittings were
/// reminded. The hour-before pass runs first and also settles the day-before
/// reminder of a fitting booked less than an hour ahead, which then gets one
/// email, not two.
pub async fn run_due_reminders(
    db: &DatabaseConnection,
    outbox: &Outbox,
) -> Result<usize, StorageError> {
    let now = Utc::now();
    let mut sent = 0;
    for reminder in [Reminder::HourBefore, Reminder::DayBefore] {
        let due = fitting_booking::Entity::find()
            .filter(fitting_booking::Column::Status.eq("confirmed"))
            .filter(fitting_booking::Column::StartAt.gt(now))
            .filter(fitting_booking::Column::StartAt.lte(now + reminder.lead()))
            .filter(reminder.column().is_null())
            .order_by_asc(fitting_booking::Column::StartAt)
            .limit(BATCH)
            .all(db)
            .await?;
        for booking in due {
            let txn = db.begin().await?;
            if claim(&txn, &booking, reminder, now).await? {
                queue_emails(&txn, outbox, &booking, reminder).await?;
                txn.commit().await?;
                sent += 1;
            } else {
                txn.rollback().await?;
            }
        }
    }
    if sent > 0 {
        outbox.wake();
    }
    Ok(sent)
}

impl FittingService {
    /// Runs `run_due_reminders` every `reminder_poll`, once per period
    /// across all instances.
    pub fn schedule_reminders(self: &Arc<Self>, jobs: &JobQueue) {
        let this = self.clone();
        jobs.register(REMINDER_JOB, move |_job| {
            let this = this.clone();
            async move {
                run_due_reminders(&this.db, &this.outbox)
                    .await
                    .map_err(JobFailure::retry)?;
                Ok(Outcome::Done)
            }
        });
        jobs.every(REMINDER_JOB, self.settings.reminder_poll);
    }
}

/// Marks the reminder as sent if nobody has: true for the one caller that did.
async fn claim(
    conn: &impl ConnectionTrait,
    booking: &fitting_booking::Model,
    reminder: Reminder,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let mut update = fitting_booking::Entity::update_many()
        .col_expr(reminder.column(), Expr::value(now))
        .filter(fitting_booking::Column::Id.eq(booking.id))
        .filter(fitting_booking::Column::Status.eq("confirmed"))
        // A reschedule clears the columns: claim only the time that was read.
        .filter(fitting_booking::Column::StartAt.eq(booking.start_at))
        .filter(reminder.column().is_null());
    if let Reminder::HourBefore = reminder {
        update = update.col_expr(
            fitting_booking::Column::Reminded24hAt,
            Expr::col(fitting_booking::Column::Reminded24hAt).if_null(now),
        );
    }
    let claimed = update.exec(conn).await?.rows_affected == 1;
    if claimed {
        // Both parties' notifications commit with the claim and the emails.
        crate::notifications::events::fitting_reminder(conn, booking, reminder.words()).await?;
    }
    Ok(claimed)
}

async fn queue_emails(
    conn: &impl ConnectionTrait,
    outbox: &Outbox,
    booking: &fitting_booking::Model,
    reminder: Reminder,
) -> Result<(), StorageError> {
    let people = user::Entity::find()
        .filter(user::Column::Id.is_in([booking.tailor_id, booking.customer_id]))
        .filter(user::Column::DeletedAt.is_null())
        .all(conn)
        .await?;
    let name_of = |id| {
        people
            .iter()
            .find(|u| u.id == id)
            .map_or("a deleted user".to_string(), |u| u.username.clone())
    };
    let zone = fitting_availability::Entity::find_by_id(booking.tailor_id)
        .one(conn)
        .await?
        .and_then(|a| a.time_zone.parse().ok())
        .unwrap_or(chrono_tz::Africa::Lagos);
    let when = local_text(booking.start_at, zone);
    let place = if booking.kind == "home_visit" {
        "a home visit"
    } else {
        "at the tailor's shop"
    };
    for person in &people {
        let other = if person.id == booking.tailor_id {
            name_of(booking.customer_id)
        } else {
            name_of(booking.tailor_id)
        };
        let paragraphs = [
            format!("Hello {},", person.username),
            format!(
                "Your fitting with {other} ({place}) starts {}: {when} ({}).",
                reminder.words(),
                zone.name()
            ),
            format!("Booking {}.", booking.id),
        ];
        let title = format!("Fitting reminder: {}", reminder.words());
        let link = format!("atelier://fittings/{}", booking.id);
        let page = Layout {
            title: &title,
            paragraphs: &paragraphs,
            action: Some(("Open the booking", &link)),
        };
        let email = page.email(&person.email, &title);
        outbox.enqueue(conn, &email, None).await?;
    }
    Ok(())
}

//! Moving a booking through its states (the table is in `machine`):
//! accept, decline, cancel, and reschedule in one step.

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, TransactionTrait};
use serde_json::Value;
use uuid::Uuid;

use super::availability::schedule_of;
use super::bookings::{
    BookingView, check_start, commit_or_rollback, is_unique_violation, lock_availability,
    start_field,
};
use super::machine::{Action, Actor, Status, next, settle};
use super::slots::busy_between;
use super::{FittingError, FittingService};
use crate::storage::entities::{fitting_availability, fitting_booking, user};
use crate::validation::FieldErrors;

impl FittingService {
    /// The booking `id` and the caller's side of it; not found for anyone
    /// but its two parties.
    async fn booking_of_party(
        &self,
        me: &user::Model,
        id: Uuid,
    ) -> Result<(fitting_booking::Model, Actor), FittingError> {
        let row = fitting_booking::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(FittingError::NotFound)?;
        let actor = if row.tailor_id == me.id {
            Actor::Tailor
        } else if row.customer_id == me.id {
            Actor::Customer
        } else {
            return Err(FittingError::NotFound);
        };
        Ok((row, actor))
    }

    /// The state `action` takes the booking to, or why it may not.
    fn allowed(
        &self,
        row: &fitting_booking::Model,
        action: Action,
        actor: Actor,
    ) -> Result<(Status, Status), FittingError> {
        let current = Status::parse(&row.status).unwrap_or(Status::Cancelled);
        let Some(to) = next(current, action, actor) else {
            return Err(FittingError::Conflict(
                "invalid_transition",
                format!(
                    "This booking is {}; it cannot be {} by the {}.",
                    current.as_str(),
                    action.verb(),
                    actor.as_str()
                ),
            ));
        };
        let now = Utc::now();
        if row.start_at <= now {
            return Err(FittingError::Conflict(
                "fitting_started",
                format!(
                    "This fitting has already started; it can no longer be {}.",
                    action.verb()
                ),
            ));
        }
        let notice = TimeDelta::from_std(self.settings.customer_cancel_notice)
            .unwrap_or(TimeDelta::hours(12));
        if actor == Actor::Customer
            && matches!(action, Action::Cancel | Action::Reschedule)
            && row.start_at - now < notice
        {
            return Err(FittingError::Conflict(
                "too_late",
                format!(
                    "A customer can cancel or move a fitting up to {} hours before it; call the tailor instead.",
                    notice.num_hours()
                ),
            ));
        }
        Ok((current, to))
    }

    /// Accept, decline or cancel a booking.
    pub async fn act(
        &self,
        me: &user::Model,
        id: Uuid,
        action: Action,
    ) -> Result<BookingView, FittingError> {
        let (row, actor) = self.booking_of_party(me, id).await?;
        let (current, to) = self.allowed(&row, action, actor)?;
        let cancelled_by = (to == Status::Cancelled).then(|| actor.as_str());
        let moved = {
            let _queue = self.write_gate.enter().await;
            let txn = self.db.begin().await?;
            // The tailor's lock first, as booking takes it; it also tells
            // cached lists of their bookings that these changed.
            let result = async {
                lock_availability(&txn, row.tailor_id).await?;
                let moved = fitting_booking::Entity::update_many()
                    .col_expr(fitting_booking::Column::Status, Expr::value(to.as_str()))
                    .col_expr(
                        fitting_booking::Column::CancelledBy,
                        Expr::value(cancelled_by),
                    )
                    .col_expr(fitting_booking::Column::UpdatedAt, Expr::value(Utc::now()))
                    .filter(fitting_booking::Column::Id.eq(id))
                    .filter(fitting_booking::Column::Status.eq(current.as_str()))
                    // A reschedule keeps the status: the time checked (and
                    // accepted) must still be the booking's time.
                    .filter(fitting_booking::Column::StartAt.eq(row.start_at))
                    .exec(&txn)
                    .await?;
                if moved.rows_affected == 1 && to == Status::Confirmed {
                    crate::notifications::events::fitting_confirmed(&txn, &row).await?;
                }
                Ok::<_, FittingError>(moved.rows_affected)
            }
            .await;
            commit_or_rollback(txn, result).await?
        };
        let row = self.booking_of_party(me, id).await?.0;
        if moved != 1 {
            // Moved by the other party meanwhile: refuse, naming the new state.
            self.allowed(&row, action, actor)?;
            return Err(FittingError::Conflict(
                "invalid_transition",
                "The booking changed meanwhile; reload it and try again.".into(),
            ));
        }
        let zone = self.zone_of(row.tailor_id).await;
        Ok(BookingView::of(row, zone))
    }

    /// Moves a booking to another open slot in one step: the old slot is
    /// given up in the same statement that takes the new one.
    pub async fn reschedule(
        &self,
        me: &user::Model,
        id: Uuid,
        start: Option<Value>,
    ) -> Result<BookingView, FittingError> {
        let mut errors = FieldErrors::new();
        let start = start_field(&mut errors, &start);
        errors.into_result()?;
        let start = start.unwrap_or_default();
        let (row, actor) = self.booking_of_party(me, id).await?;
        self.allowed(&row, Action::Reschedule, actor)?;
        if start == row.start_at {
            return Err(FieldErrors::single("start", "This is the booking's slot already.").into());
        }
        let moved = {
            let _queue = self.write_gate.enter().await;
            self.reschedule_in_transaction(me, id, row.tailor_id, start)
                .await
        };
        match moved {
            Ok(row) => {
                let zone = self.zone_of(row.tailor_id).await;
                Ok(BookingView::of(row, zone))
            }
            Err(err) if matches!(err, FittingError::SlotTaken(_)) || is_unique_violation(&err) => {
                Err(FittingError::SlotTaken(
                    self.alternatives(row.tailor_id, start).await,
                ))
            }
            Err(err) => Err(err),
        }
    }

    async fn reschedule_in_transaction(
        &self,
        me: &user::Model,
        id: Uuid,
        tailor: Uuid,
        start: DateTime<Utc>,
    ) -> Result<fitting_booking::Model, FittingError> {
        let txn = self.db.begin().await?;
        let result = self.reschedule_steps(&txn, me, id, tailor, start).await;
        commit_or_rollback(txn, result).await
    }

    /// The lock comes first (a booking's tailor never changes): on SQLite a
    /// transaction that read first may be refused the write lock outright.
    async fn reschedule_steps(
        &self,
        txn: &DatabaseTransaction,
        me: &user::Model,
        id: Uuid,
        tailor: Uuid,
        start: DateTime<Utc>,
    ) -> Result<fitting_booking::Model, FittingError> {
        let availability = if lock_availability(txn, tailor).await? {
            fitting_availability::Entity::find_by_id(tailor)
                .one(txn)
                .await?
        } else {
            None
        };
        let Some(availability) = availability else {
            return Err(FittingError::Conflict(
                "not_taking_bookings",
                "This tailor takes no fitting bookings now.".into(),
            ));
        };
        // Read again under the lock: the state checked is the state moved.
        let row = fitting_booking::Entity::find_by_id(id)
            .one(txn)
            .await?
            .ok_or(FittingError::NotFound)?;
        let actor = if row.tailor_id == me.id {
            Actor::Tailor
        } else {
            Actor::Customer
        };
        let (current, to) = self.allowed(&row, Action::Reschedule, actor)?;
        let schedule = schedule_of(&availability);
        let now = Utc::now();
        check_start(&schedule, start, now)?;
        let end = start + schedule.slot;
        let busy = busy_between(txn, tailor, start, end).await?;
        // The booking's own time is given up by this move.
        if busy
            .iter()
            .any(|b| b.start != row.start_at && schedule.clashes(start, end, b))
        {
            return Err(FittingError::SlotTaken(Vec::new()));
        }
        let to = settle(to, availability.requires_approval);
        let none: Option<DateTime<Utc>> = None;
        let moved = fitting_booking::Entity::update_many()
            .col_expr(fitting_booking::Column::StartAt, Expr::value(start))
            .col_expr(fitting_booking::Column::EndAt, Expr::value(end))
            .col_expr(fitting_booking::Column::Status, Expr::value(to.as_str()))
            .col_expr(fitting_booking::Column::Reminded24hAt, Expr::value(none))
            .col_expr(fitting_booking::Column::Reminded1hAt, Expr::value(none))
            .col_expr(fitting_booking::Column::UpdatedAt, Expr::value(now))
            .filter(fitting_booking::Column::Id.eq(id))
            .filter(fitting_booking::Column::Status.eq(current.as_str()))
            .exec(txn)
            .await?;
        if moved.rows_affected != 1 {
            return Err(FittingError::Conflict(
                "invalid_transition",
                "The booking changed meanwhile; reload it and try again.".into(),
            ));
        }
        let row = fitting_booking::Entity::find_by_id(id)
            .one(txn)
            .await?
            .ok_or(FittingError::NotFound)?;
        Ok(row)
    }
}

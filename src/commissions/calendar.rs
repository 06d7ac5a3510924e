//! Commission due dates in a user's calendar feed (see `fittings::calendar`).

use chrono::TimeDelta;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::machine::Status;
use super::{CommissionError, CommissionService};
use crate::fittings::FeedEvent;
use crate::storage::entities::commission;

/// More would make a feed no calendar reads.
const MAX_EVENTS: u64 = 500;

impl CommissionService {
    /// The due dates of the user's unfinished commissions (either side),
    /// as half-hour events.
    pub async fn due_date_events(&self, user: Uuid) -> Result<Vec<FeedEvent>, CommissionError> {
        let unfinished = [Status::AwaitingDeposit, Status::InProgress, Status::Ready];
        let rows = commission::Entity::find()
            .filter(
                Condition::any()
                    .add(commission::Column::CustomerId.eq(user))
                    .add(commission::Column::TailorId.eq(user)),
            )
            .filter(commission::Column::Status.is_in(unfinished.map(Status::as_str)))
            .filter(commission::Column::DueAt.is_not_null())
            .order_by_asc(commission::Column::DueAt)
            .limit(MAX_EVENTS)
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                let due = row.due_at?;
                Some(FeedEvent {
                    uid: format!("commission-{}@atelier", row.id),
                    summary: format!("Due: {}", row.garment_type),
                    description: format!("Commission {} ({})", row.id, row.status),
                    location: None,
                    start: due,
                    end: due + TimeDelta::minutes(30),
                })
            })
            .collect())
    }
}

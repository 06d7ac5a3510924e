//! What staff see of the queue: jobs by status (the dead letters first of
//! all), and queueing a dead job again.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{JobQueue, JobStatus};
use crate::storage::StorageError;
use crate::storage::entities::{job, user};

#[derive(Debug, thiserror::Error)]
pub enum JobsError {
    #[error("staff only")]
    StaffOnly,
    #[error("no such job")]
    NotFound,
    #[error("unknown status {0}")]
    UnknownStatus(String),
    #[error("the job is {0}, not dead")]
    NotDead(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<sea_orm::DbErr> for JobsError {
    fn from(err: sea_orm::DbErr) -> Self {
        JobsError::Storage(err.into())
    }
}

/// A job as staff see it: its input is not shown (it may hold an email's
/// text or a customer's details).
#[derive(Debug, Serialize, ToSchema)]
pub struct JobView {
    pub id: Uuid,
    /// e.g. `email.send`, `refund.send`, `push.send`.
    pub kind: String,
    /// `queued`, `running`, `done` or `dead`.
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<job::Model> for JobView {
    fn from(row: job::Model) -> Self {
        Self {
            id: row.id,
            kind: row.kind,
            status: row.status,
            attempts: row.attempts,
            max_attempts: row.max_attempts,
            run_at: row.run_at,
            last_error: row.last_error,
            created_at: row.created_at,
            updated_at: row.updated_at,
            finished_at: row.finished_at,
        }
    }
}

fn staff_only(me: &user::Model) -> Result<(), JobsError> {
    if me.is_staff || me.is_superuser {
        Ok(())
    } else {
        Err(JobsError::StaffOnly)
    }
}

impl JobQueue {
    /// Jobs with `status` (default: dead), newest first.
    pub async fn list(
        &self,
        me: &user::Model,
        status: Option<&str>,
        page: u64,
        page_size: u64,
    ) -> Result<(u64, Vec<JobView>), JobsError> {
        staff_only(me)?;
        let status = match status {
            None | Some("") => JobStatus::Dead,
            Some(raw) => {
                JobStatus::parse(raw).ok_or_else(|| JobsError::UnknownStatus(raw.to_string()))?
            }
        };
        let query = job::Entity::find().filter(job::Column::Status.eq(status.as_str()));
        let count = query.clone().count(&self.db).await?;
        let Some(offset) = crate::storage::page_offset(page, page_size, count) else {
            return Ok((count, Vec::new()));
        };
        let rows = query
            .order_by_desc(job::Column::UpdatedAt)
            .order_by_desc(job::Column::Id)
            .offset(offset)
            .limit(page_size)
            .all(&self.db)
            .await?;
        Ok((count, rows.into_iter().map(JobView::from).collect()))
    }

    /// Queues a dead job again with a fresh count of attempts.
    pub async fn retry_dead(&self, me: &user::Model, id: Uuid) -> Result<JobView, JobsError> {
        staff_only(me)?;
        let now = Utc::now();
        let moved = job::Entity::update_many()
            .col_expr(job::Column::Status, Expr::value(JobStatus::Queued.as_str()))
            .col_expr(job::Column::Attempts, Expr::value(0))
            .col_expr(job::Column::RunAt, Expr::value(now))
            .col_expr(job::Column::UpdatedAt, Expr::value(now))
            .col_expr(
                job::Column::FinishedAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(job::Column::Id.eq(id))
            .filter(job::Column::Status.eq(JobStatus::Dead.as_str()))
            .exec(&self.db)
            .await?;
        let row = job::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(JobsError::NotFound)?;
        if moved.rows_affected == 0 {
            return Err(JobsError::NotDead(row.status));
        }
        tracing::info!(job = %id, kind = %row.kind, staff = %me.id, "dead job queued again by staff");
        self.wake();
        Ok(row.into())
    }
}

/// Deletes done jobs finished more than `keep` ago (their dedup keys go
/// with them); part of housekeeping.
pub async fn purge_done(
    db: &sea_orm::DatabaseConnection,
    keep: std::time::Duration,
) -> Result<u64, StorageError> {
    let cutoff =
        Utc::now() - chrono::TimeDelta::from_std(keep).unwrap_or(chrono::TimeDelta::days(7));
    Ok(job::Entity::delete_many()
        .filter(job::Column::Status.eq(JobStatus::Done.as_str()))
        .filter(job::Column::FinishedAt.lt(cutoff))
        .exec(db)
        .await?
        .rows_affected)
}

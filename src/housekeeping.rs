//! Deleting rows that can no longer matter: expired codes and refresh tokens,
//! logins with no token left, counters whose window has passed, and
//! idempotency keys older than a day (clients retry within minutes).

use std::time::Duration;

use chrono::Utc;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::jobs::{JobFailure, JobQueue, Outcome};
use crate::storage::StorageError;
use crate::storage::entities::{
    idempotency_key, one_time_code, refresh_token, throttle, token_family,
};

/// Rows removed by one purge, by table.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub codes: u64,
    pub refresh_tokens: u64,
    pub logins: u64,
    pub throttles: u64,
    pub idempotency_keys: u64,
}

/// How long a checkout's answer is kept for retries.
pub const IDEMPOTENCY_KEY_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// `longest_window` is the longest throttle window in use: older counters are dead.
pub async fn purge_expired(
    db: &DatabaseConnection,
    longest_window: Duration,
) -> Result<Purged, StorageError> {
    let now = Utc::now();
    let codes = one_time_code::Entity::delete_many()
        .filter(one_time_code::Column::ExpiresAt.lt(now))
        .exec(db)
        .await?
        .rows_affected;
    // Used tokens are kept until they expire: a replay must still be recognised.
    let refresh_tokens = refresh_token::Entity::delete_many()
        .filter(refresh_token::Column::ExpiresAt.lt(now))
        .exec(db)
        .await?
        .rows_affected;
    let families_in_use = Query::select()
        .column(refresh_token::Column::FamilyId)
        .from(refresh_token::Entity)
        .to_owned();
    let logins = token_family::Entity::delete_many()
        .filter(Expr::col(token_family::Column::Id).not_in_subquery(families_in_use))
        .exec(db)
        .await?
        .rows_affected;
    let throttles = throttle::Entity::delete_many()
        .filter(throttle::Column::WindowStartedAt.lt(now - longest_window))
        .exec(db)
        .await?
        .rows_affected;
    let idempotency_keys = idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::CreatedAt.lt(now - IDEMPOTENCY_KEY_LIFETIME))
        .exec(db)
        .await?
        .rows_affected;
    Ok(Purged {
        codes,
        refresh_tokens,
        logins,
        throttles,
        idempotency_keys,
    })
}

pub const PURGE_JOB: &str = "housekeeping.purge";

/// Purges every `every` (once across all instances), done jobs included.
pub fn schedule(jobs: &JobQueue, longest_window: Duration, every: Duration) {
    let db = jobs.db().clone();
    let keep_done = jobs.settings().keep_done;
    jobs.register(PURGE_JOB, move |_job| {
        let db = db.clone();
        async move {
            let purged = purge_expired(&db, longest_window)
                .await
                .map_err(JobFailure::retry)?;
            let jobs = crate::jobs::purge_done(&db, keep_done)
                .await
                .map_err(JobFailure::retry)?;
            tracing::debug!(?purged, jobs, "purged expired rows");
            Ok(Outcome::Done)
        }
    });
    jobs.every(PURGE_JOB, every);
}

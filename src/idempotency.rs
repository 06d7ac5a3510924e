//! `Idempotency-Key` support: the first request with a key runs; a retry with
//! the same key and body gets the first response again; the same key with a
//! different body, or while the first is still running, is refused.

use std::time::Duration;

use chrono::Utc;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::storage::StorageError;
use crate::storage::entities::idempotency_key::{self, Column, Entity as IdempotencyKey};

/// A request still marked running after this long died without finishing
/// (a crash, a dropped connection): a retry may take it over.
const STALE_AFTER: Duration = Duration::from_secs(60);

#[derive(Debug, PartialEq, Eq)]
pub enum Begin {
    /// Run the request, then `finish` or `abandon` the key.
    Fresh,
    Replay {
        status: u16,
        body: String,
    },
    InFlight,
    /// The key was used with another request body.
    Mismatch,
}

#[derive(Clone)]
pub struct IdempotencyStore {
    db: DatabaseConnection,
}

impl IdempotencyStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    pub async fn begin(&self, key: &str, request_hash: &str) -> Result<Begin, StorageError> {
        let now = Utc::now();
        let claimed = IdempotencyKey::insert(idempotency_key::ActiveModel {
            key: Set(key.to_string()),
            request_hash: Set(request_hash.to_string()),
            response_status: Set(None),
            response_body: Set(None),
            created_at: Set(now),
        })
        .on_conflict(OnConflict::column(Column::Key).do_nothing().to_owned())
        .exec_without_returning(&self.db)
        .await?;
        if claimed == 1 {
            return Ok(Begin::Fresh);
        }
        let Some(row) = IdempotencyKey::find_by_id(key.to_string())
            .one(&self.db)
            .await?
        else {
            return Ok(Begin::InFlight); // abandoned between our insert and read: retry later
        };
        if row.request_hash != request_hash {
            return Ok(Begin::Mismatch);
        }
        if let (Some(status), Some(body)) = (row.response_status, row.response_body) {
            return Ok(Begin::Replay {
                status: u16::try_from(status).unwrap_or(500),
                body,
            });
        }
        let stale = now - STALE_AFTER;
        let taken_over = IdempotencyKey::update_many()
            .col_expr(Column::CreatedAt, Expr::value(now))
            .filter(Column::Key.eq(key))
            .filter(Column::ResponseStatus.is_null())
            .filter(Column::CreatedAt.lt(stale))
            .exec(&self.db)
            .await?;
        Ok(if taken_over.rows_affected == 1 {
            Begin::Fresh
        } else {
            Begin::InFlight
        })
    }

    pub async fn finish(&self, key: &str, status: u16, body: &str) -> Result<(), StorageError> {
        IdempotencyKey::update_many()
            .col_expr(Column::ResponseStatus, Expr::value(i32::from(status)))
            .col_expr(Column::ResponseBody, Expr::value(body))
            .filter(Column::Key.eq(key))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Forgets a key whose request failed on our side, so a retry runs again.
    pub async fn abandon(&self, key: &str) -> Result<(), StorageError> {
        IdempotencyKey::delete_by_id(key.to_string())
            .exec(&self.db)
            .await?;
        Ok(())
    }
}

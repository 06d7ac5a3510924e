//! A user's commissions in their data export.

use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::views::summary;
use super::{CommissionError, CommissionView};
use crate::storage::StorageError;
use crate::storage::entities::commission;

/// Every commission the user asked for or was asked to make, oldest first.
pub async fn export(
    db: &impl ConnectionTrait,
    me: Uuid,
) -> Result<Vec<CommissionView>, StorageError> {
    let rows = commission::Entity::find()
        .filter(
            Condition::any()
                .add(commission::Column::CustomerId.eq(me))
                .add(commission::Column::TailorId.eq(me)),
        )
        .order_by_asc(commission::Column::Id)
        .all(db)
        .await
        .map_err(StorageError::from)?;
    summary(db, rows).await.map_err(|err| match err {
        CommissionError::Storage(e) => e,
        other => StorageError::Other(other.to_string()),
    })
}

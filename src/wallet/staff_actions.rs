//! The audit log of what staff did to money: every retry, close or
//! adjustment writes one row in the same transaction as the change, so the
//! log and the money cannot disagree.

use chrono::Utc;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};
use serde::Serialize;
use uuid::Uuid;

use crate::storage::StorageError;
use crate::storage::entities::staff_action;

/// One staff action, as [`record`] writes it.
pub struct StaffAction<'a, D: Serialize> {
    pub staff_id: Uuid,
    /// e.g. `payout.retry`, `payout.close`, `wallet.adjust`.
    pub action: &'static str,
    /// `payout`, `tailor`, ...
    pub subject_kind: &'static str,
    pub subject_id: Uuid,
    /// The reason the staff member gave.
    pub note: &'a str,
    /// What changed (amounts, statuses), kept as JSON.
    pub details: &'a D,
}

/// Writes the action, as part of the caller's transaction.
pub async fn record<D: Serialize>(
    conn: &impl ConnectionTrait,
    action: StaffAction<'_, D>,
) -> Result<(), StorageError> {
    let row = staff_action::ActiveModel {
        id: Set(Uuid::now_v7()),
        staff_id: Set(action.staff_id),
        action: Set(action.action.to_string()),
        subject_kind: Set(action.subject_kind.to_string()),
        subject_id: Set(action.subject_id),
        note: Set(action.note.to_string()),
        details: Set(serde_json::to_string(action.details).expect("details serialise")),
        created_at: Set(Utc::now()),
    };
    staff_action::Entity::insert(row)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

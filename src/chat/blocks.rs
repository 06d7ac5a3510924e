//! Blocking: a blocked user cannot start a conversation with, or send to,
//! the user who blocked them (nor the other way round while the block holds).
//! A block also ends the follows between the two, both ways.

use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter, TransactionTrait,
};
use uuid::Uuid;

use super::views::BlockView;
use super::{ChatError, ChatService};
use crate::storage::StorageError;
use crate::storage::entities::{user, user_block};
use crate::validation::FieldErrors;

impl ChatService {
    /// Blocks a user; true when the block is new.
    pub async fn block(
        &self,
        me: &user::Model,
        raw: Option<String>,
    ) -> Result<(BlockView, bool), ChatError> {
        let mut errors = FieldErrors::new();
        let Some(raw) = errors.required("user_id", &raw) else {
            return Err(errors.into());
        };
        let target = match Uuid::parse_str(raw.trim()) {
            Ok(id) => user::Entity::find_by_id(id).one(&self.db).await?,
            Err(_) => None,
        };
        let Some(target) = target else {
            return Err(FieldErrors::single("user_id", "No such user.").into());
        };
        if target.id == me.id {
            return Err(FieldErrors::single("user_id", "You cannot block yourself.").into());
        }
        let row = user_block::Model {
            blocker_id: me.id,
            blocked_id: target.id,
            created_at: Utc::now(),
        };
        // The block and the end of the follows between the two commit together.
        let txn = self.db.begin().await?;
        let inserted = user_block::Entity::insert(user_block::ActiveModel {
            blocker_id: Set(row.blocker_id),
            blocked_id: Set(row.blocked_id),
            created_at: Set(row.created_at),
        })
        .exec_without_returning(&txn)
        .await
        .map_err(StorageError::from);
        match inserted {
            Ok(_) => {
                crate::tailors::end_follows_between(&txn, me.id, target.id).await?;
                txn.commit().await?;
                Ok((BlockView::from(&row), true))
            }
            Err(StorageError::UniqueViolation(_)) => {
                txn.rollback().await?;
                let existing = user_block::Entity::find_by_id((me.id, target.id))
                    .one(&self.db)
                    .await?
                    .ok_or(ChatError::NotFound)?;
                Ok((BlockView::from(&existing), false))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Lifts a block; not found when there was none.
    pub async fn unblock(&self, me: &user::Model, raw: &str) -> Result<(), ChatError> {
        let target = Uuid::parse_str(raw.trim()).map_err(|_| ChatError::NotFound)?;
        let deleted = user_block::Entity::delete_by_id((me.id, target))
            .exec(&self.db)
            .await?;
        if deleted.rows_affected == 0 {
            return Err(ChatError::NotFound);
        }
        Ok(())
    }

    pub(super) async fn ensure_not_blocked(&self, me: Uuid, other: Uuid) -> Result<(), ChatError> {
        let blocks = user_block::Entity::find()
            .filter(
                Condition::any()
                    .add(
                        Condition::all()
                            .add(user_block::Column::BlockerId.eq(other))
                            .add(user_block::Column::BlockedId.eq(me)),
                    )
                    .add(
                        Condition::all()
                            .add(user_block::Column::BlockerId.eq(me))
                            .add(user_block::Column::BlockedId.eq(other)),
                    ),
            )
            .all(&self.db)
            .await?;
        if blocks.iter().any(|b| b.blocker_id == other) {
            return Err(ChatError::Forbidden(
                "blocked",
                "This user has blocked you; you cannot message them.",
            ));
        }
        if !blocks.is_empty() {
            return Err(ChatError::Forbidden(
                "blocked",
                "You have blocked this user; unblock them to send messages.",
            ));
        }
        Ok(())
    }

    /// Blocks between `me` and any of the other members.
    pub(super) async fn ensure_none_blocked(
        &self,
        me: Uuid,
        members: &[Uuid],
    ) -> Result<(), ChatError> {
        for other in members.iter().copied().filter(|u| *u != me) {
            self.ensure_not_blocked(me, other).await?;
        }
        Ok(())
    }
}

//! Read positions and the change sequence: moving a read position, and what
//! a resume reads (messages after a seq, changes after a change_seq, read
//! moves). Every change in a conversation (send, edit, deletion, read move)
//! takes the conversation's next `change_seq` in the transaction that makes it.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::events::Push;
use super::hub::Topic;
use super::views::{MessageView, ReadPosition};
use super::{ChatError, ChatService};
use crate::storage::StorageError;
use crate::storage::entities::{conversation, conversation_member, message, user};
use crate::storage::group_commit::Batch;
use crate::storage::migrations::CHANGED_MESSAGES_CONDITION;
use crate::validation::FieldErrors;

/// Where a member stands in one conversation.
#[derive(Debug, Clone, Copy)]
pub struct Position {
    pub conversation: Uuid,
    pub last_read_seq: i64,
    pub last_seq: i64,
    pub change_seq: i64,
}

impl ChatService {
    /// Messages after `after` in a conversation, oldest first (for resume).
    pub async fn after(
        &self,
        conversation: Uuid,
        after: i64,
        limit: u64,
    ) -> Result<Vec<MessageView>, ChatError> {
        Ok(message::Entity::find()
            .filter(message::Column::ConversationId.eq(conversation))
            .filter(message::Column::Seq.gt(after))
            .order_by_asc(message::Column::Seq)
            .limit(limit)
            .all(&self.db)
            .await?
            .iter()
            .map(MessageView::from)
            .collect())
    }

    /// Each of the user's conversations with the user's read position, the
    /// last seq and the last change_seq: what a resume has to look at.
    pub async fn positions(&self, user: Uuid) -> Result<Vec<Position>, ChatError> {
        let memberships = conversation_member::Entity::find()
            .filter(conversation_member::Column::UserId.eq(user))
            .all(&self.db)
            .await?;
        let last: std::collections::HashMap<Uuid, (i64, i64)> = conversation::Entity::find()
            .filter(conversation::Column::Id.is_in(memberships.iter().map(|m| m.conversation_id)))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|c| (c.id, (c.last_seq, c.change_seq)))
            .collect();
        Ok(memberships
            .into_iter()
            .map(|m| {
                let (last_seq, change_seq) =
                    last.get(&m.conversation_id).copied().unwrap_or_default();
                Position {
                    conversation: m.conversation_id,
                    last_read_seq: m.last_read_seq,
                    last_seq,
                    change_seq,
                }
            })
            .collect())
    }

    /// Messages up to `up_to_seq` changed (edited or deleted) after change
    /// `after`, in change order (for resume).
    pub async fn changed_after(
        &self,
        conversation: Uuid,
        up_to_seq: i64,
        after: i64,
        limit: u64,
    ) -> Result<Vec<MessageView>, ChatError> {
        Ok(message::Entity::find()
            .filter(message::Column::ConversationId.eq(conversation))
            .filter(message::Column::ChangeSeq.gt(after))
            .filter(message::Column::Seq.lte(up_to_seq))
            // Only edited or deleted messages are changes (the others the
            // client has as sent); the index holds only those.
            .filter(Expr::cust(CHANGED_MESSAGES_CONDITION))
            .order_by_asc(message::Column::ChangeSeq)
            .limit(limit)
            .all(&self.db)
            .await?
            .iter()
            .map(MessageView::from)
            .collect())
    }

    /// Members whose read position moved after change `after`, as `read`
    /// frames with their change_seq (for resume).
    pub async fn reads_after(
        &self,
        conversation: Uuid,
        after: i64,
    ) -> Result<Vec<(i64, String)>, ChatError> {
        Ok(conversation_member::Entity::find()
            .filter(conversation_member::Column::ConversationId.eq(conversation))
            .filter(conversation_member::Column::ReadChangeSeq.gt(after))
            .order_by_asc(conversation_member::Column::ReadChangeSeq)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| {
                let frame = Push::Read {
                    conversation_id: conversation,
                    user_id: m.user_id,
                    last_read_seq: m.last_read_seq,
                    change_seq: m.read_change_seq,
                }
                .to_frame();
                (m.read_change_seq, frame)
            })
            .collect())
    }

    /// Moves the caller's read position forward (never back) to `seq`.
    pub async fn mark_read(
        &self,
        me: &user::Model,
        conversation: Uuid,
        seq: Option<i64>,
    ) -> Result<ReadPosition, ChatError> {
        let Some(seq) = seq.filter(|s| *s >= 0) else {
            return Err(FieldErrors::single("seq", "Enter a whole number, 0 or more.").into());
        };
        let members = self.require_member(me.id, conversation).await?;
        let last_seq = conversation::Entity::find_by_id(conversation)
            .one(&self.db)
            .await?
            .map_or(0, |c| c.last_seq);
        if seq > last_seq {
            return Err(FieldErrors::single(
                "seq",
                format!("The last message is {last_seq}; seq cannot be beyond it."),
            )
            .into());
        }
        if let Some(change) = self.move_read(conversation, me.id, seq).await? {
            self.fanout.publish(
                members.to_vec(),
                Push::Read {
                    conversation_id: conversation,
                    user_id: me.id,
                    last_read_seq: seq,
                    change_seq: change,
                }
                .to_frame(),
                Some(Topic::change(conversation, change)),
            );
        }
        let position = self.read_position(me.id, conversation).await?;
        Ok(ReadPosition {
            conversation_id: conversation,
            user_id: me.id,
            last_read_seq: position,
            unread_count: (last_seq - position).max(0),
        })
    }

    /// Moves the read position forward with the conversation's next
    /// change_seq (conversation row, then member row, as a send locks them);
    /// `None`, and no change_seq taken, when it was there already.
    async fn move_read(
        &self,
        conversation: Uuid,
        user: Uuid,
        seq: i64,
    ) -> Result<Option<i64>, ChatError> {
        let moved = self
            .read_moves
            .run(ReadMove {
                conversation,
                user,
                seq,
            })
            .await?;
        Ok(moved)
    }
}

/// A read position to move: concurrent moves share transactions (see
/// `storage::group_commit`).
pub(super) struct ReadMove {
    conversation: Uuid,
    user: Uuid,
    seq: i64,
}

pub(super) struct ReadMoves;

impl Batch for ReadMoves {
    const KIND: &'static str = "chat_read";
    type Job = ReadMove;
    /// The change_seq of the move; `None` when the position was there already.
    type Output = Option<i64>;

    async fn one(
        &self,
        txn: &DatabaseTransaction,
        read: &ReadMove,
    ) -> Result<Option<i64>, StorageError> {
        let Some(change) = take_change(txn, read.conversation, 1).await? else {
            return Ok(None);
        };
        if advance_read(txn, read.conversation, read.user, read.seq, change).await? {
            return Ok(Some(change));
        }
        // Not moved: give the change_seq back, so that no other job of the
        // batch sees a gap. The row has been this transaction's since it
        // was taken.
        take_change(txn, read.conversation, -1).await?;
        Ok(None)
    }
}

/// Moves the conversation's change_seq by `by` (locking its row until the
/// transaction ends) and returns it; `None` when the conversation is gone.
/// `by` is an `i32` as in `next_change`: the two share one SQL text, and so
/// one prepared statement per connection, whose parameter type is fixed by
/// whichever prepared it first.
async fn take_change(
    txn: &DatabaseTransaction,
    conversation: Uuid,
    by: i32,
) -> Result<Option<i64>, StorageError> {
    let bumped = conversation::Entity::update_many()
        .col_expr(
            conversation::Column::ChangeSeq,
            Expr::col(conversation::Column::ChangeSeq).add(by),
        )
        .filter(conversation::Column::Id.eq(conversation))
        .exec_with_returning(txn)
        .await?;
    Ok(bumped.first().map(|c| c.change_seq))
}

/// Takes the conversation's next change_seq (locking its row until the
/// transaction ends).
pub(super) async fn next_change(
    db: &impl sea_orm::ConnectionTrait,
    conversation: Uuid,
) -> Result<i64, ChatError> {
    let bumped = conversation::Entity::update_many()
        .col_expr(
            conversation::Column::ChangeSeq,
            Expr::col(conversation::Column::ChangeSeq).add(1),
        )
        .filter(conversation::Column::Id.eq(conversation))
        .exec_with_returning(db)
        .await?;
    bumped
        .first()
        .map(|c| c.change_seq)
        .ok_or(ChatError::NotFound)
}

/// Moves a member's read position forward, recording the change_seq of the
/// move; true when it moved.
pub(super) async fn advance_read(
    db: &impl sea_orm::ConnectionTrait,
    conversation: Uuid,
    user: Uuid,
    seq: i64,
    change: i64,
) -> Result<bool, sea_orm::DbErr> {
    let result = conversation_member::Entity::update_many()
        .col_expr(conversation_member::Column::LastReadSeq, Expr::value(seq))
        .col_expr(
            conversation_member::Column::ReadChangeSeq,
            Expr::value(change),
        )
        .filter(conversation_member::Column::ConversationId.eq(conversation))
        .filter(conversation_member::Column::UserId.eq(user))
        .filter(conversation_member::Column::LastReadSeq.lt(seq))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

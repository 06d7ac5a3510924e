//! Storing sent messages, many at a time (see `storage::group_commit`).
//!
//! A batch costs three statements however many messages and conversations
//! it holds: one update numbers the messages of every conversation in it
//! (and refuses those of a conversation with a block between its two
//! members), one insert stores them, one update moves each sender's read
//! position past their own messages.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, CaseStatement, Expr, JoinType, Query, SelectStatement};
use sea_orm::{ColumnTrait, Condition, DatabaseTransaction, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::changes::advance_read;
use crate::storage::StorageError;
use crate::storage::entities::{conversation, conversation_member, message, user_block};
use crate::storage::group_commit::Batch;

/// A message to store, checked already.
pub struct NewMessage {
    pub sender: Uuid,
    pub conversation: Uuid,
    pub client_id: String,
    pub kind: &'static str,
    pub text: String,
    /// The attachments as stored (JSON).
    pub attachments: String,
}

/// The stored message; `None` when the conversation is gone or a block
/// stands between the sender and another member.
pub type Stored = Option<message::Model>;

pub struct SendBatch;

impl Batch for SendBatch {
    const KIND: &'static str = "chat_send";
    type Job = NewMessage;
    type Output = Stored;

    async fn all(
        &self,
        txn: &DatabaseTransaction,
        jobs: &[NewMessage],
    ) -> Result<Vec<Stored>, StorageError> {
        let now = Utc::now();
        let mut by_conversation: BTreeMap<Uuid, Vec<usize>> = BTreeMap::new();
        for (index, job) in jobs.iter().enumerate() {
            by_conversation
                .entry(job.conversation)
                .or_default()
                .push(index);
        }
        let counts: Vec<(Uuid, i64)> = by_conversation
            .iter()
            .map(|(conversation, indexes)| (*conversation, indexes.len() as i64))
            .collect();
        let taken = take_seqs_of_all(txn, &counts, now).await?;
        let mut stored: Vec<Stored> = jobs.iter().map(|_| None).collect();
        // Each sender's newest message per conversation: their read position.
        let mut read_up_to: BTreeMap<(Uuid, Uuid), (i64, i64)> = BTreeMap::new();
        for (conversation, indexes) in &by_conversation {
            let Some((last_seq, last_change)) = taken.get(conversation) else {
                continue;
            };
            let count = indexes.len() as i64;
            for (offset, index) in indexes.iter().enumerate() {
                let back = count - 1 - offset as i64;
                let (seq, change) = (last_seq - back, last_change - back);
                let job = &jobs[*index];
                stored[*index] = Some(row(job, seq, change, now));
                read_up_to.insert((*conversation, job.sender), (seq, change));
            }
        }
        let rows: Vec<message::ActiveModel> = stored
            .iter()
            .flatten()
            .map(|m| message::ActiveModel::from(m.clone()))
            .collect();
        if !rows.is_empty() {
            message::Entity::insert_many(rows)
                .exec_without_returning(txn)
                .await?;
            advance_reads(txn, &read_up_to).await?;
        }
        Ok(stored)
    }

    async fn one(
        &self,
        txn: &DatabaseTransaction,
        job: &NewMessage,
    ) -> Result<Stored, StorageError> {
        let now = Utc::now();
        let taken = take_seqs_of_all(txn, &[(job.conversation, 1)], now).await?;
        let Some((seq, change)) = taken.get(&job.conversation).copied() else {
            return Ok(None);
        };
        let stored = row(job, seq, change, now);
        message::Entity::insert(message::ActiveModel::from(stored.clone()))
            .exec_without_returning(txn)
            .await?;
        advance_read(txn, job.conversation, job.sender, seq, change).await?;
        Ok(Some(stored))
    }
}

/// Takes the next `count` seqs (and change_seqs) of each conversation,
/// locking their rows until the transaction ends: the last of each, for the
/// conversations that exist and have no block between their two members
/// (checked in the same statement, so it costs no extra query).
async fn take_seqs_of_all(
    txn: &DatabaseTransaction,
    counts: &[(Uuid, i64)],
    now: DateTime<Utc>,
) -> Result<HashMap<Uuid, (i64, i64)>, StorageError> {
    use conversation::Column;
    let bump = |column: Column| {
        counts
            .iter()
            .fold(CaseStatement::new(), |case, (id, count)| {
                case.case(Expr::col(Column::Id).eq(*id), Expr::col(column).add(*count))
            })
            .finally(Expr::col(column))
    };
    let bumped = conversation::Entity::update_many()
        .col_expr(Column::LastSeq, bump(Column::LastSeq).into())
        .col_expr(Column::ChangeSeq, bump(Column::ChangeSeq).into())
        .col_expr(Column::ActivityAt, Expr::value(now))
        .filter(Column::Id.is_in(counts.iter().map(|(id, _)| *id)))
        .filter(Expr::exists(block_between_members()).not())
        .exec_with_returning(txn)
        .await?;
    Ok(bumped
        .into_iter()
        .map(|c| (c.id, (c.last_seq, c.change_seq)))
        .collect())
}

/// A block either way between the two members of the conversation being
/// updated (conversations are between two users). Written as joins from the
/// conversation's members: PostgreSQL plans it as a few index lookups,
/// where `IN (members)` twice looked costly enough to its planner to be
/// compiled (JIT) on every batch.
fn block_between_members() -> SelectStatement {
    use conversation_member::Column as Member;
    let (first, second, block) = (Alias::new("m1"), Alias::new("m2"), Alias::new("b"));
    let this_conversation = (conversation::Entity, conversation::Column::Id);
    Query::select()
        .expr(Expr::val(1))
        .from_as(conversation_member::Entity, first.clone())
        .join_as(
            JoinType::InnerJoin,
            user_block::Entity,
            block.clone(),
            Expr::col((block.clone(), user_block::Column::BlockerId))
                .equals((first.clone(), Member::UserId)),
        )
        .join_as(
            JoinType::InnerJoin,
            conversation_member::Entity,
            second.clone(),
            Expr::col((second.clone(), Member::UserId))
                .equals((block, user_block::Column::BlockedId)),
        )
        .and_where(Expr::col((first, Member::ConversationId)).equals(this_conversation))
        .and_where(Expr::col((second, Member::ConversationId)).equals(this_conversation))
        .to_owned()
}

/// Moves each (conversation, sender)'s read position to its seq and change,
/// where it was behind: one statement.
async fn advance_reads(
    txn: &DatabaseTransaction,
    positions: &BTreeMap<(Uuid, Uuid), (i64, i64)>,
) -> Result<(), StorageError> {
    use conversation_member::Column;
    let behind = |(conversation, user): &(Uuid, Uuid), seq: i64| {
        Condition::all()
            .add(Column::ConversationId.eq(*conversation))
            .add(Column::UserId.eq(*user))
            .add(Column::LastReadSeq.lt(seq))
    };
    let mut seqs = CaseStatement::new();
    let mut changes = CaseStatement::new();
    let mut any = Condition::any();
    for (member, (seq, change)) in positions {
        seqs = seqs.case(behind(member, *seq), Expr::value(*seq));
        changes = changes.case(behind(member, *seq), Expr::value(*change));
        any = any.add(behind(member, *seq));
    }
    conversation_member::Entity::update_many()
        .col_expr(
            Column::LastReadSeq,
            seqs.finally(Expr::col(Column::LastReadSeq)).into(),
        )
        .col_expr(
            Column::ReadChangeSeq,
            changes.finally(Expr::col(Column::ReadChangeSeq)).into(),
        )
        .filter(any)
        .exec(txn)
        .await?;
    Ok(())
}

fn row(job: &NewMessage, seq: i64, change: i64, now: DateTime<Utc>) -> message::Model {
    message::Model {
        id: Uuid::now_v7(),
        conversation_id: job.conversation,
        sender_id: job.sender,
        seq,
        client_id: job.client_id.clone(),
        kind: job.kind.into(),
        text: job.text.clone(),
        attachments: job.attachments.clone(),
        created_at: now,
        edited_at: None,
        deleted: false,
        change_seq: change,
    }
}

//! Storing sent messages, many at a time (see `storage::group_commit`).
//!
//! A batch numbers the messages of each (conversation, sender) with one
//! update of the conversation, stores every message of the batch with one
//! insert, and moves each sender's read position with one update: a batch
//! of n sends from k pairs costs 2k + 1 statements instead of 3n.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Query, SelectStatement};
use sea_orm::{ColumnTrait, Condition, DatabaseTransaction, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::changes::advance_read;
use crate::storage::StorageError;
use crate::storage::entities::{conversation, message, user_block};
use crate::storage::group_commit::Batch;

/// A message to store, checked already.
pub struct NewMessage {
    pub sender: Uuid,
    pub conversation: Uuid,
    /// The conversation's other members: a block between the sender and any
    /// of them stops the message.
    pub others: Vec<Uuid>,
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
    type Job = NewMessage;
    type Output = Stored;

    async fn all(
        &self,
        txn: &DatabaseTransaction,
        jobs: &[NewMessage],
    ) -> Result<Vec<Stored>, StorageError> {
        let now = Utc::now();
        // Grouped in (conversation, sender) order, the order in which rows
        // are locked, so two batches can never wait on each other.
        let mut groups: BTreeMap<(Uuid, Uuid), Vec<usize>> = BTreeMap::new();
        for (index, job) in jobs.iter().enumerate() {
            groups
                .entry((job.conversation, job.sender))
                .or_default()
                .push(index);
        }
        let mut stored: Vec<Stored> = jobs.iter().map(|_| None).collect();
        let mut read_up_to = Vec::with_capacity(groups.len());
        for ((conversation, sender), members) in &groups {
            let first = &jobs[members[0]];
            let count = members.len() as i64;
            let Some((last_seq, last_change)) =
                take_seqs(txn, *conversation, *sender, &first.others, count, now).await?
            else {
                continue;
            };
            for (offset, index) in members.iter().enumerate() {
                let back = count - 1 - offset as i64;
                stored[*index] = Some(row(&jobs[*index], last_seq - back, last_change - back, now));
            }
            read_up_to.push((*conversation, *sender, last_seq, last_change));
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
        }
        for (conversation, sender, seq, change) in read_up_to {
            advance_read(txn, conversation, sender, seq, change).await?;
        }
        Ok(stored)
    }

    async fn one(
        &self,
        txn: &DatabaseTransaction,
        job: &NewMessage,
    ) -> Result<Stored, StorageError> {
        let now = Utc::now();
        let Some((seq, change)) =
            take_seqs(txn, job.conversation, job.sender, &job.others, 1, now).await?
        else {
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

/// Takes the conversation's next `count` seqs (and change_seqs), locking
/// its row until the transaction ends: the last of each, or `None` when the
/// conversation is gone or a block stands between `sender` and `others`
/// (checked in the same statement, so it costs no extra query).
async fn take_seqs(
    txn: &DatabaseTransaction,
    conversation: Uuid,
    sender: Uuid,
    others: &[Uuid],
    count: i64,
    now: DateTime<Utc>,
) -> Result<Option<(i64, i64)>, StorageError> {
    let bumped = conversation::Entity::update_many()
        .col_expr(
            conversation::Column::LastSeq,
            Expr::col(conversation::Column::LastSeq).add(count),
        )
        .col_expr(
            conversation::Column::ChangeSeq,
            Expr::col(conversation::Column::ChangeSeq).add(count),
        )
        .col_expr(conversation::Column::ActivityAt, Expr::value(now))
        .filter(conversation::Column::Id.eq(conversation))
        .filter(Expr::exists(block_between(sender, others)).not())
        .exec_with_returning(txn)
        .await?;
    Ok(bumped.first().map(|c| (c.last_seq, c.change_seq)))
}

/// A block either way between `sender` and any of `others`.
fn block_between(sender: Uuid, others: &[Uuid]) -> SelectStatement {
    Query::select()
        .expr(Expr::val(1))
        .from(user_block::Entity)
        .cond_where(
            Condition::any()
                .add(
                    Condition::all()
                        .add(Expr::col(user_block::Column::BlockerId).is_in(others.to_vec()))
                        .add(Expr::col(user_block::Column::BlockedId).eq(sender)),
                )
                .add(
                    Condition::all()
                        .add(Expr::col(user_block::Column::BlockerId).eq(sender))
                        .add(Expr::col(user_block::Column::BlockedId).is_in(others.to_vec())),
                ),
        )
        .to_owned()
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

//! One email about unread chat messages for a user who has been away a
//! while, instead of one per message. A scheduled job looks for members
//! whose conversations have had unread messages for at least `after`, who
//! are offline (no socket on any instance) and were last seen at least
//! `after` ago. A user gets a digest only for messages newer than their last
//! one: `notification_settings.digest_sent_at` is moved by a conditional
//! update in the transaction that queues the email, so two instances never
//! both send it.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::{Alias, Expr, JoinType, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, TransactionTrait,
};
use uuid::Uuid;

use crate::chat::ChatService;
use crate::jobs::{JobFailure, JobQueue, Outcome};
use crate::mail::{Email, Layout, Outbox};
use crate::storage::StorageError;
use crate::storage::entities::{
    chat_presence, conversation, conversation_member, message, notification_preference,
    notification_setting, user,
};

pub const DIGEST_JOB: &str = "chat.digest";
/// Conversations looked at per run; the rest wait for the next.
const BATCH: u64 = 500;

#[derive(Clone, Debug)]
pub struct DigestSettings {
    /// Unread messages this old, for a user away this long, get a digest.
    pub after: Duration,
    /// How often the job looks.
    pub every: Duration,
}

impl Default for DigestSettings {
    fn default() -> Self {
        Self {
            after: Duration::from_secs(3600),
            every: Duration::from_secs(300),
        }
    }
}

#[derive(Debug, FromQueryResult)]
struct Waiting {
    user_id: Uuid,
    conversation_id: Uuid,
    unread: i64,
    activity_at: DateTime<Utc>,
}

/// Registers the digest job and its schedule.
pub fn schedule(jobs: &JobQueue, chat: Arc<ChatService>, outbox: Outbox, settings: DigestSettings) {
    let db = jobs.db().clone();
    let every = settings.every;
    jobs.register(DIGEST_JOB, move |_job| {
        let (db, chat, outbox, settings) =
            (db.clone(), chat.clone(), outbox.clone(), settings.clone());
        async move {
            let sent = send_digests(&db, &chat, &outbox, &settings)
                .await
                .map_err(JobFailure::retry)?;
            if sent > 0 {
                outbox.wake();
                tracing::info!(sent, "chat digests queued");
            }
            Ok(Outcome::Done)
        }
    });
    jobs.every(DIGEST_JOB, every);
}

/// Queues the digests that are due; returns how many.
pub async fn send_digests(
    db: &DatabaseConnection,
    chat: &ChatService,
    outbox: &Outbox,
    settings: &DigestSettings,
) -> Result<usize, StorageError> {
    let away = Utc::now() - TimeDelta::from_std(settings.after).unwrap_or(TimeDelta::hours(1));
    let waiting = waiting_since(db, away).await?;
    let mut by_user: BTreeMap<Uuid, Vec<Waiting>> = BTreeMap::new();
    for row in waiting {
        by_user.entry(row.user_id).or_default().push(row);
    }
    let users: Vec<Uuid> = by_user.keys().copied().collect();
    let online = chat.online_among(&users).await;
    let recently_seen = seen_since(db, &users, away).await?;
    let mut sent = 0;
    for (user_id, conversations) in by_user {
        if online.contains(&user_id) || recently_seen.contains(&user_id) {
            continue;
        }
        if digest_one(db, outbox, user_id, &conversations).await? {
            sent += 1;
        }
    }
    Ok(sent)
}

/// Members with unread messages whose newest message is older than `away`
/// and newer than their last digest.
async fn waiting_since(
    db: &DatabaseConnection,
    away: DateTime<Utc>,
) -> Result<Vec<Waiting>, StorageError> {
    let (m, c, s) = (Alias::new("m"), Alias::new("c"), Alias::new("s"));
    let query = Query::select()
        .expr_as(
            Expr::col((m.clone(), conversation_member::Column::UserId)),
            Alias::new("user_id"),
        )
        .expr_as(
            Expr::col((c.clone(), conversation::Column::Id)),
            Alias::new("conversation_id"),
        )
        .expr_as(
            Expr::col((c.clone(), conversation::Column::LastSeq)).sub(Expr::col((
                m.clone(),
                conversation_member::Column::LastReadSeq,
            ))),
            Alias::new("unread"),
        )
        .expr_as(
            Expr::col((c.clone(), conversation::Column::ActivityAt)),
            Alias::new("activity_at"),
        )
        .from_as(conversation_member::Entity, m.clone())
        .join_as(
            JoinType::InnerJoin,
            conversation::Entity,
            c.clone(),
            Expr::col((c.clone(), conversation::Column::Id))
                .equals((m.clone(), conversation_member::Column::ConversationId)),
        )
        .join_as(
            JoinType::LeftJoin,
            notification_setting::Entity,
            s.clone(),
            Expr::col((s.clone(), notification_setting::Column::UserId))
                .equals((m.clone(), conversation_member::Column::UserId)),
        )
        .and_where(
            Expr::col((c.clone(), conversation::Column::LastSeq)).gt(Expr::col((
                m.clone(),
                conversation_member::Column::LastReadSeq,
            ))),
        )
        .and_where(Expr::col((c.clone(), conversation::Column::ActivityAt)).lte(away))
        .and_where(
            Expr::col((s.clone(), notification_setting::Column::DigestSentAt))
                .is_null()
                .or(
                    Expr::col((s.clone(), notification_setting::Column::DigestSentAt))
                        .lt(Expr::col((c.clone(), conversation::Column::ActivityAt))),
                ),
        )
        .limit(BATCH)
        .to_owned();
    let backend = db.get_database_backend();
    Ok(Waiting::find_by_statement(backend.build(&query))
        .all(db)
        .await?)
}

/// Of `users`, those whose last socket closed after `away` (they were
/// around recently: a digest would repeat what they just saw).
async fn seen_since(
    db: &DatabaseConnection,
    users: &[Uuid],
    away: DateTime<Utc>,
) -> Result<HashSet<Uuid>, StorageError> {
    if users.is_empty() {
        return Ok(HashSet::new());
    }
    Ok(chat_presence::Entity::find()
        .filter(chat_presence::Column::UserId.is_in(users.to_vec()))
        .filter(chat_presence::Column::LastSeenAt.gt(away))
        .all(db)
        .await?
        .into_iter()
        .map(|row| row.user_id)
        .collect())
}

/// Claims the user's digest and queues its email in one transaction.
async fn digest_one(
    db: &DatabaseConnection,
    outbox: &Outbox,
    user_id: Uuid,
    conversations: &[Waiting],
) -> Result<bool, StorageError> {
    let Some(newest) = conversations.iter().map(|c| c.activity_at).max() else {
        return Ok(false);
    };
    let Some(me) = user::Entity::find_by_id(user_id).one(db).await? else {
        return Ok(false);
    };
    let txn = db.begin().await?;
    let now = Utc::now();
    super::preferences::lock_settings(&txn, user_id).await?;
    let claimed = notification_setting::Entity::update_many()
        .col_expr(notification_setting::Column::DigestSentAt, Expr::value(now))
        .filter(notification_setting::Column::UserId.eq(user_id))
        .filter(
            notification_setting::Column::DigestSentAt
                .is_null()
                .or(notification_setting::Column::DigestSentAt.lt(newest)),
        )
        .exec(&txn)
        .await?;
    if claimed.rows_affected != 1 {
        txn.rollback().await?;
        return Ok(false); // another instance sent it
    }
    // The claim still moves when email is off: the digest is not owed later.
    let wanted = notification_preference::Entity::find_by_id((user_id, "chat_message".to_string()))
        .one(&txn)
        .await?
        .is_none_or(|p| p.email);
    if wanted {
        let email = digest_email(&txn, &me, conversations).await?;
        outbox
            .enqueue(
                &txn,
                &email,
                Some(format!("digest:{user_id}:{}", now.timestamp())),
            )
            .await?;
    }
    txn.commit().await?;
    Ok(wanted)
}

/// Shown per conversation, busiest first; the rest are counted.
const LINES_SHOWN: usize = 10;
const PREVIEW_CHARS: usize = 80;

async fn digest_email(
    conn: &impl ConnectionTrait,
    me: &user::Model,
    conversations: &[Waiting],
) -> Result<Email, StorageError> {
    let mut busiest: Vec<&Waiting> = conversations.iter().collect();
    busiest.sort_by_key(|c| std::cmp::Reverse(c.unread));
    let total: i64 = busiest.iter().map(|c| c.unread).sum();
    let mut lines = Vec::new();
    for waiting in busiest.iter().take(LINES_SHOWN) {
        let (from, preview) = newest_message(conn, waiting.conversation_id, me.id).await?;
        let count = match waiting.unread {
            1 => "1 new message".to_string(),
            n => format!("{n} new messages"),
        };
        lines.push(format!("{from}: {count} - \"{preview}\""));
    }
    if busiest.len() > LINES_SHOWN {
        lines.push(format!(
            "and {} more conversations",
            busiest.len() - LINES_SHOWN
        ));
    }
    let title = match total {
        1 => "You have an unread message".to_string(),
        n => format!("You have {n} unread messages"),
    };
    let mut paragraphs = vec![
        format!("Hello {},", me.username),
        "While you were away:".to_string(),
    ];
    paragraphs.extend(lines);
    let page = Layout {
        title: &title,
        paragraphs: &paragraphs,
        action: Some(("Open your messages", "atelier://chat")),
    };
    Ok(page.email(&me.email, &title))
}

/// Who wrote the conversation's newest message and its first words.
async fn newest_message(
    conn: &impl ConnectionTrait,
    conversation_id: Uuid,
    me: Uuid,
) -> Result<(String, String), StorageError> {
    let newest = message::Entity::find()
        .filter(message::Column::ConversationId.eq(conversation_id))
        .filter(message::Column::SenderId.ne(me))
        .order_by_desc(message::Column::Seq)
        .one(conn)
        .await?;
    let Some(newest) = newest else {
        return Ok(("Someone".into(), String::new()));
    };
    let from = user::Entity::find_by_id(newest.sender_id)
        .one(conn)
        .await?
        .map_or_else(|| "Someone".to_string(), |u| u.username);
    let preview = if newest.deleted {
        "(deleted)".to_string()
    } else if newest.text.trim().is_empty() {
        "(attachment)".to_string()
    } else {
        let mut text: String = newest.text.chars().take(PREVIEW_CHARS).collect();
        if newest.text.chars().count() > PREVIEW_CHARS {
            text.push('…');
        }
        text
    };
    Ok((from, preview))
}

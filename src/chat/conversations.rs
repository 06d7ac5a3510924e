//! Conversations: one per pair of users, opened on demand; listing with the
//! other member, the last message and the unread count.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use sea_orm::sea_query::{Expr, Query, SelectStatement};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};
use uuid::Uuid;

use super::views::{ChatUser, ConversationView, MessageView};
use super::{ChatError, ChatService};
use crate::storage::StorageError;
use crate::storage::entities::{conversation, conversation_member, message, order, user};
use crate::validation::FieldErrors;

/// Facts that never change once true (a conversation's members, the
/// conversation of a pair of users: conversations are never deleted), so
/// they are cached per process; a cache is simply emptied when it grows large.
pub struct Permanent<K, V>(Mutex<HashMap<K, V>>);

const PERMANENT_MAX: usize = 100_000;

impl<K, V> Default for Permanent<K, V> {
    fn default() -> Self {
        Self(Mutex::new(HashMap::new()))
    }
}

impl<K: std::hash::Hash + Eq, V: Clone> Permanent<K, V> {
    fn get(&self, key: &K) -> Option<V> {
        self.0.lock().expect("cache lock").get(key).cloned()
    }

    fn put(&self, key: K, value: V) {
        let mut map = self.0.lock().expect("cache lock");
        if map.len() >= PERMANENT_MAX {
            map.clear();
        }
        map.insert(key, value);
    }
}

/// The ids of the conversations `user` is a member of, as a subquery.
fn conversations_of(user: Uuid) -> SelectStatement {
    Query::select()
        .column(conversation_member::Column::ConversationId)
        .from(conversation_member::Entity)
        .and_where(Expr::col(conversation_member::Column::UserId).eq(user))
        .to_owned()
}

fn pair_key(a: Uuid, b: Uuid) -> String {
    let (low, high) = if a < b { (a, b) } else { (b, a) };
    format!("{low}:{high}")
}

impl ChatService {
    /// The members of a conversation (not found when it does not exist).
    pub(super) async fn members_of(&self, conversation: Uuid) -> Result<Arc<[Uuid]>, ChatError> {
        if let Some(members) = self.members.get(&conversation) {
            return Ok(members);
        }
        let members: Arc<[Uuid]> = conversation_member::Entity::find()
            .filter(conversation_member::Column::ConversationId.eq(conversation))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| m.user_id)
            .collect();
        if members.is_empty() {
            return Err(ChatError::NotFound);
        }
        self.members.put(conversation, members.clone());
        Ok(members)
    }

    /// The members, if `user` is one of them; otherwise the conversation does
    /// not exist as far as `user` can tell.
    pub(super) async fn require_member(
        &self,
        user: Uuid,
        conversation: Uuid,
    ) -> Result<Arc<[Uuid]>, ChatError> {
        let members = self.members_of(conversation).await?;
        if members.contains(&user) {
            Ok(members)
        } else {
            Err(ChatError::NotFound)
        }
    }

    /// The conversation between `me` and `user_id`, created if there is none
    /// yet; true when it was created.
    pub async fn open_conversation(
        &self,
        me: &user::Model,
        user_id: Option<String>,
        order_id: Option<String>,
    ) -> Result<(ConversationView, bool), ChatError> {
        let other = self.other_party(me, user_id).await?;
        let order_id = self.check_order(me, &other, order_id).await?;
        let (conversation, created) = self.open_pair(me.id, other.id, order_id).await?;
        let read = self.read_position(me.id, conversation.id).await?;
        let mut views = self.views_for(me.id, vec![(conversation, read)]).await?;
        Ok((views.pop().ok_or(ChatError::NotFound)?, created))
    }

    /// The conversation a message to `user_id` goes to (the old app's send
    /// names the user, not the conversation), opened by the first message.
    /// A conversation of the pair that exists already costs no query: a
    /// block is then found by the send itself.
    pub(super) async fn conversation_with(
        &self,
        me: &user::Model,
        user_id: Option<String>,
    ) -> Result<Uuid, ChatError> {
        let other = self.other_party(me, user_id).await?;
        let key = pair_key(me.id, other.id);
        if let Some(known) = self.pairs.get(&key) {
            return Ok(known);
        }
        let (conversation, _) = self.open_pair(me.id, other.id, None).await?;
        Ok(conversation.id)
    }

    /// The pair's conversation, created if there is none yet (unless a block
    /// stands between them); true when it was created.
    async fn open_pair(
        &self,
        me: Uuid,
        other: Uuid,
        order_id: Option<Uuid>,
    ) -> Result<(conversation::Model, bool), ChatError> {
        self.ensure_not_blocked(me, other).await?;
        let key = pair_key(me, other);
        let (conversation, created) = match self.by_pair(&key).await? {
            Some(existing) => (existing, false),
            None => match self.create_pair(&key, me, other, order_id).await {
                Ok(created) => (created, true),
                // Both opened it at once: the other request created it.
                Err(StorageError::UniqueViolation(_)) => {
                    (self.by_pair(&key).await?.ok_or(ChatError::NotFound)?, false)
                }
                Err(e) => return Err(e.into()),
            },
        };
        self.pairs.put(key, conversation.id);
        Ok((conversation, created))
    }

    /// The pair's conversation (opened if they have none, unless a block
    /// stands between them), now showing that it is about `commission`.
    pub async fn open_for_commission(
        &self,
        customer: Uuid,
        tailor: Uuid,
        commission: Uuid,
    ) -> Result<Uuid, ChatError> {
        let (conversation, _) = self.open_pair(customer, tailor, None).await?;
        conversation::Entity::update_many()
            .col_expr(conversation::Column::CommissionId, Expr::value(commission))
            .filter(conversation::Column::Id.eq(conversation.id))
            .exec(&self.db)
            .await?;
        Ok(conversation.id)
    }

    /// The conversation between two users, if they have one.
    pub(super) async fn between(
        &self,
        a: Uuid,
        b: Uuid,
    ) -> Result<Option<conversation::Model>, ChatError> {
        self.by_pair(&pair_key(a, b)).await
    }

    async fn by_pair(&self, key: &str) -> Result<Option<conversation::Model>, ChatError> {
        Ok(conversation::Entity::find()
            .filter(conversation::Column::PairKey.eq(key))
            .one(&self.db)
            .await?)
    }

    async fn other_party(
        &self,
        me: &user::Model,
        raw: Option<String>,
    ) -> Result<user::Model, ChatError> {
        let mut errors = FieldErrors::new();
        let Some(raw) = errors.required("user_id", &raw) else {
            return Err(errors.into());
        };
        let other = match Uuid::parse_str(raw.trim()) {
            Ok(id) => self.user_row(id).await?,
            Err(_) => None,
        };
        match other {
            Some(other) if other.id == me.id => Err(FieldErrors::single(
                "user_id",
                "You cannot start a conversation with yourself.",
            )
            .into()),
            Some(other) if other.is_active => Ok(other),
            _ => Err(FieldErrors::single("user_id", "No such user.").into()),
        }
    }

    /// A user's row, as read in the last moment (see `auth::UserCache`).
    async fn user_row(&self, id: Uuid) -> Result<Option<user::Model>, ChatError> {
        if let Some(row) = self.users.recent(id) {
            return Ok(Some(row));
        }
        let epoch = self.users.epoch();
        let row = user::Entity::find_by_id(id).one(&self.db).await?;
        if let Some(row) = &row {
            self.users.put(row, epoch);
        }
        Ok(row)
    }

    /// An order the conversation is about must be between the two of them.
    async fn check_order(
        &self,
        me: &user::Model,
        other: &user::Model,
        raw: Option<String>,
    ) -> Result<Option<Uuid>, ChatError> {
        let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
            return Ok(None);
        };
        let found = match Uuid::parse_str(raw.trim()) {
            Ok(id) => order::Entity::find_by_id(id).one(&self.db).await?,
            Err(_) => None,
        };
        let parties = |o: &order::Model| {
            (o.customer_id == me.id && o.tailor_id == other.id)
                || (o.customer_id == other.id && o.tailor_id == me.id)
        };
        match found {
            Some(o) if parties(&o) => Ok(Some(o.id)),
            _ => Err(FieldErrors::single("order_id", "No such order between you two.").into()),
        }
    }

    async fn create_pair(
        &self,
        key: &str,
        a: Uuid,
        b: Uuid,
        order_id: Option<Uuid>,
    ) -> Result<conversation::Model, StorageError> {
        let now = Utc::now();
        let row = conversation::Model {
            id: Uuid::now_v7(),
            pair_key: Some(key.to_string()),
            order_id,
            commission_id: None,
            last_seq: 0,
            change_seq: 0,
            activity_at: now,
            created_at: now,
        };
        let txn = self.db.begin().await?;
        conversation::Entity::insert(conversation::ActiveModel {
            id: Set(row.id),
            pair_key: Set(row.pair_key.clone()),
            order_id: Set(row.order_id),
            commission_id: Set(None),
            last_seq: Set(0),
            change_seq: Set(0),
            activity_at: Set(now),
            created_at: Set(now),
        })
        .exec_without_returning(&txn)
        .await?;
        conversation_member::Entity::insert_many([a, b].map(|user| {
            conversation_member::ActiveModel {
                conversation_id: Set(row.id),
                user_id: Set(user),
                last_read_seq: Set(0),
                read_change_seq: Set(0),
                joined_at: Set(now),
            }
        }))
        .exec_without_returning(&txn)
        .await?;
        txn.commit().await?;
        Ok(row)
    }

    pub(super) async fn read_position(
        &self,
        user: Uuid,
        conversation: Uuid,
    ) -> Result<i64, ChatError> {
        Ok(
            conversation_member::Entity::find_by_id((conversation, user))
                .one(&self.db)
                .await?
                .map_or(0, |m| m.last_read_seq),
        )
    }

    /// The caller's conversations, newest activity first; `None` past the
    /// last page.
    pub async fn conversations(
        &self,
        me: &user::Model,
        page: u64,
        page_size: u64,
    ) -> Result<Option<(u64, Vec<ConversationView>)>, ChatError> {
        let query = conversation::Entity::find()
            .filter(conversation::Column::Id.in_subquery(conversations_of(me.id)));
        let count = query.clone().count(&self.db).await?;
        let Some(offset) = crate::storage::page_offset(page, page_size, count) else {
            return Ok(None);
        };
        let rows = query
            .order_by_desc(conversation::Column::ActivityAt)
            .order_by_desc(conversation::Column::Id)
            .offset(offset)
            .limit(page_size)
            .all(&self.db)
            .await?;
        let positions: HashMap<Uuid, i64> = conversation_member::Entity::find()
            .filter(conversation_member::Column::UserId.eq(me.id))
            .filter(conversation_member::Column::ConversationId.is_in(rows.iter().map(|c| c.id)))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| (m.conversation_id, m.last_read_seq))
            .collect();
        let rows = rows
            .into_iter()
            .map(|c| {
                let read = positions.get(&c.id).copied().unwrap_or(0);
                (c, read)
            })
            .collect();
        Ok(Some((count, self.views_for(me.id, rows).await?)))
    }

    /// Views of conversations seen by `me`: four queries for the whole page
    /// (members, their users, their avatars, last messages), not four per
    /// conversation.
    async fn views_for(
        &self,
        me: Uuid,
        rows: Vec<(conversation::Model, i64)>,
    ) -> Result<Vec<ConversationView>, ChatError> {
        let ids: Vec<Uuid> = rows.iter().map(|(c, _)| c.id).collect();
        let mut members: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for m in conversation_member::Entity::find()
            .filter(conversation_member::Column::ConversationId.is_in(ids.iter().copied()))
            .order_by_asc(conversation_member::Column::JoinedAt)
            .all(&self.db)
            .await?
        {
            members
                .entry(m.conversation_id)
                .or_default()
                .push(m.user_id);
        }
        let others: Vec<Uuid> = members
            .values()
            .flatten()
            .copied()
            .filter(|u| *u != me)
            .collect();
        let mut avatars = crate::media::avatar_urls(&self.db, others.iter().copied()).await?;
        let users: HashMap<Uuid, ChatUser> = user::Entity::find()
            .filter(user::Column::Id.is_in(others))
            .all(&self.db)
            .await?
            .iter()
            .map(|u| (u.id, ChatUser::new(u, avatars.remove(&u.id))))
            .collect();
        let mut newest = Condition::any();
        for (c, _) in rows.iter().filter(|(c, _)| c.last_seq > 0) {
            newest = newest.add(
                Condition::all()
                    .add(message::Column::ConversationId.eq(c.id))
                    .add(message::Column::Seq.eq(c.last_seq)),
            );
        }
        let mut last: HashMap<Uuid, MessageView> = HashMap::new();
        if rows.iter().any(|(c, _)| c.last_seq > 0) {
            for m in message::Entity::find().filter(newest).all(&self.db).await? {
                last.insert(m.conversation_id, MessageView::from(&m));
            }
        }
        Ok(rows
            .into_iter()
            .map(|(c, read)| {
                let member_ids = members.remove(&c.id).unwrap_or_default();
                let other_member = member_ids
                    .iter()
                    .find(|u| **u != me)
                    .and_then(|u| users.get(u).cloned());
                ConversationView {
                    id: c.id,
                    order_id: c.order_id,
                    commission_id: c.commission_id,
                    other_member,
                    members: member_ids,
                    last_message: last.remove(&c.id),
                    last_seq: c.last_seq,
                    change_seq: c.change_seq,
                    last_read_seq: read,
                    unread_count: (c.last_seq - read).max(0),
                    activity_at: c.activity_at,
                    created_at: c.created_at,
                }
            })
            .collect())
    }

    /// Everyone who shares a conversation with `user`.
    pub(super) async fn contacts(&self, user: Uuid) -> Result<Vec<Uuid>, ChatError> {
        let mine = conversations_of(user);
        let mut contacts: Vec<Uuid> = conversation_member::Entity::find()
            .select_only()
            .column(conversation_member::Column::UserId)
            .filter(conversation_member::Column::ConversationId.in_subquery(mine))
            .filter(conversation_member::Column::UserId.ne(user))
            .into_tuple::<Uuid>()
            .all(&self.db)
            .await?;
        contacts.sort_unstable();
        contacts.dedup();
        Ok(contacts)
    }
}

//! Messages: sending (numbered in the insert's transaction, idempotent per
//! client id), history in both directions, edits, tombstones, read positions
//! and reports.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait};
use uuid::Uuid;

use super::changes::next_change;
use super::events::Push;
use super::hub::Topic;
use super::send_batch::NewMessage;
use super::views::{AttachmentView, History, MessageView, ReportView};
use super::{ChatError, ChatService};
use crate::storage::StorageError;
use crate::storage::entities::{conversation, media, message, message_report, user};
use crate::validation::FieldErrors;

pub const MAX_TEXT_CHARS: usize = 4000;
pub const MAX_CLIENT_ID_CHARS: usize = 64;
pub const MAX_ATTACHMENTS: usize = 10;
pub const DEFAULT_HISTORY: u64 = 50;
pub const MAX_HISTORY: u64 = 200;

#[derive(Debug, Default, Clone)]
pub struct SendInput {
    pub client_id: Option<String>,
    pub text: Option<String>,
    pub attachment_ids: Option<Vec<String>>,
}

#[derive(Debug, Default)]
pub struct HistoryQuery {
    pub before_seq: Option<String>,
    pub after_seq: Option<String>,
    pub limit: Option<String>,
}

/// A checked send: what will be stored.
struct Outgoing {
    client_id: String,
    text: String,
    attachments: Vec<AttachmentView>,
}

impl Outgoing {
    fn to_store(&self, sender: Uuid, conversation: Uuid) -> Result<NewMessage, StorageError> {
        Ok(NewMessage {
            sender,
            conversation,
            client_id: self.client_id.clone(),
            kind: if self.attachments.is_empty() {
                "text"
            } else {
                "image"
            },
            text: self.text.clone(),
            attachments: serde_json::to_string(&self.attachments)
                .map_err(|e| StorageError::Other(e.to_string()))?,
        })
    }
}

fn parse_seq(errors: &mut FieldErrors, field: &str, raw: Option<&str>) -> Option<i64> {
    let raw = raw.map(str::trim).filter(|r| !r.is_empty())?;
    match raw.parse::<i64>() {
        Ok(n) if n >= 0 => Some(n),
        _ => {
            errors.add(field, "Enter a whole number, 0 or more.");
            None
        }
    }
}

impl ChatService {
    /// Sends a message; false when `client_id` had been used already and the
    /// original message is returned instead.
    pub async fn send(
        &self,
        me: &user::Model,
        conversation: Uuid,
        input: SendInput,
    ) -> Result<(MessageView, bool), ChatError> {
        let members = self.require_member(me.id, conversation).await?;
        let outgoing = self.check_send(me, input).await?;
        // The common case (a new message) costs no lookup of the client id:
        // a retry is found by the unique index, and the transaction that
        // found it rolls back, seq included.
        if let Err(wait) = self.send_limit.take(&self.fanout, me.id).await {
            return match self.by_client_id(me.id, &outgoing.client_id).await? {
                Some(original) => self.original(original, conversation),
                None => Err(ChatError::Throttled(wait)),
            };
        }
        let saved = match self
            .sends
            .run(outgoing.to_store(me.id, conversation)?)
            .await
        {
            Ok(Some(saved)) => saved,
            Ok(None) => {
                self.ensure_none_blocked(me.id, &members).await?;
                return Err(ChatError::NotFound);
            }
            Err(StorageError::UniqueViolation(_)) => {
                self.send_limit.give_back(&self.fanout, me.id).await;
                let original = self.by_client_id(me.id, &outgoing.client_id).await?;
                return self.original(original.ok_or(ChatError::NotFound)?, conversation);
            }
            Err(e) => return Err(e.into()),
        };
        let view = MessageView::from(&saved);
        self.fanout.publish(
            members.to_vec(),
            Push::MessageNew { message: &view }.to_frame(),
            Some(Topic::message(conversation, view.seq, view.change_seq)),
        );
        self.tell_away(me, &members, &view);
        metrics::counter!("chat_messages_total").increment(1);
        Ok((view, true))
    }

    fn original(
        &self,
        original: message::Model,
        conversation: Uuid,
    ) -> Result<(MessageView, bool), ChatError> {
        if original.conversation_id != conversation {
            return Err(FieldErrors::single(
                "client_id",
                "This client_id was already used for a message in another conversation.",
            )
            .into());
        }
        Ok((MessageView::from(&original), false))
    }

    async fn by_client_id(
        &self,
        sender: Uuid,
        client_id: &str,
    ) -> Result<Option<message::Model>, ChatError> {
        if client_id.is_empty() {
            return Ok(None);
        }
        Ok(message::Entity::find()
            .filter(message::Column::SenderId.eq(sender))
            .filter(message::Column::ClientId.eq(client_id))
            .one(&self.db)
            .await?)
    }

    async fn check_send(&self, me: &user::Model, input: SendInput) -> Result<Outgoing, ChatError> {
        let mut errors = FieldErrors::new();
        let client_id = errors
            .required("client_id", &input.client_id)
            .map(|c| c.trim().to_string())
            .unwrap_or_default();
        errors.max_len("client_id", &client_id, MAX_CLIENT_ID_CHARS);
        let text = input.text.unwrap_or_default().trim().to_string();
        errors.max_len("text", &text, MAX_TEXT_CHARS);
        let raw_ids = input.attachment_ids.unwrap_or_default();
        if text.is_empty() && raw_ids.is_empty() {
            errors.add("text", "Send some text or at least one attachment.");
        }
        let attachments = self.attachments(me, &raw_ids, &mut errors).await?;
        errors.into_result()?;
        Ok(Outgoing {
            client_id,
            text,
            attachments,
        })
    }

    /// Attachments must be the sender's own uploads, each once, in order.
    async fn attachments(
        &self,
        me: &user::Model,
        raw: &[String],
        errors: &mut FieldErrors,
    ) -> Result<Vec<AttachmentView>, ChatError> {
        if raw.is_empty() {
            return Ok(Vec::new());
        }
        if raw.len() > MAX_ATTACHMENTS {
            errors.add(
                "attachment_ids",
                format!("At most {MAX_ATTACHMENTS} attachments."),
            );
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = raw
            .iter()
            .filter_map(|r| Uuid::parse_str(r.trim()).ok())
            .collect();
        let owned = media::Entity::find()
            .filter(media::Column::Id.is_in(ids.iter().copied()))
            .filter(media::Column::OwnerId.eq(me.id))
            .all(&self.db)
            .await?;
        let mut unique = ids.clone();
        unique.sort_unstable();
        unique.dedup();
        if ids.len() != raw.len() || unique.len() != ids.len() || owned.len() != ids.len() {
            errors.add(
                "attachment_ids",
                "Use the ids of images you uploaded, each once.",
            );
            return Ok(Vec::new());
        }
        Ok(ids
            .iter()
            .filter_map(|id| owned.iter().find(|m| m.id == *id))
            .map(|m| AttachmentView {
                id: m.id,
                url: crate::media::url_of(&m.name),
                content_type: m.content_type.clone(),
            })
            .collect())
    }

    /// History, oldest first: after `after_seq`, before `before_seq`, or the
    /// newest messages when neither is given.
    pub async fn history(
        &self,
        me: &user::Model,
        conversation: Uuid,
        query: HistoryQuery,
    ) -> Result<History, ChatError> {
        let mut errors = FieldErrors::new();
        let after = parse_seq(&mut errors, "after_seq", query.after_seq.as_deref());
        let before = parse_seq(&mut errors, "before_seq", query.before_seq.as_deref());
        let limit = match query
            .limit
            .as_deref()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            None => DEFAULT_HISTORY,
            Some(raw) => match raw.parse::<u64>() {
                Ok(n) if n >= 1 => n.min(MAX_HISTORY),
                _ => {
                    errors.add("limit", "Enter a whole number, 1 or more.");
                    DEFAULT_HISTORY
                }
            },
        };
        errors.into_result()?;
        self.require_member(me.id, conversation).await?;
        // Read before the messages: a change made in between shows in the
        // page and is sent again on a resume from this change_seq (never lost).
        let (last_seq, change_seq) = conversation::Entity::find_by_id(conversation)
            .one(&self.db)
            .await?
            .map_or((0, 0), |c| (c.last_seq, c.change_seq));
        let mut select = message::Entity::find()
            .filter(message::Column::ConversationId.eq(conversation))
            .limit(limit + 1);
        if let Some(after) = after {
            select = select.filter(message::Column::Seq.gt(after));
        }
        if let Some(before) = before {
            select = select.filter(message::Column::Seq.lt(before));
        }
        // Forwards from `after_seq`; otherwise backwards from the end.
        let forwards = after.is_some();
        select = if forwards {
            select.order_by_asc(message::Column::Seq)
        } else {
            select.order_by_desc(message::Column::Seq)
        };
        let mut rows = select.all(&self.db).await?;
        let has_more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        if !forwards {
            rows.reverse();
        }
        Ok(History {
            results: rows.iter().map(MessageView::from).collect(),
            has_more,
            last_seq,
            change_seq,
        })
    }

    /// A message the caller may change: their own, in a conversation they
    /// are in, not deleted.
    async fn own_message(
        &self,
        me: &user::Model,
        raw_id: &str,
    ) -> Result<(message::Model, std::sync::Arc<[Uuid]>), ChatError> {
        let (found, members) = self.visible_message(me, raw_id).await?;
        if found.sender_id != me.id {
            return Err(ChatError::Forbidden(
                "permission_denied",
                "You can only change your own messages.",
            ));
        }
        if found.deleted {
            return Err(ChatError::Conflict(
                "message_deleted",
                "This message was deleted.",
            ));
        }
        Ok((found, members))
    }

    /// A message in a conversation the caller is in.
    async fn visible_message(
        &self,
        me: &user::Model,
        raw_id: &str,
    ) -> Result<(message::Model, std::sync::Arc<[Uuid]>), ChatError> {
        let id = Uuid::parse_str(raw_id.trim()).map_err(|_| ChatError::NotFound)?;
        let found = message::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(ChatError::NotFound)?;
        let members = self.require_member(me.id, found.conversation_id).await?;
        Ok((found, members))
    }

    pub async fn edit(
        &self,
        me: &user::Model,
        raw_id: &str,
        text: Option<String>,
    ) -> Result<MessageView, ChatError> {
        let mut errors = FieldErrors::new();
        let text = errors.required("text", &text).map(|t| t.trim().to_string());
        if let Some(text) = &text {
            errors.max_len("text", text, MAX_TEXT_CHARS);
        }
        errors.into_result()?;
        let (found, members) = self.own_message(me, raw_id).await?;
        let window = chrono::Duration::from_std(self.settings.edit_window).unwrap_or_default();
        if Utc::now() - found.created_at > window {
            return Err(ChatError::Forbidden(
                "edit_window_closed",
                "The time for editing this message has passed.",
            ));
        }
        let mut updated = found;
        updated.text = text.unwrap_or_default();
        updated.edited_at = Some(Utc::now());
        updated.change_seq = self
            .save_change(&updated, message::Column::EditedAt)
            .await?;
        let view = MessageView::from(&updated);
        self.fanout.publish(
            members.to_vec(),
            Push::MessageUpdated { message: &view }.to_frame(),
            Some(Topic::change(view.conversation_id, view.change_seq)),
        );
        Ok(view)
    }

    /// Leaves a tombstone: the row and its seq stay, the content goes.
    pub async fn delete(&self, me: &user::Model, raw_id: &str) -> Result<MessageView, ChatError> {
        let (found, members) = self.own_message(me, raw_id).await?;
        let mut tombstone = found;
        tombstone.deleted = true;
        tombstone.text = String::new();
        tombstone.attachments = "[]".into();
        tombstone.change_seq = self
            .save_change(&tombstone, message::Column::Deleted)
            .await?;
        let view = MessageView::from(&tombstone);
        self.fanout.publish(
            members.to_vec(),
            Push::MessageDeleted { message: &view }.to_frame(),
            Some(Topic::change(view.conversation_id, view.change_seq)),
        );
        Ok(view)
    }

    /// Writes the text, the attachments and `marker` (when it was edited, or
    /// that it is deleted), only while the message is not deleted: an edit
    /// racing a delete cannot bring the message back. The change takes the
    /// conversation's next change_seq in the same transaction (conversation
    /// row first, then the message: the order a send locks them in).
    async fn save_change(
        &self,
        changed: &message::Model,
        marker: message::Column,
    ) -> Result<i64, ChatError> {
        let marker_value = match marker {
            message::Column::Deleted => Expr::value(changed.deleted),
            _ => Expr::value(changed.edited_at),
        };
        let _turn = self.writes.enter().await;
        let txn = self.db.begin().await?;
        let change = next_change(&txn, changed.conversation_id).await?;
        let result = message::Entity::update_many()
            .col_expr(message::Column::Text, Expr::value(changed.text.clone()))
            .col_expr(
                message::Column::Attachments,
                Expr::value(changed.attachments.clone()),
            )
            .col_expr(marker, marker_value)
            .col_expr(message::Column::ChangeSeq, Expr::value(change))
            .filter(message::Column::Id.eq(changed.id))
            .filter(message::Column::Deleted.eq(false))
            .exec(&txn)
            .await?;
        if result.rows_affected == 0 {
            // Dropping the transaction rolls the change_seq back.
            return Err(ChatError::Conflict(
                "message_deleted",
                "This message was deleted.",
            ));
        }
        txn.commit().await?;
        Ok(change)
    }

    /// Relays "typing" to the other members; nothing is stored. Beyond the
    /// typing limit (shared by all instances) frames are dropped silently:
    /// typing is a hint, and a client has nothing useful to do with an error.
    pub async fn typing(&self, me: &user::Model, conversation: Uuid) -> Result<(), ChatError> {
        let members = self.require_member(me.id, conversation).await?;
        if self.typing_limit.take(&self.fanout, me.id).await.is_err() {
            metrics::counter!("chat_typing_dropped_total").increment(1);
            return Ok(());
        }
        self.ensure_none_blocked(me.id, &members).await?;
        let others: Vec<Uuid> = members.iter().copied().filter(|u| *u != me.id).collect();
        self.fanout.publish(
            others,
            Push::Typing {
                conversation_id: conversation,
                user_id: me.id,
            }
            .to_frame(),
            None,
        );
        Ok(())
    }

    /// Reports someone else's message; reporting it again changes nothing.
    pub async fn report(
        &self,
        me: &user::Model,
        raw_id: &str,
        reason: Option<String>,
    ) -> Result<(ReportView, bool), ChatError> {
        let reason = reason.unwrap_or_default().trim().to_string();
        let mut errors = FieldErrors::new();
        errors.max_len("reason", &reason, 1000);
        errors.into_result()?;
        let (found, _) = self.visible_message(me, raw_id).await?;
        if found.sender_id == me.id {
            return Err(
                FieldErrors::single("message", "You cannot report your own message.").into(),
            );
        }
        let row = message_report::Model {
            id: Uuid::now_v7(),
            message_id: found.id,
            reporter_id: me.id,
            reason,
            created_at: Utc::now(),
        };
        let inserted =
            message_report::Entity::insert(message_report::ActiveModel::from(row.clone()))
                .exec_without_returning(&self.db)
                .await
                .map_err(StorageError::from);
        match inserted {
            Ok(_) => {
                tracing::info!(message_id = %found.id, reporter = %me.id, "message reported");
                Ok((ReportView::from(&row), true))
            }
            Err(StorageError::UniqueViolation(_)) => {
                let existing = message_report::Entity::find()
                    .filter(message_report::Column::MessageId.eq(found.id))
                    .filter(message_report::Column::ReporterId.eq(me.id))
                    .one(&self.db)
                    .await?
                    .ok_or(ChatError::NotFound)?;
                Ok((ReportView::from(&existing), false))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The old app's "send to user": opens the conversation, then sends.
    pub async fn send_to_user(
        &self,
        me: &user::Model,
        receiver: Option<String>,
        text: Option<String>,
    ) -> Result<MessageView, ChatError> {
        let conversation = self
            .conversation_with(me, receiver)
            .await
            .map_err(|e| rename_field(e, "user_id", "receiver"))?;
        let input = SendInput {
            client_id: Some(format!("legacy-{}", Uuid::new_v4())),
            text,
            attachment_ids: None,
        };
        let (view, _) = self
            .send(me, conversation, input)
            .await
            .map_err(|e| rename_field(e, "text", "message"))?;
        Ok(view)
    }

    /// The old app's "messages with user": the whole conversation, oldest
    /// first (empty when the two never talked).
    pub async fn messages_with(
        &self,
        me: &user::Model,
        raw_user: &str,
    ) -> Result<Vec<MessageView>, ChatError> {
        let other = Uuid::parse_str(raw_user.trim()).map_err(|_| ChatError::NotFound)?;
        let Some(conversation) = self.between(me.id, other).await? else {
            return Ok(Vec::new());
        };
        Ok(message::Entity::find()
            .filter(message::Column::ConversationId.eq(conversation.id))
            .order_by_asc(message::Column::Seq)
            .all(&self.db)
            .await?
            .iter()
            .map(MessageView::from)
            .collect())
    }
}

fn rename_field(err: ChatError, from: &str, to: &str) -> ChatError {
    match err {
        ChatError::Invalid(errors) => ChatError::Invalid(errors.renamed(from, to)),
        other => other,
    }
}

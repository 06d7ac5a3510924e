//! Resume: replaying what a socket missed, first, then live events.
//!
//! From sign-in (and again after a `resync`), events about a conversation are
//! held back. A `resume` replays each conversation (changes to messages the
//! client has, new messages, read moves) and then releases that
//! conversation's held events in order, skipping what the replay already
//! sent. Without a resume, the held events are released after `resume_wait`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::ws::Message;
use serde::Deserialize;
use tokio::time::Instant;
use uuid::Uuid;

use super::{Gone, Reply, Session};
use crate::chat::{ChatError, Event, Position};

const REPLAY_PAGE: u64 = 200;
/// Events held for one socket before they are released without waiting
/// for the resume any longer.
const HOLD_MAX: usize = 1024;
const RESYNC_FRAME: &str = r#"{"type":"resync"}"#;

/// Where the client stands in one conversation: a bare number is the last
/// seq it has (the first protocol); the object adds the last change_seq it
/// has, to get the edits, deletions and read moves made since.
#[derive(Deserialize, Clone, Copy)]
#[serde(untagged)]
pub enum ResumeFrom {
    Seq(i64),
    Both {
        seq: i64,
        #[serde(default)]
        change_seq: Option<i64>,
    },
}

impl ResumeFrom {
    fn seq(self) -> i64 {
        match self {
            Self::Seq(seq) | Self::Both { seq, .. } => seq.max(0),
        }
    }

    fn change_seq(self) -> Option<i64> {
        match self {
            Self::Seq(_) => None,
            Self::Both { change_seq, .. } => change_seq.map(|c| c.max(0)),
        }
    }
}

pub struct Held {
    until: Instant,
    events: Vec<Arc<Event>>,
}

impl Held {
    pub fn until(until: Instant) -> Self {
        Self {
            until,
            events: Vec::new(),
        }
    }

    /// This conversation's held events, in change order.
    fn take(&mut self, conversation: Uuid) -> Vec<Arc<Event>> {
        let (mut mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.events)
            .into_iter()
            .partition(|e| e.topic.is_some_and(|t| t.conversation == conversation));
        self.events = rest;
        mine.sort_by_key(|e| e.topic.map(|t| t.change));
        mine
    }
}

impl Session {
    pub(super) fn hold_deadline(&self) -> Instant {
        self.held.as_ref().map_or_else(Instant::now, |h| h.until)
    }

    /// An event from the hub: held while a replay is due, else sent.
    pub(super) async fn receive(&mut self, event: Arc<Event>) -> Result<(), Gone> {
        if event.frame.as_str() == RESYNC_FRAME {
            // Live events were lost: hold again until the client resumes.
            let until = Instant::now() + self.chat.settings().resume_wait;
            self.held.get_or_insert_with(|| Held::until(until));
            return self.push(Message::Text(event.frame.clone())).await;
        }
        match &mut self.held {
            Some(held) if event.topic.is_some() => {
                held.events.push(event);
                if held.events.len() >= HOLD_MAX {
                    return self.release_all().await;
                }
                Ok(())
            }
            _ => self.forward(&event).await,
        }
    }

    /// Sends an event unless this socket sent it (or the replay did) before.
    async fn forward(&mut self, event: &Event) -> Result<(), Gone> {
        if let Some(topic) = event.topic {
            let fresh_change = self.sent.first_change(topic.conversation, topic.change);
            let fresh = match topic.seq {
                Some(seq) => self.sent.first_time(topic.conversation, seq),
                None => fresh_change,
            };
            if !fresh {
                return Ok(());
            }
        }
        self.push(Message::Text(event.frame.clone())).await
    }

    /// Stops holding: every held event goes out, per conversation in order.
    pub(super) async fn release_all(&mut self) -> Result<(), Gone> {
        let Some(mut held) = self.held.take() else {
            return Ok(());
        };
        held.events
            .sort_by_key(|e| e.topic.map(|t| (t.conversation, t.change)));
        for event in held.events {
            self.forward(&event).await?;
        }
        Ok(())
    }

    async fn release(&mut self, conversation: Uuid) -> Result<(), Gone> {
        let events = match &mut self.held {
            Some(held) => held.take(conversation),
            None => return Ok(()),
        };
        for event in events {
            self.forward(&event).await?;
        }
        Ok(())
    }

    /// Replays each conversation from the client's position (its read
    /// position for conversations it did not name), releasing that
    /// conversation's held events after it, then `resume.done`.
    pub(super) async fn resume(
        &mut self,
        from: HashMap<Uuid, ResumeFrom>,
    ) -> Result<Result<(), Gone>, ChatError> {
        let mut done = HashMap::new();
        let mut changes = HashMap::new();
        for position in self.chat.positions(self.user.id).await? {
            let conversation = position.conversation;
            let named = from.get(&conversation).copied();
            let client = named.unwrap_or(ResumeFrom::Seq(position.last_read_seq));
            let replayed = match self.replay(position, client).await? {
                Ok(replayed) => replayed,
                Err(gone) => return Ok(Err(gone)),
            };
            if let Err(gone) = self.release(conversation).await {
                return Ok(Err(gone));
            }
            done.insert(conversation, replayed.seq);
            // A client that named the conversation with a bare seq was not
            // sent the changes before it: it has no change_seq to go on from.
            if named.is_none_or(|n| n.change_seq().is_some()) {
                changes.insert(conversation, replayed.change);
            }
        }
        if let Err(gone) = self.release_all().await {
            return Ok(Err(gone));
        }
        let reply = Reply::ResumeDone {
            conversations: done,
            changes,
        };
        Ok(self.reply(&reply).await)
    }

    /// One conversation: changes to the messages the client has (when it
    /// sent its change_seq), then the messages after its seq, then read
    /// moves. Returns how far it got.
    async fn replay(
        &mut self,
        position: Position,
        client: ResumeFrom,
    ) -> Result<Result<Replayed, Gone>, ChatError> {
        let conversation = position.conversation;
        let seq = client.seq();
        self.sent.resume_from(conversation, seq);
        let mut reached = Replayed {
            seq: seq.max(position.last_seq),
            change: position.change_seq,
        };
        let mut frames = Vec::new();
        // Nothing changed since the client's change_seq: no queries for it.
        let changes_after = client
            .change_seq()
            .filter(|after| *after < position.change_seq);
        if let Some(after) = client.change_seq() {
            // Live changes up to here are in the replay (it reads later).
            self.sent
                .changes_from(conversation, after.max(position.change_seq));
        }
        if let Some(after) = changes_after {
            let mut cursor = after;
            loop {
                let page = self
                    .chat
                    .changed_after(conversation, seq, cursor, REPLAY_PAGE)
                    .await?;
                for message in &page {
                    cursor = message.change_seq;
                    frames.push((message.change_seq, crate::chat::push_changed(message)));
                }
                if (page.len() as u64) < REPLAY_PAGE {
                    break;
                }
            }
        }
        if let Err(gone) = self
            .send_replayed(conversation, &mut frames, &mut reached)
            .await
        {
            return Ok(Err(gone));
        }
        let mut from = seq;
        while from < position.last_seq {
            let page = self.chat.after(conversation, from, REPLAY_PAGE).await?;
            for message in &page {
                from = message.seq;
                reached.seq = reached.seq.max(message.seq);
                if self.sent.first_time(conversation, message.seq) {
                    frames.push((message.change_seq, crate::chat::push_new(message)));
                }
            }
            if let Err(gone) = self
                .send_replayed(conversation, &mut frames, &mut reached)
                .await
            {
                return Ok(Err(gone));
            }
            if (page.len() as u64) < REPLAY_PAGE {
                break;
            }
        }
        if let Some(after) = changes_after {
            frames.extend(self.chat.reads_after(conversation, after).await?);
        }
        Ok(self
            .send_replayed(conversation, &mut frames, &mut reached)
            .await
            .map(|()| reached))
    }

    async fn send_replayed(
        &mut self,
        conversation: Uuid,
        frames: &mut Vec<(i64, String)>,
        reached: &mut Replayed,
    ) -> Result<(), Gone> {
        for (change, frame) in frames.drain(..) {
            self.sent.first_change(conversation, change);
            reached.change = reached.change.max(change);
            self.push(Message::Text(frame.into())).await?;
        }
        Ok(())
    }
}

/// How far a replay brought the client in one conversation.
struct Replayed {
    seq: i64,
    change: i64,
}

//! What chat offers the notifications area: live frames to a user's sockets
//! on every instance, who is online, and a hook told of each message some
//! recipient may not have seen live.

use std::collections::HashSet;
use std::sync::Arc;

use uuid::Uuid;

use super::ChatService;
use super::views::MessageView;
use crate::storage::entities::user;

/// A message with recipients who have no socket on this instance; whether
/// they have one elsewhere is for the hook to ask (off the send path).
pub struct AwayRecipients {
    pub conversation: Uuid,
    pub seq: i64,
    pub sender_name: String,
    pub text: String,
    pub recipients: Vec<Uuid>,
}

pub type AwayHook = Arc<dyn Fn(AwayRecipients) + Send + Sync>;

impl ChatService {
    /// Set once at start-up; sends before it (none in practice) tell nobody.
    pub fn on_away_recipients(&self, hook: AwayHook) {
        if self.away_hook.set(hook).is_err() {
            tracing::warn!("the chat's away-recipients hook was set twice; the first one stays");
        }
    }

    /// Sends `frame` to the users' sockets here and on every other instance.
    pub fn publish_to_users(&self, users: Vec<Uuid>, frame: String) {
        self.fanout.publish(users, frame, None);
    }

    /// Which of `users` have a socket open on any instance.
    pub async fn online_among(&self, users: &[Uuid]) -> HashSet<Uuid> {
        self.fanout.online_among(users).await
    }

    /// After a send: members other than the sender with no socket here go to
    /// the hook. When all of them are connected here (the common case on one
    /// instance) this costs a look at the hub and nothing else; the hook
    /// itself must not block (it spawns).
    pub(super) fn tell_away(&self, sender: &user::Model, members: &[Uuid], view: &MessageView) {
        let Some(hook) = self.away_hook.get() else {
            return;
        };
        let hub = self.fanout.hub();
        let away: Vec<Uuid> = members
            .iter()
            .copied()
            .filter(|m| *m != sender.id && !hub.is_here(*m))
            .collect();
        if away.is_empty() {
            return;
        }
        hook(AwayRecipients {
            conversation: view.conversation_id,
            seq: view.seq,
            sender_name: sender.username.clone(),
            text: view.text.clone(),
            recipients: away,
        });
    }
}

//! Ending sockets whose login ended (logout, a reused refresh token, a
//! password change, account deletion) at once, on every instance: auth tells
//! the chat, which sends the user's sockets a "check your token now" event
//! through the usual fan-out (the hub here, Redis for the others). Each
//! socket re-checks its own token and closes with 4001 if it is dead, so the
//! user's other logins keep their sockets.

use uuid::Uuid;

use super::{ChatService, Event};
use crate::auth::SessionWatcher;

/// The event's frame. Internal: a socket acts on it and never forwards it.
const RECHECK_FRAME: &str = r#"{"type":"session.recheck"}"#;

impl SessionWatcher for ChatService {
    fn sessions_ended(&self, user_id: Uuid) {
        self.fanout
            .publish(vec![user_id], RECHECK_FRAME.to_string(), None);
    }
}

/// The event asks the socket to re-check its token.
pub fn is_recheck(event: &Event) -> bool {
    event.topic.is_none() && event.presence.is_none() && event.frame.as_str() == RECHECK_FRAME
}

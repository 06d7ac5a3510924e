//! Events pushed to members' sockets, serialised once per event.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::views::MessageView;

#[derive(Serialize)]
#[serde(tag = "type")]
pub enum Push<'a> {
    #[serde(rename = "message.new")]
    MessageNew { message: &'a MessageView },
    #[serde(rename = "message.updated")]
    MessageUpdated { message: &'a MessageView },
    #[serde(rename = "message.deleted")]
    MessageDeleted { message: &'a MessageView },
    /// A member's read position moved.
    #[serde(rename = "read")]
    Read {
        conversation_id: Uuid,
        user_id: Uuid,
        last_read_seq: i64,
        change_seq: i64,
    },
    #[serde(rename = "typing")]
    Typing {
        conversation_id: Uuid,
        user_id: Uuid,
    },
    /// `version` orders presence events across instances: a later event
    /// for the same user has a higher one.
    #[serde(rename = "presence")]
    Presence {
        user_id: Uuid,
        online: bool,
        last_seen: Option<DateTime<Utc>>,
        version: u64,
    },
}

impl Push<'_> {
    pub fn to_frame(&self) -> String {
        serde_json::to_string(self).expect("events serialise")
    }
}

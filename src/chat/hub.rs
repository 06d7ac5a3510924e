//! The sockets connected to this process, by user, and delivery to them.
//! Delivery never waits: each socket has a bounded queue, and a socket whose
//! queue is full is told to close (its client resumes from its last seq).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::ws::Utf8Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// What a conversation event is about, so that a socket can hold it back
/// while that conversation is being replayed and skip what it already sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topic {
    pub conversation: Uuid,
    /// The message's seq, for `message.new`.
    pub seq: Option<i64>,
    /// The conversation's change_seq this event carries.
    pub change: i64,
}

impl Topic {
    pub fn message(conversation: Uuid, seq: i64, change: i64) -> Self {
        Self {
            conversation,
            seq: Some(seq),
            change,
        }
    }

    pub fn change(conversation: Uuid, change: i64) -> Self {
        Self {
            conversation,
            seq: None,
            change,
        }
    }
}

/// One frame for some sockets, serialised once (cloning it shares the bytes).
#[derive(Debug)]
pub struct Event {
    pub frame: Utf8Bytes,
    pub topic: Option<Topic>,
    /// `(user, version)` for a presence event: an older version than one
    /// already delivered here is stale and dropped.
    pub presence: Option<(Uuid, u64)>,
}

impl Event {
    pub fn plain(frame: impl Into<Utf8Bytes>) -> Arc<Self> {
        Arc::new(Self {
            frame: frame.into(),
            topic: None,
            presence: None,
        })
    }
}

struct Socket {
    id: u64,
    queue: mpsc::Sender<Arc<Event>>,
    too_slow: CancellationToken,
}

impl Socket {
    /// Queues the event, or marks the socket too slow when its queue is full.
    fn offer(&self, event: &Arc<Event>) {
        if self.queue.try_send(event.clone()).is_err() {
            self.too_slow.cancel();
        }
    }
}

/// What a socket gets when it joins the hub.
pub struct Registration {
    pub id: u64,
    pub events: mpsc::Receiver<Arc<Event>>,
    /// Cancelled when the socket fell too far behind.
    pub too_slow: CancellationToken,
    /// This is the user's first socket on this instance.
    pub first_here: bool,
}

/// Presence versions remembered before the map is emptied (a stale event
/// could then slip through once; the next change corrects it).
const PRESENCE_VERSIONS_MAX: usize = 100_000;

#[derive(Default)]
pub struct Hub {
    sockets: Mutex<HashMap<Uuid, Vec<Socket>>>,
    next_id: AtomicU64,
    /// The newest presence version delivered here, per user.
    presence_versions: Mutex<HashMap<Uuid, u64>>,
}

impl Hub {
    pub fn register(&self, user: Uuid, capacity: usize) -> Registration {
        let (queue, events) = mpsc::channel(capacity.max(1));
        let too_slow = CancellationToken::new();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut sockets = self.sockets.lock().expect("hub lock");
        let mine = sockets.entry(user).or_default();
        let first_here = mine.is_empty();
        mine.push(Socket {
            id,
            queue,
            too_slow: too_slow.clone(),
        });
        metrics::gauge!("chat_sockets").increment(1.0);
        Registration {
            id,
            events,
            too_slow,
            first_here,
        }
    }

    /// Removes a socket; true when it was the user's last one here.
    pub fn unregister(&self, user: Uuid, id: u64) -> bool {
        let mut sockets = self.sockets.lock().expect("hub lock");
        let Some(mine) = sockets.get_mut(&user) else {
            return false;
        };
        let before = mine.len();
        mine.retain(|s| s.id != id);
        if mine.len() < before {
            metrics::gauge!("chat_sockets").decrement(1.0);
        }
        if mine.is_empty() {
            sockets.remove(&user);
            return true;
        }
        false
    }

    pub fn deliver(&self, recipients: &[Uuid], event: &Arc<Event>) {
        if let Some((user, version)) = event.presence
            && !self.newest_presence(user, version)
        {
            return;
        }
        let sockets = self.sockets.lock().expect("hub lock");
        for user in recipients {
            for socket in sockets.get(user).into_iter().flatten() {
                socket.offer(event);
            }
        }
    }

    /// True when `version` is newer than any presence of `user` delivered
    /// here: events from several instances may arrive out of order, and the
    /// last one a contact sees must be the newest.
    fn newest_presence(&self, user: Uuid, version: u64) -> bool {
        let mut versions = self.presence_versions.lock().expect("presence lock");
        if versions.len() >= PRESENCE_VERSIONS_MAX {
            versions.clear();
        }
        let newest = versions.entry(user).or_insert(0);
        if version <= *newest {
            return false;
        }
        *newest = version;
        true
    }

    /// Sends one frame to every socket here.
    pub fn deliver_to_all(&self, event: &Arc<Event>) {
        let sockets = self.sockets.lock().expect("hub lock");
        for socket in sockets.values().flatten() {
            socket.offer(event);
        }
    }

    /// Sockets connected to this process.
    pub fn connected(&self) -> usize {
        self.sockets
            .lock()
            .expect("hub lock")
            .values()
            .map(Vec::len)
            .sum()
    }

    pub fn is_here(&self, user: Uuid) -> bool {
        self.sockets.lock().expect("hub lock").contains_key(&user)
    }

    pub fn users_here(&self) -> Vec<Uuid> {
        self.sockets
            .lock()
            .expect("hub lock")
            .keys()
            .copied()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(text: &str) -> Arc<Event> {
        Event::plain(text.to_string())
    }

    fn presence(user: Uuid, version: u64) -> Arc<Event> {
        Arc::new(Event {
            frame: version.to_string().into(),
            topic: None,
            presence: Some((user, version)),
        })
    }

    #[test]
    fn a_stale_presence_event_is_not_delivered() {
        let hub = Hub::default();
        let (contact, user) = (Uuid::now_v7(), Uuid::now_v7());
        let mut reg = hub.register(contact, 8);
        hub.deliver(&[contact], &presence(user, 5));
        hub.deliver(&[contact], &presence(user, 4));
        hub.deliver(&[contact], &presence(user, 6));
        assert_eq!(reg.events.try_recv().unwrap().frame.as_str(), "5");
        assert_eq!(reg.events.try_recv().unwrap().frame.as_str(), "6");
        assert!(reg.events.try_recv().is_err());
    }

    #[test]
    fn a_full_queue_marks_the_socket_too_slow_without_blocking() {
        let hub = Hub::default();
        let user = Uuid::now_v7();
        let mut reg = hub.register(user, 2);
        for n in 0..3 {
            hub.deliver(&[user], &event(&n.to_string()));
        }
        assert!(reg.too_slow.is_cancelled());
        assert_eq!(reg.events.try_recv().unwrap().frame.as_str(), "0");
    }

    #[test]
    fn the_last_socket_of_a_user_is_reported() {
        let hub = Hub::default();
        let user = Uuid::now_v7();
        let a = hub.register(user, 4);
        let b = hub.register(user, 4);
        assert!(a.first_here && !b.first_here);
        assert!(!hub.unregister(user, a.id));
        assert!(hub.unregister(user, b.id));
        assert!(!hub.is_here(user));
    }
}

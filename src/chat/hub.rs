//! The sockets connected to this process, by user, and delivery to them.
//! Delivery never waits: each socket has a bounded queue, and a socket whose
//! queue is full is told to close (its client resumes from its last seq).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::ws::Utf8Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// One frame for some sockets, serialised once (cloning it shares the bytes).
#[derive(Debug)]
pub struct Event {
    pub frame: Utf8Bytes,
    /// `(conversation, seq)` when the frame carries a message, so a socket
    /// can skip one it already has.
    pub message: Option<(Uuid, i64)>,
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

#[derive(Default)]
pub struct Hub {
    sockets: Mutex<HashMap<Uuid, Vec<Socket>>>,
    next_id: AtomicU64,
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
        let sockets = self.sockets.lock().expect("hub lock");
        for user in recipients {
            for socket in sockets.get(user).into_iter().flatten() {
                socket.offer(event);
            }
        }
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
        Arc::new(Event {
            frame: text.to_string().into(),
            message: None,
        })
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

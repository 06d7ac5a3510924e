//! Which messages one socket has already been sent, per conversation, so
//! that the seam between a resume's replay and live events has no duplicate.

use std::collections::{BTreeSet, HashMap};

use uuid::Uuid;

/// Seqs above `floor` that were sent, kept to this many per conversation.
const KEEP: usize = 256;

#[derive(Default)]
struct Sent {
    /// Everything at or below this the client has (set by a resume).
    floor: Option<i64>,
    above: BTreeSet<i64>,
}

/// Per conversation: the message seqs sent, and the change_seqs sent (both
/// gapless counters, so the same bookkeeping serves).
#[derive(Default)]
pub struct SeqTracker {
    conversations: HashMap<Uuid, Sent>,
    changes: HashMap<Uuid, Sent>,
}

impl SeqTracker {
    /// The client says it holds everything up to `seq` in `conversation`
    /// (and nothing it was sent above, unless this socket sent it).
    pub fn resume_from(&mut self, conversation: Uuid, seq: i64) {
        self.conversations
            .entry(conversation)
            .or_default()
            .restart_at(seq);
    }

    /// Records `seq` as sent; false when it had been sent already.
    pub fn first_time(&mut self, conversation: Uuid, seq: i64) -> bool {
        self.conversations
            .entry(conversation)
            .or_default()
            .record(seq)
    }

    /// As `resume_from`, for the conversation's change_seq.
    pub fn changes_from(&mut self, conversation: Uuid, change: i64) {
        self.changes
            .entry(conversation)
            .or_default()
            .restart_at(change);
    }

    /// Records change `change` as sent; false when it had been already.
    pub fn first_change(&mut self, conversation: Uuid, change: i64) -> bool {
        self.changes.entry(conversation).or_default().record(change)
    }
}

impl Sent {
    fn restart_at(&mut self, seq: i64) {
        self.floor = Some(seq);
        self.above.retain(|s| *s > seq);
        self.compact();
    }

    fn record(&mut self, seq: i64) -> bool {
        if self.floor.is_some_and(|f| seq <= f) || !self.above.insert(seq) {
            return false;
        }
        self.compact();
        true
    }

    fn compact(&mut self) {
        if let Some(mut floor) = self.floor {
            while self.above.remove(&(floor + 1)) {
                floor += 1;
            }
            self.floor = Some(floor);
        }
        while self.above.len() > KEEP {
            self.above.pop_first();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_events_before_a_resume_are_not_replayed_twice() {
        let conv = Uuid::now_v7();
        let mut t = SeqTracker::default();
        assert!(t.first_time(conv, 7));
        t.resume_from(conv, 5);
        assert!(t.first_time(conv, 6));
        assert!(!t.first_time(conv, 7));
        assert!(t.first_time(conv, 8));
        assert!(!t.first_time(conv, 8));
        assert!(!t.first_time(conv, 3));
    }

    #[test]
    fn a_second_resume_from_further_back_replays_again() {
        let conv = Uuid::now_v7();
        let mut t = SeqTracker::default();
        t.resume_from(conv, 0);
        assert!(t.first_time(conv, 1) && t.first_time(conv, 2));
        t.resume_from(conv, 0);
        assert!(t.first_time(conv, 1));
    }

    #[test]
    fn out_of_order_live_events_are_all_delivered() {
        let conv = Uuid::now_v7();
        let mut t = SeqTracker::default();
        t.resume_from(conv, 0);
        assert!(t.first_time(conv, 2));
        assert!(t.first_time(conv, 1));
        assert!(t.first_time(conv, 3));
        assert!(!t.first_time(conv, 2));
    }
}

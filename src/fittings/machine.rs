//! The booking state machine, in one table: `(from, action, actor) -> to`.
//! Anything not in the table is refused with a 409 naming the current state.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Waiting for the tailor; holds the slot.
    Requested,
    /// Agreed; holds the slot.
    Confirmed,
    /// The tailor said no.
    Declined,
    /// Called off by either side (or by an account's deletion).
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Accept,
    Decline,
    Cancel,
    Reschedule,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    Tailor,
    Customer,
}

use Action::*;
use Actor::*;
use Status::*;

/// Every allowed move. A move to `Requested` becomes `Confirmed` at once
/// when the tailor takes instant bookings (see `settle`), as a new booking does.
pub const MOVES: &[(Status, Action, Actor, Status)] = &[
    (Requested, Accept, Tailor, Confirmed),
    (Requested, Decline, Tailor, Declined),
    (Requested, Cancel, Tailor, Cancelled),
    (Requested, Cancel, Customer, Cancelled),
    (Confirmed, Cancel, Tailor, Cancelled),
    (Confirmed, Cancel, Customer, Cancelled),
    // The tailor moving a fitting keeps it as agreed; the customer moving
    // one asks the tailor again.
    (Requested, Reschedule, Tailor, Requested),
    (Confirmed, Reschedule, Tailor, Confirmed),
    (Requested, Reschedule, Customer, Requested),
    (Confirmed, Reschedule, Customer, Requested),
];

/// Where `action` by `actor` takes a booking in `from`, if anywhere.
pub fn next(from: Status, action: Action, actor: Actor) -> Option<Status> {
    MOVES
        .iter()
        .find(|(f, a, who, _)| *f == from && *a == action && *who == actor)
        .map(|m| m.3)
}

/// A requested booking of a tailor without approval is confirmed at once.
pub fn settle(to: Status, requires_approval: bool) -> Status {
    if to == Requested && !requires_approval {
        Confirmed
    } else {
        to
    }
}

impl Status {
    pub const ALL: [Status; 4] = [Requested, Confirmed, Declined, Cancelled];

    pub fn as_str(self) -> &'static str {
        match self {
            Requested => "requested",
            Confirmed => "confirmed",
            Declined => "declined",
            Cancelled => "cancelled",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// Whether the booking holds its slot.
    pub fn is_live(self) -> bool {
        matches!(self, Requested | Confirmed)
    }
}

impl Action {
    pub fn verb(self) -> &'static str {
        match self {
            Accept => "accepted",
            Decline => "declined",
            Cancel => "cancelled",
            Reschedule => "rescheduled",
        }
    }
}

impl Actor {
    pub fn as_str(self) -> &'static str {
        match self {
            Tailor => "tailor",
            Customer => "customer",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_live_bookings_move_and_only_the_tailor_answers_a_request() {
        for from in Status::ALL {
            for action in [Accept, Decline, Cancel, Reschedule] {
                for actor in [Tailor, Customer] {
                    let to = next(from, action, actor);
                    if !from.is_live() {
                        assert_eq!(to, None, "{from:?} {action:?} {actor:?}");
                    }
                    if matches!(action, Accept | Decline) && actor == Customer {
                        assert_eq!(to, None);
                    }
                }
            }
        }
        assert_eq!(next(Confirmed, Accept, Tailor), None);
        assert_eq!(settle(Requested, false), Confirmed);
        assert_eq!(settle(Declined, false), Declined);
    }
}

//! The commission's state machine: every move, who may make it and from
//! where, in one table. Anything not in the table is refused with the
//! current state named.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Asked by the customer; the tailor quotes or declines.
    Requested,
    /// The tailor's quote is open.
    Quoted,
    /// The customer's counter-offer is open; the tailor re-quotes or declines.
    Countered,
    /// A quote was accepted; its deposit is being paid.
    AwaitingDeposit,
    InProgress,
    /// Finished; the balance is due before delivery (or on collection).
    Ready,
    Delivered,
    Completed,
    Declined,
    Cancelled,
    /// The customer disputes the work; staff decide.
    Disputed,
    /// Staff refunded (some of) the money after a dispute.
    Refunded,
}

pub const STATUSES: [Status; 12] = [
    Status::Requested,
    Status::Quoted,
    Status::Countered,
    Status::AwaitingDeposit,
    Status::InProgress,
    Status::Ready,
    Status::Delivered,
    Status::Completed,
    Status::Declined,
    Status::Cancelled,
    Status::Disputed,
    Status::Refunded,
];

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Requested => "requested",
            Status::Quoted => "quoted",
            Status::Countered => "countered",
            Status::AwaitingDeposit => "awaiting_deposit",
            Status::InProgress => "in_progress",
            Status::Ready => "ready",
            Status::Delivered => "delivered",
            Status::Completed => "completed",
            Status::Declined => "declined",
            Status::Cancelled => "cancelled",
            Status::Disputed => "disputed",
            Status::Refunded => "refunded",
        }
    }

    pub fn parse(raw: &str) -> Option<Status> {
        STATUSES.into_iter().find(|s| s.as_str() == raw)
    }

    /// Still being negotiated, paid for or made: due dates matter.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            Status::AwaitingDeposit | Status::InProgress | Status::Ready
        )
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    Customer,
    Tailor,
    Staff,
    /// The server itself: a provider's payment event, a timer.
    System,
}

impl Actor {
    pub fn as_str(self) -> &'static str {
        match self {
            Actor::Customer => "customer",
            Actor::Tailor => "tailor",
            Actor::Staff => "staff",
            Actor::System => "system",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quote,
    /// The tailor turns the request (or a counter-offer) down, or the
    /// customer turns the quote down.
    Decline,
    Counter,
    /// Accept a quote that asks for a deposit.
    AcceptWithDeposit,
    /// Accept a quote with no deposit: work starts at once.
    AcceptWithoutDeposit,
    DepositPaid,
    /// A progress update (any stage but `ready`).
    Progress,
    /// The progress update that says the garment is ready.
    MarkReady,
    BalancePaid,
    Deliver,
    Complete,
    RequestAlterations,
    Cancel,
    Dispute,
    /// Staff give the money to the tailor.
    Release,
    /// Staff give (some of) the money back.
    Refund,
}

use Action as A;
use Actor as R;
use Status as S;

/// `(from, action, actor) -> to`. Some moves have a further condition that
/// the service checks (work not started yet, within the alteration window,
/// the balance settled); the table says who and from where.
pub const MOVES: &[(Status, Action, Actor, Status)] = &[
    (S::Requested, A::Quote, R::Tailor, S::Quoted),
    (S::Requested, A::Decline, R::Tailor, S::Declined),
    (S::Requested, A::Cancel, R::Customer, S::Cancelled),
    (S::Requested, A::Cancel, R::Tailor, S::Cancelled),
    (S::Quoted, A::Quote, R::Tailor, S::Quoted),
    (S::Quoted, A::Decline, R::Customer, S::Declined),
    (S::Quoted, A::Counter, R::Customer, S::Countered),
    (
        S::Quoted,
        A::AcceptWithDeposit,
        R::Customer,
        S::AwaitingDeposit,
    ),
    (
        S::Quoted,
        A::AcceptWithoutDeposit,
        R::Customer,
        S::InProgress,
    ),
    (S::Quoted, A::Cancel, R::Customer, S::Cancelled),
    (S::Quoted, A::Cancel, R::Tailor, S::Cancelled),
    (S::Countered, A::Quote, R::Tailor, S::Quoted),
    (S::Countered, A::Decline, R::Tailor, S::Declined),
    (S::Countered, A::Cancel, R::Customer, S::Cancelled),
    (S::Countered, A::Cancel, R::Tailor, S::Cancelled),
    (S::AwaitingDeposit, A::DepositPaid, R::System, S::InProgress),
    (S::AwaitingDeposit, A::Cancel, R::Customer, S::Cancelled),
    (S::AwaitingDeposit, A::Cancel, R::Tailor, S::Cancelled),
    (S::InProgress, A::Progress, R::Tailor, S::InProgress),
    (S::InProgress, A::MarkReady, R::Tailor, S::Ready),
    // The customer only before the first progress update (work started).
    (S::InProgress, A::Cancel, R::Customer, S::Cancelled),
    (S::InProgress, A::Cancel, R::Tailor, S::Cancelled),
    // Only after work started.
    (S::InProgress, A::Dispute, R::Customer, S::Disputed),
    (S::Ready, A::BalancePaid, R::System, S::Ready),
    // Only once the balance is paid, or taken on collection.
    (S::Ready, A::Deliver, R::Tailor, S::Delivered),
    (S::Ready, A::Cancel, R::Tailor, S::Cancelled),
    (S::Ready, A::Dispute, R::Customer, S::Disputed),
    (S::Delivered, A::Complete, R::Customer, S::Completed),
    (S::Delivered, A::Complete, R::System, S::Completed),
    // Only within the alteration window after delivery.
    (
        S::Delivered,
        A::RequestAlterations,
        R::Customer,
        S::InProgress,
    ),
    (S::Delivered, A::Dispute, R::Customer, S::Disputed),
    (S::Disputed, A::Release, R::Staff, S::Completed),
    (S::Disputed, A::Refund, R::Staff, S::Refunded),
];

/// Where `action` by `actor` takes a commission in `from`, if anywhere.
pub fn next(from: Status, action: Action, actor: Actor) -> Option<Status> {
    MOVES
        .iter()
        .find(|(f, a, r, _)| *f == from && *a == action && *r == actor)
        .map(|(_, _, _, to)| *to)
}

/// The stages a tailor reports, in the order work usually goes.
pub const STAGES: [&str; 6] = [
    "cutting",
    "sewing",
    "fitting",
    "alterations",
    "finishing",
    "ready",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_through_its_name() {
        for status in STATUSES {
            assert_eq!(Status::parse(status.as_str()), Some(status));
        }
        assert_eq!(Status::parse("shipped"), None);
    }

    #[test]
    fn each_move_has_one_owner_and_one_target() {
        for (i, a) in MOVES.iter().enumerate() {
            for b in &MOVES[i + 1..] {
                assert!(
                    !(a.0 == b.0 && a.1 == b.1 && a.2 == b.2),
                    "{:?} is in the table twice",
                    (a.0, a.1, a.2)
                );
            }
        }
    }

    #[test]
    fn finished_commissions_never_move() {
        for done in [
            Status::Completed,
            Status::Declined,
            Status::Cancelled,
            Status::Refunded,
        ] {
            assert!(MOVES.iter().all(|m| m.0 != done), "{done} moves");
        }
    }

    #[test]
    fn only_the_tailor_quotes_and_only_the_customer_accepts() {
        for (from, action, actor, _) in MOVES {
            match action {
                Action::Quote | Action::Progress | Action::MarkReady | Action::Deliver => {
                    assert_eq!(*actor, Actor::Tailor, "{from} {action:?}")
                }
                Action::Counter
                | Action::AcceptWithDeposit
                | Action::AcceptWithoutDeposit
                | Action::RequestAlterations
                | Action::Dispute => assert_eq!(*actor, Actor::Customer, "{from} {action:?}"),
                Action::Release | Action::Refund => assert_eq!(*actor, Actor::Staff),
                Action::DepositPaid | Action::BalancePaid => assert_eq!(*actor, Actor::System),
                Action::Decline | Action::Complete | Action::Cancel => {}
            }
        }
    }

    #[test]
    fn nobody_cancels_after_delivery_and_customers_cannot_cancel_a_ready_garment() {
        assert_eq!(next(Status::Delivered, Action::Cancel, Actor::Tailor), None);
        assert_eq!(next(Status::Ready, Action::Cancel, Actor::Customer), None);
        assert_eq!(
            next(Status::Ready, Action::Cancel, Actor::Tailor),
            Some(Status::Cancelled)
        );
    }
}

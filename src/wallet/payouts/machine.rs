//! A payout's statuses and every allowed move, in one table.
//!
//! | from | event | to | ledger |
//! |---|---|---|---|
//! | pending | claim (its turn; the sender) | processing | — |
//! | processing, unconfirmed | succeeded (Paystack, or staff's close) | paid | withdrawing → paid_out |
//! | processing, unconfirmed | failed (Paystack, or staff's close) | failed | withdrawing → available |
//! | processing, unconfirmed | reversed (Paystack) | reversed | withdrawing → available |
//! | paid | reversed (Paystack) | reversed | paid_out → available |
//! | processing | unconfirm (nobody can tell; OTP asked) | unconfirmed | — |
//! | unconfirmed | retry (staff, Paystack has no such transfer) | pending | — |
//!
//! Anything else is refused: a late or replayed event changes nothing
//! (`transfer.success` after `transfer.failed` included: the money went back
//! to the tailor and may have been withdrawn since; the reconcile command
//! and staff see such a difference, the ledger never pays it twice).

/// Where a payout stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pending,
    Processing,
    Unconfirmed,
    Paid,
    Failed,
    Reversed,
}

pub const STATUSES: [Status; 6] = [
    Status::Pending,
    Status::Processing,
    Status::Unconfirmed,
    Status::Paid,
    Status::Failed,
    Status::Reversed,
];

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Processing => "processing",
            Status::Unconfirmed => "unconfirmed",
            Status::Paid => "paid",
            Status::Failed => "failed",
            Status::Reversed => "reversed",
        }
    }

    pub fn parse(raw: &str) -> Option<Status> {
        STATUSES.into_iter().find(|s| s.as_str() == raw)
    }

    /// Sent to Paystack and not settled: the tailor's one slot (the index
    /// over `PAYOUT_IN_FLIGHT_CONDITION`).
    pub fn in_flight(self) -> bool {
        matches!(self, Status::Processing | Status::Unconfirmed)
    }
}

/// What happens to a payout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Claim,
    Succeeded,
    Failed,
    Reversed,
    Unconfirm,
    Retry,
}

pub const EVENTS: [Event; 6] = [
    Event::Claim,
    Event::Succeeded,
    Event::Failed,
    Event::Reversed,
    Event::Unconfirm,
    Event::Retry,
];

/// The table above: where `event` takes a payout in status `from`, if
/// anywhere.
pub fn next_status(from: Status, event: Event) -> Option<Status> {
    use Event as E;
    use Status as S;
    match (from, event) {
        (S::Pending, E::Claim) => Some(S::Processing),
        (S::Processing | S::Unconfirmed, E::Succeeded) => Some(S::Paid),
        (S::Processing | S::Unconfirmed, E::Failed) => Some(S::Failed),
        (S::Processing | S::Unconfirmed | S::Paid, E::Reversed) => Some(S::Reversed),
        (S::Processing, E::Unconfirm) => Some(S::Unconfirmed),
        (S::Unconfirmed, E::Retry) => Some(S::Pending),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settled_payouts_never_move_again_but_a_paid_one_can_be_reversed() {
        for event in EVENTS {
            assert_eq!(next_status(Status::Failed, event), None);
            assert_eq!(next_status(Status::Reversed, event), None);
            let after_paid = next_status(Status::Paid, event);
            assert_eq!(
                after_paid,
                (event == Event::Reversed).then_some(Status::Reversed)
            );
        }
        // Money moves out of `withdrawing` at most once: every move into
        // paid, failed or reversed starts from an in-flight status, or
        // (reversed) from paid.
        for from in STATUSES {
            for event in EVENTS {
                if let Some(to) = next_status(from, event) {
                    if matches!(to, Status::Paid | Status::Failed) {
                        assert!(from.in_flight(), "{from:?} -> {to:?}");
                    }
                    if to == Status::Processing {
                        assert_eq!(from, Status::Pending);
                    }
                }
            }
        }
        for status in STATUSES {
            assert_eq!(Status::parse(status.as_str()), Some(status));
        }
    }
}

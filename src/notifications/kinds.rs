//! Every kind of notification, in one place: its name on the wire, whether
//! quiet hours hold its push, and whether it can come by email.

/// What a notification is about. The wire name (`as_str`) is what the feed,
/// the preferences and the stored rows use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    ChatMessage,
    OrderStatus,
    Payment,
    Refund,
    CommissionRequest,
    CommissionQuote,
    CommissionStage,
    CommissionReady,
    FittingRequested,
    FittingConfirmed,
    FittingReminder,
    NewFollower,
    NewReview,
    PayoutSent,
    PayoutFailed,
}

impl Kind {
    pub const ALL: [Kind; 15] = [
        Kind::ChatMessage,
        Kind::OrderStatus,
        Kind::Payment,
        Kind::Refund,
        Kind::CommissionRequest,
        Kind::CommissionQuote,
        Kind::CommissionStage,
        Kind::CommissionReady,
        Kind::FittingRequested,
        Kind::FittingConfirmed,
        Kind::FittingReminder,
        Kind::NewFollower,
        Kind::NewReview,
        Kind::PayoutSent,
        Kind::PayoutFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ChatMessage => "chat_message",
            Kind::OrderStatus => "order_status",
            Kind::Payment => "payment",
            Kind::Refund => "refund",
            Kind::CommissionRequest => "commission_request",
            Kind::CommissionQuote => "commission_quote",
            Kind::CommissionStage => "commission_stage",
            Kind::CommissionReady => "commission_ready",
            Kind::FittingRequested => "fitting_requested",
            Kind::FittingConfirmed => "fitting_confirmed",
            Kind::FittingReminder => "fitting_reminder",
            Kind::NewFollower => "new_follower",
            Kind::NewReview => "new_review",
            Kind::PayoutSent => "payout_sent",
            Kind::PayoutFailed => "payout_failed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }

    /// Urgent kinds push at once, even inside the user's quiet hours: a
    /// reminder held until morning would arrive after the fitting it is
    /// about, and a failed payout needs the tailor to fix their bank details
    /// before money sits stuck. Everything else can wait for the morning.
    pub fn is_urgent(self) -> bool {
        matches!(self, Kind::FittingReminder | Kind::PayoutFailed)
    }

    /// Kinds that can also come by email (see `templates::email_for`, which
    /// may still decline one, e.g. an order status other than `shipped`).
    ///
    /// Not `fitting_reminder`: `fittings::reminders` already emails both
    /// parties at the moment it claims a reminder (to everyone, as an
    /// appointment confirmation), so the notification sends none, and the
    /// person gets exactly one reminder email.
    pub fn has_email(self) -> bool {
        matches!(
            self,
            Kind::OrderStatus | Kind::CommissionReady | Kind::PayoutSent
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_name() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(Kind::parse("nope"), None);
    }
}

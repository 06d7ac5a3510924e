//! The ledger's vocabulary: accounts, kinds of transaction, what a
//! transaction is about, and its entries.

use uuid::Uuid;

/// A tailor's accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TailorAccount {
    /// Escrow: paid by customers, not yet released.
    Pending,
    /// Released: the tailor may withdraw it.
    Available,
    /// Held for a transfer in flight.
    Withdrawing,
    /// Transferred to the tailor's bank.
    PaidOut,
    /// What the tailor owes the platform (fees of orders paid on delivery,
    /// refunds that outran the balance): zero or below.
    Owed,
}

/// The platform's accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PlatformAccount {
    /// The platform's fees (its revenue).
    Fees,
    /// Money given back to customers.
    Refunds,
    /// The payment provider's side: what customers paid in (negative).
    Clearing,
    /// The other side of staff adjustments: negative when staff gave
    /// tailors money, positive when they took it, so what corrections cost
    /// the platform is one sum and fees stay the fees.
    Adjustments,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Account {
    Tailor(TailorAccount),
    Platform(PlatformAccount),
}

pub const TAILOR_ACCOUNTS: [TailorAccount; 5] = [
    TailorAccount::Pending,
    TailorAccount::Available,
    TailorAccount::Withdrawing,
    TailorAccount::PaidOut,
    TailorAccount::Owed,
];

impl TailorAccount {
    pub fn as_str(self) -> &'static str {
        match self {
            TailorAccount::Pending => "pending",
            TailorAccount::Available => "available",
            TailorAccount::Withdrawing => "withdrawing",
            TailorAccount::PaidOut => "paid_out",
            TailorAccount::Owed => "owed",
        }
    }
}

impl Account {
    pub fn as_str(self) -> &'static str {
        match self {
            Account::Tailor(a) => a.as_str(),
            Account::Platform(PlatformAccount::Fees) => "fees",
            Account::Platform(PlatformAccount::Refunds) => "refunds",
            Account::Platform(PlatformAccount::Clearing) => "clearing",
            Account::Platform(PlatformAccount::Adjustments) => "adjustments",
        }
    }

    pub fn parse(raw: &str) -> Option<Account> {
        TAILOR_ACCOUNTS
            .map(Account::Tailor)
            .into_iter()
            .chain(
                [
                    PlatformAccount::Fees,
                    PlatformAccount::Refunds,
                    PlatformAccount::Clearing,
                    PlatformAccount::Adjustments,
                ]
                .map(Account::Platform),
            )
            .find(|a| a.as_str() == raw)
    }
}

/// What a transaction is, as the statement names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = LedgerKind)]
pub enum Kind {
    /// A customer's payment: the tailor's share into escrow, the fee to the platform.
    Payment,
    /// Escrow to available (less any debt the tailor owed).
    Release,
    /// Money given back to a customer, taken back from the tailor.
    Refund,
    /// The fee on money the tailor collected in person, owed to the platform.
    FeeOwed,
    /// Available money held for a transfer to the tailor's bank.
    Withdrawal,
    /// The transfer went through.
    Payout,
    /// The transfer failed or was reversed: the money is available again.
    PayoutReturned,
    /// A correction made by staff, with its reason in the memo.
    Adjustment,
}

pub const KINDS: [Kind; 8] = [
    Kind::Payment,
    Kind::Release,
    Kind::Refund,
    Kind::FeeOwed,
    Kind::Withdrawal,
    Kind::Payout,
    Kind::PayoutReturned,
    Kind::Adjustment,
];

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Payment => "payment",
            Kind::Release => "release",
            Kind::Refund => "refund",
            Kind::FeeOwed => "fee_owed",
            Kind::Withdrawal => "withdrawal",
            Kind::Payout => "payout",
            Kind::PayoutReturned => "payout_returned",
            Kind::Adjustment => "adjustment",
        }
    }

    pub fn parse(raw: &str) -> Option<Kind> {
        KINDS.into_iter().find(|k| k.as_str() == raw)
    }

    /// Changes what the tailor earned through the platform (the wallet's
    /// `lifetime_earned`); moves between the tailor's own accounts and fees
    /// on money collected in person do not.
    pub fn counts_as_earning(self) -> bool {
        matches!(self, Kind::Payment | Kind::Refund | Kind::Adjustment)
    }
}

/// What a transaction is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    Order,
    Commission,
    /// A payment that paid for nothing any more (refunded whole).
    Payment,
    Payout,
    Adjustment,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Order => "order",
            SourceKind::Commission => "commission",
            SourceKind::Payment => "payment",
            SourceKind::Payout => "payout",
            SourceKind::Adjustment => "adjustment",
        }
    }

    /// Only orders and commissions hold money in escrow.
    pub fn holds_escrow(self) -> bool {
        matches!(self, SourceKind::Order | SourceKind::Commission)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    pub kind: SourceKind,
    pub id: Uuid,
}

impl Source {
    pub fn order(id: Uuid) -> Self {
        Self {
            kind: SourceKind::Order,
            id,
        }
    }

    pub fn commission(id: Uuid) -> Self {
        Self {
            kind: SourceKind::Commission,
            id,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Entry {
    pub account: Account,
    pub amount: i64,
}

impl Entry {
    pub fn tailor(account: TailorAccount, amount: i64) -> Self {
        Self {
            account: Account::Tailor(account),
            amount,
        }
    }

    pub fn platform(account: PlatformAccount, amount: i64) -> Self {
        Self {
            account: Account::Platform(account),
            amount,
        }
    }
}

//! The marketplace's money movements as postings. Each is called by the
//! area that owns the business change, inside the transaction of that
//! change, so the two commit together or not at all:
//!
//! | event (where) | entries |
//! |---|---|
//! | payment settled (`store::payments`, `commissions::payments`) | clearing −P, tailor pending +(P−fee), fees +fee |
//! | released (completion, or delivery + hold: `wallet::release`) | pending −X, available +(X−d), owed +d (d: the tailor's debt, up to X) |
//! | refund queued (`store::refunds`) | pending/available/owed −share, fees −fee part, refunds +R |
//! | money collected in person (pay on delivery, balance on collection) | owed −fee, fees +fee |
//! | withdrawal held / paid out / returned (`wallet::payouts`) | available → withdrawing → paid_out, or back to available |
//! | paid payout reversed by the bank | paid_out → available |
//!
//! A refund of a payment that was never credited to a tailor (it arrived
//! after its order or commission was cancelled) is clearing −R, refunds +R.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::fees::{fee_of, refund_split};
use super::ledger::{
    Entry, Kind, LedgerError, PlatformAccount as P, Posted, Posting, Source, SourceKind,
    TailorAccount as T, held_for, lock, lock_and_read, post,
};
use crate::storage::entities::{ledger_entry, ledger_transaction, refund, wallet_escrow};

fn payment_key(payment: Uuid, source: Uuid) -> String {
    format!("payment:{payment}:{source}")
}

/// A customer's payment for an order or a commission of `tailor_id`.
#[derive(Debug, Clone)]
pub struct Credit {
    pub payment_id: Uuid,
    pub tailor_id: Uuid,
    pub source: Source,
    pub amount: i64,
    pub memo: String,
}

/// The tailor's share of a settled payment goes into escrow, the
/// platform's fee (`fee_bps`, rounded down) to its fees; once per payment
/// and order or commission.
pub async fn credit_payment(
    conn: &impl ConnectionTrait,
    fee_bps: u32,
    credit: Credit,
) -> Result<Posted, LedgerError> {
    let fee = fee_of(credit.amount, fee_bps);
    post(
        conn,
        Posting {
            kind: Kind::Payment,
            dedup_key: payment_key(credit.payment_id, credit.source.id),
            tailor_id: Some(credit.tailor_id),
            source: credit.source,
            memo: credit.memo,
            entries: vec![
                Entry::platform(P::Clearing, -credit.amount),
                Entry::tailor(T::Pending, credit.amount - fee),
                Entry::platform(P::Fees, fee),
            ],
        },
    )
    .await
}

/// A refund the store has just recorded (its row is written).
#[derive(Debug, Clone, Copy)]
pub struct RefundQueued {
    pub refund_id: Uuid,
    pub payment_id: Uuid,
    pub source: Source,
    pub amount: i64,
}

/// What a credited payment put where.
struct Credited {
    tailor: Uuid,
    paid: i64,
    fee: i64,
}

async fn credit_of(
    conn: &impl ConnectionTrait,
    payment: Uuid,
    source: Uuid,
) -> Result<Option<Credited>, LedgerError> {
    let Some(txn) = ledger_transaction::Entity::find()
        .filter(ledger_transaction::Column::DedupKey.eq(payment_key(payment, source)))
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let Some(tailor) = txn.tailor_id else {
        return Ok(None);
    };
    let entries = ledger_entry::Entity::find()
        .filter(ledger_entry::Column::TransactionId.eq(txn.id))
        .all(conn)
        .await?;
    let amount_of = |account: &str| {
        entries
            .iter()
            .filter(|e| e.account == account)
            .map(|e| e.amount_kobo)
            .sum::<i64>()
    };
    Ok(Some(Credited {
        tailor,
        paid: -amount_of("clearing"),
        fee: amount_of("fees"),
    }))
}

/// Refunded earlier from the same payment for the same order or commission.
async fn refunded_before(
    conn: &impl ConnectionTrait,
    refund: &RefundQueued,
) -> Result<i64, LedgerError> {
    let column = match refund.source.kind {
        SourceKind::Order => refund::Column::OrderId,
        _ => refund::Column::CommissionId,
    };
    let amounts: Vec<i64> = refund::Entity::find()
        .select_only()
        .column(refund::Column::AmountKobo)
        .filter(refund::Column::PaymentId.eq(refund.payment_id))
        .filter(column.eq(refund.source.id))
        .filter(refund::Column::Id.ne(refund.refund_id))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(amounts.iter().sum())
}

/// Money going back to a customer: the platform gives back its fee's share,
/// and the tailor's share comes back from what the order or commission
/// still holds in escrow, then from the tailor's available balance, and the
/// rest becomes a debt (`owed`), settled from later releases. Once per refund.
pub async fn refund_queued(
    conn: &impl ConnectionTrait,
    refund: RefundQueued,
) -> Result<Posted, LedgerError> {
    let dedup_key = format!("refund:{}", refund.refund_id);
    let Some(credited) = credit_of(conn, refund.payment_id, refund.source.id).await? else {
        // Paid after it was no longer owed: the tailor never had it.
        return post(
            conn,
            Posting {
                kind: Kind::Refund,
                dedup_key,
                tailor_id: None,
                source: refund.source,
                memo: "Paid after it was no longer owed: refunded in full.".into(),
                entries: vec![
                    Entry::platform(P::Clearing, -refund.amount),
                    Entry::platform(P::Refunds, refund.amount),
                ],
            },
        )
        .await;
    };
    let before = refunded_before(conn, &refund).await?;
    let split = refund_split(refund.amount, credited.paid, credited.fee, before);
    take_back(
        conn,
        TakeBack {
            tailor: credited.tailor,
            source: refund.source,
            amount: refund.amount,
            fee: split.fee,
            dedup_key,
            memo: "Refunded to the customer.".into(),
        },
    )
    .await
}

/// A refund of `amount`, of which `fee` comes from the platform's fees and
/// the rest from the tailor.
#[derive(Debug, Clone)]
pub struct TakeBack {
    pub tailor: Uuid,
    pub source: Source,
    pub amount: i64,
    pub fee: i64,
    pub dedup_key: String,
    pub memo: String,
}

/// See [`refund_queued`]: escrow of the source first, then available, then owed.
pub async fn take_back(conn: &impl ConnectionTrait, back: TakeBack) -> Result<Posted, LedgerError> {
    let share = back.amount - back.fee;
    let balances = lock_and_read(conn, back.tailor).await?;
    let held = if back.source.kind.holds_escrow() {
        held_for(conn, back.source.id).await?
    } else {
        0
    };
    let from_pending = share.min(held).max(0);
    let from_available = (share - from_pending).min(balances.available).max(0);
    let owed = share - from_pending - from_available;
    post(
        conn,
        Posting {
            kind: Kind::Refund,
            dedup_key: back.dedup_key,
            tailor_id: Some(back.tailor),
            source: back.source,
            memo: back.memo,
            entries: vec![
                Entry::tailor(T::Pending, -from_pending),
                Entry::tailor(T::Available, -from_available),
                Entry::tailor(T::Owed, -owed),
                Entry::platform(P::Fees, -back.fee),
                Entry::platform(P::Refunds, back.amount),
            ],
        },
    )
    .await
}

/// Everything the order or commission holds in escrow becomes available,
/// less what the tailor owes the platform (up to all of it). Nothing when
/// nothing is held. Two instances releasing at once queue on the tailor's
/// row; the second finds nothing held.
pub async fn release(
    conn: &impl ConnectionTrait,
    tailor: Uuid,
    source: Source,
    memo: &str,
) -> Result<Option<Posted>, LedgerError> {
    let balances = lock_and_read(conn, tailor).await?;
    let held = held_for(conn, source.id).await?;
    if held <= 0 {
        return Ok(None);
    }
    let settled = balances.debt().clamp(0, held);
    let posted = post(
        conn,
        Posting {
            kind: Kind::Release,
            dedup_key: format!("release:{}", source.id),
            tailor_id: Some(tailor),
            source,
            memo: memo.into(),
            entries: vec![
                Entry::tailor(T::Pending, -held),
                Entry::tailor(T::Available, held - settled),
                Entry::tailor(T::Owed, settled),
            ],
        },
    )
    .await?;
    if !posted.is_new() {
        // Each order or commission is released once: money credited after
        // its release would need a state machine that allows it.
        tracing::error!(source = %source.id, held, "escrow left after the release of its source");
    }
    Ok(Some(posted))
}

/// From `at` on, the release sweep releases what the order holds.
pub async fn release_at(
    conn: &impl ConnectionTrait,
    tailor: Uuid,
    source: Source,
    at: DateTime<Utc>,
) -> Result<(), LedgerError> {
    // Escrow rows change under their tailor's lock only.
    lock(conn, tailor).await?;
    wallet_escrow::Entity::update_many()
        .col_expr(wallet_escrow::Column::ReleaseAt, Expr::value(at))
        .filter(wallet_escrow::Column::SourceId.eq(source.id))
        .filter(wallet_escrow::Column::HeldKobo.gt(0))
        .exec(conn)
        .await?;
    Ok(())
}

/// The tailor collected `collected` kobo in person (an order paid on
/// delivery, a commission's balance on collection): the platform's fee on
/// it becomes a debt, settled from later releases. Once per source.
pub async fn fee_owed(
    conn: &impl ConnectionTrait,
    fee_bps: u32,
    tailor: Uuid,
    source: Source,
    collected: i64,
    memo: &str,
) -> Result<Option<Posted>, LedgerError> {
    let fee = fee_of(collected, fee_bps);
    if fee <= 0 {
        return Ok(None);
    }
    let posted = post(
        conn,
        Posting {
            kind: Kind::FeeOwed,
            dedup_key: format!("fee_owed:{}", source.id),
            tailor_id: Some(tailor),
            source,
            memo: memo.into(),
            entries: vec![Entry::tailor(T::Owed, -fee), Entry::platform(P::Fees, fee)],
        },
    )
    .await?;
    Ok(Some(posted))
}

fn payout(id: Uuid) -> Source {
    Source {
        kind: SourceKind::Payout,
        id,
    }
}

fn positive(amount: i64) -> Result<(), LedgerError> {
    if amount > 0 {
        Ok(())
    } else {
        Err(LedgerError::Invalid(
            "a payout moves a positive amount".into(),
        ))
    }
}

/// Holds `amount` of the tailor's available money for payout `payout_id`
/// in one conditional step: `Insufficient` when available is short, however
/// many holds run at once.
pub async fn hold_for_payout(
    conn: &impl ConnectionTrait,
    tailor: Uuid,
    payout_id: Uuid,
    amount: i64,
) -> Result<Posted, LedgerError> {
    let step = PayoutStep {
        kind: Kind::Withdrawal,
        key: "withdrawal",
        from: T::Available,
        to: T::Withdrawing,
        memo: "Withdrawal to your bank account.",
    };
    step.post(conn, tailor, payout_id, amount).await
}

/// The transfer of a held payout went through.
pub async fn payout_sent(
    conn: &impl ConnectionTrait,
    tailor: Uuid,
    payout_id: Uuid,
    amount: i64,
) -> Result<Posted, LedgerError> {
    let step = PayoutStep {
        kind: Kind::Payout,
        key: "payout",
        from: T::Withdrawing,
        to: T::PaidOut,
        memo: "Paid to your bank account.",
    };
    step.post(conn, tailor, payout_id, amount).await
}

/// The transfer of a held payout failed or was reversed: the money is
/// available again.
pub async fn payout_returned(
    conn: &impl ConnectionTrait,
    tailor: Uuid,
    payout_id: Uuid,
    amount: i64,
    memo: &str,
) -> Result<Posted, LedgerError> {
    let step = PayoutStep {
        kind: Kind::PayoutReturned,
        key: "payout_returned",
        from: T::Withdrawing,
        to: T::Available,
        memo,
    };
    step.post(conn, tailor, payout_id, amount).await
}

/// A transfer reported paid came back (Paystack's `transfer.reversed`
/// after `transfer.success`): the money is available again. Once per payout.
pub async fn payout_reversed(
    conn: &impl ConnectionTrait,
    tailor: Uuid,
    payout_id: Uuid,
    amount: i64,
) -> Result<Posted, LedgerError> {
    let step = PayoutStep {
        kind: Kind::PayoutReturned,
        key: "payout_reversed",
        from: T::PaidOut,
        to: T::Available,
        memo: "The bank sent the payout back.",
    };
    step.post(conn, tailor, payout_id, amount).await
}

/// One step of a payout: `amount` moves between two of the tailor's
/// accounts, once per payout and step (the dedup key is `key:payout_id`,
/// which reconciliation reads back).
struct PayoutStep<'a> {
    kind: Kind,
    key: &'static str,
    from: T,
    to: T,
    memo: &'a str,
}

impl PayoutStep<'_> {
    async fn post(
        self,
        conn: &impl ConnectionTrait,
        tailor: Uuid,
        payout_id: Uuid,
        amount: i64,
    ) -> Result<Posted, LedgerError> {
        positive(amount)?;
        post(
            conn,
            Posting {
                kind: self.kind,
                dedup_key: format!("{}:{payout_id}", self.key),
                tailor_id: Some(tailor),
                source: payout(payout_id),
                memo: self.memo.into(),
                entries: vec![
                    Entry::tailor(self.from, -amount),
                    Entry::tailor(self.to, amount),
                ],
            },
        )
        .await
    }
}

//! The posting API: one call writes one balanced, append-only transaction
//! and keeps the cached balances in step, inside the caller's database
//! transaction.
//!
//! Sign convention: an entry is positive when it gives its account's holder
//! more (a tailor's `pending` when a customer pays; the platform's `fees`
//! when a fee is taken) and negative when it takes; `clearing`, the
//! provider's side, goes negative as money comes in. Every transaction's
//! entries sum to zero. A tailor's `owed` is a debt, so it is zero or below.
//!
//! Concurrency: a posting that names a tailor first takes that tailor's
//! `wallet_balances` row (a write, so SQLite's write lock too), then applies
//! its deltas with one conditional UPDATE that refuses to take any balance
//! below zero. Two postings for one tailor queue on that row; an overdraft
//! is `LedgerError::Insufficient`, never a negative balance, and the row's
//! CHECKs are the last line. Wallet rows are locked last in a transaction
//! (after orders, payments and commissions), one tailor per posting.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

pub use super::accounts::{
    Account, Entry, KINDS, Kind, PlatformAccount, Source, SourceKind, TAILOR_ACCOUNTS,
    TailorAccount,
};
use crate::storage::StorageError;
use crate::storage::entities::{ledger_entry, ledger_transaction, wallet_balance, wallet_escrow};

/// Which balance column caches a tailor account.
fn column(account: TailorAccount) -> wallet_balance::Column {
    match account {
        TailorAccount::Pending => wallet_balance::Column::Pending,
        TailorAccount::Available => wallet_balance::Column::Available,
        TailorAccount::Withdrawing => wallet_balance::Column::Withdrawing,
        TailorAccount::PaidOut => wallet_balance::Column::PaidOut,
        TailorAccount::Owed => wallet_balance::Column::Owed,
    }
}

/// One transaction to write.
#[derive(Debug, Clone)]
pub struct Posting {
    pub kind: Kind,
    /// Names the event: a second posting with the same key writes nothing.
    pub dedup_key: String,
    /// Whose accounts the tailor entries are; required when there are any.
    pub tailor_id: Option<Uuid>,
    pub source: Source,
    pub memo: String,
    /// Entries on the same account are added together; zero ones dropped.
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Posted {
    New {
        transaction_id: Uuid,
    },
    /// The dedup key was posted before: nothing written.
    Duplicate,
}

impl Posted {
    pub fn is_new(self) -> bool {
        matches!(self, Posted::New { .. })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The posting would take a balance below zero (or a debt above it).
    /// The caller's transaction holds a half-written posting: roll it back.
    #[error("insufficient {account}: {short} kobo short")]
    Insufficient { account: &'static str, short: i64 },
    /// A posting that can never be written (unbalanced, empty ...).
    #[error("invalid posting: {0}")]
    Invalid(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<sea_orm::DbErr> for LedgerError {
    fn from(err: sea_orm::DbErr) -> Self {
        LedgerError::Storage(err.into())
    }
}

/// A tailor's cached balances (see `wallet_balance`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Balances {
    pub pending: i64,
    pub available: i64,
    pub withdrawing: i64,
    pub paid_out: i64,
    /// Zero or below: `-owed` is the debt.
    pub owed: i64,
    pub earned: i64,
    pub fees: i64,
    pub lines: i64,
}

impl Balances {
    pub fn get(&self, account: TailorAccount) -> i64 {
        match account {
            TailorAccount::Pending => self.pending,
            TailorAccount::Available => self.available,
            TailorAccount::Withdrawing => self.withdrawing,
            TailorAccount::PaidOut => self.paid_out,
            TailorAccount::Owed => self.owed,
        }
    }

    /// What the tailor owes the platform, as a positive number.
    pub fn debt(&self) -> i64 {
        -self.owed
    }
}

impl From<wallet_balance::Model> for Balances {
    fn from(row: wallet_balance::Model) -> Self {
        Self {
            pending: row.pending,
            available: row.available,
            withdrawing: row.withdrawing,
            paid_out: row.paid_out,
            owed: row.owed,
            earned: row.earned,
            fees: row.fees,
            lines: row.lines,
        }
    }
}

/// Writes the posting as part of `conn`'s transaction (pass a transaction:
/// the ledger rows, balances and escrow must commit together). On an error
/// the transaction may hold part of it: the caller rolls back.
pub async fn post(conn: &impl ConnectionTrait, posting: Posting) -> Result<Posted, LedgerError> {
    let lines = checked_lines(&posting)?;
    if let Some(tailor) = posting.tailor_id {
        lock(conn, tailor).await?;
    }
    // Stamped after the lock, so a tailor's lines are in the order their
    // postings took the lock.
    let now = Utc::now();
    let id = Uuid::now_v7();
    let written = ledger_transaction::Entity::insert(ledger_transaction::ActiveModel {
        id: Set(id),
        kind: Set(posting.kind.as_str().into()),
        dedup_key: Set(posting.dedup_key.clone()),
        tailor_id: Set(posting.tailor_id),
        source_kind: Set(posting.source.kind.as_str().into()),
        source_id: Set(posting.source.id),
        memo: Set(posting.memo.clone()),
        created_at: Set(now),
    })
    // Not a caught unique violation: on PostgreSQL that would abort the
    // caller's whole transaction.
    .on_conflict(
        OnConflict::column(ledger_transaction::Column::DedupKey)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    if written != 1 {
        return Ok(Posted::Duplicate);
    }
    if let Some(tailor) = posting.tailor_id {
        apply_to_wallet(conn, tailor, &posting, &lines, now).await?;
        let pending = lines
            .get(&Account::Tailor(TailorAccount::Pending))
            .copied()
            .unwrap_or(0);
        if pending != 0 {
            apply_to_escrow(conn, tailor, posting.source, pending, now).await?;
        }
    }
    let rows = lines
        .iter()
        .map(|(account, amount)| ledger_entry::ActiveModel {
            id: Set(Uuid::now_v7()),
            transaction_id: Set(id),
            tailor_id: Set(match account {
                Account::Tailor(_) => posting.tailor_id,
                Account::Platform(_) => None,
            }),
            account: Set(account.as_str().into()),
            amount_kobo: Set(*amount),
            created_at: Set(now),
        });
    ledger_entry::Entity::insert_many(rows)
        .exec_without_returning(conn)
        .await?;
    Ok(Posted::New { transaction_id: id })
}

/// The posting's entries by account, or why it cannot be written.
fn checked_lines(posting: &Posting) -> Result<BTreeMap<Account, i64>, LedgerError> {
    let invalid = |why: String| Err(LedgerError::Invalid(why));
    if posting.dedup_key.trim().is_empty() {
        return invalid("a posting needs a dedup key".into());
    }
    let mut lines: BTreeMap<Account, i64> = BTreeMap::new();
    for entry in &posting.entries {
        let slot = lines.entry(entry.account).or_insert(0);
        *slot = slot
            .checked_add(entry.amount)
            .ok_or_else(|| LedgerError::Invalid("amount overflows".into()))?;
    }
    lines.retain(|_, amount| *amount != 0);
    let sum = lines
        .values()
        .try_fold(0i64, |sum, amount| sum.checked_add(*amount))
        .ok_or_else(|| LedgerError::Invalid("amount overflows".into()))?;
    if sum != 0 {
        return invalid(format!("entries sum to {sum} kobo, not zero"));
    }
    if lines.is_empty() {
        return invalid("a posting moves money".into());
    }
    let touches_tailor = lines.keys().any(|a| matches!(a, Account::Tailor(_)));
    if touches_tailor && posting.tailor_id.is_none() {
        return invalid("tailor entries without a tailor".into());
    }
    let touches_escrow = lines.contains_key(&Account::Tailor(TailorAccount::Pending));
    if touches_escrow && !posting.source.kind.holds_escrow() {
        return invalid("only an order or a commission holds money in escrow".into());
    }
    Ok(lines)
}

/// Makes sure the tailor has a balance row and takes it for the rest of the
/// transaction (a no-op update: a row lock on PostgreSQL, the write lock
/// on SQLite), so what is read next stays true until the commit.
pub async fn lock(conn: &impl ConnectionTrait, tailor: Uuid) -> Result<(), LedgerError> {
    let now = Utc::now();
    wallet_balance::Entity::insert(wallet_balance::ActiveModel {
        tailor_id: Set(tailor),
        pending: Set(0),
        available: Set(0),
        withdrawing: Set(0),
        paid_out: Set(0),
        owed: Set(0),
        earned: Set(0),
        fees: Set(0),
        lines: Set(0),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(wallet_balance::Column::TailorId)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    wallet_balance::Entity::update_many()
        .col_expr(
            wallet_balance::Column::UpdatedAt,
            Expr::col(wallet_balance::Column::UpdatedAt).into(),
        )
        .filter(wallet_balance::Column::TailorId.eq(tailor))
        .exec(conn)
        .await?;
    Ok(())
}

/// Locks the tailor's balances (see [`lock`]) and reads them.
pub async fn lock_and_read(
    conn: &impl ConnectionTrait,
    tailor: Uuid,
) -> Result<Balances, LedgerError> {
    lock(conn, tailor).await?;
    Ok(balances(conn, tailor).await?)
}

/// The tailor's cached balances (all zero before any money moved).
pub async fn balances(conn: &impl ConnectionTrait, tailor: Uuid) -> Result<Balances, StorageError> {
    Ok(wallet_balance::Entity::find_by_id(tailor)
        .one(conn)
        .await?
        .map(Balances::from)
        .unwrap_or_default())
}

/// What one order or commission still holds in escrow.
pub async fn held_for(conn: &impl ConnectionTrait, source: Uuid) -> Result<i64, StorageError> {
    Ok(wallet_escrow::Entity::find_by_id(source)
        .one(conn)
        .await?
        .map_or(0, |row| row.held_kobo))
}

/// Adds the tailor's deltas to the balance row in one statement that only
/// applies while every balance stays within its bounds.
async fn apply_to_wallet(
    conn: &impl ConnectionTrait,
    tailor: Uuid,
    posting: &Posting,
    lines: &BTreeMap<Account, i64>,
    now: DateTime<Utc>,
) -> Result<(), LedgerError> {
    use wallet_balance::Column as C;
    let delta = |account| lines.get(&Account::Tailor(account)).copied().unwrap_or(0);
    let mut update = wallet_balance::Entity::update_many()
        .col_expr(C::Lines, Expr::col(C::Lines).add(1))
        .col_expr(C::UpdatedAt, Expr::value(now))
        .filter(C::TailorId.eq(tailor));
    let mut earned = 0;
    for account in TAILOR_ACCOUNTS {
        let change = delta(account);
        earned += change;
        if change == 0 {
            continue;
        }
        let col = column(account);
        update = update.col_expr(col, Expr::col(col).add(change));
        let after = Expr::expr(Expr::col(col).add(change));
        update = match account {
            TailorAccount::Owed if change > 0 => update.filter(after.lte(0)),
            TailorAccount::Owed => update,
            _ if change < 0 => update.filter(after.gte(0)),
            _ => update,
        };
    }
    if posting.kind.counts_as_earning() && earned != 0 {
        update = update.col_expr(C::Earned, Expr::col(C::Earned).add(earned));
    }
    let fee = lines
        .get(&Account::Platform(PlatformAccount::Fees))
        .copied()
        .unwrap_or(0);
    if fee != 0 {
        update = update.col_expr(C::Fees, Expr::col(C::Fees).add(fee));
    }
    if update.exec(conn).await?.rows_affected == 1 {
        return Ok(());
    }
    // Refused: say which balance was short (the row is still ours).
    let current = balances(conn, tailor).await?;
    let (account, short) = TAILOR_ACCOUNTS
        .into_iter()
        .map(|a| {
            let after = current.get(a) + delta(a);
            let short = if a == TailorAccount::Owed {
                after
            } else {
                -after
            };
            (a, short)
        })
        .find(|(_, short)| *short > 0)
        .unwrap_or((TailorAccount::Available, 0));
    Err(LedgerError::Insufficient {
        account: account.as_str(),
        short,
    })
}

/// Keeps the source's escrow row equal to its `pending` entries: money in
/// creates or grows it; money out may not take more than it holds.
async fn apply_to_escrow(
    conn: &impl ConnectionTrait,
    tailor: Uuid,
    source: Source,
    change: i64,
    now: DateTime<Utc>,
) -> Result<(), LedgerError> {
    use wallet_escrow::Column as C;
    if change > 0 {
        wallet_escrow::Entity::insert(wallet_escrow::ActiveModel {
            source_id: Set(source.id),
            source_kind: Set(source.kind.as_str().into()),
            tailor_id: Set(tailor),
            held_kobo: Set(0),
            release_at: Set(None),
            updated_at: Set(now),
        })
        .on_conflict(OnConflict::column(C::SourceId).do_nothing().to_owned())
        .exec_without_returning(conn)
        .await?;
    }
    let mut update = wallet_escrow::Entity::update_many()
        .col_expr(C::HeldKobo, Expr::col(C::HeldKobo).add(change))
        .col_expr(C::UpdatedAt, Expr::value(now))
        .filter(C::SourceId.eq(source.id))
        .filter(C::TailorId.eq(tailor));
    if change < 0 {
        update = update.filter(Expr::expr(Expr::col(C::HeldKobo).add(change)).gte(0));
    }
    if update.exec(conn).await?.rows_affected != 1 {
        let held = held_for(conn, source.id).await?;
        return Err(LedgerError::Insufficient {
            account: "pending",
            short: -(held + change),
        });
    }
    if change < 0 {
        // Nothing left to release: off the release sweep's index range.
        wallet_escrow::Entity::update_many()
            .col_expr(C::ReleaseAt, Expr::value(None::<DateTime<Utc>>))
            .filter(C::SourceId.eq(source.id))
            .filter(C::HeldKobo.eq(0))
            .exec(conn)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn posting(entries: Vec<Entry>, tailor: Option<Uuid>, source: Source) -> Posting {
        Posting {
            kind: Kind::Payment,
            dedup_key: "k".into(),
            tailor_id: tailor,
            source,
            memo: String::new(),
            entries,
        }
    }

    #[test]
    fn only_balanced_postings_with_their_tailor_are_written() {
        use PlatformAccount::*;
        use TailorAccount::*;
        let order = Source::order(Uuid::now_v7());
        let tailor = Some(Uuid::now_v7());
        let paid = vec![
            Entry::platform(Clearing, -10_000),
            Entry::tailor(Pending, 9_000),
            Entry::platform(Fees, 1_000),
        ];
        assert_eq!(
            checked_lines(&posting(paid.clone(), tailor, order))
                .unwrap()
                .len(),
            3
        );
        assert!(checked_lines(&posting(paid.clone(), None, order)).is_err());
        let mut unbalanced = paid.clone();
        unbalanced[2].amount = 999;
        assert!(checked_lines(&posting(unbalanced, tailor, order)).is_err());
        let payout = Source {
            kind: SourceKind::Payout,
            id: Uuid::now_v7(),
        };
        assert!(
            checked_lines(&posting(paid, tailor, payout)).is_err(),
            "no escrow for a payout"
        );
        let nothing = vec![Entry::tailor(Available, 5), Entry::tailor(Available, -5)];
        assert!(checked_lines(&posting(nothing, tailor, order)).is_err());
        let merged = vec![
            Entry::tailor(Available, 5),
            Entry::tailor(Available, 5),
            Entry::tailor(Pending, -10),
        ];
        let lines = checked_lines(&posting(merged, tailor, order)).unwrap();
        assert_eq!(lines[&Account::Tailor(Available)], 10);
    }

    #[test]
    fn names_round_trip() {
        for kind in KINDS {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        for account in ["pending", "owed", "fees", "clearing", "refunds", "paid_out"] {
            assert_eq!(Account::parse(account).unwrap().as_str(), account);
        }
    }
}

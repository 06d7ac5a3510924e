//! Recomputes everything the ledger caches from its entries and says where
//! they differ: the tests run it after every step, and reconciliation can
//! run it on a live database (it reads whole tables: not for a request).

use std::collections::{BTreeMap, HashMap};

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::ledger::{KINDS, TAILOR_ACCOUNTS};
use crate::storage::StorageError;
use crate::storage::entities::{ledger_entry, ledger_transaction, wallet_balance, wallet_escrow};

/// The platform's accounts, summed from the entries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlatformTotals {
    pub fees: i64,
    pub refunds: i64,
    pub clearing: i64,
}

/// Every broken invariant, as a sentence; empty when the ledger is whole.
pub async fn audit(conn: &impl ConnectionTrait) -> Result<Vec<String>, StorageError> {
    let mut problems = Vec::new();
    let transactions = ledger_transaction::Entity::find().all(conn).await?;
    let entries = ledger_entry::Entity::find().all(conn).await?;
    let by_id: HashMap<Uuid, &ledger_transaction::Model> =
        transactions.iter().map(|t| (t.id, t)).collect();

    let mut sums: HashMap<Uuid, i64> = HashMap::new();
    // (tailor, account) -> sum; tailor -> (earned, fees, lines); source -> held
    let mut accounts: BTreeMap<(Uuid, String), i64> = BTreeMap::new();
    let mut figures: BTreeMap<Uuid, (i64, i64, i64)> = BTreeMap::new();
    let mut escrow: BTreeMap<Uuid, i64> = BTreeMap::new();
    for t in &transactions {
        if let Some(tailor) = t.tailor_id {
            figures.entry(tailor).or_default().2 += 1;
        }
        if KINDS.iter().all(|k| k.as_str() != t.kind) {
            problems.push(format!(
                "transaction {} has an unknown kind {}",
                t.id, t.kind
            ));
        }
    }
    for e in &entries {
        *sums.entry(e.transaction_id).or_default() += e.amount_kobo;
        let Some(t) = by_id.get(&e.transaction_id) else {
            problems.push(format!("entry {} has no transaction", e.id));
            continue;
        };
        let earning = KINDS
            .iter()
            .any(|k| k.as_str() == t.kind && k.counts_as_earning());
        match e.tailor_id {
            Some(tailor) => {
                if t.tailor_id != Some(tailor) {
                    problems.push(format!(
                        "entry {} is another tailor's than its transaction",
                        e.id
                    ));
                }
                *accounts.entry((tailor, e.account.clone())).or_default() += e.amount_kobo;
                if earning {
                    figures.entry(tailor).or_default().0 += e.amount_kobo;
                }
                if e.account == "pending" {
                    *escrow.entry(t.source_id).or_default() += e.amount_kobo;
                }
            }
            None => {
                if let (Some(tailor), "fees") = (t.tailor_id, e.account.as_str()) {
                    figures.entry(tailor).or_default().1 += e.amount_kobo;
                }
            }
        }
    }
    for t in &transactions {
        match sums.get(&t.id) {
            None => problems.push(format!("transaction {} has no entries", t.id)),
            Some(0) => {}
            Some(sum) => problems.push(format!("transaction {} sums to {sum}, not zero", t.id)),
        }
    }

    let wallets = wallet_balance::Entity::find().all(conn).await?;
    for w in &wallets {
        let sum = |account: &str| {
            accounts
                .get(&(w.tailor_id, account.to_string()))
                .copied()
                .unwrap_or(0)
        };
        let (earned, fees, lines) = figures.get(&w.tailor_id).copied().unwrap_or_default();
        let cached = [
            ("pending", w.pending, sum("pending")),
            ("available", w.available, sum("available")),
            ("withdrawing", w.withdrawing, sum("withdrawing")),
            ("paid_out", w.paid_out, sum("paid_out")),
            ("owed", w.owed, sum("owed")),
            ("earned", w.earned, earned),
            ("fees", w.fees, fees),
            ("lines", w.lines, lines),
        ];
        for (name, cached, counted) in cached {
            if cached != counted {
                problems.push(format!(
                    "tailor {}: cached {name} {cached}, entries say {counted}",
                    w.tailor_id
                ));
            }
        }
        for account in TAILOR_ACCOUNTS {
            let balance = sum(account.as_str());
            let wrong_side = match account.as_str() {
                "owed" => balance > 0,
                _ => balance < 0,
            };
            if wrong_side {
                problems.push(format!(
                    "tailor {}: {} is {balance}",
                    w.tailor_id,
                    account.as_str()
                ));
            }
        }
    }
    for (tailor, _) in figures.iter().filter(|(_, f)| f.2 > 0) {
        if !wallets.iter().any(|w| w.tailor_id == *tailor) {
            problems.push(format!("tailor {tailor} has lines but no balance row"));
        }
    }
    let escrows = wallet_escrow::Entity::find().all(conn).await?;
    for row in &escrows {
        let counted = escrow.remove(&row.source_id).unwrap_or(0);
        if row.held_kobo != counted {
            problems.push(format!(
                "escrow of {}: cached {}, entries say {counted}",
                row.source_id, row.held_kobo
            ));
        }
        if row.held_kobo == 0 && row.release_at.is_some() {
            problems.push(format!("escrow of {} is empty but due", row.source_id));
        }
    }
    for (source, held) in escrow.into_iter().filter(|(_, held)| *held != 0) {
        problems.push(format!("escrow of {source}: {held} in entries, no row"));
    }
    Ok(problems)
}

/// The platform's fees, refunds and clearing, summed from the entries.
pub async fn platform_totals(conn: &impl ConnectionTrait) -> Result<PlatformTotals, StorageError> {
    let rows: Vec<(String, i64)> = ledger_entry::Entity::find()
        .select_only()
        .column(ledger_entry::Column::Account)
        .column_as(
            Expr::cust("CAST(COALESCE(SUM(amount_kobo), 0) AS BIGINT)"),
            "total",
        )
        .filter(ledger_entry::Column::TailorId.is_null())
        .group_by(ledger_entry::Column::Account)
        .into_tuple()
        .all(conn)
        .await?;
    let mut totals = PlatformTotals::default();
    for (account, total) in rows {
        match account.as_str() {
            "fees" => totals.fees = total,
            "refunds" => totals.refunds = total,
            "clearing" => totals.clearing = total,
            _ => {}
        }
    }
    Ok(totals)
}

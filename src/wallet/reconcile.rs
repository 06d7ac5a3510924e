//! `atelier reconcile --date D`: one UTC day of Paystack's charges and
//! transfers against our payments, payouts and ledger, both ways, plus the
//! ledger's own audit. Read-only: it reports differences for a person to
//! settle, it never corrects anything.
//!
//! What matches what:
//! - a charge Paystack lists as `success` ↔ our payment with its reference,
//!   the same amount, `paid` (with a ledger `payment` posting) or
//!   `refunded` (paid after its orders expired: refunded whole, so nothing
//!   was credited to a tailor);
//! - a transfer ↔ our payout with its reference and amount, in a status
//!   consistent with Paystack's: `success` ↔ `paid` with a ledger `payout`
//!   posting; `failed`/`reversed` ↔ `failed`/`reversed` with the money
//!   returned (a `payout_returned` posting); anything else (`pending`,
//!   `otp` ...) ↔ one of ours still in progress;
//! - the other way: our payments and payouts created that day and paid,
//!   which Paystack does not list as successful.
//!
//! "That day" is Paystack's `from`/`to` filter (the charge or transfer's
//! creation, i.e. when we initialised or sent it) and our rows' `created_at`:
//! the same moment seen from both sides.

use std::collections::{HashMap, HashSet};
use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::storage::StorageError;
use crate::storage::entities::{ledger_transaction, payment, payout};
use crate::store::{Listed, Paystack};

/// Items asked for per page of Paystack's lists.
pub const PER_PAGE: u64 = 100;
/// Pages followed at most per list: a guard against a provider that never
/// says it is done (10,000 items a day is far above our volume).
const MAX_PAGES: u64 = 100;
/// Values per `IN (...)`, well under both backends' parameter limits.
const CHUNK: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("Paystack: {0}")]
    Provider(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<sea_orm::DbErr> for ReconcileError {
    fn from(err: sea_orm::DbErr) -> Self {
        ReconcileError::Storage(err.into())
    }
}

/// One difference between Paystack and us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// e.g. `charge_missing_here`, `transfer_status_mismatch`.
    pub kind: &'static str,
    pub reference: String,
    /// Kobo as Paystack has it; `None` when Paystack does not have it.
    pub paystack: Option<i64>,
    /// Kobo as we have it; `None` when we do not.
    pub ours: Option<i64>,
    pub detail: String,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let amount = |a: Option<i64>| a.map_or_else(|| "-".to_string(), |a| a.to_string());
        write!(
            f,
            "{} reference={} paystack={} ours={} {}",
            self.kind,
            self.reference,
            amount(self.paystack),
            amount(self.ours),
            self.detail
        )
    }
}

/// What a run found.
#[derive(Debug, Default)]
pub struct Report {
    pub day: Option<NaiveDate>,
    pub charges: usize,
    pub transfers: usize,
    pub differences: Vec<Difference>,
    /// The ledger audit's broken invariants.
    pub ledger_problems: Vec<String>,
}

impl Report {
    pub fn is_clean(&self) -> bool {
        self.differences.is_empty() && self.ledger_problems.is_empty()
    }

    /// The report as printed: a line per difference, then the summary.
    pub fn lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self.differences.iter().map(|d| d.to_string()).collect();
        lines.extend(
            self.ledger_problems
                .iter()
                .map(|p| format!("ledger_problem {p}")),
        );
        let day = self.day.map(|d| d.to_string()).unwrap_or_default();
        lines.push(format!(
            "reconcile {day}: {} charges and {} transfers at Paystack; {} differences, {} ledger problems: {}",
            self.charges,
            self.transfers,
            self.differences.len(),
            self.ledger_problems.len(),
            if self.is_clean() { "OK" } else { "MISMATCH" }
        ));
        lines
    }
}

/// `[start, end)` of the UTC day.
fn bounds(day: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = day.and_time(NaiveTime::MIN).and_utc();
    (start, start + TimeDelta::days(1))
}

/// Compares `day` at Paystack with the database.
pub async fn reconcile(
    db: &impl ConnectionTrait,
    paystack: &Paystack,
    day: NaiveDate,
) -> Result<Report, ReconcileError> {
    let (start, end) = bounds(day);
    let from = start.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    // Paystack's `to` is inclusive: the day's last millisecond.
    let to =
        (end - TimeDelta::milliseconds(1)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let charges = fetch_all(|page| paystack.list_transactions(&from, &to, page, PER_PAGE)).await?;
    let transfers = fetch_all(|page| paystack.list_transfers(&from, &to, page, PER_PAGE)).await?;
    let mut report = Report {
        day: Some(day),
        charges: charges.len(),
        transfers: transfers.len(),
        ..Report::default()
    };
    report
        .differences
        .extend(compare_charges(db, &charges, start, end).await?);
    report
        .differences
        .extend(compare_transfers(db, &transfers, start, end).await?);
    report.ledger_problems = super::audit::audit(db).await?;
    Ok(report)
}

/// Every page of a list, following `meta.pageCount`.
async fn fetch_all<F, Fut>(mut fetch: F) -> Result<Vec<Listed>, ReconcileError>
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Result<crate::store::ListPage<Listed>, crate::store::ProviderError>>,
{
    let mut all = Vec::new();
    let mut page = 1;
    loop {
        let listed = fetch(page)
            .await
            .map_err(|e| ReconcileError::Provider(e.0))?;
        let empty = listed.items.is_empty();
        all.extend(listed.items);
        if empty || page >= listed.page_count {
            return Ok(all);
        }
        if page >= MAX_PAGES {
            return Err(ReconcileError::Provider(format!(
                "more than {MAX_PAGES} pages of {PER_PAGE}: refusing to guess the rest"
            )));
        }
        page += 1;
    }
}

fn reference_of(listed: &Listed) -> String {
    listed.reference.clone().unwrap_or_default()
}

/// Rows whose `column` is one of `values`, a chunk at a time.
async fn rows_in<E, C>(
    db: &impl ConnectionTrait,
    column: C,
    values: Vec<String>,
) -> Result<Vec<E::Model>, ReconcileError>
where
    E: EntityTrait,
    C: ColumnTrait,
{
    let mut rows = Vec::new();
    for chunk in values.chunks(CHUNK) {
        rows.extend(
            E::find()
                .filter(column.is_in(chunk.iter().cloned()))
                .all(db)
                .await?,
        );
    }
    Ok(rows)
}

/// The ids of payments with a ledger `payment` posting: its dedup key is
/// `payment:<payment id>:<order or commission id>`. A payment is credited
/// when it settles, never before it was created, so postings from the
/// day's start on are enough.
async fn credited_payments(
    db: &impl ConnectionTrait,
    since: DateTime<Utc>,
) -> Result<HashSet<Uuid>, ReconcileError> {
    let keys: Vec<String> = ledger_transaction::Entity::find()
        .select_only()
        .column(ledger_transaction::Column::DedupKey)
        .filter(ledger_transaction::Column::Kind.eq("payment"))
        .filter(ledger_transaction::Column::CreatedAt.gte(since))
        .into_tuple()
        .all(db)
        .await?;
    Ok(keys
        .iter()
        .filter_map(|k| k.strip_prefix("payment:")?.split(':').next()?.parse().ok())
        .collect())
}

async fn compare_charges(
    db: &impl ConnectionTrait,
    charges: &[Listed],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<Difference>, ReconcileError> {
    let mut out = Vec::new();
    let successful: Vec<&Listed> = charges.iter().filter(|c| c.status == "success").collect();
    let references: Vec<String> = successful.iter().map(|c| reference_of(c)).collect();
    let ours: HashMap<String, payment::Model> =
        rows_in::<payment::Entity, _>(db, payment::Column::Reference, references)
            .await?
            .into_iter()
            .map(|p| (p.reference.clone(), p))
            .collect();
    let credited = credited_payments(db, start).await?;
    for charge in &successful {
        let reference = reference_of(charge);
        let difference = |kind, ours: Option<i64>, detail: String| Difference {
            kind,
            reference: reference.clone(),
            paystack: Some(charge.amount),
            ours,
            detail,
        };
        let Some(row) = ours.get(&reference) else {
            out.push(difference(
                "charge_missing_here",
                None,
                "Paystack has a successful charge we have no payment for".into(),
            ));
            continue;
        };
        if row.amount_kobo != charge.amount {
            out.push(difference(
                "charge_amount_mismatch",
                Some(row.amount_kobo),
                format!("our payment {} is {}", row.id, row.status),
            ));
            continue;
        }
        match row.status.as_str() {
            "paid" if !credited.contains(&row.id) => out.push(difference(
                "charge_not_in_ledger",
                Some(row.amount_kobo),
                format!(
                    "payment {} is paid but has no ledger payment posting",
                    row.id
                ),
            )),
            "paid" | "refunded" => {}
            other => out.push(difference(
                "charge_status_mismatch",
                Some(row.amount_kobo),
                format!("Paystack says success, our payment {} is {other}", row.id),
            )),
        }
    }

    let listed: HashMap<String, &Listed> = charges.iter().map(|c| (reference_of(c), c)).collect();
    let paid_here = payment::Entity::find()
        .filter(payment::Column::CreatedAt.gte(start))
        .filter(payment::Column::CreatedAt.lt(end))
        .filter(payment::Column::Status.is_in(["paid", "refunded"]))
        .all(db)
        .await?;
    for row in paid_here {
        let at_paystack = listed.get(&row.reference);
        if at_paystack.is_some_and(|c| c.status == "success") {
            continue;
        }
        out.push(Difference {
            kind: "payment_missing_at_paystack",
            reference: row.reference.clone(),
            paystack: at_paystack.map(|c| c.amount),
            ours: Some(row.amount_kobo),
            detail: match at_paystack {
                Some(c) => format!(
                    "our payment {} is {}, Paystack says {}",
                    row.id, row.status, c.status
                ),
                None => format!(
                    "our payment {} is {}, Paystack does not list it",
                    row.id, row.status
                ),
            },
        });
    }
    Ok(out)
}

/// Which of ours a Paystack transfer status agrees with, and the ledger
/// posting that must exist then.
fn expected_for(paystack_status: &str) -> (&'static [&'static str], Option<&'static str>) {
    match paystack_status {
        "success" => (&["paid"], Some("payout")),
        "failed" | "reversed" => (&["failed", "reversed"], Some("payout_returned")),
        // pending, otp, received, queued, processing ...: still moving.
        _ => (&["pending", "processing", "unconfirmed"], None),
    }
}

async fn compare_transfers(
    db: &impl ConnectionTrait,
    transfers: &[Listed],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<Difference>, ReconcileError> {
    let mut out = Vec::new();
    let references: Vec<String> = transfers.iter().map(reference_of).collect();
    let ours: HashMap<String, payout::Model> =
        rows_in::<payout::Entity, _>(db, payout::Column::Reference, references)
            .await?
            .into_iter()
            .map(|p| (p.reference.clone(), p))
            .collect();
    let keys: Vec<String> = ours
        .values()
        .flat_map(|p| {
            [
                format!("payout:{}", p.id),
                format!("payout_returned:{}", p.id),
                format!("payout_reversed:{}", p.id),
            ]
        })
        .collect();
    let posted: HashSet<String> =
        rows_in::<ledger_transaction::Entity, _>(db, ledger_transaction::Column::DedupKey, keys)
            .await?
            .into_iter()
            .map(|t| t.dedup_key)
            .collect();
    for transfer in transfers {
        let reference = reference_of(transfer);
        let difference = |kind, ours: Option<i64>, detail: String| Difference {
            kind,
            reference: reference.clone(),
            paystack: Some(transfer.amount),
            ours,
            detail,
        };
        let Some(row) = ours.get(&reference) else {
            out.push(difference(
                "transfer_missing_here",
                None,
                format!(
                    "Paystack has a {} transfer we have no payout for",
                    transfer.status
                ),
            ));
            continue;
        };
        if row.amount_kobo != transfer.amount {
            out.push(difference(
                "transfer_amount_mismatch",
                Some(row.amount_kobo),
                format!("our payout {} is {}", row.id, row.status),
            ));
            continue;
        }
        let (statuses, posting) = expected_for(&transfer.status);
        if !statuses.contains(&row.status.as_str()) {
            out.push(difference(
                "transfer_status_mismatch",
                Some(row.amount_kobo),
                format!(
                    "Paystack says {}, our payout {} is {}",
                    transfer.status, row.id, row.status
                ),
            ));
            continue;
        }
        // A transfer reversed after it was paid gives the money back with
        // its own posting (`flows::payout_reversed`), not `payout_returned`.
        let returned_after_paid = posting == Some("payout_returned")
            && posted.contains(&format!("payout_reversed:{}", row.id));
        if let Some(kind) = posting
            && !returned_after_paid
            && !posted.contains(&format!("{kind}:{}", row.id))
        {
            out.push(difference(
                "transfer_not_in_ledger",
                Some(row.amount_kobo),
                format!(
                    "payout {} is {} but has no ledger {kind} posting",
                    row.id, row.status
                ),
            ));
        }
    }

    let listed: HashSet<String> = transfers.iter().map(reference_of).collect();
    let paid_here = payout::Entity::find()
        .filter(payout::Column::CreatedAt.gte(start))
        .filter(payout::Column::CreatedAt.lt(end))
        .filter(payout::Column::Status.eq("paid"))
        .all(db)
        .await?;
    for row in paid_here
        .into_iter()
        .filter(|p| !listed.contains(&p.reference))
    {
        out.push(Difference {
            kind: "payout_missing_at_paystack",
            reference: row.reference.clone(),
            paystack: None,
            ours: Some(row.amount_kobo),
            detail: format!("our payout {} is paid, Paystack does not list it", row.id),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_its_utc_midnights() {
        let (start, end) = bounds(NaiveDate::from_ymd_opt(2026, 3, 1).unwrap());
        assert_eq!(start.to_rfc3339(), "2026-03-01T00:00:00+00:00");
        assert_eq!(end - start, TimeDelta::days(1));
    }

    #[test]
    fn transfer_statuses_pair_with_ours() {
        assert_eq!(expected_for("success"), (&["paid"][..], Some("payout")));
        assert!(expected_for("reversed").0.contains(&"failed"));
        assert!(expected_for("otp").0.contains(&"unconfirmed"));
    }

    #[test]
    fn a_difference_is_one_line_with_both_amounts() {
        let d = Difference {
            kind: "charge_amount_mismatch",
            reference: "ATL-1".into(),
            paystack: Some(300),
            ours: None,
            detail: "x".into(),
        };
        assert_eq!(
            d.to_string(),
            "charge_amount_mismatch reference=ATL-1 paystack=300 ours=- x"
        );
    }
}

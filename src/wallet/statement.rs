//! What a tailor reads: the wallet (balances, lifetime figures, the next
//! releases) and the statement (one line per ledger transaction naming the
//! tailor, newest first, or as CSV oldest first).
//!
//! The statement's first page is one statement whatever its length: one
//! range of the statement index, the page's entries summed per line by the
//! database, and the count from the balance row. Rows are what cost on
//! SQLite (each crosses from the connection's thread on its own), so the
//! page comes back as its 20 lines, not as their 60-odd entries.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use sea_orm::sea_query::{Alias, Expr, Order, Query, SimpleExpr, SubQueryStatement};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::ledger::{KINDS, Kind, balances};
use super::{WalletError, WalletService};
use crate::storage::entities::{
    ledger_entry, ledger_transaction, user, wallet_balance, wallet_escrow,
};
use crate::validation::FieldErrors;

/// Releases shown in the wallet, of each sort (dated, undated).
const NEXT_RELEASES: u64 = 20;
/// Lines read per query while writing a CSV.
const CSV_CHUNK: u64 = 2_000;

/// Money in escrow for one order or commission, and when it is released.
#[derive(Debug, Serialize, ToSchema)]
pub struct UpcomingRelease {
    /// `order` or `commission`.
    pub source_kind: String,
    pub order_id: Option<Uuid>,
    pub commission_id: Option<Uuid>,
    /// Kobo that become available (less any debt to the platform).
    pub amount: i64,
    /// When a delivered order's hold ends; null until the order is
    /// delivered, and for a commission (released when it completes).
    pub release_at: Option<DateTime<Utc>>,
}

/// The tailor's money, in kobo.
#[derive(Debug, Serialize, ToSchema)]
pub struct WalletView {
    pub currency: &'static str,
    /// Yours to withdraw.
    pub available: i64,
    /// In escrow: paid by customers, released on completion or after
    /// delivery plus the hold.
    pub pending: i64,
    /// Held for a withdrawal in progress.
    pub withdrawing: i64,
    pub paid_out: i64,
    /// What you owe the platform (fees of money collected in person, or a
    /// refund larger than your balance); deducted from your next releases.
    pub owed: i64,
    /// Customers' payments credited to you, after the platform's fee and refunds.
    pub lifetime_earned: i64,
    /// The platform's fees on your sales, net of fees given back on refunds.
    pub fees_paid: i64,
    /// The platform's fee, in basis points (1000 = 10%).
    pub fee_bps: u32,
    /// Days a delivered order's money stays in escrow.
    pub hold_days: f64,
    /// Dated releases soonest first, then the undated ones.
    pub next_releases: Vec<UpcomingRelease>,
}

/// How one line changed each of your balances (kobo; `owed` is your debt).
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct BalanceEffect {
    pub pending: i64,
    pub available: i64,
    pub withdrawing: i64,
    pub paid_out: i64,
    pub owed: i64,
}

/// One line of the statement: one ledger transaction.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatementLine {
    /// The ledger transaction's id.
    pub id: Uuid,
    #[schema(value_type = super::ledger::Kind)]
    pub kind: String,
    /// `order`, `commission`, `payment`, `payout` or `adjustment`.
    pub source_kind: String,
    pub source_id: Uuid,
    pub order_id: Option<Uuid>,
    pub commission_id: Option<Uuid>,
    pub memo: String,
    /// The money the line moves, in kobo (a payment's total, a refund, a release).
    pub amount: i64,
    /// The platform's fee in it: taken (positive) or given back (negative).
    pub fee: i64,
    /// What it changed in your money: credited (positive) or taken (negative).
    pub net: i64,
    pub effect: BalanceEffect,
    pub created_at: DateTime<Utc>,
}

pub struct StatementPage {
    pub count: u64,
    pub lines: Vec<StatementLine>,
}

/// A statement's filters, as sent.
#[derive(Debug, Default)]
pub struct StatementFilters {
    pub from: Option<String>,
    pub to: Option<String>,
    pub kind: Option<String>,
}

/// The filters, checked: a UTC date range and a kind.
struct Filters {
    from: Option<DateTime<Utc>>,
    /// Exclusive: the day after `to`.
    until: Option<DateTime<Utc>>,
    kind: Option<Kind>,
}

impl Filters {
    fn parse(raw: &StatementFilters) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let from = day(&mut errors, "from", raw.from.as_deref());
        let to = day(&mut errors, "to", raw.to.as_deref());
        if let (Some(from), Some(to)) = (from, to)
            && to < from
        {
            errors.add("to", "Must be on or after `from`.");
        }
        let kind = match raw.kind.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
            None => None,
            Some(k) => Kind::parse(k).or_else(|| {
                let names: Vec<&str> = KINDS.iter().map(|k| k.as_str()).collect();
                errors.add("kind", format!("Choose one of: {}.", names.join(", ")));
                None
            }),
        };
        errors.into_result()?;
        let midnight = |d: NaiveDate| d.and_time(NaiveTime::MIN).and_utc();
        Ok(Self {
            from: from.map(midnight),
            until: to.map(|d| midnight(d) + TimeDelta::days(1)),
            kind,
        })
    }

    fn is_empty(&self) -> bool {
        self.from.is_none() && self.until.is_none() && self.kind.is_none()
    }

    fn select(&self, tailor: Uuid) -> Select<ledger_transaction::Entity> {
        use ledger_transaction::Column as C;
        let mut select = ledger_transaction::Entity::find().filter(C::TailorId.eq(tailor));
        if let Some(kind) = self.kind {
            select = select.filter(C::Kind.eq(kind.as_str()));
        }
        if let Some(from) = self.from {
            select = select.filter(C::CreatedAt.gte(from));
        }
        if let Some(until) = self.until {
            select = select.filter(C::CreatedAt.lt(until));
        }
        select
    }
}

fn day(errors: &mut FieldErrors, field: &str, raw: Option<&str>) -> Option<NaiveDate> {
    let raw = raw.map(str::trim).filter(|r| !r.is_empty())?;
    match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        Ok(day) if raw.len() == 10 => Some(day),
        _ => {
            errors.add(field, "Must be a date: YYYY-MM-DD.");
            None
        }
    }
}

fn ensure_tailor(me: &user::Model) -> Result<(), WalletError> {
    if me.role == "tailor" {
        Ok(())
    } else {
        Err(WalletError::Forbidden("Only tailors have a wallet."))
    }
}

impl WalletService {
    pub async fn wallet(&self, me: &user::Model) -> Result<WalletView, WalletError> {
        ensure_tailor(me)?;
        self.wallet_of(me.id).await
    }

    /// The wallet of `tailor` as its tailor sees it (staff read it too);
    /// the caller checks who may.
    pub(crate) async fn wallet_of(&self, tailor: Uuid) -> Result<WalletView, WalletError> {
        let b = balances(&self.db, tailor).await?;
        use wallet_escrow::Column as C;
        let held = || {
            wallet_escrow::Entity::find()
                .filter(C::TailorId.eq(tailor))
                .filter(C::HeldKobo.gt(0))
                .limit(NEXT_RELEASES)
        };
        let mut next = held()
            .filter(C::ReleaseAt.is_not_null())
            .order_by_asc(C::ReleaseAt)
            .all(&self.db)
            .await?;
        next.extend(
            held()
                .filter(C::ReleaseAt.is_null())
                .order_by_asc(C::UpdatedAt)
                .all(&self.db)
                .await?,
        );
        Ok(WalletView {
            currency: crate::store::CURRENCY,
            available: b.available,
            pending: b.pending,
            withdrawing: b.withdrawing,
            paid_out: b.paid_out,
            owed: b.debt(),
            lifetime_earned: b.earned,
            fees_paid: b.fees,
            fee_bps: self.settings.fee_bps,
            hold_days: self.settings.hold.as_secs_f64() / 86_400.0,
            next_releases: next
                .into_iter()
                .map(|row| {
                    let (order_id, commission_id) = ids_of(&row.source_kind, row.source_id);
                    UpcomingRelease {
                        source_kind: row.source_kind,
                        order_id,
                        commission_id,
                        amount: row.held_kobo,
                        release_at: row.release_at,
                    }
                })
                .collect(),
        })
    }

    /// One page of the statement, newest first; `None` past the last page.
    pub async fn statement(
        &self,
        me: &user::Model,
        filters: &StatementFilters,
        page: u64,
        page_size: u64,
    ) -> Result<Option<StatementPage>, WalletError> {
        ensure_tailor(me)?;
        let filters = Filters::parse(filters)?;
        use ledger_transaction::Column as C;
        let newest_first = |select: Select<ledger_transaction::Entity>| {
            select.order_by_desc(C::CreatedAt).order_by_desc(C::Id)
        };
        if !filters.is_empty() {
            let count = filters.select(me.id).count(&self.db).await?;
            let Some(offset) = crate::storage::page_offset(page, page_size, count) else {
                return Ok(None);
            };
            let ids = newest_first(filters.select(me.id))
                .offset(offset)
                .limit(page_size);
            let rows = self.line_rows(ids, Order::Desc, None).await?;
            return Ok(Some(StatementPage {
                count,
                lines: rows.into_iter().map(LineRow::into_line).collect(),
            }));
        }
        // Unfiltered, the count is the balance row's, read in the same
        // statement as the page (one snapshot): no count of 100,000 lines.
        let Some(offset) = page.checked_sub(1).and_then(|p| p.checked_mul(page_size)) else {
            return Ok(None);
        };
        let ids = newest_first(filters.select(me.id))
            .offset(offset)
            .limit(page_size);
        let rows = self.line_rows(ids, Order::Desc, Some(me.id)).await?;
        let count = rows.first().and_then(|r| r.total).unwrap_or(0).max(0) as u64;
        if crate::storage::page_offset(page, page_size, count).is_none() {
            return Ok(None);
        }
        Ok(Some(StatementPage {
            count,
            lines: rows.into_iter().map(LineRow::into_line).collect(),
        }))
    }

    /// The statement of a date range as CSV, oldest first.
    pub async fn statement_csv(
        &self,
        me: &user::Model,
        filters: &StatementFilters,
    ) -> Result<String, WalletError> {
        ensure_tailor(me)?;
        let filters = Filters::parse(filters)?;
        use ledger_transaction::Column as C;
        let mut out = String::from(
            "date,transaction_id,kind,order_id,commission_id,memo,amount_kobo,fee_kobo,net_kobo,\
             pending_kobo,available_kobo,withdrawing_kobo,paid_out_kobo,owed_kobo\n",
        );
        let mut after: Option<(DateTime<Utc>, Uuid)> = None;
        loop {
            let mut select = filters.select(me.id);
            if let Some((at, id)) = after {
                select = select.filter(
                    Condition::any()
                        .add(C::CreatedAt.gt(at))
                        .add(Condition::all().add(C::CreatedAt.eq(at)).add(C::Id.gt(id))),
                );
            }
            let ids = select
                .order_by_asc(C::CreatedAt)
                .order_by_asc(C::Id)
                .limit(CSV_CHUNK);
            let rows = self.line_rows(ids, Order::Asc, None).await?;
            let full = rows.len() as u64 == CSV_CHUNK;
            after = rows.last().map(|r| (r.created_at, r.id));
            for row in rows {
                csv_row(&mut out, &row.into_line());
            }
            if !full {
                return Ok(out);
            }
        }
    }

    /// The lines of the transactions `ids` selects, in its order, each with
    /// its entries summed per account by the database; with the tailor's
    /// line count on every row when `total_of` names them.
    async fn line_rows(
        &self,
        ids: Select<ledger_transaction::Entity>,
        order: Order,
        total_of: Option<uuid::Uuid>,
    ) -> Result<Vec<LineRow>, WalletError> {
        use ledger_entry::Column as E;
        use ledger_transaction::Column as T;
        let ids = ids.select_only().column(T::Id).into_query();
        let mut query = Query::select();
        query
            .columns([
                (ledger_transaction::Entity, T::Id),
                (ledger_transaction::Entity, T::Kind),
                (ledger_transaction::Entity, T::SourceKind),
                (ledger_transaction::Entity, T::SourceId),
                (ledger_transaction::Entity, T::Memo),
                (ledger_transaction::Entity, T::CreatedAt),
            ])
            .from(ledger_transaction::Entity)
            .inner_join(
                ledger_entry::Entity,
                Expr::col((ledger_entry::Entity, E::TransactionId))
                    .equals((ledger_transaction::Entity, T::Id)),
            )
            .and_where(Expr::col((ledger_transaction::Entity, T::Id)).in_subquery(ids))
            .group_by_col((ledger_transaction::Entity, T::Id))
            .order_by((ledger_transaction::Entity, T::CreatedAt), order.clone())
            .order_by((ledger_transaction::Entity, T::Id), order);
        for (name, condition) in [
            ("amount", "amount_kobo > 0"),
            ("fee", "account = 'fees'"),
            ("net", "tailor_id IS NOT NULL"),
            ("pending", "account = 'pending'"),
            ("available", "account = 'available'"),
            ("withdrawing", "account = 'withdrawing'"),
            ("paid_out", "account = 'paid_out'"),
            ("owed", "account = 'owed'"),
        ] {
            // Static SQL: the account names are ours, never the caller's.
            let sum = format!(
                "CAST(COALESCE(SUM(CASE WHEN ledger_entries.{condition} \
                 THEN ledger_entries.amount_kobo ELSE 0 END), 0) AS BIGINT)"
            );
            query.expr_as(Expr::cust(sum), Alias::new(name));
        }
        if let Some(tailor) = total_of {
            let lines = Query::select()
                .column(wallet_balance::Column::Lines)
                .from(wallet_balance::Entity)
                .and_where(wallet_balance::Column::TailorId.eq(tailor))
                .to_owned();
            query.expr_as(
                SimpleExpr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(lines))),
                Alias::new("total"),
            );
        } else {
            query.expr_as(Expr::cust("CAST(NULL AS BIGINT)"), Alias::new("total"));
        }
        let statement = self.db.get_database_backend().build(&query);
        Ok(LineRow::find_by_statement(statement).all(&self.db).await?)
    }
}

/// One statement line as the database sums it.
#[derive(Debug, FromQueryResult)]
struct LineRow {
    id: uuid::Uuid,
    kind: String,
    source_kind: String,
    source_id: uuid::Uuid,
    memo: String,
    created_at: DateTime<Utc>,
    amount: i64,
    fee: i64,
    net: i64,
    pending: i64,
    available: i64,
    withdrawing: i64,
    paid_out: i64,
    /// The balance's change: the debt moves the other way.
    owed: i64,
    total: Option<i64>,
}

impl LineRow {
    fn into_line(self) -> StatementLine {
        let (order_id, commission_id) = ids_of(&self.source_kind, self.source_id);
        StatementLine {
            id: self.id,
            kind: self.kind,
            source_kind: self.source_kind,
            source_id: self.source_id,
            order_id,
            commission_id,
            memo: self.memo,
            amount: self.amount,
            fee: self.fee,
            net: self.net,
            effect: BalanceEffect {
                pending: self.pending,
                available: self.available,
                withdrawing: self.withdrawing,
                paid_out: self.paid_out,
                owed: -self.owed,
            },
            created_at: self.created_at,
        }
    }
}

fn ids_of(source_kind: &str, id: Uuid) -> (Option<Uuid>, Option<Uuid>) {
    match source_kind {
        "order" => (Some(id), None),
        "commission" => (None, Some(id)),
        _ => (None, None),
    }
}

fn csv_row(out: &mut String, line: &StatementLine) {
    use std::fmt::Write;
    let id = |id: Option<Uuid>| id.map(|i| i.to_string()).unwrap_or_default();
    // Memos are ours, but quoted anyway: a comma or quote would shift columns.
    let memo = format!("\"{}\"", line.memo.replace('"', "\"\""));
    let e = &line.effect;
    let _ = writeln!(
        out,
        "{},{},{},{},{},{memo},{},{},{},{},{},{},{},{}",
        line.created_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        line.id,
        line.kind,
        id(line.order_id),
        id(line.commission_id),
        line.amount,
        line.fee,
        line.net,
        e.pending,
        e.available,
        e.withdrawing,
        e.paid_out,
        e.owed,
    );
}

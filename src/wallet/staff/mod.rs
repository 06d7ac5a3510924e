//! What staff do to and read of tailors' money: manual adjustments (each a
//! ledger `adjustment` written in the same transaction as its audit row), a
//! tailor's wallet as the tailor sees it, and the audit log itself.
//!
//! An adjustment's amount is what the tailor gains (positive) or loses
//! (negative), on one of two accounts:
//! - `available`: money the tailor can withdraw. A debit can never take it
//!   below zero (the ledger's conditional update refuses: 409).
//! - `owed`: the tailor's debt to the platform. A negative amount adds to
//!   the debt (it is then settled from later releases, as fees owed are); a
//!   positive one forgives debt, never more than there is.
//!
//! The other side is the platform's `adjustments` account, not `fees`: what
//! corrections gave away or took stays one sum, and neither the tailor's
//! "fees paid" nor the platform's fee revenue moves with them.

pub mod http;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::ledger::{
    self, Entry, Kind, LedgerError, PlatformAccount, Posting, Source, SourceKind, TailorAccount,
};
use super::staff_actions::{self, StaffAction};
use super::{WalletService, WalletView};
use crate::storage::StorageError;
use crate::storage::entities::{staff_action, user};
use crate::validation::FieldErrors;

/// Longest reason staff may give.
pub const MAX_REASON: usize = 500;
/// The audit log's name for an adjustment.
pub const ADJUST_ACTION: &str = "wallet.adjust";

#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("staff only")]
    StaffOnly,
    #[error("no such tailor")]
    NoSuchTailor,
    #[error("insufficient {account}: {short} kobo short")]
    Insufficient { account: &'static str, short: i64 },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<FieldErrors> for StaffError {
    fn from(errors: FieldErrors) -> Self {
        StaffError::Invalid(errors)
    }
}

impl From<sea_orm::DbErr> for StaffError {
    fn from(err: sea_orm::DbErr) -> Self {
        StaffError::Storage(err.into())
    }
}

impl From<LedgerError> for StaffError {
    fn from(err: LedgerError) -> Self {
        match err {
            LedgerError::Insufficient { account, short } => {
                StaffError::Insufficient { account, short }
            }
            LedgerError::Storage(e) => StaffError::Storage(e),
            LedgerError::Invalid(why) => StaffError::Storage(StorageError::Other(why)),
        }
    }
}

impl From<super::WalletError> for StaffError {
    fn from(err: super::WalletError) -> Self {
        match err {
            super::WalletError::Invalid(errors) => StaffError::Invalid(errors),
            super::WalletError::Forbidden(_) => StaffError::StaffOnly,
            super::WalletError::Ledger(e) => e.into(),
        }
    }
}

/// An adjustment as staff asked for it, checked by [`AdjustInput::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdjustAccount {
    Available,
    Owed,
}

impl AdjustAccount {
    pub fn as_str(self) -> &'static str {
        match self {
            AdjustAccount::Available => "available",
            AdjustAccount::Owed => "owed",
        }
    }

    fn tailor_account(self) -> TailorAccount {
        match self {
            AdjustAccount::Available => TailorAccount::Available,
            AdjustAccount::Owed => TailorAccount::Owed,
        }
    }
}

/// A checked adjustment.
#[derive(Debug, Clone)]
pub struct AdjustInput {
    pub amount: i64,
    pub account: AdjustAccount,
    pub reason: String,
}

impl AdjustInput {
    /// Reads the request body's fields, DRF-style: every bad field named.
    pub fn from_json(body: &serde_json::Value) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let amount = match body.get("amount") {
            None | Some(serde_json::Value::Null) => {
                errors.add("amount", "This field is required.");
                None
            }
            Some(value) => match value.as_i64() {
                Some(0) => {
                    errors.add("amount", "Must not be zero.");
                    None
                }
                Some(amount) => Some(amount),
                None => {
                    errors.add("amount", "A valid integer (kobo) is required.");
                    None
                }
            },
        };
        let account = match body.get("account").and_then(|a| a.as_str()) {
            None => {
                errors.add("account", "This field is required.");
                None
            }
            Some("available") => Some(AdjustAccount::Available),
            Some("owed") => Some(AdjustAccount::Owed),
            Some(other) => {
                errors.add(
                    "account",
                    format!("\"{other}\" is not a valid choice: available, owed."),
                );
                None
            }
        };
        let reason = match body.get("reason") {
            None | Some(serde_json::Value::Null) => {
                errors.add("reason", "This field is required.");
                None
            }
            Some(serde_json::Value::String(r)) if r.trim().is_empty() => {
                errors.add("reason", "This field may not be blank.");
                None
            }
            Some(serde_json::Value::String(r)) => {
                errors.max_len("reason", r.trim(), MAX_REASON);
                Some(r.trim().to_string())
            }
            Some(_) => {
                errors.add("reason", "Not a valid string.");
                None
            }
        };
        errors.into_result()?;
        Ok(Self {
            amount: amount.expect("checked"),
            account: account.expect("checked"),
            reason: reason.expect("checked"),
        })
    }
}

/// An adjustment, written.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdjustmentView {
    /// The adjustment's id (the ledger line's `source_id`).
    pub id: Uuid,
    /// The ledger transaction: its line on the tailor's statement.
    pub transaction_id: Uuid,
    pub tailor_id: Uuid,
    pub staff_id: Uuid,
    /// `available` or `owed`.
    pub account: &'static str,
    /// Kobo the tailor gained (positive) or lost (negative).
    pub amount: i64,
    pub reason: String,
    pub created_at: DateTime<Utc>,
    /// The tailor's wallet afterwards.
    pub wallet: WalletView,
}

/// What the audit row of an adjustment keeps besides its reason.
#[derive(Serialize)]
struct AdjustDetails {
    adjustment_id: Uuid,
    transaction_id: Uuid,
    account: &'static str,
    amount: i64,
}

/// One row of the audit log.
#[derive(Debug, Serialize, ToSchema)]
pub struct StaffActionView {
    pub id: Uuid,
    pub staff_id: Uuid,
    /// e.g. `wallet.adjust`, `payout.retry`, `payout.close`.
    pub action: String,
    /// `tailor`, `payout`, ...
    pub subject_kind: String,
    pub subject_id: Uuid,
    /// The reason staff gave.
    pub note: String,
    /// What the action changed (amounts, statuses).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

impl From<staff_action::Model> for StaffActionView {
    fn from(row: staff_action::Model) -> Self {
        Self {
            id: row.id,
            staff_id: row.staff_id,
            action: row.action,
            subject_kind: row.subject_kind,
            subject_id: row.subject_id,
            note: row.note,
            // Written by `record` as JSON; kept as text should that ever break.
            details: serde_json::from_str(&row.details)
                .unwrap_or(serde_json::Value::String(row.details)),
            created_at: row.created_at,
        }
    }
}

/// The audit log's filters, as sent.
#[derive(Debug, Default)]
pub struct ActionFilters {
    pub action: Option<String>,
    pub subject_id: Option<String>,
    pub staff_id: Option<String>,
}

pub struct ActionsPage {
    pub count: u64,
    pub actions: Vec<StaffActionView>,
}

fn staff_only(me: &user::Model) -> Result<(), StaffError> {
    if me.is_staff || me.is_superuser {
        Ok(())
    } else {
        Err(StaffError::StaffOnly)
    }
}

fn uuid_filter(errors: &mut FieldErrors, field: &str, raw: Option<&str>) -> Option<Uuid> {
    let raw = raw.map(str::trim).filter(|r| !r.is_empty())?;
    Uuid::parse_str(raw)
        .map_err(|_| errors.add(field, "Must be a valid UUID."))
        .ok()
}

impl WalletService {
    /// The user, if it is a tailor (deleted ones too: their money may
    /// still need settling).
    async fn tailor(&self, id: Uuid) -> Result<user::Model, StaffError> {
        user::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .filter(|u| u.role == "tailor")
            .ok_or(StaffError::NoSuchTailor)
    }

    /// A tailor's wallet, for staff.
    pub async fn staff_wallet(
        &self,
        me: &user::Model,
        tailor: Uuid,
    ) -> Result<WalletView, StaffError> {
        staff_only(me)?;
        self.tailor(tailor).await?;
        Ok(self.wallet_of(tailor).await?)
    }

    /// Posts the adjustment and its audit row in one transaction.
    pub async fn adjust(
        &self,
        me: &user::Model,
        tailor: Uuid,
        body: &serde_json::Value,
    ) -> Result<AdjustmentView, StaffError> {
        staff_only(me)?;
        self.tailor(tailor).await?;
        let input = AdjustInput::from_json(body)?;
        let adjustment_id = Uuid::now_v7();
        let txn = self.db.begin().await?;
        // The posting starts with the tailor's balance row (a write), so the
        // transaction takes SQLite's write lock before it reads anything.
        let posted = ledger::post(
            &txn,
            Posting {
                kind: Kind::Adjustment,
                dedup_key: format!("adjustment:{adjustment_id}"),
                tailor_id: Some(tailor),
                source: Source {
                    kind: SourceKind::Adjustment,
                    id: adjustment_id,
                },
                memo: input.reason.clone(),
                entries: vec![
                    Entry::tailor(input.account.tailor_account(), input.amount),
                    Entry::platform(PlatformAccount::Adjustments, -input.amount),
                ],
            },
        )
        .await;
        let transaction_id = match posted {
            Ok(ledger::Posted::New { transaction_id }) => transaction_id,
            Ok(ledger::Posted::Duplicate) => {
                txn.rollback().await?;
                return Err(StaffError::Storage(StorageError::Other(
                    "a fresh adjustment id was posted before".into(),
                )));
            }
            Err(err) => {
                txn.rollback().await?;
                return Err(err.into());
            }
        };
        staff_actions::record(
            &txn,
            StaffAction {
                staff_id: me.id,
                action: ADJUST_ACTION,
                subject_kind: "tailor",
                subject_id: tailor,
                note: &input.reason,
                details: &AdjustDetails {
                    adjustment_id,
                    transaction_id,
                    account: input.account.as_str(),
                    amount: input.amount,
                },
            },
        )
        .await?;
        txn.commit().await?;
        tracing::info!(staff = %me.id, %tailor, amount = input.amount, account = input.account.as_str(), "wallet adjusted");
        Ok(AdjustmentView {
            id: adjustment_id,
            transaction_id,
            tailor_id: tailor,
            staff_id: me.id,
            account: input.account.as_str(),
            amount: input.amount,
            reason: input.reason,
            created_at: Utc::now(),
            wallet: self.wallet_of(tailor).await?,
        })
    }

    /// One page of the audit log, newest first; `None` past the last page.
    pub async fn staff_actions(
        &self,
        me: &user::Model,
        filters: &ActionFilters,
        page: u64,
        page_size: u64,
    ) -> Result<Option<ActionsPage>, StaffError> {
        staff_only(me)?;
        let mut errors = FieldErrors::new();
        let subject = uuid_filter(&mut errors, "subject_id", filters.subject_id.as_deref());
        let staff = uuid_filter(&mut errors, "staff_id", filters.staff_id.as_deref());
        errors.into_result()?;
        use staff_action::Column as C;
        let mut select = staff_action::Entity::find();
        if let Some(action) = filters
            .action
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
        {
            select = select.filter(C::Action.eq(action));
        }
        if let Some(subject) = subject {
            select = select.filter(C::SubjectId.eq(subject));
        }
        if let Some(staff) = staff {
            select = select.filter(C::StaffId.eq(staff));
        }
        let count = select.clone().count(&self.db).await?;
        let Some(offset) = crate::storage::page_offset(page, page_size, count) else {
            return Ok(None);
        };
        let rows = select
            .order_by_desc(C::CreatedAt)
            .order_by_desc(C::Id)
            .offset(offset)
            .limit(page_size)
            .all(&self.db)
            .await?;
        Ok(Some(ActionsPage {
            count,
            actions: rows.into_iter().map(StaffActionView::from).collect(),
        }))
    }
}

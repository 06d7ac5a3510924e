//! The payout_accounts table: the current account, and adding or replacing it.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use super::PayoutAccountView;
use crate::storage::StorageError;
use crate::storage::entities::payout_account::{self, Column, Entity as PayoutAccount};

/// What a new account row holds (no account number: see the module docs).
pub(super) struct NewAccount {
    pub tailor_id: Uuid,
    pub bank_code: String,
    pub bank_name: String,
    pub account_name: String,
    pub account_last4: String,
    pub recipient_code: String,
    pub usable_from: DateTime<Utc>,
}

pub(super) async fn current(
    conn: &impl ConnectionTrait,
    tailor_id: Uuid,
) -> Result<Option<payout_account::Model>, StorageError> {
    Ok(PayoutAccount::find()
        .filter(Column::TailorId.eq(tailor_id))
        .filter(Column::ReplacedAt.is_null())
        .order_by_desc(Column::CreatedAt)
        .one(conn)
        .await?)
}

/// Inserts the account as the tailor's current one. The partial unique
/// index refuses a second current account (`UniqueViolation`).
pub(super) async fn insert(
    conn: &impl ConnectionTrait,
    new: NewAccount,
    now: DateTime<Utc>,
) -> Result<payout_account::Model, StorageError> {
    let row = payout_account::ActiveModel {
        id: Set(Uuid::now_v7()),
        tailor_id: Set(new.tailor_id),
        bank_code: Set(new.bank_code),
        bank_name: Set(new.bank_name),
        account_name: Set(new.account_name),
        account_last4: Set(new.account_last4),
        recipient_code: Set(new.recipient_code),
        usable_from: Set(new.usable_from),
        replaced_at: Set(None),
        created_at: Set(now),
    };
    Ok(PayoutAccount::insert(row).exec_with_returning(conn).await?)
}

/// Marks the tailor's current account replaced; how many rows it changed.
pub(super) async fn retire_current(
    conn: &impl ConnectionTrait,
    tailor_id: Uuid,
    now: DateTime<Utc>,
) -> Result<u64, StorageError> {
    let done = PayoutAccount::update_many()
        .col_expr(Column::ReplacedAt, Expr::value(now))
        .filter(Column::TailorId.eq(tailor_id))
        .filter(Column::ReplacedAt.is_null())
        .exec(conn)
        .await?;
    Ok(done.rows_affected)
}

/// Account deletion: the holder's name and the number's last digits leave
/// every account row of the tailor. The bank and Paystack's recipient code
/// stay, for past payouts and reconciliation.
pub async fn forget_holder(
    conn: &impl ConnectionTrait,
    tailor_id: Uuid,
) -> Result<(), StorageError> {
    PayoutAccount::update_many()
        .col_expr(Column::AccountName, Expr::value(""))
        .col_expr(Column::AccountLast4, Expr::value(""))
        .filter(Column::TailorId.eq(tailor_id))
        .exec(conn)
        .await?;
    Ok(())
}

pub(super) fn view(row: payout_account::Model) -> PayoutAccountView {
    PayoutAccountView {
        id: row.id,
        bank_code: row.bank_code,
        bank_name: row.bank_name,
        account_name: row.account_name,
        account_last4: row.account_last4,
        usable_from: row.usable_from,
        created_at: row.created_at,
    }
}

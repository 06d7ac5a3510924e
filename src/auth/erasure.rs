//! The storage side of account deletion: one transaction that takes the
//! account's row, checks that no money is in motion, and erases what is
//! personal while keeping the row as an anonymous tombstone.
//!
//! Locks, in the same order as checkout (user rows, then variants, by id):
//! the account row first (`hold_live_account`; checkout's writer takes its
//! customers' rows the same way), so that a checkout by this customer either
//! committed before and its orders are seen here, or waits and then finds
//! the account gone; then a tailor's
//! variants, so that a checkout taking their stock either committed before
//! (its order is seen here) or finds the stock at zero afterwards.

use chrono::Utc;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use uuid::Uuid;

use crate::storage::StorageError;
use crate::storage::entities::{
    cart_item, chat_presence, favorite, one_time_code, order, product, product_variant, refund,
    user, wallet_balance,
};
use crate::store::Status;

/// What the shown name of a deleted account becomes, wherever it appears.
pub const DELETED_NAME: (&str, &str) = ("Deleted", "user");
pub const DELETED_USERNAME: &str = "Deleted user";

/// Orders whose money has not finished moving: unpaid, or paid and not yet
/// delivered (pay on delivery counts from `processing`).
const OPEN_ORDERS: [Status; 4] = [
    Status::PendingPayment,
    Status::Paid,
    Status::Processing,
    Status::Shipped,
];
/// A refund the provider accepted; any other status still needs the
/// provider or staff (`queued`, `failed`, `unconfirmed`).
const SETTLED_REFUND: &str = "sent";

pub enum Erasure {
    Erased,
    /// Deleted already (by a request that won a race).
    AlreadyGone,
    /// Orders and commissions (as customer or tailor) with money or work
    /// in motion; nothing changed.
    OpenOrders {
        orders: Vec<Uuid>,
        commissions: Vec<Uuid>,
    },
    /// The tailor's wallet holds money that is theirs (in escrow,
    /// available, or being paid out): deleting would forfeit it. Kobo.
    MoneyHeld {
        pending: i64,
        available: i64,
        withdrawing: i64,
    },
}

pub async fn erase_account(
    db: &DatabaseConnection,
    account: &user::Model,
) -> Result<Erasure, StorageError> {
    let txn = db.begin().await?;
    if !hold_live_account(&txn, account.id).await? {
        txn.rollback().await?;
        return Ok(Erasure::AlreadyGone);
    }
    take_stock_off_sale(&txn, account.id).await?;
    let orders = open_orders(&txn, account.id).await?;
    let commissions = crate::commissions::open_commissions_of(&txn, account.id).await?;
    if !orders.is_empty() || !commissions.is_empty() {
        txn.rollback().await?;
        return Ok(Erasure::OpenOrders {
            orders,
            commissions,
        });
    }
    if let Some(held) = money_held(&txn, account.id).await? {
        txn.rollback().await?;
        return Ok(held);
    }
    // Only now: it changes uniquely indexed columns, which on PostgreSQL
    // takes a stronger row lock than `hold_live_account`, one that waits for
    // transactions that merely reference the row (an order naming this
    // tailor). Taken first, it would deadlock with a checkout that holds a
    // variant taken above and inserts its order.
    tombstone(&txn, account.id).await?;
    hide_products(&txn, account.id).await?;
    super::token_store::revoke_all_of(&txn, account.id).await?;
    forget_personal_rows(&txn, account).await?;
    txn.commit().await?;
    crate::media::forget_avatar(account.id);
    Ok(Erasure::Erased)
}

/// Takes the account's row for the rest of the transaction if the account
/// is live; false when it is deleted or disabled. A transaction that must
/// not act for a deleted account (checkout) calls this first: account
/// deletion takes the same row first, so of the two, the later one sees
/// what the earlier one committed.
pub async fn hold_live_account(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
) -> Result<bool, StorageError> {
    let held = user::Entity::update_many()
        .col_expr(
            user::Column::IsActive,
            Expr::col(user::Column::IsActive).into(),
        )
        .filter(user::Column::Id.eq(user_id))
        .filter(user::Column::IsActive.eq(true))
        .filter(user::Column::DeletedAt.is_null())
        .exec(conn)
        .await?;
    Ok(held.rows_affected == 1)
}

/// The row becomes "Deleted user": no email, names, phone or avatar; an
/// unusable password; placeholders no real address or username can equal
/// (`:` is allowed in neither) free the unique email and username; a new
/// token version kills every token.
async fn tombstone(txn: &DatabaseTransaction, id: Uuid) -> Result<(), StorageError> {
    use user::Column;
    let placeholder = format!("deleted:{id}");
    user::Entity::update_many()
        .col_expr(Column::Email, Expr::value(placeholder.clone()))
        .col_expr(Column::EmailLower, Expr::value(placeholder.clone()))
        .col_expr(Column::Username, Expr::value(DELETED_USERNAME))
        .col_expr(Column::UsernameLower, Expr::value(placeholder))
        // Not a PHC string: no password ever verifies against it.
        .col_expr(Column::PasswordHash, Expr::value("!deleted"))
        .col_expr(Column::FirstName, Expr::value(DELETED_NAME.0))
        .col_expr(Column::LastName, Expr::value(DELETED_NAME.1))
        .col_expr(Column::PhoneNumber, Expr::value(""))
        .col_expr(Column::AvatarId, Expr::value(Option::<Uuid>::None))
        .col_expr(Column::IsActive, Expr::value(false))
        .col_expr(Column::IsStaff, Expr::value(false))
        .col_expr(Column::IsSuperuser, Expr::value(false))
        .col_expr(Column::TokenVersion, Expr::col(Column::TokenVersion).add(1))
        .col_expr(Column::DeletedAt, Expr::value(Utc::now()))
        .filter(Column::Id.eq(id))
        .exec(txn)
        .await?;
    Ok(())
}

fn products_of(tailor: Uuid) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(product::Column::Id)
        .from(product::Entity)
        .and_where(Expr::col(product::Column::TailorId).eq(tailor))
        .to_owned()
}

/// Sets the stock of every variant of the tailor's products to zero, one
/// variant at a time in id order (checkout's lock order): a checkout that
/// took stock before holds the variant until it commits, and its order is
/// then visible; one that comes after finds nothing left to buy.
async fn take_stock_off_sale(txn: &DatabaseTransaction, tailor: Uuid) -> Result<(), StorageError> {
    use product_variant::Column;
    let variants: Vec<Uuid> = product_variant::Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::ProductId.in_subquery(products_of(tailor)))
        .order_by_asc(Column::Id)
        .into_tuple()
        .all(txn)
        .await?;
    for variant in variants {
        product_variant::Entity::update_many()
            .col_expr(Column::Stock, Expr::value(0i64))
            .filter(Column::Id.eq(variant))
            .exec(txn)
            .await?;
    }
    Ok(())
}

/// Ids of the account's orders (either side) that are open, or whose refund
/// is not settled, oldest first.
async fn open_orders(txn: &DatabaseTransaction, id: Uuid) -> Result<Vec<Uuid>, StorageError> {
    let party = Condition::any()
        .add(order::Column::CustomerId.eq(id))
        .add(order::Column::TailorId.eq(id));
    let mut open: Vec<Uuid> = order::Entity::find()
        .select_only()
        .column(order::Column::Id)
        .filter(party.clone())
        .filter(order::Column::Status.is_in(OPEN_ORDERS.map(Status::as_str)))
        .into_tuple()
        .all(txn)
        .await?;
    let parties_orders = Query::select()
        .column(order::Column::Id)
        .from(order::Entity)
        .cond_where(party)
        .to_owned();
    let refunding: Vec<Uuid> = refund::Entity::find()
        .select_only()
        .column(refund::Column::OrderId)
        .filter(refund::Column::OrderId.in_subquery(parties_orders))
        .filter(refund::Column::Status.ne(SETTLED_REFUND))
        .into_tuple()
        .all(txn)
        .await?;
    open.extend(refunding);
    // UUID v7: sorting by id is sorting by age.
    open.sort();
    open.dedup();
    Ok(open)
}

/// What the tailor's wallet still holds for them, if anything. A debt to
/// the platform (`owed`) does not stop a deletion.
async fn money_held(txn: &DatabaseTransaction, id: Uuid) -> Result<Option<Erasure>, StorageError> {
    let Some(wallet) = wallet_balance::Entity::find_by_id(id).one(txn).await? else {
        return Ok(None);
    };
    let held = wallet.pending > 0 || wallet.available > 0 || wallet.withdrawing > 0;
    Ok(held.then_some(Erasure::MoneyHeld {
        pending: wallet.pending,
        available: wallet.available,
        withdrawing: wallet.withdrawing,
    }))
}

/// The tailor's products leave the catalog, as a product delete does.
async fn hide_products(txn: &DatabaseTransaction, tailor: Uuid) -> Result<(), StorageError> {
    use product::Column;
    let now = Utc::now();
    product::Entity::update_many()
        .col_expr(Column::IsActive, Expr::value(false))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::TailorId.eq(tailor))
        .exec(txn)
        .await?;
    product::Entity::update_many()
        .col_expr(Column::DeletedAt, Expr::value(now))
        .filter(Column::TailorId.eq(tailor))
        .filter(Column::DeletedAt.is_null())
        .exec(txn)
        .await?;
    Ok(())
}

/// Cart, favourites (each product's count follows, for exactly the rows
/// deleted), follows (likewise), last-seen time, pending emailed codes, and
/// the tailor side's personal rows: body measurements with every version,
/// a tailor's profile (contact, location) and portfolio, notifications
/// with the devices and preferences, and the account holder's name on the
/// payout accounts.
async fn forget_personal_rows(
    txn: &DatabaseTransaction,
    account: &user::Model,
) -> Result<(), StorageError> {
    cart_item::Entity::delete_many()
        .filter(cart_item::Column::UserId.eq(account.id))
        .exec(txn)
        .await?;
    let unfavoured = favorite::Entity::delete_many()
        .filter(favorite::Column::UserId.eq(account.id))
        .exec_with_returning(txn)
        .await?;
    for row in unfavoured {
        product::Entity::update_many()
            .col_expr(
                product::Column::FavoritesCount,
                Expr::col(product::Column::FavoritesCount).sub(1),
            )
            .filter(product::Column::Id.eq(row.product_id))
            .exec(txn)
            .await?;
    }
    crate::tailors::end_all_follows(txn, account.id).await?;
    crate::tailors::forget_tailor_side(txn, account.id).await?;
    crate::fittings::forget_fittings_side(txn, account.id).await?;
    crate::notifications::forget_user(txn, account.id).await?;
    crate::wallet::payout_accounts::forget_holder(txn, account.id).await?;
    chat_presence::Entity::delete_many()
        .filter(chat_presence::Column::UserId.eq(account.id))
        .exec(txn)
        .await?;
    one_time_code::Entity::delete_many()
        .filter(one_time_code::Column::Identifier.eq(account.email_lower.as_str()))
        .exec(txn)
        .await?;
    Ok(())
}

//! A tailor's profile row: whether it names a live tailor, and the lock that
//! orders every write to what belongs to one tailor (their portfolio, the
//! reviews of them and the rating summary those reviews make).

use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter};
use uuid::Uuid;

use crate::storage::entities::{tailor_profile, user};

/// Whether `id` is a tailor whose account is not deleted: what public pages
/// about a tailor (portfolio, ratings) are shown for.
pub async fn is_live_tailor(conn: &impl ConnectionTrait, id: Uuid) -> Result<bool, DbErr> {
    let live_users = Query::select()
        .column(user::Column::Id)
        .from(user::Entity)
        .and_where(Expr::col(user::Column::Id).eq(id))
        .and_where(Expr::col(user::Column::DeletedAt).is_null())
        .to_owned();
    let found = tailor_profile::Entity::find()
        .filter(tailor_profile::Column::UserId.eq(id))
        .filter(tailor_profile::Column::UserId.in_subquery(live_users))
        .count(conn)
        .await?;
    Ok(found == 1)
}

/// A no-op update of `tailor`'s profile row: its lock, held to the end of the
/// transaction. Taken as the transaction's first statement: on PostgreSQL the
/// writers of one tailor then queue here, each seeing the rows every earlier
/// one committed; on SQLite it takes the write lock at once, so a transaction
/// never has to upgrade a read lock (which SQLite may refuse outright).
/// False when `tailor` has no profile (not a tailor).
pub async fn lock_profile(conn: &impl ConnectionTrait, tailor: Uuid) -> Result<bool, DbErr> {
    let locked = tailor_profile::Entity::update_many()
        .col_expr(
            tailor_profile::Column::RatingCount,
            Expr::col(tailor_profile::Column::RatingCount).into(),
        )
        .filter(tailor_profile::Column::UserId.eq(tailor))
        .exec(conn)
        .await?;
    Ok(locked.rows_affected == 1)
}

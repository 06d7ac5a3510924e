//! Users' avatars: an uploaded image referenced by `users.avatar_id`. Every
//! view that shows a user shows the avatar's URL; these helpers load the URLs
//! for a whole page at once (one query, never one per user).

use std::collections::HashMap;

use sea_orm::sea_query::{Alias, Expr, Query, SimpleExpr};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, JoinType, StatementBuilder};
use uuid::Uuid;

use super::url_of;
use crate::storage::entities::{media, user};

#[derive(FromQueryResult)]
struct AvatarRow {
    user_id: Uuid,
    name: String,
}

/// The avatar URLs of these users, by user id; users without an avatar are
/// absent from the map. One query, whatever the number of users.
pub async fn avatar_urls(
    db: &impl ConnectionTrait,
    user_ids: impl IntoIterator<Item = Uuid>,
) -> Result<HashMap<Uuid, String>, DbErr> {
    let mut ids: Vec<Uuid> = user_ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let query = Query::select()
        .expr_as(
            Expr::col((user::Entity, user::Column::Id)),
            Alias::new("user_id"),
        )
        .column((media::Entity, media::Column::Name))
        .from(user::Entity)
        .join(
            JoinType::InnerJoin,
            media::Entity,
            Expr::col((media::Entity, media::Column::Id))
                .equals((user::Entity, user::Column::AvatarId)),
        )
        .and_where(Expr::col((user::Entity, user::Column::Id)).is_in(ids))
        .to_owned();
    let statement = StatementBuilder::build(&query, &db.get_database_backend());
    Ok(AvatarRow::find_by_statement(statement)
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.user_id, url_of(&row.name)))
        .collect())
}

/// The avatar URL of one user (no query when they have none).
pub async fn avatar_url(
    db: &impl ConnectionTrait,
    user: &user::Model,
) -> Result<Option<String>, DbErr> {
    if user.avatar_id.is_none() {
        return Ok(None);
    }
    Ok(avatar_urls(db, [user.id]).await?.remove(&user.id))
}

/// The stored name of the avatar of the user whose id is `user_id` (a column
/// of the outer query), as a scalar subquery: lists built in one statement
/// (the catalog) carry the avatar without another round trip.
pub fn avatar_name_of(user_id: SimpleExpr) -> SimpleExpr {
    let name = Query::select()
        .column((media::Entity, media::Column::Name))
        .from(user::Entity)
        .inner_join(
            media::Entity,
            Expr::col((media::Entity, media::Column::Id))
                .equals((user::Entity, user::Column::AvatarId)),
        )
        .and_where(Expr::col((user::Entity, user::Column::Id)).eq(user_id))
        .limit(1)
        .to_owned();
    SimpleExpr::SubQuery(None, Box::new(name.into_sub_query_statement()))
}

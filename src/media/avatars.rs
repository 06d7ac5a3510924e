//! Users' avatars: an uploaded image referenced by `users.avatar_id`. Every
//! view that shows a user shows the avatar's URL; these helpers load the URLs
//! for a whole page at once (one query, never one per user).

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use sea_orm::sea_query::{Alias, Expr, Query};
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

/// How long a catalog page may show a tailor's avatar as it was. The
/// catalog would otherwise join two more tables for every product on every
/// page (a seventh of its throughput); a change made through this process
/// shows at once (`forget_avatar`), one made through another instance
/// within this time.
pub const RECENT_AVATAR_AGE: Duration = Duration::from_secs(30);
/// Past this many entries the expired ones are dropped (and, if that is not
/// enough, all of them): the map stays small however many tailors browse.
const RECENT_AVATARS_MAX: usize = 20_000;

/// Avatar URLs by user id, with when they were read. Keyed by globally
/// unique ids, so one map serves every app in the process.
static RECENT_AVATARS: LazyLock<Mutex<HashMap<Uuid, RecentAvatar>>> = LazyLock::new(Mutex::default);

/// The URL (none without an avatar) and when it was read.
type RecentAvatar = (Option<String>, Instant);

/// `avatar_urls` for lists read many times a second (the catalog): from
/// what was read in the last `RECENT_AVATAR_AGE`, and the rest in one query.
pub async fn recent_avatar_urls(
    db: &impl ConnectionTrait,
    user_ids: impl IntoIterator<Item = Uuid>,
) -> Result<HashMap<Uuid, String>, DbErr> {
    let now = Instant::now();
    let mut urls = HashMap::new();
    let mut missing = Vec::new();
    {
        let recent = RECENT_AVATARS.lock().expect("avatar cache lock");
        for id in user_ids {
            match recent.get(&id) {
                Some((url, read)) if now.duration_since(*read) < RECENT_AVATAR_AGE => {
                    if let Some(url) = url {
                        urls.insert(id, url.clone());
                    }
                }
                _ => missing.push(id),
            }
        }
    }
    if missing.is_empty() {
        return Ok(urls);
    }
    let found = avatar_urls(db, missing.iter().copied()).await?;
    let mut recent = RECENT_AVATARS.lock().expect("avatar cache lock");
    if recent.len() > RECENT_AVATARS_MAX {
        recent.retain(|_, (_, read)| now.duration_since(*read) < RECENT_AVATAR_AGE);
        if recent.len() > RECENT_AVATARS_MAX {
            recent.clear();
        }
    }
    for id in missing {
        let url = found.get(&id).cloned();
        recent.insert(id, (url.clone(), now));
        if let Some(url) = url {
            urls.insert(id, url);
        }
    }
    Ok(urls)
}

/// The user's avatar changed (or the user is gone): lists read it anew.
pub fn forget_avatar(user_id: Uuid) {
    RECENT_AVATARS
        .lock()
        .expect("avatar cache lock")
        .remove(&user_id);
}

//! Follows between users (old `auth_api` follow/unfollow).
//!
//! A follow row is inserted (or deleted) in the same transaction as the
//! atomic `followers_count = followers_count ± 1` on the followee's tailor
//! profile, and the count moves only when a row really was inserted (or
//! deleted): double taps and concurrent follows and unfollows cannot make it
//! drift from the rows it summarises.

use chrono::Utc;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use uuid::Uuid;

use super::{TailorError, TailorService};
use crate::storage::entities::{follow, tailor_profile, user, user_block};
use crate::validation::FieldErrors;

/// What a follow request came to.
pub enum FollowOutcome {
    /// The caller follows the user now; `changed` is false when they already did.
    Following { changed: bool },
    /// A block between the two (either way) refuses the follow; says who blocked whom.
    Blocked(&'static str),
}

/// One page of users and the total.
pub struct UserPage {
    pub count: u64,
    pub users: Vec<user::Model>,
}

/// Which side of the follow the listed users are on.
#[derive(Clone, Copy)]
pub enum FollowList {
    /// Users who follow the given user.
    Followers,
    /// Users the given user follows.
    Following,
}

impl TailorService {
    /// `me` follows the user named by `raw`; following twice is one follow.
    pub async fn follow(
        &self,
        me: &user::Model,
        raw: Option<String>,
    ) -> Result<(user::Model, FollowOutcome), TailorError> {
        let target = self.target(me, raw).await?;
        if !is_public(&target) {
            return Err(TailorError::NotFound);
        }
        // The write comes first: on SQLite a transaction that read first
        // cannot take the write lock while another writer holds it.
        let txn = self.db.begin().await?;
        let inserted = follow::Entity::insert(follow::ActiveModel {
            follower_id: Set(me.id),
            followee_id: Set(target.id),
            created_at: Set(Utc::now()),
        })
        .on_conflict(
            OnConflict::columns([follow::Column::FollowerId, follow::Column::FolloweeId])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        if let Some(why) = block_between(&txn, me.id, target.id).await? {
            txn.rollback().await?;
            return Ok((target, FollowOutcome::Blocked(why)));
        }
        let changed = inserted == 1;
        if changed {
            move_followers_count(&txn, target.id, 1).await?;
            crate::notifications::events::new_follower(&txn, me, target.id).await?;
        }
        txn.commit().await?;
        Ok((target, FollowOutcome::Following { changed }))
    }

    /// `me` stops following the user named by `raw`; true when they did
    /// follow. A deleted account can still be unfollowed.
    pub async fn unfollow(
        &self,
        me: &user::Model,
        raw: Option<String>,
    ) -> Result<(user::Model, bool), TailorError> {
        let target = self.target(me, raw).await?;
        let txn = self.db.begin().await?;
        let deleted = follow::Entity::delete_by_id((me.id, target.id))
            .exec(&txn)
            .await?;
        let changed = deleted.rows_affected == 1;
        if changed {
            move_followers_count(&txn, target.id, -1).await?;
        }
        txn.commit().await?;
        Ok((target, changed))
    }

    /// The followers of `of` (or the users `of` follows), newest follow
    /// first; `None` past the last page. Unknown users, and users others may
    /// not see (unverified, staff, deleted), are not found, except the caller.
    pub async fn follow_list(
        &self,
        me: &user::Model,
        of: Uuid,
        list: FollowList,
        page: u64,
        page_size: u64,
    ) -> Result<Option<UserPage>, TailorError> {
        if of != me.id {
            let user = user::Entity::find_by_id(of).one(&self.db).await?;
            if !user.as_ref().is_some_and(is_public) {
                return Err(TailorError::NotFound);
            }
        }
        let (anchor, listed) = match list {
            FollowList::Followers => (follow::Column::FolloweeId, follow::Column::FollowerId),
            FollowList::Following => (follow::Column::FollowerId, follow::Column::FolloweeId),
        };
        let select = follow::Entity::find().filter(anchor.eq(of));
        let count = select.clone().count(&self.db).await?;
        let Some(offset) = crate::storage::page_offset(page, page_size, count) else {
            return Ok(None);
        };
        let ids: Vec<Uuid> = select
            .select_only()
            .column(listed)
            .order_by_desc(follow::Column::CreatedAt)
            .order_by_desc(listed)
            .offset(offset)
            .limit(page_size)
            .into_tuple()
            .all(&self.db)
            .await?;
        let mut found: std::collections::HashMap<Uuid, user::Model> = user::Entity::find()
            .filter(user::Column::Id.is_in(ids.iter().copied()))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|u| (u.id, u))
            .collect();
        let users = ids.iter().filter_map(|id| found.remove(id)).collect();
        Ok(Some(UserPage { count, users }))
    }

    /// The user a follow or unfollow names: 400 when missing, malformed or
    /// the caller; 404 when there is no such user.
    async fn target(
        &self,
        me: &user::Model,
        raw: Option<String>,
    ) -> Result<user::Model, TailorError> {
        let mut errors = FieldErrors::new();
        let Some(raw) = errors.required("user_id", &raw) else {
            return Err(errors.into());
        };
        let Ok(id) = Uuid::parse_str(raw.trim()) else {
            return Err(FieldErrors::single("user_id", "Must be a valid UUID.").into());
        };
        if id == me.id {
            return Err(FieldErrors::single("user_id", "You cannot follow yourself.").into());
        }
        user::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(TailorError::NotFound)
    }
}

/// A user others may see and follow: as `users/detail` shows them.
fn is_public(user: &user::Model) -> bool {
    user.is_active
        && user.deleted_at.is_none()
        && user.is_verified
        && !user.is_staff
        && !user.is_superuser
}

/// Who blocked whom, if either blocked the other.
async fn block_between(
    conn: &impl ConnectionTrait,
    me: Uuid,
    other: Uuid,
) -> Result<Option<&'static str>, TailorError> {
    let blocks = user_block::Entity::find()
        .filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(user_block::Column::BlockerId.eq(other))
                        .add(user_block::Column::BlockedId.eq(me)),
                )
                .add(
                    Condition::all()
                        .add(user_block::Column::BlockerId.eq(me))
                        .add(user_block::Column::BlockedId.eq(other)),
                ),
        )
        .all(conn)
        .await?;
    Ok(if blocks.iter().any(|b| b.blocker_id == other) {
        Some("This user has blocked you; you cannot follow them.")
    } else if !blocks.is_empty() {
        Some("You have blocked this user; unblock them to follow them.")
    } else {
        None
    })
}

/// `followers_count ± 1` in one statement on the followee's profile (only
/// tailors have one; for anyone else nothing changes).
///
/// The followee's user row is taken first, as opening a tailor profile does
/// (its role change): a profile being opened either counted this follow's
/// row already, or is committed by the time the count moves here. Without it
/// a follow racing the opening could be missed on PostgreSQL (the count saw
/// no row, the `+ 1` no profile).
async fn move_followers_count(
    conn: &impl ConnectionTrait,
    followee: Uuid,
    by: i64,
) -> Result<(), sea_orm::DbErr> {
    hold_user_row(conn, followee).await?;
    tailor_profile::Entity::update_many()
        .col_expr(
            tailor_profile::Column::FollowersCount,
            Expr::col(tailor_profile::Column::FollowersCount).add(by),
        )
        .filter(tailor_profile::Column::UserId.eq(followee))
        .exec(conn)
        .await?;
    Ok(())
}

/// A no-op update of a user's row: its lock, to the end of the transaction.
async fn hold_user_row(conn: &impl ConnectionTrait, id: Uuid) -> Result<(), sea_orm::DbErr> {
    user::Entity::update_many()
        .col_expr(user::Column::Role, Expr::col(user::Column::Role).into())
        .filter(user::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Ends the follows between two users, both ways, with their counts: a
/// block between them leaves neither following the other. Runs in the
/// blocking transaction.
pub async fn end_follows_between(
    conn: &impl ConnectionTrait,
    a: Uuid,
    b: Uuid,
) -> Result<(), sea_orm::DbErr> {
    // Both users' rows in one order, so that two blocks between the same
    // pair cannot each hold one and wait for the other.
    for id in [a.min(b), a.max(b)] {
        hold_user_row(conn, id).await?;
    }
    for (follower, followee) in [(a, b), (b, a)] {
        let deleted = follow::Entity::delete_by_id((follower, followee))
            .exec(conn)
            .await?;
        if deleted.rows_affected == 1 {
            move_followers_count(conn, followee, -1).await?;
        }
    }
    Ok(())
}

/// Ends every follow of and by a deleted account, with the counts of the
/// users it followed. Runs in the deletion's transaction.
pub async fn end_all_follows(
    conn: &impl ConnectionTrait,
    account: Uuid,
) -> Result<(), sea_orm::DbErr> {
    let followed = follow::Entity::delete_many()
        .filter(follow::Column::FollowerId.eq(account))
        .exec_with_returning(conn)
        .await?;
    for row in followed {
        move_followers_count(conn, row.followee_id, -1).await?;
    }
    follow::Entity::delete_many()
        .filter(follow::Column::FolloweeId.eq(account))
        .exec(conn)
        .await?;
    tailor_profile::Entity::update_many()
        .col_expr(tailor_profile::Column::FollowersCount, Expr::value(0))
        .filter(tailor_profile::Column::UserId.eq(account))
        .exec(conn)
        .await?;
    Ok(())
}

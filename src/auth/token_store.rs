//! Refresh-token families and single-use refresh tokens.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
};
use uuid::Uuid;

use crate::storage::StorageError;
use crate::storage::entities::refresh_token::{self, Entity as RefreshToken};
use crate::storage::entities::token_family::{self, Entity as TokenFamily};

pub async fn start_family(db: &DatabaseConnection, user_id: Uuid) -> Result<Uuid, StorageError> {
    let id = Uuid::now_v7();
    TokenFamily::insert(token_family::ActiveModel {
        id: Set(id),
        user_id: Set(user_id),
        created_at: Set(Utc::now()),
        revoked_at: Set(None),
    })
    .exec_without_returning(db)
    .await?;
    Ok(id)
}

pub async fn record(
    db: &DatabaseConnection,
    jti: Uuid,
    family_id: Uuid,
    user_id: Uuid,
    expires_at: DateTime<Utc>,
) -> Result<(), StorageError> {
    RefreshToken::insert(refresh_token::ActiveModel {
        jti: Set(jti),
        family_id: Set(family_id),
        user_id: Set(user_id),
        expires_at: Set(expires_at),
        used_at: Set(None),
        created_at: Set(Utc::now()),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Marks the token used if it is unused, unexpired and its family is alive,
/// and returns its family. One atomic update: of several racing callers
/// exactly one gets `Some`.
pub async fn use_once(db: &DatabaseConnection, jti: Uuid) -> Result<Option<Uuid>, StorageError> {
    use refresh_token::Column;
    let now = Utc::now();
    let live_families = Query::select()
        .column(token_family::Column::Id)
        .from(TokenFamily)
        .and_where(Expr::col(token_family::Column::RevokedAt).is_null())
        .to_owned();
    let result = RefreshToken::update_many()
        .col_expr(Column::UsedAt, Expr::value(now))
        .filter(Column::Jti.eq(jti))
        .filter(Column::UsedAt.is_null())
        .filter(Column::ExpiresAt.gt(now))
        .filter(Column::FamilyId.in_subquery(live_families))
        .exec_with_returning(db)
        .await?;
    Ok(result.first().map(|row| row.family_id))
}

pub async fn family_of(
    db: &DatabaseConnection,
    jti: Uuid,
) -> Result<Option<refresh_token::Model>, StorageError> {
    Ok(RefreshToken::find_by_id(jti).one(db).await?)
}

pub async fn revoke_family(db: &DatabaseConnection, family_id: Uuid) -> Result<(), StorageError> {
    TokenFamily::update_many()
        .col_expr(token_family::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(token_family::Column::Id.eq(family_id))
        .filter(token_family::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Ends every login of the user. Every instance reads ended logins within
/// `revoked::READ_EVERY`, so this is what makes a change that kills a
/// user's tokens (password, deletion) reach the other instances' caches.
pub async fn revoke_all_of(conn: &impl ConnectionTrait, user_id: Uuid) -> Result<(), StorageError> {
    TokenFamily::update_many()
        .col_expr(token_family::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(token_family::Column::UserId.eq(user_id))
        .filter(token_family::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

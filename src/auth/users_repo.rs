//! Queries on the users table.

use sea_orm::sea_query::{Expr, Func, LikeExpr, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait,
    DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};
use uuid::Uuid;

use crate::storage::StorageError;
use crate::storage::entities::media;
use crate::storage::entities::token_family;
use crate::storage::entities::user::{self, Column, Entity as User};

pub async fn by_id(db: &DatabaseConnection, id: Uuid) -> Result<Option<user::Model>, StorageError> {
    Ok(User::find_by_id(id).one(db).await?)
}

/// The user, provided the login `family` (when given) exists and is not
/// revoked: one statement, `users WHERE id = ? AND EXISTS (live family)`, both
/// primary-key lookups. A family that is gone (purged once its refresh
/// tokens expired) counts as ended.
pub async fn by_id_in_live_login(
    db: &DatabaseConnection,
    id: Uuid,
    family: Option<Uuid>,
) -> Result<Option<user::Model>, StorageError> {
    let mut query = User::find_by_id(id);
    if let Some(family) = family {
        let live_family = Query::select()
            .expr(Expr::value(1))
            .from(token_family::Entity)
            .and_where(Expr::col((token_family::Entity, token_family::Column::Id)).eq(family))
            .and_where(Expr::col((token_family::Entity, token_family::Column::RevokedAt)).is_null())
            .to_owned();
        query = query.filter(Expr::exists(live_family));
    }
    Ok(query.one(db).await?)
}

pub async fn by_email(
    db: &DatabaseConnection,
    email_lower: &str,
) -> Result<Option<user::Model>, StorageError> {
    Ok(User::find()
        .filter(Column::EmailLower.eq(email_lower))
        .one(db)
        .await?)
}

pub async fn by_username(
    db: &DatabaseConnection,
    username_lower: &str,
) -> Result<Option<user::Model>, StorageError> {
    Ok(User::find()
        .filter(Column::UsernameLower.eq(username_lower))
        .one(db)
        .await?)
}

/// A new account; a tailor's comes with their (empty) tailor profile.
pub async fn insert(
    db: &DatabaseConnection,
    row: user::ActiveModel,
) -> Result<user::Model, StorageError> {
    let txn = db.begin().await?;
    let user = row.insert(&txn).await?;
    if user.role == "tailor" {
        crate::tailors::insert_empty_profile(&txn, user.id, user.date_joined).await?;
    }
    txn.commit().await?;
    Ok(user)
}

pub async fn update(
    db: &impl ConnectionTrait,
    row: user::ActiveModel,
) -> Result<user::Model, StorageError> {
    Ok(row.update(db).await?)
}

/// New password; bumping the token version kills every token issued before,
/// and ending every login tells the other instances at once. Run in a
/// transaction.
pub async fn set_password(
    db: &impl ConnectionTrait,
    id: Uuid,
    password_hash: String,
    also_verify: bool,
) -> Result<(), StorageError> {
    let mut update = User::update_many()
        .col_expr(Column::PasswordHash, Expr::value(password_hash))
        .col_expr(Column::TokenVersion, Expr::col(Column::TokenVersion).add(1));
    if also_verify {
        update = update.col_expr(Column::IsVerified, Expr::value(true));
    }
    update.filter(Column::Id.eq(id)).exec(db).await?;
    super::token_store::revoke_all_of(db, id).await?;
    Ok(())
}

/// Points the avatar at `media_id` when that image was uploaded by the user
/// (checked in the same statement), or clears it with `None`. `false` when
/// the image is unknown or someone else's.
pub async fn set_avatar(
    db: &impl ConnectionTrait,
    id: Uuid,
    media_id: Option<Uuid>,
) -> Result<bool, StorageError> {
    let mut update = User::update_many()
        .col_expr(Column::AvatarId, Expr::value(media_id))
        .filter(Column::Id.eq(id));
    if let Some(media_id) = media_id {
        let own_image = Query::select()
            .expr(Expr::val(1))
            .from(media::Entity)
            .and_where(media::Column::Id.eq(media_id))
            .and_where(media::Column::OwnerId.eq(id))
            .to_owned();
        update = update.filter(Expr::exists(own_image));
    }
    Ok(update.exec(db).await?.rows_affected == 1)
}

pub async fn mark_verified(db: &impl ConnectionTrait, id: Uuid) -> Result<(), StorageError> {
    User::update_many()
        .col_expr(Column::IsVerified, Expr::value(true))
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

pub struct Listing {
    pub role: Option<String>,
    pub search: Option<String>,
    /// 1-based.
    pub page: u64,
    pub page_size: u64,
}

/// The public directory: verified, active, non-staff accounts, oldest first.
/// `None` when the page is past the end (page 1 always exists).
pub async fn list(
    db: &DatabaseConnection,
    listing: &Listing,
) -> Result<Option<(u64, Vec<user::Model>)>, StorageError> {
    let mut query = User::find()
        .filter(Column::IsVerified.eq(true))
        .filter(Column::IsActive.eq(true))
        .filter(Column::IsStaff.eq(false))
        .filter(Column::IsSuperuser.eq(false));
    if let Some(role) = &listing.role {
        query = query.filter(Column::Role.eq(role.as_str()));
    }
    if let Some(search) = listing.search.as_deref().filter(|s| !s.trim().is_empty()) {
        let pattern = format!("%{}%", escape_like(&search.trim().to_lowercase()));
        let matches = |col: Column| {
            Expr::expr(Func::lower(Expr::col(col)))
                .like(LikeExpr::new(pattern.clone()).escape('\\'))
        };
        query = query.filter(
            Condition::any()
                .add(matches(Column::UsernameLower))
                .add(matches(Column::FirstName))
                .add(matches(Column::LastName)),
        );
    }
    let count = query.clone().count(db).await?;
    let Some(offset) = crate::storage::page_offset(listing.page, listing.page_size, count) else {
        return Ok(None);
    };
    let rows = query
        .order_by_asc(Column::Id)
        .offset(offset)
        .limit(listing.page_size)
        .all(db)
        .await?;
    Ok(Some((count, rows)))
}

/// Makes user input literal inside a LIKE pattern.
fn escape_like(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for c in input.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

pub fn new_row(
    email: &str,
    username: &str,
    password_hash: String,
    role: &str,
    names: (&str, &str),
    phone_number: &str,
) -> user::ActiveModel {
    user::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(email.trim().to_string()),
        email_lower: Set(email.trim().to_lowercase()),
        username: Set(username.to_string()),
        username_lower: Set(username.to_lowercase()),
        password_hash: Set(password_hash),
        first_name: Set(names.0.trim().to_string()),
        last_name: Set(names.1.trim().to_string()),
        phone_number: Set(phone_number.trim().to_string()),
        role: Set(role.to_string()),
        avatar_id: Set(None),
        is_verified: Set(false),
        is_active: Set(true),
        is_staff: Set(false),
        is_superuser: Set(false),
        token_version: Set(0),
        date_joined: Set(chrono::Utc::now()),
        deleted_at: Set(None),
    }
}

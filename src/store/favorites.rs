//! Favourites: a user's saved products. Adding twice is harmless; the
//! product's favourites count (its popularity) follows in the same transaction.

use chrono::Utc;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect,
    RelationTrait, TransactionTrait,
};
use uuid::Uuid;

use super::browse::ProductPage;
use super::{StoreError, StoreService};
use crate::storage::entities::{favorite, product, user};

impl StoreService {
    /// True when newly added, false when it was already a favourite.
    pub async fn add_favorite(
        &self,
        user: &user::Model,
        product_id: Uuid,
    ) -> Result<bool, StoreError> {
        let product = self.live_product(product_id).await?.filter(|p| p.is_active);
        if product.is_none() {
            return Err(StoreError::NotFound);
        }
        let txn = self.db.begin().await?;
        let inserted = favorite::Entity::insert(favorite::ActiveModel {
            user_id: Set(user.id),
            product_id: Set(product_id),
            created_at: Set(Utc::now()),
        })
        .on_conflict(
            OnConflict::columns([favorite::Column::UserId, favorite::Column::ProductId])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        if inserted == 1 {
            bump_favorites(&txn, product_id, 1).await?;
        }
        txn.commit().await?;
        Ok(inserted == 1)
    }

    pub async fn remove_favorite(
        &self,
        user: &user::Model,
        product_id: Uuid,
    ) -> Result<(), StoreError> {
        let txn = self.db.begin().await?;
        let removed = favorite::Entity::delete_many()
            .filter(favorite::Column::UserId.eq(user.id))
            .filter(favorite::Column::ProductId.eq(product_id))
            .exec(&txn)
            .await?;
        if removed.rows_affected == 1 {
            bump_favorites(&txn, product_id, -1).await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// The user's favourites that are still in the catalog, newest favourite first.
    pub async fn favorites(
        &self,
        user: &user::Model,
        page: u64,
        page_size: u64,
    ) -> Result<Option<ProductPage>, StoreError> {
        let select = product::Entity::find()
            .join_rev(JoinType::InnerJoin, favorite::Relation::Product.def())
            .filter(favorite::Column::UserId.eq(user.id))
            .filter(product::Column::IsActive.eq(true))
            .filter(product::Column::DeletedAt.is_null())
            .order_by_desc(favorite::Column::CreatedAt)
            .order_by_desc(product::Column::Id);
        self.page(select, page, page_size).await
    }
}

async fn bump_favorites(
    conn: &impl sea_orm::ConnectionTrait,
    product_id: Uuid,
    by: i64,
) -> Result<(), StoreError> {
    product::Entity::update_many()
        .col_expr(
            product::Column::FavoritesCount,
            Expr::col(product::Column::FavoritesCount).add(by),
        )
        .filter(product::Column::Id.eq(product_id))
        .exec(conn)
        .await?;
    Ok(())
}

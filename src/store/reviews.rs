//! Reviews by customers who received the product; the product's rating
//! summary is recomputed from the reviews in each writing transaction, after
//! taking the product's row, so it cannot drift under any interleaving.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::orders::Status;
use super::{StoreError, StoreService};
use crate::storage::entities::{media, order, order_item, product, review, user};
use crate::validation::FieldErrors;

#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewView {
    pub id: Uuid,
    pub product_id: Uuid,
    pub customer_id: Uuid,
    pub customer_username: String,
    /// URL of the customer's avatar (`/media/...`); null without one.
    pub customer_avatar: Option<String>,
    pub rating: i32,
    pub text: String,
    /// Image URLs in order.
    pub images: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub struct ReviewPage {
    pub count: u64,
    pub reviews: Vec<ReviewView>,
}

impl StoreService {
    /// Creates the caller's review, or edits it: `true` when created.
    pub async fn review_product(
        &self,
        customer: &user::Model,
        product_id: Uuid,
        rating: Option<i64>,
        text: Option<String>,
        image_ids: Option<Vec<String>>,
    ) -> Result<(bool, ReviewView), StoreError> {
        let mut errors = FieldErrors::new();
        match rating {
            None => errors.add("rating", crate::validation::REQUIRED),
            Some(r) if !(1..=5).contains(&r) => errors.add("rating", "Give 1 to 5 stars."),
            Some(_) => {}
        }
        let text = text.unwrap_or_default().trim().to_string();
        errors.max_len("text", &text, 5000);
        let images = match &image_ids {
            Some(raw) => Some(self.check_images(customer, raw, &mut errors).await?),
            None => None,
        };
        errors.into_result()?;
        let image_names = match images {
            Some(ids) => Some(self.media_names(&ids).await?.join(",")),
            None => None,
        };
        self.live_product(product_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        if !self.received(customer.id, product_id).await? {
            return Err(StoreError::Forbidden(
                "Only customers who received this product can review it.",
            ));
        }
        let txn = self.db.begin().await?;
        // Writers of one product's reviews queue on its row first: each then
        // recomputes the summary with every earlier writer's review committed
        // (under PostgreSQL's READ COMMITTED a recompute would otherwise miss
        // a concurrent writer's uncommitted row; SQLite takes its write lock).
        if !lock_product(&txn, product_id).await? {
            return Err(StoreError::NotFound);
        }
        let existed = review::Entity::find()
            .filter(review::Column::ProductId.eq(product_id))
            .filter(review::Column::CustomerId.eq(customer.id))
            .one(&txn)
            .await?
            .is_some();
        let now = Utc::now();
        review::Entity::insert(review::ActiveModel {
            id: Set(Uuid::now_v7()),
            product_id: Set(product_id),
            customer_id: Set(customer.id),
            rating: Set(rating.unwrap_or(1) as i32),
            text: Set(text),
            image_names: Set(image_names.clone().unwrap_or_default()),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .on_conflict(
            OnConflict::columns([review::Column::ProductId, review::Column::CustomerId])
                .update_columns(if image_names.is_some() {
                    vec![
                        review::Column::Rating,
                        review::Column::Text,
                        review::Column::ImageNames,
                        review::Column::UpdatedAt,
                    ]
                } else {
                    vec![
                        review::Column::Rating,
                        review::Column::Text,
                        review::Column::UpdatedAt,
                    ]
                })
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        refresh_rating(&txn, product_id).await?;
        let row = review::Entity::find()
            .filter(review::Column::ProductId.eq(product_id))
            .filter(review::Column::CustomerId.eq(customer.id))
            .one(&txn)
            .await?
            .ok_or(StoreError::NotFound)?;
        txn.commit().await?;
        let avatar = crate::media::avatar_url(&self.db, customer).await?;
        Ok((!existed, view(row, &customer.username, avatar)))
    }

    /// Stored names of these uploads, in the given order.
    async fn media_names(&self, ids: &[Uuid]) -> Result<Vec<String>, StoreError> {
        let names: std::collections::HashMap<Uuid, String> = media::Entity::find()
            .filter(media::Column::Id.is_in(ids.iter().copied()))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| (m.id, m.name))
            .collect();
        Ok(ids.iter().filter_map(|id| names.get(id).cloned()).collect())
    }

    /// Whether the customer has a delivered (or completed) order with the product.
    async fn received(&self, customer_id: Uuid, product_id: Uuid) -> Result<bool, StoreError> {
        let delivered = Query::select()
            .column(order::Column::Id)
            .from(order::Entity)
            .and_where(Expr::col(order::Column::CustomerId).eq(customer_id))
            .and_where(
                Expr::col(order::Column::Status)
                    .is_in([Status::Delivered.as_str(), Status::Completed.as_str()]),
            )
            .to_owned();
        let count = order_item::Entity::find()
            .filter(order_item::Column::ProductId.eq(product_id))
            .filter(order_item::Column::OrderId.in_subquery(delivered))
            .count(&self.db)
            .await?;
        Ok(count > 0)
    }

    /// A product's reviews, newest first; `None` past the last page.
    pub async fn reviews(
        &self,
        product_id: Uuid,
        page: u64,
        page_size: u64,
    ) -> Result<Option<ReviewPage>, StoreError> {
        self.live_product(product_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let select = review::Entity::find().filter(review::Column::ProductId.eq(product_id));
        let count = select.clone().count(&self.db).await?;
        let Some(offset) = crate::storage::page_offset(page, page_size, count) else {
            return Ok(None);
        };
        let rows = select
            .order_by_desc(review::Column::UpdatedAt)
            .order_by_desc(review::Column::Id)
            .offset(offset)
            .limit(page_size)
            .all(&self.db)
            .await?;
        let authors: std::collections::HashMap<Uuid, String> = user::Entity::find()
            .filter(user::Column::Id.is_in(rows.iter().map(|r| r.customer_id)))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|u| (u.id, u.username))
            .collect();
        let avatars =
            crate::media::avatar_urls(&self.db, rows.iter().map(|r| r.customer_id)).await?;
        let reviews = rows
            .into_iter()
            .map(|r| {
                let name = authors.get(&r.customer_id).cloned().unwrap_or_default();
                let avatar = avatars.get(&r.customer_id).cloned();
                view(r, &name, avatar)
            })
            .collect();
        Ok(Some(ReviewPage { count, reviews }))
    }
}

/// A no-op update of the product row: its lock, held to the end of the
/// transaction. False when the product is gone.
async fn lock_product(conn: &impl ConnectionTrait, product_id: Uuid) -> Result<bool, StoreError> {
    let locked = product::Entity::update_many()
        .col_expr(
            product::Column::RatingCount,
            Expr::col(product::Column::RatingCount).into(),
        )
        .filter(product::Column::Id.eq(product_id))
        .filter(product::Column::DeletedAt.is_null())
        .exec(conn)
        .await?;
    Ok(locked.rows_affected == 1)
}

/// Recomputes count and average from the reviews themselves, in one
/// statement (the average in hundredths, rounded half up).
async fn refresh_rating(conn: &impl ConnectionTrait, product_id: Uuid) -> Result<(), StoreError> {
    let (count, average_centi) = crate::storage::rating_summary(
        Query::select()
            .from(review::Entity)
            .and_where(Expr::col((review::Entity, review::Column::ProductId)).eq(product_id))
            .to_owned(),
    );
    product::Entity::update_many()
        .col_expr(product::Column::RatingCount, count)
        .col_expr(product::Column::RatingAvgCenti, average_centi)
        .filter(product::Column::Id.eq(product_id))
        .exec(conn)
        .await?;
    Ok(())
}

fn view(r: review::Model, username: &str, avatar: Option<String>) -> ReviewView {
    ReviewView {
        id: r.id,
        product_id: r.product_id,
        customer_id: r.customer_id,
        customer_username: username.to_string(),
        customer_avatar: avatar,
        rating: r.rating,
        text: r.text,
        images: r
            .image_names
            .split(',')
            .filter(|n| !n.is_empty())
            .map(crate::media::url_of)
            .collect(),
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

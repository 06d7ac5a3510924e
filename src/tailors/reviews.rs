//! Reviews of tailors by customers who were served by them, the tailor's
//! one reply, and the rating summary kept equal to the reviews.
//!
//! A review's writing transaction takes the tailor's profile row first
//! (`lock_profile`), then upserts the review and recomputes the summary from
//! the reviews in one statement: the writers of one tailor queue on that row,
//! so each recomputation sees every review committed before it, under any
//! interleaving and on both backends. The summary is never adjusted from
//! numbers the application read.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::tailor_row::{is_live_tailor, lock_profile};
use super::{TailorError, TailorService, uploads};
use crate::commissions::machine::Status as CommissionStatus;
use crate::storage::entities::{commission, order, tailor_profile, tailor_review, user};
use crate::store::{RatingSummary, Status};
use crate::validation::{BLANK, FieldErrors, REQUIRED};

pub const MAX_FEEDBACK_CHARS: usize = 5000;
pub const MAX_REPLY_CHARS: usize = 2000;
pub const MAX_REVIEW_IMAGES: usize = 10;

/// A review as the customer sends it.
#[derive(Debug, Default)]
pub struct ReviewInput {
    pub rating: Option<i64>,
    /// Absent on an edit: the earlier feedback stays.
    pub feedback: Option<String>,
    /// Absent on an edit: the earlier images stay; `[]` removes them.
    pub image_ids: Option<Vec<String>>,
}

/// Whether a review may be written afresh or only edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewWrite {
    /// The first review, or an edit of it (`POST /tailor/api/rating/`).
    CreateOrEdit,
    /// An edit of an existing review only (the old `PUT .../update/...`).
    EditOnly,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TailorReviewView {
    pub id: Uuid,
    pub tailor_id: Uuid,
    pub customer_id: Uuid,
    pub customer_username: String,
    /// URL of the customer's avatar (`/media/...`); null without one.
    pub customer_avatar: Option<String>,
    /// 1–5 stars.
    pub rating: i32,
    pub feedback: String,
    /// Image URLs (`/media/...`) in order.
    pub images: Vec<String>,
    /// The tailor's answer; null until they give it.
    pub reply: Option<String>,
    pub replied_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub struct TailorReviewPage {
    pub count: u64,
    pub summary: RatingSummary,
    pub reviews: Vec<TailorReviewView>,
}

impl TailorService {
    /// Writes `customer`'s review of `tailor_id`: `true` when created, `false`
    /// when their earlier review was edited.
    pub async fn review_tailor(
        &self,
        customer: &user::Model,
        tailor_id: Uuid,
        input: ReviewInput,
        write: ReviewWrite,
    ) -> Result<(bool, TailorReviewView), TailorError> {
        let mut errors = FieldErrors::new();
        match input.rating {
            None => errors.add("rating", REQUIRED),
            Some(r) if !(1..=5).contains(&r) => errors.add("rating", "Give 1 to 5 stars."),
            Some(_) => {}
        }
        let feedback = input.feedback.map(|f| f.trim().to_string());
        if let Some(feedback) = &feedback {
            errors.max_len("feedback", feedback, MAX_FEEDBACK_CHARS);
        }
        let images = match &input.image_ids {
            Some(raw) => Some(
                uploads::own_uploads(
                    &self.db,
                    customer.id,
                    raw,
                    (0, MAX_REVIEW_IMAGES),
                    "image_ids",
                    &mut errors,
                )
                .await?,
            ),
            None => None,
        };
        if customer.id == tailor_id {
            errors.add("tailor_id", "You cannot review yourself.");
        }
        errors.into_result()?;
        if !is_live_tailor(&self.db, tailor_id).await? {
            return Err(TailorError::NotFound);
        }
        if !self.served_by(customer.id, tailor_id).await? {
            return Err(TailorError::Forbidden(
                "Only customers with a delivered or completed order, or a completed commission, from this tailor can review them.",
            ));
        }
        let image_ids = images.map(|ids| serde_json::to_string(&ids).unwrap_or_default());

        let txn = self.db.begin().await?;
        if !lock_profile(&txn, tailor_id).await? {
            return Err(TailorError::NotFound);
        }
        let existed = find_review(&txn, tailor_id, customer.id).await?.is_some();
        if write == ReviewWrite::EditOnly && !existed {
            return Err(TailorError::NotFound);
        }
        let now = Utc::now();
        let mut edited = vec![
            tailor_review::Column::Rating,
            tailor_review::Column::UpdatedAt,
        ];
        if feedback.is_some() {
            edited.push(tailor_review::Column::Feedback);
        }
        if image_ids.is_some() {
            edited.push(tailor_review::Column::ImageIds);
        }
        tailor_review::Entity::insert(tailor_review::ActiveModel {
            id: Set(Uuid::now_v7()),
            tailor_id: Set(tailor_id),
            customer_id: Set(customer.id),
            rating: Set(input.rating.unwrap_or(1) as i32),
            feedback: Set(feedback.unwrap_or_default()),
            image_ids: Set(image_ids.unwrap_or_else(|| "[]".into())),
            reply: Set(None),
            replied_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .on_conflict(
            OnConflict::columns([
                tailor_review::Column::TailorId,
                tailor_review::Column::CustomerId,
            ])
            .update_columns(edited)
            .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        refresh_rating(&txn, tailor_id).await?;
        let row = find_review(&txn, tailor_id, customer.id)
            .await?
            .ok_or(TailorError::NotFound)?;
        if !existed {
            crate::notifications::events::new_review(&txn, row.id, tailor_id, customer, row.rating)
                .await?;
        }
        txn.commit().await?;
        // The reviewer's rating, or the new cover image, shows at once here.
        self.directory_changed();
        let mut views = self.review_views(vec![row]).await?;
        Ok((!existed, views.pop().ok_or(TailorError::NotFound)?))
    }

    /// The reviewed tailor's one answer to a review.
    pub async fn reply_to_review(
        &self,
        tailor: &user::Model,
        review_id: Uuid,
        reply: Option<String>,
    ) -> Result<TailorReviewView, TailorError> {
        let reply = reply.map(|r| r.trim().to_string());
        let mut errors = FieldErrors::new();
        match reply.as_deref() {
            None => errors.add("reply", REQUIRED),
            Some("") => errors.add("reply", BLANK),
            Some(r) => errors.max_len("reply", r, MAX_REPLY_CHARS),
        }
        errors.into_result()?;
        // One conditional statement: of two replies at once, one finds the
        // reply still empty and the other does not.
        let answered = tailor_review::Entity::update_many()
            .col_expr(tailor_review::Column::Reply, Expr::value(reply))
            .col_expr(tailor_review::Column::RepliedAt, Expr::value(Utc::now()))
            .filter(tailor_review::Column::Id.eq(review_id))
            .filter(tailor_review::Column::TailorId.eq(tailor.id))
            .filter(tailor_review::Column::Reply.is_null())
            .exec(&self.db)
            .await?;
        let row = tailor_review::Entity::find_by_id(review_id)
            .one(&self.db)
            .await?
            .ok_or(TailorError::NotFound)?;
        if answered.rows_affected == 0 {
            if row.tailor_id != tailor.id {
                return Err(TailorError::Forbidden(
                    "Only the reviewed tailor can reply to a review.",
                ));
            }
            return Err(TailorError::Conflict(
                "already_replied",
                "You have replied to this review already; each review takes one reply.".into(),
            ));
        }
        let mut views = self.review_views(vec![row]).await?;
        views.pop().ok_or(TailorError::NotFound)
    }

    /// A tailor's reviews, newest first, with their rating summary; `None`
    /// past the last page.
    pub async fn tailor_reviews(
        &self,
        tailor_id: Uuid,
        page: u64,
        page_size: u64,
    ) -> Result<Option<TailorReviewPage>, TailorError> {
        if !is_live_tailor(&self.db, tailor_id).await? {
            return Err(TailorError::NotFound);
        }
        let profile = tailor_profile::Entity::find_by_id(tailor_id)
            .one(&self.db)
            .await?
            .ok_or(TailorError::NotFound)?;
        let select =
            tailor_review::Entity::find().filter(tailor_review::Column::TailorId.eq(tailor_id));
        let count = select.clone().count(&self.db).await?;
        let Some(offset) = crate::storage::page_offset(page, page_size, count) else {
            return Ok(None);
        };
        let rows = select
            .order_by_desc(tailor_review::Column::CreatedAt)
            .order_by_desc(tailor_review::Column::Id)
            .offset(offset)
            .limit(page_size)
            .all(&self.db)
            .await?;
        Ok(Some(TailorReviewPage {
            count,
            summary: RatingSummary {
                average: profile.rating_avg_centi as f64 / 100.0,
                count: profile.rating_count,
            },
            reviews: self.review_views(rows).await?,
        }))
    }

    /// Whether `customer` was served by `tailor`: an order from them (one
    /// holding that tailor's products, as checkout splits carts by tailor)
    /// that was delivered or completed.
    ///
    /// Hook for commissions (next issue): a completed commission with this
    /// tailor must count too; add it here, the one place that decides who may
    /// review a tailor.
    /// A delivered or completed order from the tailor, or a completed
    /// commission.
    async fn served_by(&self, customer: Uuid, tailor: Uuid) -> Result<bool, TailorError> {
        let served = order::Entity::find()
            .filter(order::Column::CustomerId.eq(customer))
            .filter(order::Column::TailorId.eq(tailor))
            .filter(
                order::Column::Status
                    .is_in([Status::Delivered.as_str(), Status::Completed.as_str()]),
            )
            .count(&self.db)
            .await?;
        if served > 0 {
            return Ok(true);
        }
        let made = commission::Entity::find()
            .filter(commission::Column::CustomerId.eq(customer))
            .filter(commission::Column::TailorId.eq(tailor))
            .filter(commission::Column::Status.eq(CommissionStatus::Completed.as_str()))
            .count(&self.db)
            .await?;
        Ok(made > 0)
    }

    /// Views with each author's public face and the image URLs, in a fixed
    /// number of queries.
    async fn review_views(
        &self,
        rows: Vec<tailor_review::Model>,
    ) -> Result<Vec<TailorReviewView>, TailorError> {
        let authors: HashMap<Uuid, String> = user::Entity::find()
            .filter(user::Column::Id.is_in(rows.iter().map(|r| r.customer_id)))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|u| (u.id, u.username))
            .collect();
        let avatars =
            crate::media::avatar_urls(&self.db, rows.iter().map(|r| r.customer_id)).await?;
        let image_ids: Vec<Vec<Uuid>> = rows
            .iter()
            .map(|r| serde_json::from_str(&r.image_ids).unwrap_or_default())
            .collect();
        let urls = uploads::urls(&self.db, image_ids.iter().flatten().copied()).await?;
        Ok(rows
            .into_iter()
            .zip(image_ids)
            .map(|(r, ids)| TailorReviewView {
                id: r.id,
                tailor_id: r.tailor_id,
                customer_id: r.customer_id,
                customer_username: authors.get(&r.customer_id).cloned().unwrap_or_default(),
                customer_avatar: avatars.get(&r.customer_id).cloned(),
                rating: r.rating,
                feedback: r.feedback,
                images: ids.iter().filter_map(|id| urls.get(id).cloned()).collect(),
                reply: r.reply,
                replied_at: r.replied_at,
                created_at: r.created_at,
                updated_at: r.updated_at,
            })
            .collect())
    }
}

async fn find_review(
    conn: &impl ConnectionTrait,
    tailor_id: Uuid,
    customer_id: Uuid,
) -> Result<Option<tailor_review::Model>, TailorError> {
    Ok(tailor_review::Entity::find()
        .filter(tailor_review::Column::TailorId.eq(tailor_id))
        .filter(tailor_review::Column::CustomerId.eq(customer_id))
        .one(conn)
        .await?)
}

/// Recomputes count and average from the reviews themselves, in one
/// statement (the average in hundredths, rounded half up).
pub(super) async fn refresh_rating(
    conn: &impl ConnectionTrait,
    tailor_id: Uuid,
) -> Result<(), TailorError> {
    let (count, average_centi) = crate::storage::rating_summary(
        Query::select()
            .from(tailor_review::Entity)
            .and_where(
                Expr::col((tailor_review::Entity, tailor_review::Column::TailorId)).eq(tailor_id),
            )
            .to_owned(),
    );
    tailor_profile::Entity::update_many()
        .col_expr(tailor_profile::Column::RatingCount, count)
        .col_expr(tailor_profile::Column::RatingAvgCenti, average_centi)
        .filter(tailor_profile::Column::UserId.eq(tailor_id))
        .exec(conn)
        .await?;
    Ok(())
}

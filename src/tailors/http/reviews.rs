//! Reviews of tailors (old `tailor_api` rating): write or edit yours, read a
//! tailor's with their rating summary, and the tailor's one reply.

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::TAG;
use crate::auth::http::CurrentUser;
use crate::error::{ApiError, BadRequest, ErrorBody};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::pagination::{PageLinks, PageRequest, invalid_page};
use crate::state::AppState;
use crate::store::RatingSummary;
use crate::store::http::PageQuery;
use crate::tailors::reviews::{ReviewInput, ReviewWrite, TailorReviewView};
use crate::validation::{FieldErrors, REQUIRED};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(post_review))
        .routes(routes!(update_review))
        .routes(routes!(reply))
        .routes(routes!(list_reviews))
}

/// Your review of a tailor who served you.
#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(default)]
pub struct TailorReviewRequest {
    /// The tailor's user id.
    #[schema(value_type = Uuid, required = true)]
    pub tailor_id: Option<String>,
    /// 1–5 stars.
    #[schema(value_type = i64, required = true, minimum = 1, maximum = 5, example = 5)]
    pub rating: Option<i64>,
    /// Up to 5,000 characters; on an edit, leaving it out keeps the earlier text.
    #[schema(value_type = String, required = false, max_length = 5000, example = "The agbada fit perfectly and came a day early.")]
    pub feedback: Option<String>,
    /// Up to 10 ids of images you uploaded (`/media/api/upload/`), in order;
    /// replaces earlier ones (`[]` removes them; left out keeps them).
    #[schema(value_type = Vec<Uuid>, required = false, max_items = 10)]
    pub image_ids: Option<Vec<String>>,
}

/// An edit of your review of the tailor in the path.
#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(default)]
pub struct TailorReviewEditRequest {
    /// 1–5 stars.
    #[schema(value_type = i64, required = true, minimum = 1, maximum = 5, example = 4)]
    pub rating: Option<i64>,
    /// Up to 5,000 characters; left out, the earlier text stays.
    #[schema(value_type = String, required = false, max_length = 5000)]
    pub feedback: Option<String>,
    /// Up to 10 ids of images you uploaded, in order; replaces earlier ones
    /// (`[]` removes them; left out keeps them).
    #[schema(value_type = Vec<Uuid>, required = false, max_items = 10)]
    pub image_ids: Option<Vec<String>>,
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(default)]
pub struct ReplyRequest {
    /// Up to 2,000 characters.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 2000, example = "Thank you, come again!")]
    pub reply: Option<String>,
}

/// One page of a tailor's reviews, with the summary of all of them.
#[derive(Serialize, ToSchema)]
pub struct TailorReviewPageBody {
    pub count: u64,
    pub next: Option<String>,
    pub previous: Option<String>,
    /// Average and number of all the tailor's reviews.
    pub rating: RatingSummary,
    pub results: Vec<TailorReviewView>,
}

fn id_in_path(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::not_found())
}

fn created_or_edited(created: bool) -> StatusCode {
    if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}

/// Review a tailor who served you (a delivered or completed order from
/// them); a second review edits your first.
#[utoipa::path(post, path = "/tailor/api/rating", tag = TAG, request_body = TailorReviewRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Review created", body = TailorReviewView),
        (status = 200, description = "Your earlier review, edited", body = TailorReviewView),
        (status = 400, description = "Field errors: bad rating or tailor id, images not yours, reviewing yourself", body = BadRequest),
        (status = 403, description = "`permission_denied`: no delivered or completed order from this tailor", body = ErrorBody),
        (status = 404, description = "No such tailor", body = ErrorBody)))]
async fn post_review(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<TailorReviewRequest>,
) -> Result<(StatusCode, Json<TailorReviewView>), ApiError> {
    let tailor_id = match body.tailor_id.as_deref().map(str::trim) {
        None => return Err(FieldErrors::single("tailor_id", REQUIRED).into()),
        Some(raw) => Uuid::parse_str(raw)
            .map_err(|_| FieldErrors::single("tailor_id", "Must be a valid UUID."))?,
    };
    let input = ReviewInput {
        rating: body.rating,
        feedback: body.feedback,
        image_ids: body.image_ids,
    };
    let (created, review) = state
        .tailors
        .review_tailor(&user, tailor_id, input, ReviewWrite::CreateOrEdit)
        .await?;
    Ok((created_or_edited(created), Json(review)))
}

/// Edit your review of a tailor (the old path; `POST /tailor/api/rating/`
/// edits too).
#[utoipa::path(put, path = "/tailor/api/rating/update/{tailor_id}/tailor", tag = TAG,
    request_body = TailorReviewEditRequest,
    params(("tailor_id" = Uuid, Path, description = "The tailor's user id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "Your review, edited", body = TailorReviewView),
        (status = 400, description = "Field errors: bad rating, images not yours, reviewing yourself", body = BadRequest),
        (status = 403, description = "`permission_denied`: no delivered or completed order from this tailor", body = ErrorBody),
        (status = 404, description = "No such tailor, or no review of yours to edit", body = ErrorBody)))]
async fn update_review(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(tailor_id): ApiPath<String>,
    ApiJson(body): ApiJson<TailorReviewEditRequest>,
) -> Result<Json<TailorReviewView>, ApiError> {
    let input = ReviewInput {
        rating: body.rating,
        feedback: body.feedback,
        image_ids: body.image_ids,
    };
    let (_, review) = state
        .tailors
        .review_tailor(&user, id_in_path(&tailor_id)?, input, ReviewWrite::EditOnly)
        .await?;
    Ok(Json(review))
}

/// Answer a review of you, once.
#[utoipa::path(post, path = "/tailor/api/rating/{review_id}/reply", tag = TAG, request_body = ReplyRequest,
    params(("review_id" = Uuid, Path, description = "Review id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The review with your reply", body = TailorReviewView),
        (status = 400, description = "Missing, blank or too long reply", body = BadRequest),
        (status = 403, description = "`permission_denied`: a review of someone else", body = ErrorBody),
        (status = 404, description = "No such review", body = ErrorBody),
        (status = 409, description = "`already_replied`: this review has your reply", body = ErrorBody)))]
async fn reply(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(review_id): ApiPath<String>,
    ApiJson(body): ApiJson<ReplyRequest>,
) -> Result<Json<TailorReviewView>, ApiError> {
    let review = state
        .tailors
        .reply_to_review(&user, id_in_path(&review_id)?, body.reply)
        .await?;
    Ok(Json(review))
}

/// A tailor's reviews, newest first, with their rating summary.
#[utoipa::path(get, path = "/tailor/api/{tailor_id}/ratings", tag = TAG,
    params(("tailor_id" = Uuid, Path, description = "The tailor's user id"), PageQuery),
    responses(
        (status = 200, description = "One page", body = TailorReviewPageBody),
        (status = 404, description = "No such tailor, or invalid page", body = ErrorBody)))]
async fn list_reviews(
    State(state): State<AppState>,
    ApiPath(tailor_id): ApiPath<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Json<TailorReviewPageBody>, ApiError> {
    let request = PageRequest::parse(query.page.as_deref(), query.page_size.as_deref())?;
    let page = state
        .tailors
        .tailor_reviews(id_in_path(&tailor_id)?, request.page, request.page_size)
        .await?
        .ok_or_else(invalid_page)?;
    let (next, previous) = PageLinks::new(&uri, &headers).neighbours(request, page.count);
    Ok(Json(TailorReviewPageBody {
        count: page.count,
        next,
        previous,
        rating: page.summary,
        results: page.reviews,
    }))
}

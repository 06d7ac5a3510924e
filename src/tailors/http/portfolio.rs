//! Portfolio endpoints: the tailor's own create, edit, reorder and delete;
//! anyone's paginated view of a tailor's portfolio.
//!
//! Another tailor's item is a 403 on edit and delete (as the shop answers
//! for another tailor's product); an unknown or malformed item id is a 404.

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Deserializer, Serialize};
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
use crate::store::http::PageQuery;
use crate::tailors::portfolio::{PortfolioInput, PortfolioItemView};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_item))
        .routes(routes!(reorder_items))
        .routes(routes!(update_item, delete_item))
        .routes(routes!(list_portfolio))
}

/// A new portfolio item.
#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(default)]
pub struct NewPortfolioItemRequest {
    /// Up to 200 characters.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 200, example = "Wedding agbada in royal blue")]
    pub title: Option<String>,
    /// Up to 5,000 characters.
    #[schema(value_type = String, required = false, max_length = 5000)]
    pub description: Option<String>,
    /// At most 20 tags of up to 40 characters; repeats are dropped.
    #[schema(value_type = Vec<String>, required = false, max_items = 20, example = json!(["agbada", "aso ebi"]))]
    pub tags: Option<Vec<String>>,
    /// Ids of images you uploaded (`/media/api/upload/`), 1 to 10, in display order.
    #[schema(value_type = Vec<Uuid>, required = true, min_items = 1, max_items = 10)]
    pub image_ids: Option<Vec<String>>,
    /// Kobo, 0 or more: roughly what such a piece costs.
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<i64>, required = false, minimum = 0, maximum = 1_000_000_000_000_i64, example = 15000000)]
    pub price_indication: Option<Option<i64>>,
    /// One of your products (not deleted) this piece can be bought as.
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<Uuid>, required = false)]
    pub product_id: Option<Option<String>>,
}

/// Changes to a portfolio item: only the fields sent change.
#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(default)]
pub struct PortfolioItemChangesRequest {
    /// Up to 200 characters.
    #[schema(value_type = String, required = false, min_length = 1, max_length = 200)]
    pub title: Option<String>,
    /// Up to 5,000 characters.
    #[schema(value_type = String, required = false, max_length = 5000)]
    pub description: Option<String>,
    /// Replaces the tags: at most 20 of up to 40 characters.
    #[schema(value_type = Vec<String>, required = false, max_items = 20)]
    pub tags: Option<Vec<String>>,
    /// Replaces the images: 1 to 10 ids of images you uploaded, in display order.
    #[schema(value_type = Vec<Uuid>, required = false, min_items = 1, max_items = 10)]
    pub image_ids: Option<Vec<String>>,
    /// Kobo, 0 or more; null removes it.
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<i64>, required = false, minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub price_indication: Option<Option<i64>>,
    /// One of your products (not deleted); null removes the link.
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<Uuid>, required = false)]
    pub product_id: Option<Option<String>>,
}

impl From<NewPortfolioItemRequest> for PortfolioInput {
    fn from(r: NewPortfolioItemRequest) -> Self {
        PortfolioInput {
            title: r.title,
            description: r.description,
            tags: r.tags,
            image_ids: r.image_ids,
            price_indication: r.price_indication,
            product_id: r.product_id,
        }
    }
}

impl From<PortfolioItemChangesRequest> for PortfolioInput {
    fn from(r: PortfolioItemChangesRequest) -> Self {
        PortfolioInput {
            title: r.title,
            description: r.description,
            tags: r.tags,
            image_ids: r.image_ids,
            price_indication: r.price_indication,
            product_id: r.product_id,
        }
    }
}

/// Your whole portfolio in its new order.
#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(default)]
pub struct ReorderRequest {
    /// The ids of all your portfolio items, each once, first to last.
    #[schema(value_type = Vec<Uuid>, required = true, max_items = 200)]
    pub ids: Option<Vec<String>>,
}

#[derive(Serialize, ToSchema)]
pub struct PortfolioPageBody {
    pub count: u64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<PortfolioItemView>,
}

/// Tells a JSON null (`Some(None)`) from an absent field (`None`, through
/// `#[serde(default)]`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Ok(Some(Option::<T>::deserialize(d)?))
}

fn id_in_path(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::not_found())
}

/// Add a piece to your portfolio (tailors only); it goes to the end.
#[utoipa::path(post, path = "/tailor/api/portfolio", tag = TAG, request_body = NewPortfolioItemRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = PortfolioItemView),
        (status = 400, description = "Field errors (images not yours, a product not yours...)", body = BadRequest),
        (status = 403, description = "`permission_denied`: not a tailor", body = ErrorBody),
        (status = 409, description = "`portfolio_full`: 200 items already", body = ErrorBody)))]
async fn create_item(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<NewPortfolioItemRequest>,
) -> Result<(StatusCode, Json<PortfolioItemView>), ApiError> {
    let item = state
        .tailors
        .create_portfolio_item(&user, body.into())
        .await?;
    Ok((StatusCode::CREATED, Json(item)))
}

/// Change one of your portfolio items; `image_ids` replaces the images.
#[utoipa::path(patch, path = "/tailor/api/portfolio/{item_id}", tag = TAG, request_body = PortfolioItemChangesRequest,
    params(("item_id" = Uuid, Path, description = "Portfolio item id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = PortfolioItemView),
        (status = 400, description = "Field errors", body = BadRequest),
        (status = 403, description = "`permission_denied`: another tailor's item", body = ErrorBody),
        (status = 404, description = "No such item", body = ErrorBody)))]
async fn update_item(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(item_id): ApiPath<String>,
    ApiJson(body): ApiJson<PortfolioItemChangesRequest>,
) -> Result<Json<PortfolioItemView>, ApiError> {
    let item = state
        .tailors
        .update_portfolio_item(&user, id_in_path(&item_id)?, body.into())
        .await?;
    Ok(Json(item))
}

/// Delete one of your portfolio items (the uploaded images stay yours).
#[utoipa::path(delete, path = "/tailor/api/portfolio/{item_id}", tag = TAG,
    params(("item_id" = Uuid, Path, description = "Portfolio item id")), security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "`permission_denied`: another tailor's item", body = ErrorBody),
        (status = 404, description = "No such item", body = ErrorBody)))]
async fn delete_item(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(item_id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state
        .tailors
        .delete_portfolio_item(&user, id_in_path(&item_id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Put your whole portfolio in a new order: positions become 0, 1, 2... in
/// the order of `ids`.
#[utoipa::path(post, path = "/tailor/api/portfolio/reorder", tag = TAG, request_body = ReorderRequest,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Reordered"),
        (status = 400, description = "`ids` misses, repeats or adds an item", body = BadRequest),
        (status = 403, description = "`permission_denied`: not a tailor", body = ErrorBody)))]
async fn reorder_items(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<ReorderRequest>,
) -> Result<StatusCode, ApiError> {
    state.tailors.reorder_portfolio(&user, body.ids).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A tailor's portfolio in their order, each item with its image URLs.
#[utoipa::path(get, path = "/tailor/api/{tailor_id}/portfolio", tag = TAG,
    params(("tailor_id" = Uuid, Path, description = "The tailor's user id"), PageQuery),
    responses(
        (status = 200, description = "One page", body = PortfolioPageBody),
        (status = 404, description = "No such tailor, or invalid page", body = ErrorBody)))]
async fn list_portfolio(
    State(state): State<AppState>,
    ApiPath(tailor_id): ApiPath<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Json<PortfolioPageBody>, ApiError> {
    let request = PageRequest::parse(query.page.as_deref(), query.page_size.as_deref())?;
    let page = state
        .tailors
        .portfolio(id_in_path(&tailor_id)?, request.page, request.page_size)
        .await?
        .ok_or_else(invalid_page)?;
    let (next, previous) = PageLinks::new(&uri, &headers).neighbours(request, page.count);
    Ok(Json(PortfolioPageBody {
        count: page.count,
        next,
        previous,
        results: page.items,
    }))
}

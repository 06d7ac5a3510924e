//! The shop API (`/shop/api/...`): categories, products, the catalog and
//! favourites here; cart, checkout and orders in `orders`.

mod orders;
mod payments;
pub mod schema;

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::browse::ProductPage;
use super::{CatalogQuery, CategoryView, ProductDetail, ProductInput, ProductSummary, ReviewView};
use crate::auth::http::{CurrentUser, DetailBody};
use crate::error::{ApiError, BadRequest, ErrorBody};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::pagination::{PageLinks, PageRequest, invalid_page};
use crate::state::AppState;
use crate::validation::FieldErrors;

const TAG: &str = "shop";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_categories, create_category))
        .routes(routes!(upload_product))
        .routes(routes!(update_product))
        .routes(routes!(delete_product))
        .routes(routes!(store_products))
        .routes(routes!(list_products))
        .routes(routes!(product_detail))
        .routes(routes!(add_favorite))
        .routes(routes!(remove_favorite))
        .routes(routes!(list_favorites))
        .routes(routes!(list_reviews, post_review))
        .merge(orders::routes())
        .merge(payments::routes())
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(default)]
pub struct CategoryRequest {
    /// At most 100 characters, with at least one letter or digit.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 100, example = "Wedding gowns")]
    pub name: Option<String>,
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(default)]
pub struct FavoriteRequest {
    #[schema(required = true, value_type = Uuid)]
    pub product_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ProductPageBody {
    pub count: u64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<ProductSummary>,
}

#[derive(Deserialize, IntoParams, Default)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1-based page number.
    #[param(value_type = Option<u64>, minimum = 1)]
    pub page: Option<String>,
    /// At most 100 (default 20; more is capped).
    #[param(value_type = Option<u64>, minimum = 1)]
    pub page_size: Option<String>,
}

#[derive(Deserialize, IntoParams, Default)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct CatalogParams {
    /// 1-based page number.
    #[param(value_type = Option<u64>, minimum = 1)]
    pub page: Option<String>,
    /// At most 100 (default 20; more is capped).
    #[param(value_type = Option<u64>, minimum = 1)]
    pub page_size: Option<String>,
    /// Words in the name or description.
    pub search: Option<String>,
    /// Category id or slug.
    pub category: Option<String>,
    /// `ready_made`, `fabric` or `accessory`.
    #[param(value_type = Option<schema::ProductKind>, inline)]
    pub kind: Option<String>,
    pub color: Option<String>,
    pub size: Option<String>,
    pub material: Option<String>,
    /// The tailor's user id.
    #[param(value_type = Option<Uuid>)]
    pub tailor: Option<String>,
    /// In kobo, on the price after discount.
    #[param(value_type = Option<i64>)]
    pub min_price: Option<String>,
    /// In kobo, on the price after discount.
    #[param(value_type = Option<i64>)]
    pub max_price: Option<String>,
    #[param(value_type = Option<bool>)]
    pub in_stock: Option<String>,
    /// `price`, `-price`, `-created` (default), `-rating`, `-popularity`.
    #[param(value_type = Option<schema::CatalogOrdering>, inline)]
    pub ordering: Option<String>,
}

fn page_body(
    page: Option<ProductPage>,
    request: PageRequest,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
) -> Result<Json<ProductPageBody>, ApiError> {
    let page = page.ok_or_else(invalid_page)?;
    let (next, previous) = PageLinks::new(uri, headers).neighbours(request, page.count);
    Ok(Json(ProductPageBody {
        count: page.count,
        next,
        previous,
        results: page.products,
    }))
}

fn product_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::not_found())
}

/// All categories, by name.
#[utoipa::path(get, path = "/shop/api/categories", tag = TAG,
    responses((status = 200, description = "Categories", body = [CategoryView])))]
async fn list_categories(
    State(state): State<AppState>,
) -> Result<Json<Vec<CategoryView>>, ApiError> {
    let categories = state.store.categories().await?;
    Ok(Json(categories.iter().map(CategoryView::from).collect()))
}

/// Create a category (staff only).
#[utoipa::path(post, path = "/shop/api/categories", tag = TAG, request_body = CategoryRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = CategoryView),
        (status = 400, description = "Missing or duplicate name", body = BadRequest),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "`permission_denied`: not staff", body = ErrorBody)))]
async fn create_category(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<CategoryRequest>,
) -> Result<(StatusCode, Json<CategoryView>), ApiError> {
    let category = state.store.create_category(&user, body.name).await?;
    Ok((StatusCode::CREATED, Json((&category).into())))
}

/// Upload a product (tailors only).
#[utoipa::path(post, path = "/shop/api/product/upload", tag = TAG, request_body = schema::NewProduct,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = ProductDetail),
        (status = 400, description = "Field errors", body = BadRequest),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "`permission_denied`: not a tailor", body = ErrorBody)))]
async fn upload_product(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<ProductInput>,
) -> Result<(StatusCode, Json<ProductDetail>), ApiError> {
    let product = state.store.create_product(&user, body).await?;
    Ok((StatusCode::CREATED, Json(product)))
}

/// Change one of your products; variants with an `id` change, others are added.
#[utoipa::path(patch, path = "/shop/api/product/update/{id}", tag = TAG, request_body = ProductInput,
    params(("id" = Uuid, Path, description = "Product id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = ProductDetail),
        (status = 400, description = "Field errors", body = BadRequest),
        (status = 403, description = "`permission_denied`: another tailor's product", body = ErrorBody),
        (status = 404, description = "No such product", body = ErrorBody)))]
async fn update_product(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ProductInput>,
) -> Result<Json<ProductDetail>, ApiError> {
    let product = state
        .store
        .update_product(&user, product_id(&id)?, body)
        .await?;
    Ok(Json(product))
}

/// Remove one of your products from the catalog (orders keep it).
#[utoipa::path(delete, path = "/shop/api/product/delete/{id}", tag = TAG,
    params(("id" = Uuid, Path, description = "Product id")), security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "`permission_denied`: another tailor's product", body = ErrorBody),
        (status = 404, description = "No such product", body = ErrorBody)))]
async fn delete_product(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state.store.delete_product(&user, product_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Your own products, hidden and out-of-stock ones included (tailors).
#[utoipa::path(get, path = "/shop/api/product/store", tag = TAG, params(PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page", body = ProductPageBody),
        (status = 403, description = "Not a tailor", body = ErrorBody),
        (status = 404, description = "Invalid page", body = ErrorBody)))]
async fn store_products(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiQuery(query): ApiQuery<PageQuery>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Json<ProductPageBody>, ApiError> {
    if user.role != "tailor" {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "permission_denied",
            "Only tailors have a store.",
        ));
    }
    let request = PageRequest::parse(query.page.as_deref(), query.page_size.as_deref())?;
    let page = state
        .store
        .store_products(&user, request.page, request.page_size)
        .await?;
    page_body(page, request, &uri, &headers)
}

/// The catalog: filter, order, page.
#[utoipa::path(get, path = "/shop/api/product/list", tag = TAG, params(CatalogParams),
    responses(
        (status = 200, description = "One page", body = ProductPageBody),
        (status = 400, description = "A bad filter", body = BadRequest),
        (status = 404, description = "Invalid page", body = ErrorBody)))]
async fn list_products(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<CatalogParams>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Json<ProductPageBody>, ApiError> {
    let request = PageRequest::parse(params.page.as_deref(), params.page_size.as_deref())?;
    let query = CatalogQuery {
        search: params.search,
        category: params.category,
        kind: params.kind,
        color: params.color,
        size: params.size,
        material: params.material,
        tailor: params.tailor,
        min_price: params.min_price,
        max_price: params.max_price,
        in_stock: params.in_stock,
        ordering: params.ordering,
    };
    let page = state
        .store
        .list_products(&query, request.page, request.page_size)
        .await?;
    page_body(page, request, &uri, &headers)
}

/// One product with variants and rating summary.
#[utoipa::path(get, path = "/shop/api/product/{id}", tag = TAG,
    params(("id" = Uuid, Path, description = "Product id")),
    responses(
        (status = 200, description = "The product", body = ProductDetail),
        (status = 404, description = "No such product", body = ErrorBody)))]
async fn product_detail(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ProductDetail>, ApiError> {
    Ok(Json(
        state.store.product_detail(product_id(&id)?, None).await?,
    ))
}

/// Save a product to your favourites (adding twice is harmless).
#[utoipa::path(post, path = "/shop/api/product/add-to-fav", tag = TAG, request_body = FavoriteRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Added", body = DetailBody),
        (status = 200, description = "Already a favourite", body = DetailBody),
        (status = 400, description = "Missing product_id", body = BadRequest),
        (status = 404, description = "No such product", body = ErrorBody)))]
async fn add_favorite(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<FavoriteRequest>,
) -> Result<(StatusCode, Json<DetailBody>), ApiError> {
    let mut errors = FieldErrors::new();
    let raw = errors
        .required("product_id", &body.product_id)
        .unwrap_or_default()
        .to_string();
    errors.into_result()?;
    if state.store.add_favorite(&user, product_id(&raw)?).await? {
        Ok((
            StatusCode::CREATED,
            Json(DetailBody::new("Added to favourites.")),
        ))
    } else {
        Ok((
            StatusCode::OK,
            Json(DetailBody::new("Already in favourites.")),
        ))
    }
}

/// Remove a product from your favourites.
#[utoipa::path(delete, path = "/shop/api/product/remove-from-fav/{product_id}", tag = TAG,
    params(("product_id" = Uuid, Path, description = "Product id")), security(("bearer" = [])),
    responses((status = 204, description = "Not a favourite (any more)")))]
async fn remove_favorite(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state.store.remove_favorite(&user, product_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Your favourites, newest first.
#[utoipa::path(get, path = "/shop/api/product/favorites/list", tag = TAG, params(PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page", body = ProductPageBody),
        (status = 404, description = "Invalid page", body = ErrorBody)))]
async fn list_favorites(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiQuery(query): ApiQuery<PageQuery>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Json<ProductPageBody>, ApiError> {
    let request = PageRequest::parse(query.page.as_deref(), query.page_size.as_deref())?;
    let page = state
        .store
        .favorites(&user, request.page, request.page_size)
        .await?;
    page_body(page, request, &uri, &headers)
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(default)]
pub struct ReviewRequest {
    /// 1–5 stars.
    #[schema(value_type = i64, required = true, minimum = 1, maximum = 5, example = 5)]
    pub rating: Option<i64>,
    /// Up to 5,000 characters.
    #[schema(value_type = String, required = false, max_length = 5000, example = "Perfect fit, beautiful embroidery.")]
    pub text: Option<String>,
    /// Ids of images you uploaded (`/media/api/upload/`), in order; replaces earlier ones.
    #[schema(value_type = Vec<Uuid>, required = false)]
    pub image_ids: Option<Vec<String>>,
}

#[derive(Serialize, ToSchema)]
pub struct ReviewPageBody {
    pub count: u64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<ReviewView>,
}

/// Review a product you received; a second review edits the first.
#[utoipa::path(post, path = "/shop/api/product/{id}/reviews", tag = TAG, request_body = ReviewRequest,
    params(("id" = Uuid, Path, description = "Product id")), security(("bearer" = [])),
    responses(
        (status = 201, description = "Review created", body = ReviewView),
        (status = 200, description = "Your earlier review, edited", body = ReviewView),
        (status = 400, description = "Bad rating", body = BadRequest),
        (status = 403, description = "`permission_denied`: no delivered order with this product", body = ErrorBody),
        (status = 404, description = "No such product", body = ErrorBody)))]
async fn post_review(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ReviewRequest>,
) -> Result<(StatusCode, Json<ReviewView>), ApiError> {
    let (created, review) = state
        .store
        .review_product(
            &user,
            product_id(&id)?,
            body.rating,
            body.text,
            body.image_ids,
        )
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(review)))
}

/// A product's reviews, newest first.
#[utoipa::path(get, path = "/shop/api/product/{id}/reviews", tag = TAG, params(("id" = Uuid, Path, description = "Product id"), PageQuery),
    responses(
        (status = 200, description = "One page", body = ReviewPageBody),
        (status = 404, description = "No such product, or invalid page", body = ErrorBody)))]
async fn list_reviews(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Json<ReviewPageBody>, ApiError> {
    let request = PageRequest::parse(query.page.as_deref(), query.page_size.as_deref())?;
    let page = state
        .store
        .reviews(product_id(&id)?, request.page, request.page_size)
        .await?
        .ok_or_else(invalid_page)?;
    let (next, previous) = PageLinks::new(&uri, &headers).neighbours(request, page.count);
    Ok(Json(ReviewPageBody {
        count: page.count,
        next,
        previous,
        results: page.reviews,
    }))
}

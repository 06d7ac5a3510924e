//! Cart, checkout (with `Idempotency-Key`) and orders.

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::http::CurrentUser;
use crate::error::{ApiError, BadRequest, ErrorBody};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::idempotent::{Outcome, required_key, run_once};
use crate::http::pagination::{PageLinks, PageRequest, invalid_page};
use crate::state::AppState;
use crate::store::{CHECKOUT_IN_PROGRESS, CartView, OrderView, Party, PaymentInfo, StoreError};

const TAG: &str = "shop";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_cart))
        .routes(routes!(add_cart_item))
        .routes(routes!(change_cart_item, remove_cart_item))
        .routes(routes!(checkout))
        .routes(routes!(my_orders))
        .routes(routes!(received_orders))
        .routes(routes!(order_detail))
        .routes(routes!(change_status))
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(default)]
pub struct CartItemRequest {
    #[schema(required = true, value_type = Uuid)]
    pub variant_id: Option<String>,
    /// Units (or yards of fabric), 1–10000.
    #[schema(value_type = i64, required = true, minimum = 1, maximum = 10000, example = 1)]
    pub quantity: Option<i64>,
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(default)]
pub struct QuantityRequest {
    /// 1–10000.
    #[schema(value_type = i64, required = true, minimum = 1, maximum = 10000, example = 2)]
    pub quantity: Option<i64>,
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(default)]
pub struct CheckoutRequest {
    #[schema(value_type = String, required = true, min_length = 1, max_length = 500, example = "12 Broad Street, Lagos")]
    pub delivery_address: Option<String>,
    /// `pay_on_delivery`, or `paystack` when the server has a Paystack key.
    #[schema(value_type = super::schema::PaymentMethod, required = true, example = "pay_on_delivery")]
    pub payment_method: Option<String>,
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(default)]
pub struct StatusRequest {
    /// `processing`, `shipped`, `delivered`, `completed` or `cancelled`.
    #[schema(value_type = super::schema::OrderMove, required = true, example = "shipped")]
    pub status: Option<String>,
    /// Shown in the order's timeline; up to 500 characters.
    #[schema(value_type = String, required = false, max_length = 500)]
    pub note: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CheckoutBody {
    /// One order per tailor in the cart.
    pub orders: Vec<OrderView>,
    /// With `paystack`: the `authorization_url` to pay at and the `reference`.
    pub payment: Option<PaymentInfo>,
}

#[derive(Serialize, ToSchema)]
pub struct OrderPageBody {
    pub count: u64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<OrderView>,
}

#[derive(Deserialize, IntoParams, Default)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct OrderListQuery {
    /// 1-based page number.
    #[param(value_type = Option<u64>, minimum = 1)]
    pub page: Option<String>,
    /// At most 100 (default 20; more is capped).
    #[param(value_type = Option<u64>, minimum = 1)]
    pub page_size: Option<String>,
    /// Only orders in this status.
    #[param(value_type = Option<super::schema::OrderStatus>, inline)]
    pub status: Option<String>,
}

fn item_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::not_found())
}

/// Your cart, priced now.
#[utoipa::path(get, path = "/shop/api/cart", tag = TAG, security(("bearer" = [])),
    responses((status = 200, description = "The cart", body = CartView)))]
async fn get_cart(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<CartView>, ApiError> {
    Ok(Json(state.store.cart(&user).await?))
}

/// Put a variant in your cart (adds to what is there).
#[utoipa::path(post, path = "/shop/api/cart/items", tag = TAG, request_body = CartItemRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The cart", body = CartView),
        (status = 400, description = "Unknown variant, bad quantity, or more than is in stock (`{\"quantity\": [\"Only 2 available.\"]}`)", body = BadRequest)))]
async fn add_cart_item(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<CartItemRequest>,
) -> Result<(StatusCode, Json<CartView>), ApiError> {
    let cart = state
        .store
        .add_to_cart(&user, body.variant_id, body.quantity)
        .await?;
    Ok((StatusCode::CREATED, Json(cart)))
}

/// Set the quantity of a cart line.
#[utoipa::path(patch, path = "/shop/api/cart/items/{id}", tag = TAG, request_body = QuantityRequest,
    params(("id" = Uuid, Path, description = "Cart line id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The cart", body = CartView),
        (status = 400, description = "Bad quantity or more than is in stock", body = BadRequest),
        (status = 404, description = "Not a line of your cart", body = ErrorBody)))]
async fn change_cart_item(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<QuantityRequest>,
) -> Result<Json<CartView>, ApiError> {
    Ok(Json(
        state
            .store
            .set_cart_quantity(&user, item_id(&id)?, body.quantity)
            .await?,
    ))
}

/// Remove a cart line.
#[utoipa::path(delete, path = "/shop/api/cart/items/{id}", tag = TAG,
    params(("id" = Uuid, Path, description = "Cart line id")), security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "Not a line of your cart", body = ErrorBody)))]
async fn remove_cart_item(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state.store.remove_from_cart(&user, item_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Turn the cart into orders (one per tailor), taking the stock.
///
/// Send an `Idempotency-Key` header: a retry with the same key and body gets
/// the first answer; the same key with another body is 422; while the first
/// is still running, 409. One cart makes one checkout whatever the keys: a
/// second checkout while one runs is 409 `checkout_in_progress` (retry it
/// later with the same key), one after it finds the cart empty (400).
#[utoipa::path(post, path = "/shop/api/checkout", tag = TAG, request_body = CheckoutRequest,
    params(("Idempotency-Key" = String, Header, description = "A unique key per checkout attempt (e.g. a UUID), up to 255 characters", min_length = 1, max_length = 255)),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Orders placed", body = CheckoutBody),
        (status = 400, description = "Field errors, empty cart, or no Idempotency-Key", body = BadRequest),
        (status = 409, description = "`out_of_stock` (says what is left), `unavailable`, `request_in_progress` (this key), `checkout_in_progress` (another checkout of this cart is running), or `cart_changed` (the cart changed while Paystack was asked)", body = ErrorBody),
        (status = 422, description = "`idempotency_key_reused` with another body", body = ErrorBody),
        (status = 502, description = "`payment_provider_error`: Paystack unreachable or refused; nothing changed", body = ErrorBody)))]
async fn checkout(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> Result<Response, ApiError> {
    let key = required_key(&headers, "checkout")?;
    let request: CheckoutRequest = serde_json::from_value(body.clone())
        .map_err(|e| ApiError::bad_request("parse_error", format!("Invalid data: {e}")))?;
    run_once(&state, user.id, "checkout", &key, &body, async {
        let outcome = state
            .store
            .checkout(&user, request.delivery_address, request.payment_method)
            .await;
        // Refused only because another checkout of the cart was running: not
        // this key's answer for good, so a retry with it runs again.
        let transient =
            matches!(&outcome, Err(StoreError::Conflict(code, _)) if *code == CHECKOUT_IN_PROGRESS);
        let response = match outcome {
            Ok(result) => (
                StatusCode::CREATED,
                Json(CheckoutBody {
                    orders: result.orders,
                    payment: result.payment,
                }),
            )
                .into_response(),
            Err(err) => ApiError::from(err).into_response(),
        };
        Outcome {
            response,
            retry_runs_again: transient,
        }
    })
    .await
}

async fn order_page(
    state: &AppState,
    user: &crate::storage::entities::user::Model,
    party: Party,
    query: OrderListQuery,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
) -> Result<Json<OrderPageBody>, ApiError> {
    let request = PageRequest::parse(query.page.as_deref(), query.page_size.as_deref())?;
    let page = state
        .store
        .orders(
            user,
            party,
            query.status.as_deref(),
            request.page,
            request.page_size,
        )
        .await?
        .ok_or_else(invalid_page)?;
    let (next, previous) = PageLinks::new(uri, headers).neighbours(request, page.count);
    Ok(Json(OrderPageBody {
        count: page.count,
        next,
        previous,
        results: page.orders,
    }))
}

/// Your orders as a customer, newest first.
#[utoipa::path(get, path = "/shop/api/orders", tag = TAG, params(OrderListQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "One page", body = OrderPageBody),
        (status = 400, description = "An unknown `status` (field error) or `invalid_page_size`", body = BadRequest)))]
async fn my_orders(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiQuery(query): ApiQuery<OrderListQuery>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Json<OrderPageBody>, ApiError> {
    order_page(&state, &user, Party::Customer, query, &uri, &headers).await
}

/// Orders placed with you as a tailor, newest first.
#[utoipa::path(get, path = "/shop/api/orders/received", tag = TAG, params(OrderListQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "One page", body = OrderPageBody),
        (status = 400, description = "An unknown `status` (field error) or `invalid_page_size`", body = BadRequest)))]
async fn received_orders(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiQuery(query): ApiQuery<OrderListQuery>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Json<OrderPageBody>, ApiError> {
    order_page(&state, &user, Party::Tailor, query, &uri, &headers).await
}

/// One order with items, totals, payment and timeline (its customer and tailor only).
#[utoipa::path(get, path = "/shop/api/orders/{id}", tag = TAG,
    params(("id" = Uuid, Path, description = "Order id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The order", body = OrderView),
        (status = 404, description = "No such order of yours", body = ErrorBody)))]
async fn order_detail(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<OrderView>, ApiError> {
    Ok(Json(state.store.order(&user, item_id(&id)?).await?))
}

/// Move an order along (tailor: processing → shipped → delivered, or cancel
/// before shipping; customer: cancel before processing, or confirm
/// delivered → completed). Cancelling returns the stock.
#[utoipa::path(patch, path = "/shop/api/orders/{id}/status", tag = TAG, request_body = StatusRequest,
    params(("id" = Uuid, Path, description = "Order id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The order after the move", body = OrderView),
        (status = 400, description = "Unknown status", body = BadRequest),
        (status = 404, description = "No such order of yours", body = ErrorBody),
        (status = 409, description = "`invalid_transition`: names the current state", body = ErrorBody)))]
async fn change_status(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<StatusRequest>,
) -> Result<Json<OrderView>, ApiError> {
    Ok(Json(
        state
            .store
            .change_order_status(&user, item_id(&id)?, body.status, body.note)
            .await?,
    ))
}

//! The tailor's side (old `get-customers` and dashboard): tailors only.

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::TAG;
use crate::auth::http::{CurrentUser, UserPublic};
use crate::commissions::CommissionFigures;
use crate::error::{ApiError, ErrorBody};
use crate::fittings::BookingView;
use crate::http::extract::ApiQuery;
use crate::http::pagination::{PageLinks, PageRequest, invalid_page};
use crate::state::AppState;
use crate::store::http::PageQuery;
use crate::tailors::customers::{Dashboard, Interaction};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(customers))
        .routes(routes!(dashboard))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InteractionKind {
    /// The customer placed an order with the tailor.
    Order,
    /// The customer and the tailor exchanged messages.
    Chat,
}

#[derive(Serialize, ToSchema)]
pub struct CustomerView {
    pub user: UserPublic,
    /// When the customer last ordered from or chatted with the tailor.
    pub last_interaction_at: DateTime<Utc>,
    /// Which of the two that was.
    pub last_interaction: InteractionKind,
    /// Orders the customer placed with the tailor, in any status.
    pub orders_count: i64,
}

#[derive(Serialize, ToSchema)]
pub struct CustomerPage {
    pub count: u64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<CustomerView>,
}

/// The tailor's orders in each status.
#[derive(Serialize, ToSchema, Default)]
pub struct OrdersByStatus {
    pub pending_payment: i64,
    pub paid: i64,
    pub processing: i64,
    pub shipped: i64,
    pub delivered: i64,
    pub completed: i64,
    pub cancelled: i64,
}

#[derive(Serialize, ToSchema)]
pub struct DashboardOrders {
    pub total: i64,
    pub by_status: OrdersByStatus,
}

#[derive(Serialize, ToSchema)]
pub struct DashboardRevenue {
    /// The items of the tailor's delivered or completed orders delivered
    /// this calendar month (UTC), in kobo.
    pub kobo: i64,
    pub currency: &'static str,
    /// The month counted, `YYYY-MM` (UTC).
    pub month: String,
}

#[derive(Serialize, ToSchema)]
pub struct DashboardRating {
    /// Average of 1–5 stars, two decimals; 0 without reviews.
    pub average: f64,
    pub count: i64,
}

/// The tailor's figures.
#[derive(Serialize, ToSchema)]
pub struct DashboardView {
    /// Products in the tailor's store (hidden ones included, deleted ones not).
    pub products: u64,
    /// Orders with the tailor's products.
    pub orders: DashboardOrders,
    pub revenue_this_month: DashboardRevenue,
    /// Users following the tailor.
    pub followers: i64,
    pub rating: DashboardRating,
    /// Requests, quotes, work by stage, due dates and money received.
    pub commissions: CommissionFigures,
    /// Today's requested and confirmed fittings (the day in your time zone).
    pub fittings_today: Vec<BookingView>,
}

/// Your customers (tailors): who ordered from you or chatted with you, each
/// once, latest interaction first.
#[utoipa::path(get, path = "/tailor/api/get-customers", tag = TAG, params(PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of customers", body = CustomerPage),
        (status = 403, description = "`permission_denied`: not a tailor", body = ErrorBody),
        (status = 404, description = "Invalid page", body = ErrorBody)))]
async fn customers(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiQuery(query): ApiQuery<PageQuery>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Json<CustomerPage>, ApiError> {
    let request = PageRequest::parse(query.page.as_deref(), query.page_size.as_deref())?;
    let page = state
        .tailors
        .customers(&me, request.page, request.page_size)
        .await?
        .ok_or_else(invalid_page)?;
    let users: Vec<_> = page.customers.iter().map(|c| c.user.clone()).collect();
    let mut avatars = state.auth.avatar_urls(&users).await?;
    let (next, previous) = PageLinks::new(&uri, &headers).neighbours(request, page.count);
    Ok(Json(CustomerPage {
        count: page.count,
        next,
        previous,
        results: page
            .customers
            .into_iter()
            .map(|c| CustomerView {
                user: UserPublic::new(&c.user, avatars.remove(&c.user.id)),
                last_interaction_at: c.last_interaction_at,
                last_interaction: match c.last_interaction {
                    Interaction::Order => InteractionKind::Order,
                    Interaction::Chat => InteractionKind::Chat,
                },
                orders_count: c.orders_count,
            })
            .collect(),
    }))
}

/// Your dashboard (tailors): products, orders by status, this month's
/// revenue, followers, rating, your commissions and today's fittings.
#[utoipa::path(get, path = "/tailor/api/dashboard", tag = TAG,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The figures", body = DashboardView),
        (status = 403, description = "`permission_denied`: not a tailor", body = ErrorBody)))]
async fn dashboard(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
) -> Result<Json<DashboardView>, ApiError> {
    let figures = state.tailors.dashboard(&me).await?;
    let commissions = state.commissions.figures(me.id).await?;
    let fittings_today = state.fittings.todays_fittings(me.id, Utc::now()).await?;
    Ok(Json(view(figures, commissions, fittings_today)))
}

fn view(
    d: Dashboard,
    commissions: CommissionFigures,
    fittings_today: Vec<BookingView>,
) -> DashboardView {
    let mut by_status = OrdersByStatus::default();
    for (status, n) in &d.orders_by_status {
        let slot = match *status {
            "pending_payment" => &mut by_status.pending_payment,
            "paid" => &mut by_status.paid,
            "processing" => &mut by_status.processing,
            "shipped" => &mut by_status.shipped,
            "delivered" => &mut by_status.delivered,
            "completed" => &mut by_status.completed,
            "cancelled" => &mut by_status.cancelled,
            _ => continue,
        };
        *slot = *n;
    }
    DashboardView {
        products: d.products,
        orders: DashboardOrders {
            total: d.orders_total,
            by_status,
        },
        revenue_this_month: DashboardRevenue {
            kobo: d.revenue_this_month_kobo,
            currency: crate::store::CURRENCY,
            month: d.month_start.format("%Y-%m").to_string(),
        },
        followers: d.followers,
        rating: DashboardRating {
            average: d.rating_avg_centi as f64 / 100.0,
            count: d.rating_count,
        },
        commissions,
        fittings_today,
    }
}

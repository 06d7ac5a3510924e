//! The tailor's wallet (`/tailor/api/wallet/...`): balances and the
//! statement, as JSON pages or a CSV download. Tailors only.

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, header};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{StatementFilters, StatementLine, WalletView};
use crate::auth::http::CurrentUser;
use crate::error::{ApiError, BadRequest, ErrorBody};
use crate::http::extract::ApiQuery;
use crate::http::pagination::{PageLinks, PageRequest, invalid_page};
use crate::state::AppState;

pub(crate) const TAG: &str = "wallet";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(wallet))
        .routes(routes!(transactions))
        .routes(routes!(transactions_csv))
}

#[derive(Deserialize, IntoParams, Default)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct StatementQuery {
    /// 1-based page number.
    #[param(value_type = Option<u64>, minimum = 1)]
    pub page: Option<String>,
    /// At most 100 (default 20; more is capped).
    #[param(value_type = Option<u64>, minimum = 1)]
    pub page_size: Option<String>,
    /// Lines on or after this day (UTC, `YYYY-MM-DD`).
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub from: Option<String>,
    /// Lines on or before this day (UTC, `YYYY-MM-DD`).
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub to: Option<String>,
    /// Only lines of this kind.
    #[param(value_type = Option<crate::wallet::Kind>)]
    pub kind: Option<String>,
}

#[derive(Deserialize, IntoParams, Default)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct CsvQuery {
    /// Lines on or after this day (UTC, `YYYY-MM-DD`); default: the first.
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub from: Option<String>,
    /// Lines on or before this day (UTC, `YYYY-MM-DD`); default: the last.
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub to: Option<String>,
    /// Only lines of this kind.
    #[param(value_type = Option<crate::wallet::Kind>)]
    pub kind: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct StatementPageView {
    pub count: u64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<StatementLine>,
}

/// Your wallet (tailors): what is available, in escrow, being withdrawn and
/// paid out; what you owe; lifetime earnings and fees; the next releases.
#[utoipa::path(get, path = "/tailor/api/wallet", tag = TAG,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The wallet", body = WalletView),
        (status = 403, description = "`permission_denied`: not a tailor", body = ErrorBody)))]
async fn wallet(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
) -> Result<Json<WalletView>, ApiError> {
    Ok(Json(state.wallet.wallet(&me).await?))
}

/// Your statement (tailors): one line per movement of your money, newest
/// first, each naming its order or commission and its effect on each balance.
#[utoipa::path(get, path = "/tailor/api/wallet/transactions", tag = TAG, params(StatementQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page", body = StatementPageView),
        (status = 400, description = "A bad `from`, `to` or `kind`", body = BadRequest),
        (status = 403, description = "`permission_denied`: not a tailor", body = ErrorBody),
        (status = 404, description = "Invalid page", body = ErrorBody)))]
async fn transactions(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiQuery(query): ApiQuery<StatementQuery>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Json<StatementPageView>, ApiError> {
    let request = PageRequest::parse(query.page.as_deref(), query.page_size.as_deref())?;
    let filters = StatementFilters {
        from: query.from,
        to: query.to,
        kind: query.kind,
    };
    let page = state
        .wallet
        .statement(&me, &filters, request.page, request.page_size)
        .await?
        .ok_or_else(invalid_page)?;
    let (next, previous) = PageLinks::new(&uri, &headers).neighbours(request, page.count);
    Ok(Json(StatementPageView {
        count: page.count,
        next,
        previous,
        results: page.lines,
    }))
}

/// Your statement for a date range as a CSV download, oldest first
/// (kobo; `owed_kobo` is the change of your debt).
#[utoipa::path(get, path = "/tailor/api/wallet/transactions.csv", tag = TAG, params(CsvQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The statement", content_type = "text/csv", body = String,
            headers(("Content-Disposition" = String,
                description = "`attachment; filename=\"atelier-statement-<from>-<to>.csv\"`"))),
        (status = 400, description = "A bad `from`, `to` or `kind`", body = BadRequest),
        (status = 403, description = "`permission_denied`: not a tailor", body = ErrorBody)))]
async fn transactions_csv(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiQuery(query): ApiQuery<CsvQuery>,
) -> Result<([(header::HeaderName, String); 3], String), ApiError> {
    let name = format!(
        "atelier-statement-{}-{}.csv",
        query.from.as_deref().unwrap_or("start"),
        query.to.as_deref().unwrap_or("now"),
    );
    let filters = StatementFilters {
        from: query.from,
        to: query.to,
        kind: query.kind,
    };
    let csv = state.wallet.statement_csv(&me, &filters).await?;
    // The name only holds what the filters accepted as dates.
    let name: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'))
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            // Financial data: no shared cache may keep a copy.
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        csv,
    ))
}

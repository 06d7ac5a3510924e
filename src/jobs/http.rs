//! Staff's view of the job queue: `GET /jobs/api/` (dead jobs unless another
//! status is asked) and `POST /jobs/api/{job_id}/retry`.

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::JobView;
use crate::auth::http::CurrentUser;
use crate::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiPath, ApiQuery};
use crate::http::pagination::{PageLinks, PageRequest, invalid_page};
use crate::state::AppState;

const TAG: &str = "jobs";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(retry))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobsQuery {
    /// `dead` (default), `queued`, `running` or `done`.
    pub status: Option<String>,
    /// 1-based page number.
    #[param(value_type = Option<u64>, minimum = 1)]
    pub page: Option<String>,
    /// At most 100 (default 20; more is capped).
    #[param(value_type = Option<u64>, minimum = 1)]
    pub page_size: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct JobPage {
    pub count: u64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<JobView>,
}

/// Background jobs by status, most recently changed first (staff). The dead
/// ones are those that failed every attempt: read `last_error`, fix the
/// cause, then retry them.
#[utoipa::path(get, path = "/jobs/api", tag = TAG, params(JobsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page", body = JobPage),
        (status = 400, description = "`invalid_status`", body = ErrorBody),
        (status = 403, description = "`permission_denied`: staff only", body = ErrorBody),
        (status = 404, description = "Invalid page", body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiQuery(query): ApiQuery<JobsQuery>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Json<JobPage>, ApiError> {
    let request = PageRequest::parse(query.page.as_deref(), query.page_size.as_deref())?;
    let (count, results) = state
        .jobs
        .list(
            &user,
            query.status.as_deref(),
            request.page,
            request.page_size,
        )
        .await?;
    if results.is_empty() && request.page > 1 {
        return Err(invalid_page());
    }
    let (next, previous) = PageLinks::new(&uri, &headers).neighbours(request, count);
    Ok(Json(JobPage {
        count,
        next,
        previous,
        results,
    }))
}

/// Queue a dead job again, with a fresh count of attempts (staff).
#[utoipa::path(post, path = "/jobs/api/{job_id}/retry", tag = TAG,
    params(("job_id" = Uuid, Path, description = "Job id")), security(("bearer" = [])),
    responses(
        (status = 200, description = "The job, queued", body = JobView),
        (status = 403, description = "`permission_denied`: staff only", body = ErrorBody),
        (status = 404, description = "No such job", body = ErrorBody),
        (status = 409, description = "`not_dead`: only dead jobs are retried", body = ErrorBody)))]
async fn retry(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<JobView>, ApiError> {
    let id: Uuid = id.trim().parse().map_err(|_| ApiError::not_found())?;
    Ok(Json(state.jobs.retry_dead(&user, id).await?))
}

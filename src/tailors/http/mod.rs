//! The tailor API (`/tailor/api/...`), and follows under `/auth/api/`.

mod dashboard;
mod follows;
mod measurements;
mod portfolio;
mod profiles;
mod reviews;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

pub(crate) const TAG: &str = "tailors";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(profiles::routes())
        .merge(portfolio::routes())
        .merge(reviews::routes())
        .merge(follows::routes())
        .merge(measurements::routes())
        .merge(dashboard::routes())
}

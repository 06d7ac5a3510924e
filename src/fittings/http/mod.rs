//! The fittings API under `/tailor/api/` (old `Booking` paths kept).

mod bookings;
mod calendar;
mod schedule;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

pub(crate) const TAG: &str = "fittings";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(schedule::routes())
        .merge(bookings::routes())
        .merge(calendar::routes())
}

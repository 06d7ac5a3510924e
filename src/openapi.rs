//! The OpenAPI document, generated from the same route declarations that
//! build the router, so the two cannot drift apart.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::health;
use crate::state::AppState;

mod shared_responses;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Atelier API",
        description = "Backend of the tailoring marketplace app. Every path also answers with a trailing slash. \
Errors: validation errors are `ValidationError` (`{\"field\": [\"message\"]}`); all others `ErrorBody` \
(`{\"detail\": \"...\", \"code\": \"...\"}`). A 400 can be either where the request can be unreadable as well as \
invalid (`BadRequest`, a `oneOf` that an answer matches exactly once).",
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Accounts, sessions and users"),
        (name = "shop", description = "Categories, products, the catalog and favourites"),
        (name = "media", description = "Image uploads"),
        (name = "chat", description = "Conversations and messages (live delivery: the WebSocket at `/ws/chat/`, described in the README)"),
        (name = "tailors", description = "Tailors' profiles and the directory, portfolios, follows, reviews of tailors, measurement profiles, the tailor's dashboard"),
        (name = "commissions", description = "Made to measure: requests, quotes and counter-offers, deposits and balances (Paystack), progress, delivery, cancellation with refunds, disputes"),
        (name = "fittings", description = "Fittings on the tailor's calendar: availability, open slots, bookings, reminders, the private calendar feed"),
        (name = "notifications", description = "The in-app feed, devices for pushes, what is sent to whom (live: `notification.new` and `notification.read` on the chat WebSocket)"),
        (name = "wallet", description = "Tailors' money: balances, escrow releases and the statement (a double-entry ledger), banks and the payout account (Paystack Transfers)"),
        (name = "jobs", description = "Staff: the background job queue (dead letters and retries)"),
        (name = "operations", description = "Health and metrics"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".into());
        scheme.description =
            Some("`Authorization: Bearer <access>` (`JWT <access>` works too)".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// Every API route with its documentation; `startup` adds state and middleware.
pub fn api_router() -> OpenApiRouter<AppState> {
    let mut router = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::live))
        .routes(routes!(health::ready))
        .routes(routes!(health::metrics))
        .merge(crate::auth::http::routes())
        .merge(crate::store::http::routes())
        .merge(crate::media::http::routes())
        .merge(crate::chat::http::routes())
        .merge(crate::tailors::http::routes())
        .merge(crate::commissions::http::routes())
        .merge(crate::fittings::http::routes())
        .merge(crate::notifications::http::routes())
        .merge(crate::wallet::http::routes())
        .merge(crate::jobs::http::routes())
        .merge(crate::wallet::payout_accounts::http::routes())
        .merge(crate::wallet::staff::http::routes())
        .merge(crate::wallet::payouts::http::routes());
    // After the merge: the answers of the shared extractors and middleware
    // are documented once here, for every operation that can give them.
    shared_responses::document(router.get_openapi_mut());
    router
}

pub fn spec() -> utoipa::openapi::OpenApi {
    api_router().split_for_parts().1
}

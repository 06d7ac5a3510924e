use std::collections::BTreeSet;

use reqwest::StatusCode;

use crate::both_backends;
use crate::helpers::{TestApp, body_of};

/// Every endpoint the issue names, with its methods.
const ROUTES: &[(&str, &[&str])] = &[
    ("/auth/api/register", &["post"]),
    ("/auth/api/register/verify-otp/{otp}", &["post"]),
    ("/auth/api/register/resend-otp", &["post"]),
    ("/auth/api/login", &["post"]),
    ("/auth/api/login/token/refresh", &["post"]),
    ("/auth/api/logout", &["post"]),
    ("/auth/api/change-password", &["post", "put", "patch"]),
    ("/auth/api/password-reset", &["post"]),
    ("/auth/api/password-reset/confirm", &["post"]),
    ("/auth/api/users/list", &["get"]),
    ("/auth/api/users/detail/{id}", &["get"]),
    ("/auth/api/users/me", &["get", "patch"]),
    ("/auth/api/users/me/export", &["get"]),
    ("/shop/api/categories", &["get", "post"]),
    ("/shop/api/product/upload", &["post"]),
    ("/shop/api/product/update/{id}", &["patch"]),
    ("/shop/api/product/delete/{id}", &["delete"]),
    ("/shop/api/product/store", &["get"]),
    ("/shop/api/product/list", &["get"]),
    ("/shop/api/product/{id}", &["get"]),
    ("/shop/api/product/add-to-fav", &["post"]),
    (
        "/shop/api/product/remove-from-fav/{product_id}",
        &["delete"],
    ),
    ("/shop/api/product/favorites/list", &["get"]),
    ("/shop/api/product/{id}/reviews", &["get", "post"]),
    ("/chat/api/conversations", &["get", "post"]),
    ("/chat/api/conversations/{id}/messages", &["get", "post"]),
    ("/chat/api/conversations/{id}/read", &["post"]),
    ("/chat/api/messages/{id}", &["patch", "delete"]),
    ("/chat/api/messages/{id}/report", &["post"]),
    ("/chat/api/block", &["post"]),
    ("/chat/api/block/{user_id}", &["delete"]),
    ("/chat/api/create", &["post"]),
    ("/chat/api/get-messages/{user_id}", &["get"]),
    ("/shop/api/cart", &["get"]),
    ("/shop/api/cart/items", &["post"]),
    ("/shop/api/cart/items/{id}", &["patch", "delete"]),
    ("/shop/api/checkout", &["post"]),
    ("/shop/api/orders", &["get"]),
    ("/shop/api/orders/received", &["get"]),
    ("/shop/api/orders/{id}", &["get"]),
    ("/shop/api/orders/{id}/status", &["patch"]),
    ("/media/api/upload", &["post"]),
    ("/media/{name}", &["get"]),
    ("/shop/api/payments/verify/{reference}", &["get"]),
    ("/shop/api/payments/webhook/paystack", &["post"]),
    ("/tailor/api/portfolio", &["post"]),
    ("/tailor/api/portfolio/{item_id}", &["patch", "delete"]),
    ("/tailor/api/portfolio/reorder", &["post"]),
    ("/tailor/api/{tailor_id}/portfolio", &["get"]),
    ("/tailor/api/rating", &["post"]),
    ("/tailor/api/rating/update/{tailor_id}/tailor", &["put"]),
    ("/tailor/api/rating/{review_id}/reply", &["post"]),
    ("/tailor/api/{tailor_id}/ratings", &["get"]),
    ("/auth/api/follow", &["post"]),
    ("/auth/api/unfollow", &["post"]),
    ("/auth/api/users/{id}/followers", &["get"]),
    ("/auth/api/users/{id}/following", &["get"]),
    ("/tailor/api/measurements", &["get", "post"]),
    ("/tailor/api/measurements/ranges", &["get"]),
    ("/tailor/api/measurements/{id}", &["get", "patch", "delete"]),
    ("/tailor/api/measurements/{id}/history", &["get"]),
    ("/tailor/api/get-customers", &["get"]),
    ("/tailor/api/dashboard", &["get"]),
    ("/tailor/api/create", &["post"]),
    ("/tailor/api/me", &["get", "patch"]),
    ("/tailor/api/update/{id}", &["patch"]),
    ("/tailor/api/detail/{id}", &["get"]),
    ("/tailor/api/{tailor_id}/verify", &["post"]),
    ("/tailor/api/list", &["get"]),
    ("/notifications/api", &["get"]),
    ("/notifications/api/read", &["post"]),
    ("/notifications/api/devices", &["post"]),
    ("/notifications/api/devices/{token}", &["delete"]),
    ("/notifications/api/preferences", &["get", "patch"]),
    ("/commissions/api", &["get", "post"]),
    ("/commissions/api/tailor", &["get"]),
    ("/commissions/api/{commission_id}", &["get"]),
    ("/commissions/api/{commission_id}/quote", &["post"]),
    ("/commissions/api/{commission_id}/counter", &["post"]),
    ("/commissions/api/{commission_id}/decline", &["post"]),
    ("/commissions/api/{commission_id}/accept", &["post"]),
    ("/commissions/api/{commission_id}/measurements", &["post"]),
    ("/commissions/api/{commission_id}/pay", &["post"]),
    ("/commissions/api/{commission_id}/pay/verify", &["post"]),
    ("/commissions/api/{commission_id}/progress", &["post"]),
    ("/commissions/api/{commission_id}/deliver", &["post"]),
    ("/commissions/api/{commission_id}/complete", &["post"]),
    ("/commissions/api/{commission_id}/alterations", &["post"]),
    ("/commissions/api/{commission_id}/cancel", &["post"]),
    ("/commissions/api/{commission_id}/dispute", &["post"]),
    ("/commissions/api/disputes", &["get"]),
    ("/commissions/api/disputes/{dispute_id}/resolve", &["post"]),
    ("/jobs/api", &["get"]),
    ("/jobs/api/{job_id}/retry", &["post"]),
    ("/tailor/api/availability", &["get", "put"]),
    ("/tailor/api/{tailor_id}/slots", &["get"]),
    ("/tailor/api/book", &["post"]),
    ("/tailor/api/booking/accept/{booking_id}", &["post"]),
    ("/tailor/api/booking/decline/{booking_id}", &["post"]),
    ("/tailor/api/booking/cancel/{booking_id}", &["post"]),
    ("/tailor/api/booking/reschedule/{booking_id}", &["post"]),
    ("/tailor/api/mybooking", &["get"]),
    ("/tailor/api/bookings", &["get"]),
    ("/tailor/api/calendar", &["get"]),
    ("/tailor/api/calendar/rotate", &["post"]),
    ("/tailor/api/calendar/{file}", &["get"]),
    ("/tailor/api/banks", &["get"]),
    ("/tailor/api/payout-account", &["get", "post", "put"]),
    ("/tailor/api/payout-account/resolve", &["post"]),
    ("/tailor/api/payout-account/change", &["post"]),
    ("/tailor/api/wallet", &["get"]),
    ("/tailor/api/wallet/transactions", &["get"]),
    ("/tailor/api/wallet/transactions.csv", &["get"]),
    ("/staff/api/wallets/{tailor_id}", &["get"]),
    ("/staff/api/wallets/{tailor_id}/adjustments", &["post"]),
    ("/staff/api/actions", &["get"]),
    ("/tailor/api/wallet/withdraw", &["post"]),
    ("/tailor/api/wallet/payouts", &["get"]),
    ("/staff/api/payouts", &["get"]),
    ("/staff/api/payouts/{payout_id}", &["get"]),
    ("/staff/api/payouts/{payout_id}/retry", &["post"]),
    ("/staff/api/payouts/{payout_id}/close", &["post"]),
    ("/health", &["get"]),
    ("/health/ready", &["get"]),
    ("/metrics", &["get"]),
];

both_backends! {
    async fn health_and_readiness(backend) {
        let app = TestApp::spawn(backend).await;
        let live = app.get("/health").await;
        assert_eq!(live.status(), StatusCode::OK);
        assert!(live.headers().contains_key("x-request-id"));
        assert_eq!(body_of(live).await["status"], "ok");
        let ready = body_of(app.get("/health/ready").await).await;
        assert_eq!(ready["database"], "ok");
    }

    async fn metrics_count_requests_by_route_and_status(backend) {
        let app = TestApp::spawn(backend).await;
        app.get("/health").await;
        app.get("/auth/api/users/me/").await;
        let text = app.get("/metrics").await.text().await.unwrap();
        assert!(text.contains("http_requests_total"), "{text}");
        assert!(text.contains(r#"route="/auth/api/users/me""#), "{text}");
        assert!(text.contains(r#"status="401""#), "{text}");
        assert!(text.contains("http_request_duration_seconds_bucket"), "{text}");
    }

    async fn the_openapi_spec_describes_every_route(backend) {
        let app = TestApp::spawn(backend).await;
        let spec = body_of(app.get("/api/openapi.json").await).await;
        assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
        let paths = spec["paths"].as_object().unwrap();
        for (path, methods) in ROUTES {
            let item = paths.get(*path).unwrap_or_else(|| panic!("{path} missing from the spec"));
            for method in *methods {
                let op = item.get(*method).unwrap_or_else(|| panic!("{method} {path} missing"));
                assert!(op["responses"].as_object().is_some_and(|r| !r.is_empty()), "{method} {path}");
            }
        }
        let documented: BTreeSet<&str> = paths.keys().map(String::as_str).collect();
        let expected: BTreeSet<&str> = ROUTES.iter().map(|(p, _)| *p).collect();
        assert_eq!(documented, expected, "the spec and the route list differ");
        assert!(spec["components"]["securitySchemes"]["bearer"].is_object());
        assert!(spec["components"]["schemas"]["ErrorBody"].is_object());
    }

    async fn the_docs_page_is_served_without_internet(backend) {
        let app = TestApp::spawn(backend).await;
        let page = app.get("/api/docs/").await;
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        assert!(html.contains("swagger"), "{html}");
        // The UI's own assets come from the binary, not a CDN.
        let script = app.get("/api/docs/swagger-ui-bundle.js").await;
        assert_eq!(script.status(), StatusCode::OK);
        let config = app.get("/api/docs/swagger-initializer.js").await.text().await.unwrap();
        assert!(config.contains("/api/openapi.json"), "{config}");
    }
}

#[test]
fn the_cli_prints_the_same_spec() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_atelier"))
        .arg("openapi")
        .output()
        .expect("run atelier openapi");
    assert!(output.status.success());
    let spec: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON spec");
    assert!(spec["paths"]["/auth/api/login"]["post"].is_object());
}

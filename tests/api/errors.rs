use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::helpers::{TestApp, status_and_body};

both_backends! {
    async fn malformed_json_wrong_content_type_and_wrong_types_are_400_or_415(backend) {
        let app = TestApp::spawn(backend).await;
        let broken = app.client.post(app.url("/auth/api/login/"))
            .header("content-type", "application/json").body("{\"email\": ").send().await.unwrap();
        let (status, body) = status_and_body(broken).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["code"], "parse_error");

        let form = app.client.post(app.url("/auth/api/login/"))
            .header("content-type", "application/x-www-form-urlencoded").body("email=a").send().await.unwrap();
        let (status, body) = status_and_body(form).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(body["code"], "unsupported_media_type");

        let typed = app.post("/auth/api/register/", json!({"email": 42, "username": ["x"], "password": null})).await;
        let (status, body) = status_and_body(typed).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["detail"].is_string());

        let array = app.post("/auth/api/login/", json!([1, 2, 3])).await;
        assert_eq!(array.status(), StatusCode::BAD_REQUEST);
    }

    async fn hostile_text_is_refused_with_a_4xx(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.verified_user("guard").await;
        let nul = app.post("/auth/api/register/", json!({"email": "n@example.com", "username": "nul",
            "password": "Needle&Thread-2026", "first_name": "a\u{0}b"})).await;
        let (status, body) = status_and_body(nul).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["code"], "parse_error");
        let nul_login = app.post("/auth/api/login/", json!({"username": "x\u{0}", "password": "y"})).await;
        assert_eq!(nul_login.status(), StatusCode::BAD_REQUEST);
        let nul_search = app.get_as(&user.access, "/auth/api/users/list/?search=a%00b").await;
        assert_eq!(nul_search.status(), StatusCode::BAD_REQUEST);

        let long = "x".repeat(9000);
        let (status, body) = status_and_body(app.post("/auth/api/login/", json!({"username": long, "password": "y"})).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["non_field_errors"].is_array());
        for path in ["/auth/api/register/verify-otp/123456/", "/auth/api/register/resend-otp/", "/auth/api/password-reset/"] {
            let (status, body) = status_and_body(app.post(path, json!({"email": format!("{long}@example.com")})).await).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
            assert_eq!(body["email"], json!(["Enter a valid email address."]), "{path}");
        }
        let (status, body) = status_and_body(app.post("/auth/api/password-reset/confirm/",
            json!({"email": format!("{long}@example.com"), "code": "123456", "new_password": "Needle&Thread-2026"})).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["email"].is_array());

        let (status, body) = status_and_body(app.post("/auth/api/register/verify-otp/%FF/", json!({"email": "a@example.com"})).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["code"], "otp_invalid");
        let (status, body) = status_and_body(app.get_as(&user.access, "/auth/api/users/detail/%FF").await).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["code"], "not_found");
    }

    async fn an_oversized_body_is_413(backend) {
        let app = TestApp::spawn(backend).await;
        let huge = format!("{{\"email\": \"{}\"}}", "a".repeat(1024 * 1024 + 10));
        let response = app.client.post(app.url("/auth/api/register/resend-otp/"))
            .header("content-type", "application/json").body(huge).send().await.unwrap();
        let (status, body) = status_and_body(response).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(body["code"], "payload_too_large");
    }

    async fn unknown_routes_and_methods_get_json_errors(backend) {
        let app = TestApp::spawn(backend).await;
        let (status, body) = status_and_body(app.get("/no/such/route/").await).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body, json!({"detail": "Not found.", "code": "not_found"}));
        let (status, body) = status_and_body(app.get("/auth/api/login/").await).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(body["detail"], "Method \"GET\" not allowed.");
        assert_eq!(body["code"], "method_not_allowed");
    }

    async fn paths_work_with_and_without_a_trailing_slash(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.verified_user("slash").await;
        for path in ["/auth/api/users/me", "/auth/api/users/me/", "/auth/api/users/me//"] {
            assert_eq!(app.get_as(&user.access, path).await.status(), StatusCode::OK, "{path}");
        }
        let with_query = app.get_as(&user.access, "/auth/api/users/list/?page_size=1").await;
        assert_eq!(with_query.status(), StatusCode::OK);
        assert_eq!(app.get("/health/").await.status(), StatusCode::OK);
    }

    async fn the_per_address_limit_guards_the_sensitive_endpoints(backend) {
        let app = TestApp::spawn_with(backend, |s| s.rate_limit_ip_per_minute = 3).await;
        for _ in 0..3 {
            let r = app.post("/auth/api/login/", json!({"username": "x", "password": "y"})).await;
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        }
        let limited = app.post("/auth/api/register/", json!({})).await;
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(limited.headers().contains_key("retry-after"));
        let (_, body) = status_and_body(limited).await;
        assert_eq!(body["code"], "throttled");
        // Endpoints that neither check secrets nor send email are not limited.
        assert_eq!(app.get("/health").await.status(), StatusCode::OK);
        let refresh = app.post("/auth/api/login/token/refresh/", json!({"refresh": "x"})).await;
        assert_eq!(refresh.status(), StatusCode::UNAUTHORIZED);
    }

    async fn behind_a_trusted_balancer_each_forwarded_client_has_its_own_limit(backend) {
        let app = TestApp::spawn_with(backend, |s| {
            s.rate_limit_ip_per_minute = 1;
            s.trust_forwarded_for = true;
        })
        .await;
        let from = |client: &'static str| app.client.post(app.url("/auth/api/login/"))
            .header("x-forwarded-for", format!("203.0.113.9, {client}"))
            .json(&json!({"username": "x", "password": "y"})).send();
        assert_eq!(from("198.51.100.1").await.unwrap().status(), StatusCode::UNAUTHORIZED);
        assert_eq!(from("198.51.100.1").await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(from("198.51.100.2").await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }
}

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::helpers::{PASSWORD, TestApp, body_of, status_and_body};

both_backends! {
    async fn registering_returns_the_owner_view_and_emails_a_code(backend) {
        let app = TestApp::spawn(backend).await;
        let response = app
            .post(
                "/auth/api/register/",
                json!({"email": "Ada@Example.com", "username": "ada", "password": PASSWORD,
                       "role": "tailor", "first_name": "Ada", "last_name": "Obi",
                       "phone_number": "+2348012345678"}),
            )
            .await;
        let (status, user) = status_and_body(response).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(user["username"], "ada");
        assert_eq!(user["email"], "Ada@Example.com");
        assert_eq!(user["role"], "tailor");
        assert_eq!(user["first_name"], "Ada");
        assert_eq!(user["phone_number"], "+2348012345678");
        assert_eq!(user["is_verified"], false);
        assert!(user["avatar"].is_null());
        assert!(uuid::Uuid::parse_str(user["id"].as_str().unwrap()).is_ok());
        assert!(user["date_joined"].is_string());
        let text = user.to_string();
        assert!(!text.contains("password") && !text.contains("argon2"), "{text}");

        let email = app.smtp.wait_for_nth("Ada@Example.com", 1).await;
        let code = email.code();
        assert!((100_000..=999_999).contains(&code.parse::<u32>().unwrap()));
        assert!(email.data.contains("Subject: Your Atelier verification code"));

        let (status, body) = status_and_body(app.verify("ada@example.com", &code).await).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body["detail"].is_string());
        assert_eq!(app.login("ada", PASSWORD).await.status(), StatusCode::OK);
    }

    async fn duplicate_email_or_username_is_a_field_error_whatever_the_case(backend) {
        let app = TestApp::spawn(backend).await;
        assert_eq!(app.register("bola@example.com", "bola").await.status(), StatusCode::CREATED);
        let (status, body) = status_and_body(app.register("BOLA@example.com", "other").await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body, json!({"email": ["A user with that email already exists."]}));
        let (status, body) = status_and_body(app.register("new@example.com", "BoLa").await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body, json!({"username": ["A user with that username already exists."]}));
    }

    async fn missing_and_invalid_fields_are_reported_per_field(backend) {
        let app = TestApp::spawn(backend).await;
        let (status, body) = status_and_body(app.post("/auth/api/register/", json!({})).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        for field in ["email", "username", "password"] {
            assert_eq!(body[field], json!(["This field is required."]), "{field}");
        }
        let (_, body) = status_and_body(
            app.post("/auth/api/register/",
                json!({"email": "not-an-email", "username": "bad name!", "password": PASSWORD, "role": "admin"}))
            .await,
        )
        .await;
        assert_eq!(body["email"], json!(["Enter a valid email address."]));
        assert!(body["username"][0].as_str().unwrap().starts_with("Enter a valid username"));
        assert_eq!(body["role"], json!(["\"admin\" is not a valid choice."]));
    }

    async fn weak_passwords_are_refused_with_djangos_messages(backend) {
        let app = TestApp::spawn(backend).await;
        let cases = [
            ("Ab1!", "This password is too short. It must contain at least 8 characters."),
            ("password123", "This password is too common."),
            ("74920318645", "This password is entirely numeric."),
            ("chidinma99", "The password is too similar to the username."),
        ];
        for (password, message) in cases {
            let (status, body) = status_and_body(
                app.post("/auth/api/register/",
                    json!({"email": "chidinma@example.com", "username": "chidinma", "password": password}))
                .await,
            )
            .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{password}");
            let messages = body["password"].as_array().unwrap();
            assert!(messages.iter().any(|m| m == message), "{password}: {body}");
        }
    }

    async fn wrong_used_malformed_or_unknown_codes_are_400(backend) {
        let app = TestApp::spawn(backend).await;
        app.register("kemi@example.com", "kemi").await;
        let code = app.code_from_email("kemi@example.com", 1).await;
        let wrong = if code == "123456" { "654321" } else { "123456" };

        for (code, email) in [(wrong, "kemi@example.com"), ("12ab56", "kemi@example.com"),
                              ("0123456", "kemi@example.com"), (code.as_str(), "nobody@example.com")] {
            let (status, body) = status_and_body(app.verify(email, code).await).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{code} {email}");
            assert_eq!(body["code"], "otp_invalid");
        }
        assert_eq!(app.verify("kemi@example.com", &code).await.status(), StatusCode::OK);
        // Used, and the account is verified now: still a plain 400.
        let (status, body) = status_and_body(app.verify("kemi@example.com", &code).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["code"], "otp_invalid");
        let (status, body) = status_and_body(
            app.post(&format!("/auth/api/register/verify-otp/{code}/"), json!({})).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["email"], json!(["This field is required."]));
    }

    async fn an_expired_code_says_so(backend) {
        let app = TestApp::spawn_with(backend, |s| s.auth.code_ttl = Duration::from_secs(1)).await;
        app.register("tolu@example.com", "tolu").await;
        let code = app.code_from_email("tolu@example.com", 1).await;
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let (status, body) = status_and_body(app.verify("tolu@example.com", &code).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["code"], "otp_expired");
    }

    async fn five_wrong_tries_kill_the_code_and_more_end_in_429(backend) {
        let app = TestApp::spawn(backend).await;
        app.register("femi@example.com", "femi").await;
        let code = app.code_from_email("femi@example.com", 1).await;
        let wrong = if code == "111111" { "222222" } else { "111111" };
        for _ in 0..5 {
            assert_eq!(app.verify("femi@example.com", wrong).await.status(), StatusCode::BAD_REQUEST);
        }
        let (status, body) = status_and_body(app.verify("femi@example.com", &code).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "the right code no longer works");
        assert_eq!(body["code"], "otp_invalid");
        let mut last = None;
        for _ in 0..10 {
            last = Some(app.verify("femi@example.com", wrong).await);
            if last.as_ref().unwrap().status() == StatusCode::TOO_MANY_REQUESTS {
                break;
            }
        }
        let last = last.unwrap();
        assert_eq!(last.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(last.headers().contains_key("retry-after"));
        assert_eq!(body_of(last).await["code"], "throttled");
    }

    async fn resend_replaces_the_code_and_answers_alike_for_unknown_addresses(backend) {
        let app = TestApp::spawn(backend).await;
        app.register("musa@example.com", "musa").await;
        let first = app.code_from_email("musa@example.com", 1).await;

        let known = app.post("/auth/api/register/resend-otp/", json!({"email": "musa@example.com"})).await;
        let unknown = app.post("/auth/api/register/resend-otp/", json!({"email": "ghost@example.com"})).await;
        assert_eq!(known.status(), StatusCode::OK);
        assert_eq!(unknown.status(), StatusCode::OK);
        assert_eq!(body_of(known).await, body_of(unknown).await);

        let second = app.code_from_email("musa@example.com", 2).await;
        if first != second {
            assert_eq!(app.verify("musa@example.com", &first).await.status(), StatusCode::BAD_REQUEST);
        }
        assert_eq!(app.verify("musa@example.com", &second).await.status(), StatusCode::OK);
        assert!(app.smtp.emails_to("ghost@example.com").is_empty());

        // The cooldown applies to every address alike.
        for email in ["musa@example.com", "ghost@example.com"] {
            let again = app.post("/auth/api/register/resend-otp/", json!({"email": email})).await;
            assert_eq!(again.status(), StatusCode::TOO_MANY_REQUESTS, "{email}");
            let wait: u64 = again.headers()["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=60).contains(&wait), "{wait}");
        }
    }
}

use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::helpers::{PASSWORD, TestApp, body_of, status_and_body};

const NEW_PASSWORD: &str = "Bespoke-Lapel-8842";

both_backends! {
    async fn changing_the_password_kills_every_earlier_token(backend) {
        let app = TestApp::spawn(backend).await;
        let phone = app.verified_user("amaka").await;
        let tablet = body_of(app.login("amaka", PASSWORD).await).await;

        let (status, fresh) = status_and_body(
            app.post_as(&phone.access, "/auth/api/change-password/",
                json!({"old_password": PASSWORD, "new_password": NEW_PASSWORD})).await).await;
        assert_eq!(status, StatusCode::OK);

        for access in [phone.access.as_str(), tablet["access"].as_str().unwrap()] {
            assert_eq!(app.get_as(access, "/auth/api/users/me/").await.status(), StatusCode::UNAUTHORIZED);
        }
        for refresh in [phone.refresh.as_str(), tablet["refresh"].as_str().unwrap()] {
            let r = app.post("/auth/api/login/token/refresh/", json!({"refresh": refresh})).await;
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        }
        assert_eq!(app.get_as(fresh["access"].as_str().unwrap(), "/auth/api/users/me/").await.status(), StatusCode::OK);
        let r = app.post("/auth/api/login/token/refresh/", json!({"refresh": fresh["refresh"]})).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(app.login("amaka", PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(app.login("amaka", NEW_PASSWORD).await.status(), StatusCode::OK);
    }

    async fn change_password_accepts_put_patch_and_the_old_field_names(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.verified_user("ifeoma").await;
        let mismatch = app.client.put(app.url("/auth/api/change-password/")).bearer_auth(&user.access)
            .json(&json!({"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": "Something-else-77"}))
            .send().await.unwrap();
        let (status, body) = status_and_body(mismatch).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["new_password2"].is_array());

        let ok = app.client.patch(app.url("/auth/api/change-password/")).bearer_auth(&user.access)
            .json(&json!({"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}))
            .send().await.unwrap();
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(app.login("ifeoma", NEW_PASSWORD).await.status(), StatusCode::OK);
    }

    async fn a_wrong_old_password_or_weak_new_one_is_400(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.verified_user("tunde").await;
        let (status, body) = status_and_body(app.post_as(&user.access, "/auth/api/change-password/",
            json!({"old_password": "Not-my-password-1", "new_password": NEW_PASSWORD})).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["old_password"], json!(["Your old password was entered incorrectly. Please enter it again."]));
        let (status, body) = status_and_body(app.post_as(&user.access, "/auth/api/change-password/",
            json!({"old_password": PASSWORD, "new_password": "12345678"})).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["new_password"].is_array());
        let unauthenticated = app.post("/auth/api/change-password/", json!({})).await;
        assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
        // Nothing changed.
        assert_eq!(app.get_as(&user.access, "/auth/api/users/me/").await.status(), StatusCode::OK);
    }

    async fn password_reset_by_emailed_code(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.verified_user("bisi").await;
        let known = app.post("/auth/api/password-reset/", json!({"email": "bisi@example.com"})).await;
        let unknown = app.post("/auth/api/password-reset/", json!({"email": "nobody@example.com"})).await;
        assert_eq!(known.status(), StatusCode::OK);
        assert_eq!(unknown.status(), StatusCode::OK);
        assert_eq!(body_of(known).await, body_of(unknown).await);
        assert!(app.smtp.emails_to("nobody@example.com").is_empty());

        let email = app.smtp.wait_for_nth("bisi@example.com", 2).await;
        assert!(email.data.contains("password reset"));
        let code = email.code();
        let wrong = if code == "111111" { "222222" } else { "111111" };
        let (status, body) = status_and_body(app.post("/auth/api/password-reset/confirm/",
            json!({"email": "bisi@example.com", "code": wrong, "new_password": NEW_PASSWORD})).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["code"], "otp_invalid");
        // Without the right code nothing is said about the password or the account.
        let (_, body) = status_and_body(app.post("/auth/api/password-reset/confirm/",
            json!({"email": "bisi@example.com", "code": wrong, "new_password": "bisi"})).await).await;
        assert_eq!(body["code"], "otp_invalid");
        let (status, body) = status_and_body(app.post("/auth/api/password-reset/confirm/",
            json!({"email": "bisi@example.com", "code": code, "new_password": "12345678"})).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "a weak password does not use the code up");
        assert!(body["new_password"].is_array());

        let done = app.post("/auth/api/password-reset/confirm/",
            json!({"email": "bisi@example.com", "code": code.parse::<u32>().unwrap(), "new_password": NEW_PASSWORD})).await;
        assert_eq!(done.status(), StatusCode::OK);
        assert_eq!(app.get_as(&user.access, "/auth/api/users/me/").await.status(), StatusCode::UNAUTHORIZED);
        let r = app.post("/auth/api/login/token/refresh/", json!({"refresh": user.refresh})).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(app.login("bisi", NEW_PASSWORD).await.status(), StatusCode::OK);
        // Single use.
        let reused = app.post("/auth/api/password-reset/confirm/",
            json!({"email": "bisi@example.com", "code": code, "new_password": "Another-Fine-Seam-5"})).await;
        assert_eq!(reused.status(), StatusCode::BAD_REQUEST);
    }

    async fn a_reset_code_dies_after_five_wrong_tries(backend) {
        let app = TestApp::spawn(backend).await;
        app.verified_user("gbenga").await;
        app.post("/auth/api/password-reset/", json!({"email": "gbenga@example.com"})).await;
        let code = app.code_from_email("gbenga@example.com", 2).await;
        let wrong = if code == "111111" { "222222" } else { "111111" };
        let attempt = |c: String| app.post("/auth/api/password-reset/confirm/",
            json!({"email": "gbenga@example.com", "code": c, "new_password": NEW_PASSWORD}));
        for _ in 0..5 {
            assert_eq!(attempt(wrong.to_string()).await.status(), StatusCode::BAD_REQUEST);
        }
        assert_eq!(attempt(code).await.status(), StatusCode::BAD_REQUEST);
        assert_eq!(app.login("gbenga", PASSWORD).await.status(), StatusCode::OK);
        // And the reset request itself has a per-address cooldown.
        let again = app.post("/auth/api/password-reset/", json!({"email": "gbenga@example.com"})).await;
        assert_eq!(again.status(), StatusCode::TOO_MANY_REQUESTS);
    }

    async fn an_expired_reset_code_says_so(backend) {
        let app = TestApp::spawn_with(backend, |s| s.auth.code_ttl = std::time::Duration::from_secs(1)).await;
        app.register("lola@example.com", "lola").await;
        app.post("/auth/api/password-reset/", json!({"email": "lola@example.com"})).await;
        let code = app.code_from_email("lola@example.com", 2).await;
        tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
        let (status, body) = status_and_body(app.post("/auth/api/password-reset/confirm/",
            json!({"email": "lola@example.com", "code": code, "new_password": NEW_PASSWORD})).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["code"], "otp_expired");
    }
}

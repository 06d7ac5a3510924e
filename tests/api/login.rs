use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::helpers::{PASSWORD, TestApp, body_of, status_and_body};

both_backends! {
    async fn login_works_with_email_or_username_in_any_case(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.verified_user("ngozi").await;
        for identifier in ["ngozi@example.com", "NGOZI@example.com", "ngozi", "Ngozi"] {
            let (status, tokens) = status_and_body(app.login(identifier, PASSWORD).await).await;
            assert_eq!(status, StatusCode::OK, "{identifier}");
            let me = app.get_as(tokens["access"].as_str().unwrap(), "/auth/api/users/me/").await;
            assert_eq!(body_of(me).await["id"], user.id.as_str());
            assert!(tokens["refresh"].is_string());
        }
    }

    async fn wrong_password_and_unknown_account_get_the_same_401(backend) {
        let app = TestApp::spawn(backend).await;
        app.verified_user("emeka").await;
        let (status, wrong) = status_and_body(app.login("emeka", "Wrong-Password-1").await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(wrong["detail"], "No active account found with the given credentials");
        let (status, unknown) = status_and_body(app.login("nobody@example.com", PASSWORD).await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(wrong, unknown);
    }

    async fn an_unverified_account_gets_403_only_with_the_right_password(backend) {
        let app = TestApp::spawn(backend).await;
        app.register("yemi@example.com", "yemi").await;
        let (status, body) = status_and_body(app.login("yemi", PASSWORD).await).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["code"], "account_not_verified");
        assert_eq!(app.login("yemi", "Wrong-Password-1").await.status(), StatusCode::UNAUTHORIZED);
    }

    async fn old_clients_fields_and_usernames_with_at_signs_work(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.verified_user("bob").await;
        let empty_email = app.post("/auth/api/login/", json!({"email": "", "username": "bob", "password": PASSWORD})).await;
        assert_eq!(empty_email.status(), StatusCode::OK);
        let email_as_username = app.post("/auth/api/login/", json!({"username": "bob@example.com", "password": PASSWORD})).await;
        assert_eq!(email_as_username.status(), StatusCode::OK);
        let renamed = app.client.patch(app.url("/auth/api/users/me/")).bearer_auth(&user.access)
            .json(&json!({"username": "bob@tailors.ng"})).send().await.unwrap();
        assert_eq!(renamed.status(), StatusCode::OK);
        let by_new_name = app.post("/auth/api/login/", json!({"username": "bob@tailors.ng", "password": PASSWORD})).await;
        assert_eq!(by_new_name.status(), StatusCode::OK);
    }

    async fn missing_fields_are_400(backend) {
        let app = TestApp::spawn(backend).await;
        let (status, body) = status_and_body(app.post("/auth/api/login/", json!({})).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["password"], json!(["This field is required."]));
        assert!(body["non_field_errors"].is_array());
    }

    async fn repeated_failures_end_in_429_for_known_and_unknown_accounts(backend) {
        let app = TestApp::spawn_with(backend, |s| s.auth.max_failures = 3).await;
        app.verified_user("dayo").await;
        for identifier in ["dayo", "ghost@example.com"] {
            for _ in 0..3 {
                assert_eq!(app.login(identifier, "Wrong-Password-1").await.status(), StatusCode::UNAUTHORIZED);
            }
            // Locked now, even with the right password.
            let locked = app.login(identifier, PASSWORD).await;
            assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS, "{identifier}");
            assert!(locked.headers().contains_key("retry-after"));
            assert_eq!(body_of(locked).await["code"], "throttled");
        }
        // Other accounts are not affected.
        app.verified_user("sade").await;
    }

    async fn a_success_clears_earlier_failures(backend) {
        let app = TestApp::spawn_with(backend, |s| s.auth.max_failures = 3).await;
        app.verified_user("obi").await;
        for _ in 0..2 {
            app.login("obi", "Wrong-Password-1").await;
        }
        assert_eq!(app.login("obi", PASSWORD).await.status(), StatusCode::OK);
        for _ in 0..2 {
            app.login("obi", "Wrong-Password-1").await;
        }
        assert_eq!(app.login("obi", PASSWORD).await.status(), StatusCode::OK);
    }

    async fn failure_counters_and_tokens_hold_across_instances(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.verified_user("shared").await;
        let (other, _stop) = app.second_instance().await;
        let me_on_other = app.client.get(format!("{other}/auth/api/users/me/"))
            .bearer_auth(&user.access).send().await.unwrap();
        assert_eq!(me_on_other.status(), StatusCode::OK, "one secret and database, one login");

        let fail_on = |base: String| app.client.post(format!("{base}/auth/api/login/"))
            .json(&json!({"username": "shared", "password": "Wrong-Password-1"})).send();
        // Ten failures spread over two instances lock the account on both.
        for i in 0..10 {
            let base = if i % 2 == 0 { app.address.clone() } else { other.clone() };
            assert_eq!(fail_on(base).await.unwrap().status(), StatusCode::UNAUTHORIZED);
        }
        assert_eq!(fail_on(app.address.clone()).await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(fail_on(other.clone()).await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
    }
}

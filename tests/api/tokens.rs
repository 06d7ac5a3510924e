use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::helpers::{TestApp, body_of, status_and_body};

both_backends! {
    async fn refresh_rotates_and_a_reused_token_revokes_the_login(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.verified_user("chioma").await;
        let (status, second) = status_and_body(
            app.post("/auth/api/login/token/refresh/", json!({"refresh": user.refresh})).await).await;
        assert_eq!(status, StatusCode::OK);
        let second_refresh = second["refresh"].as_str().unwrap();
        assert_ne!(second_refresh, user.refresh);
        assert_eq!(app.get_as(second["access"].as_str().unwrap(), "/auth/api/users/me/").await.status(), StatusCode::OK);

        // The first token again: 401, and the whole login is dead.
        let (status, body) = status_and_body(
            app.post("/auth/api/login/token/refresh/", json!({"refresh": user.refresh})).await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["code"], "token_not_valid");
        let after = app.post("/auth/api/login/token/refresh/", json!({"refresh": second_refresh})).await;
        assert_eq!(after.status(), StatusCode::UNAUTHORIZED);

        // Another login of the same user is untouched.
        let other = body_of(app.login("chioma", &user.password).await).await;
        let other_refresh = app.post("/auth/api/login/token/refresh/", json!({"refresh": other["refresh"]})).await;
        assert_eq!(other_refresh.status(), StatusCode::OK);
    }

    async fn logout_kills_that_refresh_token(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.verified_user("zainab").await;
        let out = app.post_as(&user.access, "/auth/api/logout/", json!({"refresh": user.refresh})).await;
        assert_eq!(out.status(), StatusCode::OK);
        let again = app.post("/auth/api/login/token/refresh/", json!({"refresh": user.refresh})).await;
        assert_eq!(again.status(), StatusCode::UNAUTHORIZED);

        // The old app's field name works too.
        let tokens = body_of(app.login("zainab", &user.password).await).await;
        let access = tokens["access"].as_str().unwrap();
        let out = app.post_as(access, "/auth/api/logout/", json!({"refresh_token": tokens["refresh"]})).await;
        assert_eq!(out.status(), StatusCode::OK);
        let again = app.post("/auth/api/login/token/refresh/", json!({"refresh": tokens["refresh"]})).await;
        assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
    }

    async fn logout_needs_authentication_and_the_callers_own_token(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.verified_user("adaeze").await;
        let bayo = app.verified_user("bayo").await;
        let (status, body) = status_and_body(app.post("/auth/api/logout/", json!({"refresh": ada.refresh})).await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["code"], "not_authenticated");
        let foreign = app.post_as(&bayo.access, "/auth/api/logout/", json!({"refresh": ada.refresh})).await;
        assert_eq!(foreign.status(), StatusCode::UNAUTHORIZED);
        let (status, body) = status_and_body(app.post_as(&bayo.access, "/auth/api/logout/", json!({})).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["refresh"], json!(["This field is required."]));
        // Ada's login survived Bayo's attempt.
        let refreshed = app.post("/auth/api/login/token/refresh/", json!({"refresh": ada.refresh})).await;
        assert_eq!(refreshed.status(), StatusCode::OK);
    }

    async fn bad_tokens_are_401_token_not_valid(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.verified_user("halima").await;
        for token in ["garbage", user.refresh.as_str(), &format!("{}x", user.access)] {
            let (status, body) = status_and_body(app.get_as(token, "/auth/api/users/me/").await).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
            assert_eq!(body["code"], "token_not_valid");
        }
        let (status, body) = status_and_body(app.get("/auth/api/users/me/").await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["code"], "not_authenticated");
        // An access token is not a refresh token.
        let swapped = app.post("/auth/api/login/token/refresh/", json!({"refresh": user.access})).await;
        assert_eq!(swapped.status(), StatusCode::UNAUTHORIZED);
        // The old app's `JWT` prefix.
        let jwt = app.client.get(app.url("/auth/api/users/me/"))
            .header("Authorization", format!("JWT {}", user.access)).send().await.unwrap();
        assert_eq!(jwt.status(), StatusCode::OK);
    }

    async fn an_expired_access_token_is_refused(backend) {
        let app = TestApp::spawn_with(backend, |s| s.auth.access_token_ttl = Duration::from_secs(1)).await;
        let user = app.verified_user("kunle").await;
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let (status, body) = status_and_body(app.get_as(&user.access, "/auth/api/users/me/").await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["code"], "token_not_valid");
        let refreshed = body_of(app.post("/auth/api/login/token/refresh/", json!({"refresh": user.refresh})).await).await;
        let fresh = app.get_as(refreshed["access"].as_str().unwrap(), "/auth/api/users/me/").await;
        assert_eq!(fresh.status(), StatusCode::OK);
    }
}

//! Logins that really end: a reused refresh token, a logout or a password
//! change kills the access tokens of that login at once, and closes its chat
//! sockets at once (4001), on every instance; other logins live on.

use std::time::Duration;

use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::both_backends;
use crate::chat_support::ChatSocket;
use crate::helpers::{Backend, PASSWORD, TestApp, TestUser, body_of, status_and_body};

/// Far below the 20 s ping interval at which sockets re-check on their own.
const AT_ONCE: Duration = Duration::from_millis(1500);

fn as_user(id: &str, tokens: &Value) -> TestUser {
    TestUser {
        id: id.to_string(),
        password: PASSWORD.to_string(),
        access: tokens["access"].as_str().unwrap().to_string(),
        refresh: tokens["refresh"].as_str().unwrap().to_string(),
    }
}

async fn me_status(app: &TestApp, access: &str) -> (StatusCode, Value) {
    status_and_body(app.get_as(access, "/auth/api/users/me/").await).await
}

async fn closes_at_once(socket: &mut ChatSocket) -> u16 {
    tokio::time::timeout(AT_ONCE, socket.closed_with())
        .await
        .expect("the socket closed at once")
}

/// The socket still answers (a `ping` frame gets its `pong`).
async fn still_open(socket: &mut ChatSocket) {
    socket.drain().await;
}

both_backends! {
    async fn a_reused_refresh_token_kills_the_thiefs_access_token_and_socket(backend) {
        let app = TestApp::spawn(backend).await;
        let victim = app.verified_user("chioma").await;
        // The thief rotates the stolen refresh token first.
        let stolen = body_of(app.post("/auth/api/login/token/refresh/", json!({"refresh": victim.refresh})).await).await;
        let thief = as_user(&victim.id, &stolen);
        assert_eq!(me_status(&app, &thief.access).await.0, StatusCode::OK);
        let mut thief_socket = ChatSocket::connect(&app.address, &thief).await;
        // Another login of the same user (another phone).
        let other = as_user(&victim.id, &body_of(app.login("chioma", PASSWORD).await).await);
        let mut other_socket = ChatSocket::connect(&app.address, &other).await;

        // The victim's app presents the old token: reuse.
        let replay = app.post("/auth/api/login/token/refresh/", json!({"refresh": victim.refresh})).await;
        assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);

        let (status, body) = me_status(&app, &thief.access).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("token_not_valid")));
        assert_eq!(me_status(&app, &victim.access).await.0, StatusCode::UNAUTHORIZED, "the first access token of the login too");
        assert_eq!(closes_at_once(&mut thief_socket).await, 4001);
        let refreshed = app.post("/auth/api/login/token/refresh/", json!({"refresh": thief.refresh})).await;
        assert_eq!(refreshed.status(), StatusCode::UNAUTHORIZED);

        // The other login is untouched.
        assert_eq!(me_status(&app, &other.access).await.0, StatusCode::OK);
        still_open(&mut other_socket).await;
        let mut reconnect = ChatSocket::open(&app.address, &format!("?token={}", thief.access)).await;
        assert_eq!(reconnect.closed_with().await, 4001, "the dead token cannot sign a socket in again");
    }

    async fn logout_ends_that_logins_access_tokens_and_sockets_only(backend) {
        let app = TestApp::spawn(backend).await;
        let phone = app.verified_user("zainab").await;
        let tablet = as_user(&phone.id, &body_of(app.login("zainab", PASSWORD).await).await);
        let mut phone_socket = ChatSocket::connect(&app.address, &phone).await;
        let mut tablet_socket = ChatSocket::connect(&app.address, &tablet).await;

        let out = app.post_as(&phone.access, "/auth/api/logout/", json!({"refresh": phone.refresh})).await;
        assert_eq!(out.status(), StatusCode::OK);
        let (status, body) = me_status(&app, &phone.access).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("token_not_valid")));
        assert_eq!(closes_at_once(&mut phone_socket).await, 4001);

        assert_eq!(me_status(&app, &tablet.access).await.0, StatusCode::OK);
        still_open(&mut tablet_socket).await;
        let refreshed = app.post("/auth/api/login/token/refresh/", json!({"refresh": tablet.refresh})).await;
        assert_eq!(refreshed.status(), StatusCode::OK);
    }

    async fn a_password_change_closes_every_socket_at_once(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.verified_user("halima").await;
        let mut socket = ChatSocket::connect(&app.address, &user).await;
        let changed = app.post_as(&user.access, "/auth/api/change-password/",
            json!({"old_password": PASSWORD, "new_password": "Selvedge&Bias-2027"})).await;
        assert_eq!(changed.status(), StatusCode::OK);
        assert_eq!(closes_at_once(&mut socket).await, 4001);
    }

    async fn tokens_issued_before_logins_were_checked_live_until_they_expire(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.verified_user("kunle").await;
        // An access token as the previous version signed them: no `fam`.
        let old_style = legacy_access_token(&user.id);
        assert_eq!(me_status(&app, &old_style).await.0, StatusCode::OK);
        let out = app.post_as(&user.access, "/auth/api/logout/", json!({"refresh": user.refresh})).await;
        assert_eq!(out.status(), StatusCode::OK);
        assert_eq!(me_status(&app, &old_style).await.0, StatusCode::OK, "no login to end: it lives until it expires");
    }
}

/// Signs an access token without a family, with the test server's key
/// (derived from the secret key as the server derives it).
fn legacy_access_token(user_id: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(b"test-secret-key-that-is-long-enough-0123456789").unwrap();
    mac.update(b"atelier/jwt");
    let key = mac.finalize().into_bytes();
    let now = chrono::Utc::now().timestamp();
    let claims = json!({
        "token_type": "access", "exp": now + 600, "iat": now,
        "jti": uuid::Uuid::now_v7(), "user_id": user_id, "ver": 0,
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(&key),
    )
    .unwrap()
}

fn redis_url() -> Option<String> {
    std::env::var("ATELIER_TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// Two instances on one PostgreSQL and one Redis: a login ended through A
/// closes its socket on B at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_ended_on_one_instance_closes_its_socket_on_another() {
    let (Some(_), Some(redis)) = (crate::helpers::postgres_admin_url(), redis_url()) else {
        eprintln!(
            "\n*** cross-instance session test SKIPPED: needs ATELIER_TEST_POSTGRES_URL and ATELIER_TEST_REDIS_URL. ***\n"
        );
        return;
    };
    let redis_a = redis.clone();
    let a = TestApp::spawn_with(Backend::Postgres, move |s| s.chat.redis_url = Some(redis_a)).await;
    let (b_address, _stop_b) = a
        .second_instance_with(move |s| s.chat.redis_url = Some(redis))
        .await;
    let victim = a.verified_user("ngozi").await;
    let stolen = body_of(
        a.post(
            "/auth/api/login/token/refresh/",
            json!({"refresh": victim.refresh}),
        )
        .await,
    )
    .await;
    let thief = as_user(&victim.id, &stolen);
    let mut thief_on_b = ChatSocket::connect(&b_address, &thief).await;
    let replay = a
        .post(
            "/auth/api/login/token/refresh/",
            json!({"refresh": victim.refresh}),
        )
        .await;
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(closes_at_once(&mut thief_on_b).await, 4001);
    assert_eq!(
        status_on(&a, &b_address, &thief.access).await,
        StatusCode::UNAUTHORIZED
    );
}

/// What `users/me` on another instance answers, once that instance has
/// read the ended logins (it reads them every 0.2 s).
async fn status_on(app: &TestApp, address: &str, access: &str) -> StatusCode {
    tokio::time::sleep(Duration::from_millis(500)).await;
    app.client
        .get(format!("{address}/auth/api/users/me/"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .status()
}

both_backends! {
    async fn a_login_ended_on_one_instance_ends_its_access_tokens_on_another(backend) {
        let a = TestApp::spawn(backend).await;
        let (b_address, _stop_b) = a.second_instance().await;
        let phone = a.verified_user("chidi").await;
        let laptop = as_user(&phone.id, &body_of(a.login("chidi", PASSWORD).await).await);
        // Instance B has served the token before, so nothing is cached cold.
        assert_eq!(status_on(&a, &b_address, &phone.access).await, StatusCode::OK);

        let out = a.post_as(&phone.access, "/auth/api/logout/", json!({"refresh": phone.refresh})).await;
        assert_eq!(out.status(), StatusCode::OK);
        // At once on the instance that ended it; on the other after its next read.
        assert_eq!(me_status(&a, &phone.access).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(status_on(&a, &b_address, &phone.access).await, StatusCode::UNAUTHORIZED);
        // The other login of the same user lives on, on both.
        assert_eq!(me_status(&a, &laptop.access).await.0, StatusCode::OK);
        assert_eq!(status_on(&a, &b_address, &laptop.access).await, StatusCode::OK);

        // A restarted instance still knows: it reads the recent ended logins first.
        let (c_address, _stop_c) = a.second_instance().await;
        let fresh = a.client.get(format!("{c_address}/auth/api/users/me/"))
            .bearer_auth(&phone.access).send().await.unwrap();
        assert_eq!(fresh.status(), StatusCode::UNAUTHORIZED);
    }
}

both_backends! {
    async fn a_password_changed_on_one_instance_ends_old_tokens_on_another_that_holds_the_user(backend) {
        let a = TestApp::spawn(backend).await;
        let (b_address, _stop_b) = a.second_instance().await;
        let phone = a.verified_user("ngozi").await;
        let tablet = as_user(&phone.id, &body_of(a.login("ngozi", PASSWORD).await).await);
        let me_on_b = |access: String| {
            let request = a.client.get(format!("{b_address}/auth/api/users/me/")).bearer_auth(access);
            async move { request.send().await.unwrap().status() }
        };
        // B has just served the tablet: it holds the user's row (for 1 s).
        assert_eq!(me_on_b(tablet.access.clone()).await, StatusCode::OK);

        let (status, fresh) = status_and_body(a.post_as(&phone.access, "/auth/api/change-password/",
            json!({"old_password": PASSWORD, "new_password": "Another-Secret-42"})).await).await;
        assert_eq!(status, StatusCode::OK, "{fresh}");
        // B reads ended logins every 0.2 s; a held row does not keep old tokens alive.
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(me_on_b(tablet.access.clone()).await, StatusCode::UNAUTHORIZED);
        assert_eq!(me_on_b(phone.access.clone()).await, StatusCode::UNAUTHORIZED);
        assert_eq!(me_on_b(fresh["access"].as_str().unwrap().to_string()).await, StatusCode::OK);
    }

    async fn a_changed_profile_or_role_shows_at_once_on_the_instance_that_changed_it(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.verified_user("ada").await;
        let (_, before) = me_status(&app, &ada.access).await;
        assert_eq!(before["role"], "customer");
        let patched = app.client.patch(app.url("/auth/api/users/me/")).bearer_auth(&ada.access)
            .json(&json!({"first_name": "Adaeze"})).send().await.unwrap();
        assert_eq!(patched.status(), StatusCode::OK);
        assert_eq!(me_status(&app, &ada.access).await.1["first_name"], "Adaeze");
        let opened = app.post_as(&ada.access, "/tailor/api/create/", json!({"business_name": "Ada Couture"})).await;
        assert_eq!(opened.status(), StatusCode::CREATED);
        assert_eq!(me_status(&app, &ada.access).await.1["role"], "tailor");
        assert_eq!(app.get_as(&ada.access, "/tailor/api/me/").await.status(), StatusCode::OK);
    }
}

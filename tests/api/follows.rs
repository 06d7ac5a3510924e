//! Follows (`/auth/api/follow/`, `/auth/api/unfollow/`, a user's followers
//! and following): idempotent, refused between blocked users, and a tailor's
//! followers count that equals their followers list under concurrent taps.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{PASSWORD, TestApp, TestUser, body_of, status_and_body};
use crate::spec_check::Spec;

async fn tailor(app: &TestApp, name: &str) -> TestUser {
    app.verified_user_with(name, json!({"role": "tailor"}))
        .await
}

async fn follow(app: &TestApp, who: &TestUser, user_id: Value) -> (StatusCode, Value) {
    status_and_body(
        app.post_as(
            &who.access,
            "/auth/api/follow/",
            json!({"user_id": user_id}),
        )
        .await,
    )
    .await
}

async fn unfollow(app: &TestApp, who: &TestUser, user_id: Value) -> (StatusCode, Value) {
    status_and_body(
        app.post_as(
            &who.access,
            "/auth/api/unfollow/",
            json!({"user_id": user_id}),
        )
        .await,
    )
    .await
}

/// One page of a user's `followers` or `following`, as `who` sees it.
async fn list(
    app: &TestApp,
    who: &TestUser,
    id: &str,
    which: &str,
    query: &str,
) -> (StatusCode, Value) {
    status_and_body(
        app.get_as(
            &who.access,
            &format!("/auth/api/users/{id}/{which}/{query}"),
        )
        .await,
    )
    .await
}

fn ids(page: &Value) -> Vec<String> {
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect()
}

/// The tailor's followers figure, as their dashboard shows it.
async fn followers_count(app: &TestApp, tailor: &TestUser) -> i64 {
    let (status, body) =
        status_and_body(app.get_as(&tailor.access, "/tailor/api/dashboard/").await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["followers"].as_i64().unwrap()
}

async fn spec(app: &TestApp) -> Spec {
    Spec(body_of(app.get("/api/openapi.json").await).await)
}

both_backends! {
    async fn following_twice_is_one_follow_and_unfollowing_is_idempotent(backend) {
        let app = TestApp::spawn(backend).await;
        let spec = spec(&app).await;
        let ade = tailor(&app, "ade").await;
        let bola = app.verified_user("bola").await;

        let (status, first) = follow(&app, &bola, json!(ade.id)).await;
        assert_eq!(status, StatusCode::OK, "{first}");
        assert_eq!((first["following"].clone(), first["changed"].clone()), (json!(true), json!(true)));
        assert_eq!(first["user_id"], ade.id.as_str());
        spec.assert_documented("post", "/auth/api/follow", 200, &first);
        let (status, again) = follow(&app, &bola, json!(ade.id)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!((again["following"].clone(), again["changed"].clone()), (json!(true), json!(false)));
        assert_eq!(followers_count(&app, &ade).await, 1, "a double tap is one follow");

        // Both sides see it, as public views.
        let (status, followers) = list(&app, &bola, &ade.id, "followers", "").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(followers["count"], 1);
        assert_eq!(ids(&followers), [bola.id.as_str()]);
        assert_eq!(followers["results"][0]["username"], "bola");
        assert!(followers["results"][0].get("email").is_none(), "public view: {followers}");
        spec.assert_documented("get", "/auth/api/users/{id}/followers", 200, &followers);
        let (_, following) = list(&app, &ade, &bola.id, "following", "").await;
        assert_eq!(ids(&following), [ade.id.as_str()]);
        spec.assert_documented("get", "/auth/api/users/{id}/following", 200, &following);
        let (_, none) = list(&app, &bola, &bola.id, "followers", "").await;
        assert_eq!(none["count"], 0);

        // A customer can be followed too (no tailor profile to count on).
        let (status, _) = follow(&app, &ade, json!(bola.id)).await;
        assert_eq!(status, StatusCode::OK);
        let (_, bolas) = list(&app, &ade, &bola.id, "followers", "").await;
        assert_eq!(ids(&bolas), [ade.id.as_str()]);

        let (status, gone) = unfollow(&app, &bola, json!(ade.id)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!((gone["following"].clone(), gone["changed"].clone()), (json!(false), json!(true)));
        spec.assert_documented("post", "/auth/api/unfollow", 200, &gone);
        let (status, again) = unfollow(&app, &bola, json!(ade.id)).await;
        assert_eq!(status, StatusCode::OK, "unfollowing someone you do not follow is fine");
        assert_eq!(again["changed"], false);
        assert_eq!(followers_count(&app, &ade).await, 0);
        let (_, followers) = list(&app, &ade, &ade.id, "followers", "").await;
        assert_eq!(followers["count"], 0);
        let (status, _) = unfollow(&app, &ade, json!(bola.id)).await;
        assert_eq!(status, StatusCode::OK);
    }

    async fn bad_targets_are_refused_with_the_right_status(backend) {
        let app = TestApp::spawn(backend).await;
        let spec = spec(&app).await;
        let ade = tailor(&app, "ade").await;
        let bola = app.verified_user("bola").await;

        let (status, body) = follow(&app, &ade, json!(ade.id)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["user_id"][0].as_str().unwrap().contains("yourself"), "{body}");
        spec.assert_documented("post", "/auth/api/follow", 400, &body);
        let (status, body) = unfollow(&app, &ade, json!(ade.id)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        for bad in [json!(null), json!(""), json!("not-a-uuid")] {
            let (status, body) = follow(&app, &bola, bad.clone()).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
            assert!(body["user_id"].is_array(), "{body}");
        }
        let (status, body) = status_and_body(app.post_as(&bola.access, "/auth/api/follow/", json!({})).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["user_id"].is_array(), "{body}");
        let (status, body) = follow(&app, &bola, json!(7)).await;
        assert_eq!((status, body["code"].clone()), (StatusCode::BAD_REQUEST, json!("parse_error")));

        let unknown = uuid::Uuid::now_v7().to_string();
        let (status, body) = follow(&app, &bola, json!(unknown)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        spec.assert_documented("post", "/auth/api/follow", 404, &body);
        assert_eq!(unfollow(&app, &bola, json!(unknown)).await.0, StatusCode::NOT_FOUND);
        for path in [format!("{unknown}/followers"), format!("{unknown}/following"), "nope/followers".into()] {
            let (status, body) = status_and_body(app.get_as(&bola.access, &format!("/auth/api/users/{path}/")).await).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
            spec.assert_documented("get", "/auth/api/users/{id}/followers", 404, &body);
        }
        let (status, _) = list(&app, &bola, &ade.id, "followers", "?page=2").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "past the last page");
        let (status, _) = list(&app, &bola, &ade.id, "followers", "?page_size=lots").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let anonymous = app.post("/auth/api/follow/", json!({"user_id": ade.id})).await;
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
        let anonymous = app.get(&format!("/auth/api/users/{}/followers/", ade.id)).await;
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

        // A deleted account can no longer be followed (nor listed); its
        // follows ended with it, so unfollowing it changes nothing.
        let gone = app.verified_user("gone").await;
        assert_eq!(follow(&app, &bola, json!(gone.id)).await.0, StatusCode::OK);
        let deleted = app.client.delete(app.url("/auth/api/users/me/")).bearer_auth(&gone.access)
            .json(&json!({"password": PASSWORD})).send().await.unwrap();
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
        assert_eq!(follow(&app, &ade, json!(gone.id)).await.0, StatusCode::NOT_FOUND);
        assert_eq!(list(&app, &ade, &gone.id, "followers", "").await.0, StatusCode::NOT_FOUND);
        let (status, body) = unfollow(&app, &bola, json!(gone.id)).await;
        assert_eq!((status, body["changed"].clone()), (StatusCode::OK, json!(false)));
    }

    async fn a_deleted_accounts_follows_end_with_it_and_counts_follow(backend) {
        let app = TestApp::spawn(backend).await;
        let ade = tailor(&app, "ade").await;
        let bola = app.verified_user("bola").await;
        let gone = tailor(&app, "gone").await;
        for (who, whom) in [(&bola, &ade), (&gone, &ade), (&bola, &gone), (&ade, &gone)] {
            assert_eq!(follow(&app, who, json!(whom.id)).await.0, StatusCode::OK);
        }
        assert_eq!(followers_count(&app, &ade).await, 2);

        let deleted = app.client.delete(app.url("/auth/api/users/me/")).bearer_auth(&gone.access)
            .json(&json!({"password": PASSWORD})).send().await.unwrap();
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

        assert_eq!(followers_count(&app, &ade).await, 1, "the deleted account's follow is gone");
        let (_, followers) = list(&app, &ade, &ade.id, "followers", "").await;
        assert_eq!(ids(&followers), [bola.id.as_str()]);
        let (_, following) = list(&app, &bola, &bola.id, "following", "").await;
        assert_eq!(ids(&following), [ade.id.as_str()], "no follow of a deleted account is left");
        let (_, following) = list(&app, &ade, &ade.id, "following", "").await;
        assert_eq!(following["count"], 0);
    }

    async fn a_block_ends_the_follows_between_the_two_both_ways(backend) {
        let app = TestApp::spawn(backend).await;
        let ade = tailor(&app, "ade").await;
        let bola = tailor(&app, "bola").await;
        let chidi = app.verified_user("chidi").await;
        for (who, whom) in [(&bola, &ade), (&ade, &bola), (&chidi, &ade), (&chidi, &bola)] {
            assert_eq!(follow(&app, who, json!(whom.id)).await.0, StatusCode::OK);
        }
        let block = app.post_as(&ade.access, "/chat/api/block/", json!({"user_id": bola.id})).await;
        assert_eq!(block.status(), StatusCode::CREATED);

        assert_eq!(followers_count(&app, &ade).await, 1, "only chidi still follows ade");
        assert_eq!(followers_count(&app, &bola).await, 1, "only chidi still follows bola");
        let (_, following) = list(&app, &ade, &ade.id, "following", "").await;
        assert_eq!(following["count"], 0);
        let (_, following) = list(&app, &bola, &bola.id, "following", "").await;
        assert_eq!(following["count"], 0);
        let (_, following) = list(&app, &chidi, &chidi.id, "following", "").await;
        assert_eq!(following["count"], 2, "others' follows are untouched");

        // Blocking again changes nothing more.
        let again = app.post_as(&ade.access, "/chat/api/block/", json!({"user_id": bola.id})).await;
        assert!(again.status().is_success(), "{}", again.status());
        assert_eq!(followers_count(&app, &ade).await, 1);
    }

    async fn a_block_either_way_refuses_the_follow(backend) {
        let app = TestApp::spawn(backend).await;
        let spec = spec(&app).await;
        let ade = tailor(&app, "ade").await;
        let bola = app.verified_user("bola").await;
        let block = app.post_as(&ade.access, "/chat/api/block/", json!({"user_id": bola.id})).await;
        assert_eq!(block.status(), StatusCode::CREATED);

        let (status, body) = follow(&app, &bola, json!(ade.id)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["code"], "blocked");
        assert!(body["detail"].as_str().unwrap().contains("has blocked you"), "{body}");
        spec.assert_documented("post", "/auth/api/follow", 403, &body);
        let (status, body) = follow(&app, &ade, json!(bola.id)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["code"], "blocked");
        assert!(body["detail"].as_str().unwrap().contains("You have blocked"), "{body}");
        assert_eq!(followers_count(&app, &ade).await, 0);

        // Lifted, the follow goes through.
        let unblock = app.client.delete(app.url(&format!("/chat/api/block/{}/", bola.id)))
            .bearer_auth(&ade.access).send().await.unwrap();
        assert!(unblock.status().is_success());
        assert_eq!(follow(&app, &bola, json!(ade.id)).await.0, StatusCode::OK);
        assert_eq!(followers_count(&app, &ade).await, 1);
    }

    async fn followers_are_paginated_newest_first(backend) {
        let app = TestApp::spawn(backend).await;
        let ade = tailor(&app, "ade").await;
        let mut fans = Vec::new();
        for i in 0..5 {
            let fan = app.verified_user(&format!("fan{i}")).await;
            assert_eq!(follow(&app, &fan, json!(ade.id)).await.0, StatusCode::OK);
            fans.push(fan.id);
        }
        let newest_first: Vec<String> = fans.iter().rev().cloned().collect();
        let (status, first) = list(&app, &ade, &ade.id, "followers", "?page_size=2").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(first["count"], 5);
        assert_eq!(ids(&first), newest_first[..2]);
        assert!(first["previous"].is_null());
        let next = first["next"].as_str().unwrap();
        assert!(next.contains("page=2") && next.contains("page_size=2"), "{next}");
        let (_, second) = list(&app, &ade, &ade.id, "followers", "?page=2&page_size=2").await;
        assert_eq!(ids(&second), newest_first[2..4]);
        let (_, last) = list(&app, &ade, &ade.id, "followers", "?page=3&page_size=2").await;
        assert_eq!(ids(&last), newest_first[4..]);
        assert!(last["next"].is_null());
        assert_eq!(followers_count(&app, &ade).await, 5);
    }

    async fn concurrent_taps_keep_the_count_equal_to_the_followers(backend) {
        let app = TestApp::spawn(backend).await;
        let ade = tailor(&app, "ade").await;
        let mut fans = Vec::new();
        for i in 0..10 {
            fans.push(app.verified_user(&format!("fan{i}")).await);
        }
        let fire = |fan: &TestUser, path: &'static str| {
            let request = app.client.post(app.url(path)).bearer_auth(&fan.access)
                .json(&json!({"user_id": ade.id}));
            tokio::spawn(async move { request.send().await.unwrap().status() })
        };

        // Every fan double-taps follow (four taps at once each).
        let mut taps = Vec::new();
        for fan in &fans {
            for _ in 0..4 {
                taps.push(fire(fan, "/auth/api/follow/"));
            }
        }
        for tap in taps {
            assert_eq!(tap.await.unwrap(), StatusCode::OK);
        }
        assert_eq!(followers_count(&app, &ade).await, 10);
        let (_, followers) = list(&app, &ade, &ade.id, "followers", "?page_size=100").await;
        assert_eq!(followers["count"], 10);

        // Then everyone changes their mind at once, both ways, repeatedly.
        let mut taps = Vec::new();
        for round in 0..3 {
            for (i, fan) in fans.iter().enumerate() {
                let first = if (i + round) % 2 == 0 { "/auth/api/unfollow/" } else { "/auth/api/follow/" };
                taps.push(fire(fan, first));
                taps.push(fire(fan, "/auth/api/unfollow/"));
                taps.push(fire(fan, "/auth/api/follow/"));
            }
        }
        for tap in taps {
            assert_eq!(tap.await.unwrap(), StatusCode::OK);
        }
        let (_, followers) = list(&app, &ade, &ade.id, "followers", "?page_size=100").await;
        let listed = followers["count"].as_i64().unwrap();
        assert_eq!(ids(&followers).len() as i64, listed);
        assert_eq!(followers_count(&app, &ade).await, listed, "the count equals the followers");
        let mut following = 0;
        for fan in &fans {
            let (_, theirs) = list(&app, fan, &fan.id, "following", "").await;
            following += theirs["count"].as_i64().unwrap();
        }
        assert_eq!(following, listed);
    }
}

//! Chat over REST: conversations, idempotent sends, history, unread counts,
//! edits and tombstones, blocking, reports, the old app's two calls.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::chat_support::{conversation, send_rest, seqs};
use crate::helpers::{TestApp, TestUser, body_of, status_and_body};
use crate::media::{JPEG, upload};

async fn history(app: &TestApp, who: &TestUser, conv: &str, query: &str) -> (StatusCode, Value) {
    status_and_body(
        app.get_as(
            &who.access,
            &format!("/chat/api/conversations/{conv}/messages/{query}"),
        )
        .await,
    )
    .await
}

async fn read(app: &TestApp, who: &TestUser, conv: &str, seq: i64) -> (StatusCode, Value) {
    status_and_body(
        app.post_as(
            &who.access,
            &format!("/chat/api/conversations/{conv}/read/"),
            json!({"seq": seq}),
        )
        .await,
    )
    .await
}

async fn edit(app: &TestApp, who: &TestUser, id: &str, text: &str) -> (StatusCode, Value) {
    let response = app
        .client
        .patch(app.url(&format!("/chat/api/messages/{id}/")))
        .bearer_auth(&who.access)
        .json(&json!({"text": text}))
        .send()
        .await
        .unwrap();
    status_and_body(response).await
}

async fn delete(app: &TestApp, who: &TestUser, path: &str) -> StatusCode {
    app.client
        .delete(app.url(path))
        .bearer_auth(&who.access)
        .send()
        .await
        .unwrap()
        .status()
}

async fn list(app: &TestApp, who: &TestUser) -> Value {
    body_of(app.get_as(&who.access, "/chat/api/conversations/").await).await
}

both_backends! {
    async fn a_pair_has_one_conversation_whoever_opens_it(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.verified_user("ada").await;
        let tailor = app.verified_user_with("tobi", json!({"role": "tailor"})).await;
        let (status, first) = status_and_body(app.post_as(&ada.access, "/chat/api/conversations/", json!({"user_id": tailor.id})).await).await;
        assert_eq!(status, StatusCode::CREATED, "{first}");
        assert_eq!(first["other_member"]["username"], "tobi");
        assert_eq!(first["unread_count"], 0);
        let (status, again) = status_and_body(app.post_as(&tailor.access, "/chat/api/conversations/", json!({"user_id": ada.id})).await).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(again["id"], first["id"]);
        for (body, field) in [
            (json!({}), "user_id"),
            (json!({"user_id": ada.id}), "user_id"),
            (json!({"user_id": "not-a-uuid"}), "user_id"),
            (json!({"user_id": uuid::Uuid::new_v4()}), "user_id"),
            (json!({"user_id": tailor.id, "order_id": uuid::Uuid::new_v4()}), "order_id"),
        ] {
            let (status, errors) = status_and_body(app.post_as(&ada.access, "/chat/api/conversations/", body.clone()).await).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            assert!(errors[field].is_array(), "{body} -> {errors}");
        }
        assert_eq!(app.get("/chat/api/conversations/").await.status(), StatusCode::UNAUTHORIZED);
    }

    async fn a_retried_send_returns_the_original_and_history_pages_both_ways(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.verified_user("ada").await;
        let tobi = app.verified_user("tobi").await;
        let conv = conversation(&app, &ada, &tobi).await;
        let (status, first) = send_rest(&app, &ada, &conv, "c-1", "Hello").await;
        assert_eq!(status, StatusCode::CREATED, "{first}");
        assert_eq!((first["seq"].as_i64(), first["kind"].as_str()), (Some(1), Some("text")));
        let (status, retried) = send_rest(&app, &ada, &conv, "c-1", "Hello").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(retried["id"], first["id"]);
        for n in 2..=5 {
            let (status, _) = send_rest(&app, &tobi, &conv, &format!("t-{n}"), "reply").await;
            assert_eq!(status, StatusCode::CREATED);
        }
        let (_, newest) = history(&app, &ada, &conv, "?limit=2").await;
        assert_eq!(seqs(newest["results"].as_array().unwrap()), vec![4, 5]);
        assert_eq!((newest["has_more"].as_bool(), newest["last_seq"].as_i64()), (Some(true), Some(5)));
        let (_, older) = history(&app, &ada, &conv, "?before_seq=4&limit=2").await;
        assert_eq!(seqs(older["results"].as_array().unwrap()), vec![2, 3]);
        let (_, forwards) = history(&app, &ada, &conv, "?after_seq=1&limit=3").await;
        assert_eq!(seqs(forwards["results"].as_array().unwrap()), vec![2, 3, 4]);
        assert_eq!(forwards["has_more"], true);
        let (_, rest) = history(&app, &ada, &conv, "?after_seq=4").await;
        assert_eq!(seqs(rest["results"].as_array().unwrap()), vec![5]);
        assert_eq!(rest["has_more"], false);
        // The same client id in another conversation is refused, not merged.
        let third = app.verified_user("kemi").await;
        let other = conversation(&app, &ada, &third).await;
        let (status, errors) = send_rest(&app, &ada, &other, "c-1", "Hello").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(errors["client_id"].is_array());
        for query in ["?limit=0", "?limit=abc", "?after_seq=-1", "?before_seq=1.5"] {
            let (status, _) = history(&app, &ada, &conv, query).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        }
    }

    async fn bad_sends_are_field_errors(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.verified_user("ada").await;
        let tobi = app.verified_user("tobi").await;
        let conv = conversation(&app, &ada, &tobi).await;
        let path = format!("/chat/api/conversations/{conv}/messages/");
        for (body, field) in [
            (json!({"text": "no client id"}), "client_id"),
            (json!({"client_id": "x"}), "text"),
            (json!({"client_id": "x", "text": "   "}), "text"),
            (json!({"client_id": "x", "text": "a".repeat(4001)}), "text"),
            (json!({"client_id": "x".repeat(65), "text": "hi"}), "client_id"),
            (json!({"client_id": "x", "attachment_ids": ["nope"]}), "attachment_ids"),
        ] {
            let (status, errors) = status_and_body(app.post_as(&ada.access, &path, body.clone()).await).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            assert!(errors[field].is_array(), "{body} -> {errors}");
        }
        let (status, _) = status_and_body(app.post_as(&ada.access, &path, json!({"client_id": 5})).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (_, body) = history(&app, &ada, &conv, "").await;
        assert_eq!(body["last_seq"], 0, "nothing was stored");
    }

    async fn images_are_attached_by_their_upload_ids(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.verified_user("ada").await;
        let tobi = app.verified_user("tobi").await;
        let conv = conversation(&app, &ada, &tobi).await;
        let (_, mine) = upload(&app, &ada, "fabric.jpg", JPEG).await;
        let (_, theirs) = upload(&app, &tobi, "other.jpg", JPEG).await;
        let path = format!("/chat/api/conversations/{conv}/messages/");
        let (status, sent) = status_and_body(app.post_as(&ada.access, &path,
            json!({"client_id": "img-1", "attachment_ids": [mine["id"]]})).await).await;
        assert_eq!(status, StatusCode::CREATED, "{sent}");
        assert_eq!(sent["kind"], "image");
        assert_eq!(sent["attachments"][0]["url"], mine["url"]);
        let (status, _) = status_and_body(app.post_as(&ada.access, &path,
            json!({"client_id": "img-2", "attachment_ids": [theirs["id"]]})).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "someone else's upload");
    }

    async fn only_members_see_or_touch_a_conversation(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.verified_user("ada").await;
        let tobi = app.verified_user("tobi").await;
        let eve = app.verified_user("eve").await;
        let conv = conversation(&app, &ada, &tobi).await;
        let (_, message) = send_rest(&app, &ada, &conv, "c-1", "private").await;
        let id = message["id"].as_str().unwrap();
        assert_eq!(history(&app, &eve, &conv, "").await.0, StatusCode::NOT_FOUND);
        assert_eq!(send_rest(&app, &eve, &conv, "e-1", "hi").await.0, StatusCode::NOT_FOUND);
        assert_eq!(read(&app, &eve, &conv, 1).await.0, StatusCode::NOT_FOUND);
        assert_eq!(edit(&app, &eve, id, "mine now").await.0, StatusCode::NOT_FOUND);
        assert_eq!(delete(&app, &eve, &format!("/chat/api/messages/{id}/")).await, StatusCode::NOT_FOUND);
        let report = app.post_as(&eve.access, &format!("/chat/api/messages/{id}/report/"), json!({})).await;
        assert_eq!(report.status(), StatusCode::NOT_FOUND);
        assert_eq!(list(&app, &eve).await["count"], 0);
        assert_eq!(history(&app, &ada, "not-a-uuid", "").await.0, StatusCode::NOT_FOUND);
        assert_eq!(history(&app, &ada, &uuid::Uuid::new_v4().to_string(), "").await.0, StatusCode::NOT_FOUND);
    }

    async fn concurrent_senders_get_strictly_increasing_seqs_without_gaps(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.verified_user("ada").await;
        let tobi = app.verified_user("tobi").await;
        let conv = conversation(&app, &ada, &tobi).await;
        let sends = (0..40).map(|n| {
            let (app, conv) = (&app, &conv);
            let who = if n % 2 == 0 { &ada } else { &tobi };
            async move { send_rest(app, who, conv, &format!("m-{n}"), "hi").await.0 }
        });
        let statuses = futures_util::future::join_all(sends).await;
        assert!(statuses.iter().all(|s| *s == StatusCode::CREATED), "{statuses:?}");
        let (_, all) = history(&app, &ada, &conv, "?after_seq=0&limit=200").await;
        assert_eq!(seqs(all["results"].as_array().unwrap()), (1..=40).collect::<Vec<i64>>());
    }

    async fn a_burst_of_sends_gets_one_result_each_whatever_shares_a_transaction(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.verified_user("ada").await;
        let tobi = app.verified_user("tobi").await;
        let kemi = app.verified_user("kemi").await;
        let with_tobi = conversation(&app, &ada, &tobi).await;
        let with_kemi = conversation(&app, &ada, &kemi).await;
        let blocked = conversation(&app, &tobi, &kemi).await;
        let (status, _) = status_and_body(app.post_as(&kemi.access, "/chat/api/block/", json!({"user_id": tobi.id})).await).await;
        assert_eq!(status, StatusCode::CREATED);
        // 60 sends at once over three conversations; the last 12 repeat the
        // first 12 (a retry racing its original), and some of tobi's sends
        // go to kemi, who blocked him.
        let mut sends: Vec<(&TestUser, &str, String)> = (0..48).map(|n| {
            let client_id = format!("m-{n}");
            match n % 3 {
                0 => (&ada, with_tobi.as_str(), client_id),
                1 => (&tobi, if n % 4 == 1 { blocked.as_str() } else { with_tobi.as_str() }, client_id),
                _ => (&kemi, with_kemi.as_str(), client_id),
            }
        }).collect();
        sends.extend(sends[..12].to_vec());
        let outcomes = futures_util::future::join_all(sends.iter().map(|(who, conv, client_id)| {
            send_rest(&app, who, conv, client_id, "hi")
        })).await;

        let mut stored = std::collections::HashMap::new();
        for ((who, conv, client_id), (status, body)) in sends.iter().zip(&outcomes) {
            if *conv == blocked.as_str() {
                assert_eq!((*status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("blocked")));
                continue;
            }
            assert!(matches!(*status, StatusCode::CREATED | StatusCode::OK), "{status} {body}");
            let key = (who.id.clone(), client_id.clone());
            let previous = stored.insert(key, body["id"].clone());
            if let Some(previous) = previous {
                assert_eq!(previous, body["id"], "a repeated client id answers the same message");
            }
        }
        let created = outcomes.iter().filter(|(s, _)| *s == StatusCode::CREATED).count();
        assert_eq!(created, stored.len(), "one new message per client id");
        let mut in_conversations = 0;
        for (conv, member) in [(&with_tobi, &ada), (&with_kemi, &ada), (&blocked, &tobi)] {
            let (_, all) = history(&app, member, conv, "?after_seq=0&limit=200").await;
            let found = seqs(all["results"].as_array().unwrap());
            assert_eq!(found, (1..=found.len() as i64).collect::<Vec<i64>>(), "gapless in {conv}");
            in_conversations += found.len();
        }
        assert_eq!(in_conversations, stored.len());
    }

    async fn racing_reads_leave_the_furthest_position_whatever_shares_a_transaction(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.verified_user("ada").await;
        let tobi = app.verified_user("tobi").await;
        let conv = conversation(&app, &ada, &tobi).await;
        for n in 1..=12 {
            assert_eq!(send_rest(&app, &tobi, &conv, &format!("t-{n}"), "fabric?").await.0, StatusCode::CREATED);
        }
        // Two devices report reads at once, out of order and repeated.
        let seqs_read = [3, 12, 7, 1, 12, 9, 5, 11, 2, 12, 6, 4];
        let outcomes = futures_util::future::join_all(seqs_read.iter().map(|seq| read(&app, &ada, &conv, *seq))).await;
        for (status, body) in &outcomes {
            assert_eq!(*status, StatusCode::OK, "{body}");
        }
        let (_, position) = read(&app, &ada, &conv, 1).await;
        assert_eq!((position["last_read_seq"].as_i64(), position["unread_count"].as_i64()), (Some(12), Some(0)));
        let listed = list(&app, &ada).await;
        assert_eq!(listed["results"][0]["unread_count"], 0, "{listed}");
        assert_eq!(send_rest(&app, &tobi, &conv, "t-13", "and lining").await.0, StatusCode::CREATED);
        assert_eq!(list(&app, &ada).await["results"][0]["unread_count"], 1);
    }

    async fn unread_counts_follow_read_positions_which_only_move_forward(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.verified_user("ada").await;
        let tobi = app.verified_user("tobi").await;
        let conv = conversation(&app, &ada, &tobi).await;
        for n in 1..=3 {
            send_rest(&app, &ada, &conv, &format!("c-{n}"), "measurements?").await;
        }
        let theirs = list(&app, &tobi).await;
        assert_eq!(theirs["results"][0]["unread_count"], 3);
        assert_eq!(theirs["results"][0]["last_message"]["seq"], 3);
        assert_eq!(list(&app, &ada).await["results"][0]["unread_count"], 0, "own messages are read");
        let (status, position) = read(&app, &tobi, &conv, 2).await;
        assert_eq!(status, StatusCode::OK, "{position}");
        assert_eq!((position["last_read_seq"].as_i64(), position["unread_count"].as_i64()), (Some(2), Some(1)));
        let (_, position) = read(&app, &tobi, &conv, 1).await;
        assert_eq!(position["last_read_seq"], 2, "never moves back");
        assert_eq!(read(&app, &tobi, &conv, 4).await.0, StatusCode::BAD_REQUEST);
        assert_eq!(read(&app, &tobi, &conv, -1).await.0, StatusCode::BAD_REQUEST);
        assert_eq!(list(&app, &tobi).await["results"][0]["unread_count"], 1);
    }

    async fn conversations_are_listed_newest_activity_first_and_paginated(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.verified_user("ada").await;
        let mut convs = Vec::new();
        for name in ["tobi", "kemi", "bayo"] {
            let other = app.verified_user(name).await;
            convs.push(conversation(&app, &ada, &other).await);
        }
        send_rest(&app, &ada, &convs[0], "c-1", "oldest first, now newest").await;
        let page = body_of(app.get_as(&ada.access, "/chat/api/conversations/?page_size=2").await).await;
        assert_eq!(page["count"], 3);
        assert_eq!(page["results"][0]["id"], convs[0].as_str());
        assert_eq!(page["results"][1]["id"], convs[2].as_str());
        assert!(page["next"].as_str().unwrap().contains("page=2"));
        let last = body_of(app.get_as(&ada.access, "/chat/api/conversations/?page=2&page_size=2").await).await;
        assert_eq!(last["results"][0]["id"], convs[1].as_str());
        assert_eq!(app.get_as(&ada.access, "/chat/api/conversations/?page=3&page_size=2").await.status(), StatusCode::NOT_FOUND);
    }

    async fn own_messages_are_edited_within_the_window_and_deleted_as_tombstones(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.verified_user("ada").await;
        let tobi = app.verified_user("tobi").await;
        let conv = conversation(&app, &ada, &tobi).await;
        let (_, first) = send_rest(&app, &ada, &conv, "c-1", "Hem at 3cm").await;
        send_rest(&app, &tobi, &conv, "t-1", "ok").await;
        let id = first["id"].as_str().unwrap();
        assert_eq!(edit(&app, &tobi, id, "not yours").await.0, StatusCode::FORBIDDEN);
        let (status, edited) = edit(&app, &ada, id, "Hem at 4cm").await;
        assert_eq!(status, StatusCode::OK, "{edited}");
        assert_eq!(edited["text"], "Hem at 4cm");
        assert!(edited["edited_at"].is_string());
        assert_eq!(edit(&app, &ada, id, "  ").await.0, StatusCode::BAD_REQUEST);
        let path = format!("/chat/api/messages/{id}/");
        assert_eq!(delete(&app, &tobi, &path).await, StatusCode::FORBIDDEN);
        assert_eq!(delete(&app, &ada, &path).await, StatusCode::NO_CONTENT);
        assert_eq!(delete(&app, &ada, &path).await, StatusCode::CONFLICT);
        assert_eq!(edit(&app, &ada, id, "undo").await.0, StatusCode::CONFLICT);
        let (_, all) = history(&app, &tobi, &conv, "").await;
        let results = all["results"].as_array().unwrap();
        assert_eq!(seqs(results), vec![1, 2], "the tombstone keeps its seq");
        assert_eq!((results[0]["deleted"].as_bool(), results[0]["text"].as_str()), (Some(true), Some("")));
    }

    async fn edits_close_after_the_window(backend) {
        let app = TestApp::spawn_with(backend, |s| s.chat.edit_window = std::time::Duration::ZERO).await;
        let ada = app.verified_user("ada").await;
        let tobi = app.verified_user("tobi").await;
        let conv = conversation(&app, &ada, &tobi).await;
        let (_, sent) = send_rest(&app, &ada, &conv, "c-1", "typo").await;
        let (status, body) = edit(&app, &ada, sent["id"].as_str().unwrap(), "fixed").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["code"], "edit_window_closed");
    }

    async fn a_blocked_user_cannot_start_or_send_until_unblocked(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.verified_user("ada").await;
        let tobi = app.verified_user("tobi").await;
        let conv = conversation(&app, &ada, &tobi).await;
        let (status, _) = status_and_body(app.post_as(&tobi.access, "/chat/api/block/", json!({"user_id": ada.id})).await).await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, _) = status_and_body(app.post_as(&tobi.access, "/chat/api/block/", json!({"user_id": ada.id})).await).await;
        assert_eq!(status, StatusCode::OK, "blocking twice is harmless");
        let (status, body) = send_rest(&app, &ada, &conv, "c-1", "hello?").await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("blocked")));
        let (status, _) = status_and_body(app.post_as(&ada.access, "/chat/api/conversations/", json!({"user_id": tobi.id})).await).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(send_rest(&app, &tobi, &conv, "t-1", "bye").await.0, StatusCode::FORBIDDEN);
        let (status, _) = status_and_body(app.post_as(&tobi.access, "/chat/api/block/", json!({"user_id": tobi.id})).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let unblock = format!("/chat/api/block/{}/", ada.id);
        assert_eq!(delete(&app, &tobi, &unblock).await, StatusCode::NO_CONTENT);
        assert_eq!(delete(&app, &tobi, &unblock).await, StatusCode::NOT_FOUND);
        assert_eq!(send_rest(&app, &ada, &conv, "c-2", "hello again").await.0, StatusCode::CREATED);
    }

    async fn members_report_messages_once(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.verified_user("ada").await;
        let tobi = app.verified_user("tobi").await;
        let conv = conversation(&app, &ada, &tobi).await;
        let (_, sent) = send_rest(&app, &ada, &conv, "c-1", "spam").await;
        let path = format!("/chat/api/messages/{}/report/", sent["id"].as_str().unwrap());
        let (status, report) = status_and_body(app.post_as(&tobi.access, &path, json!({"reason": "spam"})).await).await;
        assert_eq!(status, StatusCode::CREATED, "{report}");
        let (status, again) = status_and_body(app.post_as(&tobi.access, &path, json!({"reason": "spam"})).await).await;
        assert_eq!((status, &again["id"]), (StatusCode::OK, &report["id"]));
        assert_eq!(app.post_as(&ada.access, &path, json!({})).await.status(), StatusCode::BAD_REQUEST);
    }

    async fn sending_is_rate_limited_per_user(backend) {
        let app = TestApp::spawn_with(backend, |s| s.chat.send_limit = 3).await;
        let ada = app.verified_user("ada").await;
        let tobi = app.verified_user("tobi").await;
        let conv = conversation(&app, &ada, &tobi).await;
        for n in 0..3 {
            assert_eq!(send_rest(&app, &ada, &conv, &format!("c-{n}"), "hi").await.0, StatusCode::CREATED);
        }
        let (status, body) = send_rest(&app, &ada, &conv, "c-3", "hi").await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("throttled")));
        assert_eq!(send_rest(&app, &ada, &conv, "c-0", "hi").await.0, StatusCode::OK, "a retry is not a new send");
        assert_eq!(send_rest(&app, &tobi, &conv, "t-0", "hi").await.0, StatusCode::CREATED);
    }

    async fn the_old_apps_two_calls_still_work(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.verified_user("ada").await;
        let tobi = app.verified_user("tobi").await;
        let (status, sent) = status_and_body(app.post_as(&ada.access, "/chat/api/create/",
            json!({"receiver": tobi.id, "message": "Is my agbada ready?"})).await).await;
        assert_eq!(status, StatusCode::CREATED, "{sent}");
        assert_eq!((sent["sender"].as_str(), sent["receiver"].as_str()), (Some(ada.id.as_str()), Some(tobi.id.as_str())));
        app.post_as(&tobi.access, "/chat/api/create/", json!({"receiver": ada.id, "message": "Friday"})).await;
        let both = body_of(app.get_as(&tobi.access, &format!("/chat/api/get-messages/{}/", ada.id)).await).await;
        let both = both.as_array().unwrap();
        assert_eq!(both.len(), 2);
        assert_eq!((both[0]["message"].as_str(), both[1]["receiver"].as_str()), (Some("Is my agbada ready?"), Some(ada.id.as_str())));
        let (status, errors) = status_and_body(app.post_as(&ada.access, "/chat/api/create/", json!({"receiver": tobi.id})).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(errors["message"].is_array(), "{errors}");
        let (status, errors) = status_and_body(app.post_as(&ada.access, "/chat/api/create/", json!({"message": "x"})).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(errors["receiver"].is_array(), "{errors}");
        let stranger = app.verified_user("kemi").await;
        let none = body_of(app.get_as(&stranger.access, &format!("/chat/api/get-messages/{}/", ada.id)).await).await;
        assert_eq!(none, json!([]));
    }
}

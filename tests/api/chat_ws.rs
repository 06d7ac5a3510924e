//! Chat over a real WebSocket: signing in, live delivery, acks, typing,
//! read positions, presence, resume without gaps or duplicates, bad frames,
//! token expiry and shutdown.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::both_backends;
use crate::chat_support::{ChatSocket, conversation, send_rest};
use crate::helpers::TestApp;

both_backends! {
    async fn sockets_sign_in_by_query_or_first_frame_and_refuse_bad_tokens(backend) {
        let app = TestApp::spawn_with(backend, |s| s.chat.auth_timeout = Duration::from_secs(1)).await;
        let ada = app.verified_user("ada").await;
        let mut by_query = ChatSocket::open(&app.address, &format!("?token={}", ada.access)).await;
        assert_eq!(by_query.next_of("ready").await["user_id"], ada.id.as_str());
        ChatSocket::connect(&app.address, &ada).await;
        let mut forged = ChatSocket::open(&app.address, "?token=forged").await;
        assert_eq!(forged.closed_with().await, 4001);
        let mut bad_frame = ChatSocket::open(&app.address, "").await;
        bad_frame.send(json!({"type": "auth", "token": "forged"})).await;
        assert_eq!(bad_frame.closed_with().await, 4001);
        let mut refresh_token = ChatSocket::open(&app.address, "").await;
        refresh_token.send(json!({"type": "auth", "token": ada.refresh})).await;
        assert_eq!(refresh_token.closed_with().await, 4001, "a refresh token is not an access token");
        let mut wrong_first = ChatSocket::open(&app.address, "").await;
        wrong_first.send(json!({"type": "send", "text": "hi"})).await;
        assert_eq!(wrong_first.closed_with().await, 4001);
        let mut silent = ChatSocket::open(&app.address, "").await;
        assert_eq!(silent.closed_with().await, 4002);
    }

    async fn messages_arrive_live_once_with_acks_typing_and_read_positions(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.verified_user("ada").await;
        let tobi = app.verified_user("tobi").await;
        let conv = conversation(&app, &ada, &tobi).await;
        let mut ada_ws = ChatSocket::connect(&app.address, &ada).await;
        let mut tobi_ws = ChatSocket::connect(&app.address, &tobi).await;
        ada_ws.send(json!({"type": "send", "conversation_id": conv, "client_id": "w-1", "text": "Fitting on Monday?"})).await;
        let ack = ada_ws.next_of("ack").await;
        assert_eq!((ack["client_id"].as_str(), ack["duplicate"].as_bool(), ack["message"]["seq"].as_i64()), (Some("w-1"), Some(false), Some(1)));
        let pushed = tobi_ws.next_of("message.new").await;
        assert_eq!(pushed["message"]["id"], ack["message"]["id"]);
        ada_ws.send(json!({"type": "send", "conversation_id": conv, "client_id": "w-1", "text": "Fitting on Monday?"})).await;
        let retried = ada_ws.next_of("ack").await;
        assert_eq!((retried["duplicate"].as_bool(), &retried["message"]["id"]), (Some(true), &ack["message"]["id"]));
        let leftover = ada_ws.drain().await;
        assert!(leftover.iter().all(|f| f["type"] != "message.new"), "the sender's socket gets the ack, not a copy: {leftover:?}");
        // REST sends reach sockets too.
        send_rest(&app, &tobi, &conv, "t-1", "Yes, 10am").await;
        assert_eq!(ada_ws.next_of("message.new").await["message"]["seq"], 2);
        tobi_ws.send(json!({"type": "typing", "conversation_id": conv})).await;
        let typing = ada_ws.next_of("typing").await;
        assert_eq!(typing["user_id"], tobi.id.as_str());
        ada_ws.send(json!({"type": "read", "conversation_id": conv, "seq": 2})).await;
        assert_eq!(ada_ws.next_of("read.ok").await["unread_count"], 0);
        let seen = tobi_ws.next_of("read").await;
        assert_eq!((seen["user_id"].as_str(), seen["last_read_seq"].as_i64()), (Some(ada.id.as_str()), Some(2)));
        // Edits and deletions are pushed as well.
        let id = ack["message"]["id"].as_str().unwrap();
        app.client.patch(app.url(&format!("/chat/api/messages/{id}/"))).bearer_auth(&ada.access)
            .json(&json!({"text": "Fitting on Tuesday?"})).send().await.unwrap();
        assert_eq!(tobi_ws.next_of("message.updated").await["message"]["text"], "Fitting on Tuesday?");
        app.client.delete(app.url(&format!("/chat/api/messages/{id}/"))).bearer_auth(&ada.access).send().await.unwrap();
        assert_eq!(tobi_ws.next_of("message.deleted").await["message"]["deleted"], true);
    }

    async fn bad_frames_get_error_frames_and_the_socket_lives_on(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.verified_user("ada").await;
        let tobi = app.verified_user("tobi").await;
        let eve = app.verified_user("eve").await;
        let conv = conversation(&app, &ada, &tobi).await;
        let mut ws = ChatSocket::connect(&app.address, &eve).await;
        ws.send_raw(Message::text("not json")).await;
        assert_eq!(ws.next_of("error").await["code"], "invalid_frame");
        ws.send(json!({"type": "send", "text": "no conversation"})).await;
        assert_eq!(ws.next_of("error").await["code"], "invalid_frame");
        ws.send(json!({"type": "dance"})).await;
        assert_eq!(ws.next_of("error").await["code"], "invalid_frame");
        ws.send_raw(Message::binary(vec![1, 2, 3])).await;
        assert_eq!(ws.next_of("error").await["code"], "invalid_frame");
        ws.send_raw(Message::text(format!(r#"{{"type":"send","conversation_id":"{conv}","client_id":"n","text":"a\u0000b"}}"#))).await;
        assert_eq!(ws.next_of("error").await["code"], "invalid_frame");
        ws.send(json!({"type": "send", "conversation_id": conv, "client_id": "e-1", "text": "let me in"})).await;
        let refused = ws.next_of("error").await;
        assert_eq!((refused["code"].as_str(), refused["client_id"].as_str()), (Some("not_found"), Some("e-1")));
        let mut ada_ws = ChatSocket::connect(&app.address, &ada).await;
        ada_ws.send(json!({"type": "send", "conversation_id": conv, "client_id": "a-1"})).await;
        let invalid = ada_ws.next_of("error").await;
        assert_eq!(invalid["code"], "invalid");
        assert!(invalid["detail"]["text"].is_array(), "{invalid}");
        ws.send(json!({"type": "ping"})).await;
        assert_eq!(ws.next_of("pong").await["type"], "pong");
    }

    async fn resume_replays_what_was_missed_then_goes_live_without_gaps_or_duplicates(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.verified_user("ada").await;
        let tobi = app.verified_user("tobi").await;
        let conv = conversation(&app, &ada, &tobi).await;
        send_rest(&app, &ada, &conv, "c-1", "one").await;
        let tobi_ws = ChatSocket::connect(&app.address, &tobi).await;
        tobi_ws.close().await;
        for n in 2..=4 {
            send_rest(&app, &ada, &conv, &format!("c-{n}"), "while you were away").await;
        }
        // Messages keep coming while the phone reconnects and resumes.
        let sender = {
            let (address, access, conv) = (app.address.clone(), ada.access.clone(), conv.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                for n in 5..=30 {
                    client.post(format!("{address}/chat/api/conversations/{conv}/messages/"))
                        .bearer_auth(&access).json(&json!({"client_id": format!("c-{n}"), "text": "more"}))
                        .send().await.unwrap();
                }
            })
        };
        let mut tobi_ws = ChatSocket::connect(&app.address, &tobi).await;
        tobi_ws.send(json!({"type": "resume", "conversations": {conv.clone(): 1}})).await;
        let mut received = Vec::new();
        let mut resumed = false;
        while received.len() < 29 || !resumed {
            let frame = tobi_ws.next().await;
            match frame["type"].as_str() {
                Some("message.new") => received.push(frame["message"]["seq"].as_i64().unwrap()),
                Some("resume.done") => resumed = true,
                _ => {}
            }
        }
        sender.await.unwrap();
        let unique: BTreeSet<i64> = received.iter().copied().collect();
        assert_eq!(unique.len(), received.len(), "no duplicates: {received:?}");
        assert_eq!(unique, (2..=30).collect::<BTreeSet<i64>>(), "no gaps");
        assert_eq!(received, (2..=30).collect::<Vec<i64>>(), "replay first, then live, in seq order");
        let extra = tobi_ws.drain().await;
        assert!(extra.iter().all(|f| f["type"] != "message.new"), "{extra:?}");
    }

    async fn a_conversation_not_named_in_resume_replays_from_the_read_position(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.verified_user("ada").await;
        let tobi = app.verified_user("tobi").await;
        let conv = conversation(&app, &ada, &tobi).await;
        send_rest(&app, &ada, &conv, "c-1", "new while offline").await;
        let mut tobi_ws = ChatSocket::connect(&app.address, &tobi).await;
        tobi_ws.send(json!({"type": "resume"})).await;
        assert_eq!(tobi_ws.next_of("message.new").await["message"]["text"], "new while offline");
        assert_eq!(tobi_ws.next_of("resume.done").await["conversations"][&conv], 1);
    }

    async fn contacts_see_each_other_come_online_and_leave(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.verified_user("ada").await;
        let tobi = app.verified_user("tobi").await;
        conversation(&app, &ada, &tobi).await;
        let mut ada_ws = ChatSocket::connect(&app.address, &ada).await;
        let offline = ada_ws.next_of("presence").await;
        assert_eq!((offline["user_id"].as_str(), offline["online"].as_bool()), (Some(tobi.id.as_str()), Some(false)));
        let mut tobi_ws = ChatSocket::connect(&app.address, &tobi).await;
        let online = tobi_ws.next_of("presence").await;
        assert_eq!((online["user_id"].as_str(), online["online"].as_bool()), (Some(ada.id.as_str()), Some(true)));
        assert_eq!(ada_ws.next_of("presence").await["online"], true);
        tobi_ws.close().await;
        let left = ada_ws.next_of("presence").await;
        assert_eq!(left["online"], false);
        assert!(left["last_seen"].is_string(), "{left}");
    }

    async fn a_client_that_stops_reading_is_dropped_without_slowing_the_others(backend) {
        let app = TestApp::spawn_with(backend, |s| {
            s.chat.ping_interval = Duration::from_secs(1);
            s.chat.send_limit = 0;
        })
        .await;
        let ada = app.verified_user("ada").await;
        let tobi = app.verified_user("tobi").await;
        let conv = conversation(&app, &ada, &tobi).await;
        let _stuck = ChatSocket::open_cramped(&app.address, &tobi).await;
        let mut ada_ws = ChatSocket::connect(&app.address, &ada).await;
        ada_ws.send(json!({"type": "resume"})).await;
        ada_ws.next_of("resume.done").await;
        let long = "x".repeat(4000);
        for n in 0..60 {
            let started = std::time::Instant::now();
            send_rest(&app, &ada, &conv, &format!("c-{n}"), &long).await;
            let pushed = ada_ws.next_of("message.new").await;
            assert_eq!(pushed["message"]["seq"], n + 1);
            assert!(started.elapsed() < Duration::from_secs(2), "message {n} took {:?}", started.elapsed());
        }
        // The stuck socket is dropped (its writes time out); its contact hears it left.
        loop {
            let presence = ada_ws.next_of("presence").await;
            if presence["user_id"] == tobi.id.as_str() && presence["online"] == false {
                break;
            }
        }
    }

    async fn an_expiring_token_is_announced_and_the_socket_closed(backend) {
        let app = TestApp::spawn_with(backend, |s| s.auth.access_token_ttl = Duration::from_secs(2)).await;
        let ada = app.verified_user("ada").await;
        let mut ws = ChatSocket::connect(&app.address, &ada).await;
        ws.next_of("token.expired").await;
        assert_eq!(ws.closed_with().await, 4003);
    }

    async fn a_password_change_ends_open_sockets_at_the_next_ping(backend) {
        let app = TestApp::spawn_with(backend, |s| s.chat.ping_interval = Duration::from_millis(500)).await;
        let ada = app.verified_user("ada").await;
        let mut ws = ChatSocket::connect(&app.address, &ada).await;
        let changed = app.post_as(&ada.access, "/auth/api/change-password/", json!({
            "old_password": ada.password, "new_password": "Another&Thread-2027", "new_password1": "Another&Thread-2027"})).await;
        assert_eq!(changed.status(), reqwest::StatusCode::OK);
        assert_eq!(ws.closed_with().await, 4001);
    }

    async fn shutdown_closes_sockets_with_going_away(backend) {
        let mut app = TestApp::spawn(backend).await;
        let ada = app.verified_user("ada").await;
        let mut ws = ChatSocket::connect(&app.address, &ada).await;
        app.stop();
        assert_eq!(ws.closed_with().await, 1001);
    }
}

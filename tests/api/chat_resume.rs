//! Resume in order and with changes, and oversized frames, over a real
//! WebSocket on both backends.

use std::time::Duration;

use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::both_backends;
use crate::chat_support::{ChatSocket, conversation, send_rest};
use crate::helpers::{TestApp, TestUser, body_of};

/// The conversation's change_seq as REST history reports it.
async fn change_seq(app: &TestApp, who: &TestUser, conv: &str) -> i64 {
    let history = body_of(
        app.get_as(
            &who.access,
            &format!("/chat/api/conversations/{conv}/messages/"),
        )
        .await,
    )
    .await;
    history["change_seq"]
        .as_i64()
        .expect("history has change_seq")
}

/// Frames up to and including `resume.done`.
async fn until_resumed(ws: &mut ChatSocket) -> (Vec<Value>, Value) {
    let mut frames = Vec::new();
    loop {
        let frame = ws.next().await;
        if frame["type"] == "resume.done" {
            return (frames, frame);
        }
        frames.push(frame);
    }
}

fn new_seqs(frames: &[Value]) -> Vec<i64> {
    frames
        .iter()
        .filter(|f| f["type"] == "message.new")
        .map(|f| f["message"]["seq"].as_i64().unwrap())
        .collect()
}

both_backends! {
    async fn live_messages_that_arrive_before_the_resume_wait_for_the_replay(backend) {
        // A generous wait: the test controls when the resume comes.
        let app = TestApp::spawn_with(backend, |s| s.chat.resume_wait = Duration::from_secs(30)).await;
        let ada = app.verified_user("ada").await;
        let tobi = app.verified_user("tobi").await;
        let conv = conversation(&app, &ada, &tobi).await;
        for n in 1..=9 {
            send_rest(&app, &ada, &conv, &format!("o-{n}"), "old").await;
        }
        // The phone is back and signed in, but its resume is still on the way
        // while new messages arrive live.
        let mut tobi_ws = ChatSocket::connect(&app.address, &tobi).await;
        for n in 10..=20 {
            send_rest(&app, &ada, &conv, &format!("o-{n}"), "new").await;
        }
        tobi_ws.send(json!({"type": "resume", "conversations": {conv.clone(): 5}})).await;
        let (frames, done) = until_resumed(&mut tobi_ws).await;
        assert_eq!(new_seqs(&frames), (6..=20).collect::<Vec<_>>(), "replay first, in order, once");
        assert_eq!(done["conversations"][&conv], 20);
        let after = tobi_ws.drain().await;
        assert!(new_seqs(&after).is_empty(), "nothing twice after the seam: {after:?}");
        send_rest(&app, &ada, &conv, "o-21", "live").await;
        assert_eq!(tobi_ws.next_of("message.new").await["message"]["seq"], 21);
    }

    async fn without_a_resume_held_events_flow_after_the_resume_wait(backend) {
        let app = TestApp::spawn_with(backend, |s| s.chat.resume_wait = Duration::from_millis(300)).await;
        let ada = app.verified_user("ada").await;
        let tobi = app.verified_user("tobi").await;
        let conv = conversation(&app, &ada, &tobi).await;
        let mut tobi_ws = ChatSocket::connect(&app.address, &tobi).await;
        for n in 1..=3 {
            send_rest(&app, &ada, &conv, &format!("h-{n}"), "hi").await;
        }
        let mut seqs = Vec::new();
        while seqs.len() < 3 {
            seqs.push(tobi_ws.next_of("message.new").await["message"]["seq"].as_i64().unwrap());
        }
        assert_eq!(seqs, vec![1, 2, 3]);
    }

    async fn resume_with_a_change_seq_brings_edits_deletions_and_reads(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.verified_user("ada").await;
        let tobi = app.verified_user("tobi").await;
        let conv = conversation(&app, &ada, &tobi).await;
        let (_, first) = send_rest(&app, &ada, &conv, "m-1", "Fitting on Monday?").await;
        let (_, second) = send_rest(&app, &ada, &conv, "m-2", "Bring the fabric").await;
        send_rest(&app, &tobi, &conv, "m-3", "Ok").await;
        // Tobi's phone has seqs 1..3 and the conversation as of this change.
        let seen = change_seq(&app, &tobi, &conv).await;
        assert_eq!(seen, 3, "one change per send");
        // While it is away: an edit, a deletion, a read move, a new message.
        let first_id = first["id"].as_str().unwrap();
        let edited = app.client.patch(app.url(&format!("/chat/api/messages/{first_id}/")))
            .bearer_auth(&ada.access).json(&json!({"text": "Fitting on Tuesday?"})).send().await.unwrap();
        assert_eq!(edited.status(), reqwest::StatusCode::OK);
        let second_id = second["id"].as_str().unwrap();
        app.client.delete(app.url(&format!("/chat/api/messages/{second_id}/")))
            .bearer_auth(&ada.access).send().await.unwrap();
        let read = app.post_as(&ada.access, &format!("/chat/api/conversations/{conv}/read/"), json!({"seq": 3})).await;
        assert_eq!(read.status(), reqwest::StatusCode::OK);
        send_rest(&app, &ada, &conv, "m-4", "See you").await;
        let now = change_seq(&app, &tobi, &conv).await;
        assert_eq!(now, 7);

        let mut tobi_ws = ChatSocket::connect(&app.address, &tobi).await;
        tobi_ws.send(json!({"type": "resume", "conversations": {conv.clone(): {"seq": 3, "change_seq": seen}}})).await;
        let (frames, done) = until_resumed(&mut tobi_ws).await;
        let kinds: Vec<&str> = frames.iter().filter(|f| f["type"] != "presence").map(|f| f["type"].as_str().unwrap()).collect();
        assert_eq!(kinds, vec!["message.updated", "message.deleted", "message.new", "read"], "{frames:?}");
        let changed: Vec<&Value> = frames.iter().filter(|f| f["type"] != "presence").collect();
        assert_eq!((changed[0]["message"]["seq"].as_i64(), changed[0]["message"]["text"].as_str()), (Some(1), Some("Fitting on Tuesday?")));
        assert_eq!((changed[1]["message"]["seq"].as_i64(), changed[1]["message"]["deleted"].as_bool()), (Some(2), Some(true)));
        assert_eq!(changed[2]["message"]["seq"], 4);
        assert_eq!((changed[3]["user_id"].as_str(), changed[3]["last_read_seq"].as_i64()), (Some(ada.id.as_str()), Some(4)));
        assert_eq!((done["conversations"][&conv].as_i64(), done["changes"][&conv].as_i64()), (Some(4), Some(now)));

        // Resuming again from there brings nothing; live changes carry their change_seq.
        tobi_ws.send(json!({"type": "resume", "conversations": {conv.clone(): {"seq": 4, "change_seq": now}}})).await;
        let (again, _) = until_resumed(&mut tobi_ws).await;
        assert!(again.iter().all(|f| f["type"] == "presence"), "{again:?}");
        app.client.patch(app.url(&format!("/chat/api/messages/{first_id}/")))
            .bearer_auth(&ada.access).json(&json!({"text": "Wednesday, then"})).send().await.unwrap();
        let live = tobi_ws.next_of("message.updated").await;
        assert_eq!(live["message"]["change_seq"], now + 1);

        // An old client (a bare seq) still gets the new messages, as before.
        let mut old_ws = ChatSocket::connect(&app.address, &tobi).await;
        old_ws.send(json!({"type": "resume", "conversations": {conv.clone(): 3}})).await;
        let (old_frames, old_done) = until_resumed(&mut old_ws).await;
        let old_kinds: Vec<&str> = old_frames.iter().filter(|f| f["type"] != "presence").map(|f| f["type"].as_str().unwrap()).collect();
        assert_eq!(old_kinds, vec!["message.new"]);
        assert_eq!(old_done["conversations"][&conv], 4);
    }

    async fn a_long_message_gets_an_error_frame_and_an_oversized_frame_closes_with_1009(backend) {
        let app = TestApp::spawn(backend).await;
        let ada = app.verified_user("ada").await;
        let tobi = app.verified_user("tobi").await;
        let conv = conversation(&app, &ada, &tobi).await;
        let mut ws = ChatSocket::connect(&app.address, &ada).await;
        let long = "x".repeat(100 * 1024);
        for _ in 0..2 {
            // The client retries the same long message: refused each time, socket open.
            ws.send(json!({"type": "send", "conversation_id": conv, "client_id": "big-1", "text": long})).await;
            let refused = ws.next_of("error").await;
            assert_eq!((refused["code"].as_str(), refused["client_id"].as_str()), (Some("invalid"), Some("big-1")));
            assert!(refused["detail"]["text"].is_array(), "{refused}");
        }
        ws.send(json!({"type": "send", "conversation_id": conv, "client_id": "small-1", "text": "short"})).await;
        assert_eq!(ws.next_of("ack").await["message"]["seq"], 1);
        assert_eq!(ws.send_oversized(Message::text("y".repeat(2 * 1024 * 1024))).await, 1009);
    }

    async fn concurrent_sends_edits_and_reads_take_distinct_gapless_change_seqs(backend) {
        let app = TestApp::spawn_with(backend, |s| s.chat.send_limit = 0).await;
        let ada = app.verified_user("ada").await;
        let tobi = app.verified_user("tobi").await;
        let conv = conversation(&app, &ada, &tobi).await;
        let mut ids = Vec::new();
        for n in 1..=10 {
            let (_, sent) = send_rest(&app, &ada, &conv, &format!("p-{n}"), "first").await;
            ids.push(sent["id"].as_str().unwrap().to_string());
        }
        let before = change_seq(&app, &tobi, &conv).await;
        let mut watcher = ChatSocket::connect(&app.address, &tobi).await;
        watcher.send(json!({"type": "resume", "conversations": {conv.clone(): {"seq": 10, "change_seq": before}}})).await;
        watcher.next_of("resume.done").await;

        // Sends, edits and read moves from both members, all at once.
        let path = format!("/chat/api/conversations/{conv}/messages/");
        let read = format!("/chat/api/conversations/{conv}/read/");
        let mut requests = Vec::new();
        for n in 1..=10 {
            let id = ids[n - 1].clone();
            requests.push(app.client.patch(app.url(&format!("/chat/api/messages/{id}/"))).bearer_auth(&ada.access)
                .json(&json!({"text": format!("edited {n}")})));
            requests.push(app.client.post(app.url(&path)).bearer_auth(&tobi.access)
                .json(&json!({"client_id": format!("q-{n}"), "text": "reply"})));
            requests.push(app.client.post(app.url(&path)).bearer_auth(&ada.access)
                .json(&json!({"client_id": format!("r-{n}"), "text": "more"})));
            requests.push(app.client.post(app.url(&read)).bearer_auth(&tobi.access).json(&json!({"seq": n})));
        }
        let answers = futures_util::future::join_all(requests.into_iter().map(|r| r.send())).await;
        for answer in answers {
            let status = answer.unwrap().status();
            assert!(status.is_success(), "{status}");
        }
        let after = change_seq(&app, &tobi, &conv).await;
        // Every change reached the watcher once, each with its own change_seq, none missing.
        let frames = watcher.drain().await;
        let mut changes: Vec<i64> = frames.iter()
            .filter(|f| f["type"] != "presence")
            .map(|f| f["change_seq"].as_i64().or(f["message"]["change_seq"].as_i64()).expect("a change_seq"))
            .collect();
        changes.sort_unstable();
        assert_eq!(changes, ((before + 1)..=after).collect::<Vec<i64>>(), "{frames:?}");
        assert!(after - before >= 30, "30 sends and edits at least: {after} - {before}");
    }
}

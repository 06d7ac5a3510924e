//! Presence and limits across instances (two or three instances on one
//! PostgreSQL and one Redis), and the typing limit on one instance.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::both_backends;
use crate::chat_cluster::{PrivateRedis, cluster_services};
use crate::chat_support::{ChatSocket, conversation};
use crate::helpers::{Backend, TestApp, TestUser, free_port, test_settings};
use atelier::config::Settings;
use atelier::startup::Application;

/// A private Redis, so that no other test's instance sweeps this test's
/// claims; `None` (a loud skip) without the cluster services or redis-server.
async fn private_redis() -> Option<PrivateRedis> {
    cluster_services()?;
    let Some(redis) = PrivateRedis::start(free_port()) else {
        eprintln!("\n*** presence cluster test SKIPPED: redis-server is not installed. ***\n");
        return None;
    };
    redis.wait_ready().await;
    Some(redis)
}

fn fast_presence(settings: &mut Settings, redis: &str) {
    settings.chat.redis_url = Some(redis.to_string());
    settings.chat.presence_ttl = Duration::from_millis(1500);
}

/// An instance that can die without a goodbye: its own runtime, dropped
/// with every task where it stands (no socket closes cleanly, no claim is
/// released), as when the process is killed.
struct CrashableInstance {
    address: String,
    crash: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl CrashableInstance {
    async fn start(settings: Settings) -> Self {
        let (address_tx, address_rx) = oneshot::channel();
        let (crash, crashed) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            let app = runtime
                .block_on(Application::build(settings))
                .expect("application builds");
            let _ = address_tx.send(format!("http://{}", app.local_addr()));
            runtime.spawn(app.run_until(std::future::pending()));
            let _ = crashed.recv();
            runtime.shutdown_background();
        });
        Self {
            address: address_rx.await.expect("instance started"),
            crash: Some(crash),
            thread: Some(thread),
        }
    }

    fn crash(&mut self) {
        if let Some(crash) = self.crash.take() {
            let _ = crash.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for CrashableInstance {
    fn drop(&mut self) {
        self.crash();
    }
}

/// The presence frames about `user` among `frames`.
fn presence_of<'a>(frames: &'a [Value], user: &TestUser) -> Vec<&'a Value> {
    frames
        .iter()
        .filter(|f| f["type"] == "presence" && f["user_id"] == user.id.as_str())
        .collect()
}

/// Waits until `watcher` hears that `user` is online (or offline).
async fn until_presence(watcher: &mut ChatSocket, user: &TestUser, online: bool) -> Value {
    loop {
        let frame = watcher.next_of("presence").await;
        if frame["user_id"] == user.id.as_str() && frame["online"] == online {
            return frame;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_moving_between_instances_stays_online_for_its_contacts() {
    let Some(redis) = private_redis().await else {
        return;
    };
    let url = redis.url();
    let (u_a, u_b) = (url.clone(), url.clone());
    let a = TestApp::spawn_with(Backend::Postgres, move |s| fast_presence(s, &u_a)).await;
    let (b_address, _stop_b) = a
        .second_instance_with(move |s| fast_presence(s, &u_b))
        .await;
    let ada = a.verified_user("ada").await;
    let tobi = a.verified_user("tobi").await;
    conversation(&a, &ada, &tobi).await;
    let mut ada_ws = ChatSocket::connect(&a.address, &ada).await;
    let mut tobi_ws = ChatSocket::connect(&a.address, &tobi).await;
    until_presence(&mut ada_ws, &tobi, true).await;
    let instances = [a.address.clone(), b_address.clone()];
    for hop in 1..=12 {
        // The phone's new socket is up on the other instance; the old one
        // closes a moment later.
        let moved = ChatSocket::connect(&instances[hop % 2], &tobi).await;
        std::mem::replace(&mut tobi_ws, moved).close().await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        let frames = ada_ws.drain().await;
        if let Some(last) = presence_of(&frames, &tobi).last() {
            assert_eq!(
                last["online"], true,
                "hop {hop}: tobi is online on one instance: {frames:?}"
            );
        }
    }
    // A fresh socket's snapshot agrees, and leaving for good is announced.
    let mut ada_again = ChatSocket::connect(&b_address, &ada).await;
    let snapshot = ada_again.next_of("presence").await;
    assert_eq!(
        (snapshot["user_id"].as_str(), snapshot["online"].as_bool()),
        (Some(tobi.id.as_str()), Some(true))
    );
    tobi_ws.close().await;
    let left = until_presence(&mut ada_ws, &tobi, false).await;
    assert!(left["last_seen"].is_string(), "{left}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_users_of_a_dead_instance_go_offline_within_the_claim_expiry() {
    let Some(redis) = private_redis().await else {
        return;
    };
    let url = redis.url();
    let u_a = url.clone();
    let a = TestApp::spawn_with(Backend::Postgres, move |s| fast_presence(s, &u_a)).await;
    let mut settings = test_settings(&a.database.url, a.database.data_dir(), a.smtp.url());
    fast_presence(&mut settings, &url);
    let mut doomed = CrashableInstance::start(settings).await;
    let ada = a.verified_user("ada").await;
    let tobi = a.verified_user("tobi").await;
    conversation(&a, &ada, &tobi).await;
    let mut ada_ws = ChatSocket::connect(&a.address, &ada).await;
    let _tobi_ws = ChatSocket::connect(&doomed.address, &tobi).await;
    until_presence(&mut ada_ws, &tobi, true).await;

    let started = std::time::Instant::now();
    doomed.crash();
    let gone = until_presence(&mut ada_ws, &tobi, false).await;
    assert!(gone["last_seen"].is_string(), "{gone}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    // Recorded too: a new socket's snapshot says offline with the time.
    let mut ada_again = ChatSocket::connect(&a.address, &ada).await;
    let snapshot = ada_again.next_of("presence").await;
    assert_eq!(snapshot["online"], false);
    assert!(snapshot["last_seen"].is_string(), "{snapshot}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_and_typing_limits_hold_for_the_sum_of_instances() {
    let Some(redis) = cluster_services() else {
        return;
    };
    let (u_a, u_b) = (redis.clone(), redis.clone());
    let limits = |s: &mut Settings, url: String| {
        s.chat.redis_url = Some(url);
        s.chat.send_limit = 5;
        s.chat.typing_limit = 3;
    };
    let a = TestApp::spawn_with(Backend::Postgres, move |s| limits(s, u_a)).await;
    let (b_address, _stop_b) = a.second_instance_with(move |s| limits(s, u_b)).await;
    let ada = a.verified_user("ada").await;
    let tobi = a.verified_user("tobi").await;
    let conv = conversation(&a, &ada, &tobi).await;
    let mut on_a = ChatSocket::connect(&a.address, &ada).await;
    let mut on_b = ChatSocket::connect(&b_address, &ada).await;
    let mut tobi_ws = ChatSocket::connect(&a.address, &tobi).await;
    let (mut acked, mut throttled) = (0, 0);
    for n in 0..8 {
        let ws = if n % 2 == 0 { &mut on_a } else { &mut on_b };
        ws.send(json!({"type": "send", "conversation_id": conv, "client_id": format!("l-{n}"), "text": "hi"})).await;
        loop {
            let frame = ws.next().await;
            match frame["type"].as_str() {
                Some("ack") => {
                    acked += 1;
                    break;
                }
                Some("error") => {
                    assert_eq!(frame["code"], "throttled", "{frame}");
                    throttled += 1;
                    break;
                }
                _ => {}
            }
        }
    }
    assert_eq!((acked, throttled), (5, 3), "one limit for both instances");

    for n in 0..6 {
        let ws = if n % 2 == 0 { &mut on_a } else { &mut on_b };
        ws.send(json!({"type": "typing", "conversation_id": conv}))
            .await;
    }
    // Every typing frame answers nothing; pings flush what the server did.
    on_a.drain().await;
    on_b.drain().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let frames = tobi_ws.drain().await;
    let typing = frames.iter().filter(|f| f["type"] == "typing").count();
    assert_eq!(
        typing, 3,
        "typing frames over the limit are dropped: {frames:?}"
    );
}

both_backends! {
    async fn typing_frames_over_the_limit_are_dropped_silently(backend) {
        let app = TestApp::spawn_with(backend, |s| s.chat.typing_limit = 2).await;
        let ada = app.verified_user("ada").await;
        let tobi = app.verified_user("tobi").await;
        let conv = conversation(&app, &ada, &tobi).await;
        let mut ada_ws = ChatSocket::connect(&app.address, &ada).await;
        let mut tobi_ws = ChatSocket::connect(&app.address, &tobi).await;
        for _ in 0..5 {
            ada_ws.send(json!({"type": "typing", "conversation_id": conv})).await;
        }
        let answers = ada_ws.drain().await;
        assert!(answers.iter().all(|f| f["type"] != "error"), "{answers:?}");
        let frames = tobi_ws.drain().await;
        assert_eq!(frames.iter().filter(|f| f["type"] == "typing").count(), 2, "{frames:?}");
    }
}

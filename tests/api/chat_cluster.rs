//! Two instances on one PostgreSQL and one Redis behave as one: delivery and
//! presence across instances, resume after a killed socket, and surviving a
//! Redis restart (the database stays the truth).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::chat_support::{ChatSocket, conversation, send_rest};
use crate::helpers::{Backend, TestApp, free_port, postgres_admin_url};

fn redis_url() -> Option<String> {
    std::env::var("ATELIER_TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// PostgreSQL and Redis, or a loud skip.
pub fn cluster_services() -> Option<String> {
    match (postgres_admin_url(), redis_url()) {
        (Some(_), Some(redis)) => Some(redis),
        _ => {
            eprintln!(
                "\n*** chat cluster test SKIPPED: needs ATELIER_TEST_POSTGRES_URL and ATELIER_TEST_REDIS_URL \
                 (e.g. redis://127.0.0.1:6379). ***\n"
            );
            None
        }
    }
}

pub async fn two_instances(redis: &str) -> (TestApp, String, tokio::sync::oneshot::Sender<()>) {
    let redis_a = redis.to_string();
    let app =
        TestApp::spawn_with(Backend::Postgres, move |s| s.chat.redis_url = Some(redis_a)).await;
    let redis_b = redis.to_string();
    let (b, stop_b) = app
        .second_instance_with(move |s| s.chat.redis_url = Some(redis_b))
        .await;
    (app, b, stop_b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_share_delivery_presence_and_resume_through_redis() {
    let Some(redis) = cluster_services() else {
        return;
    };
    let (a, b_address, _stop_b) = two_instances(&redis).await;
    let ada = a.verified_user("ada").await;
    let tobi = a.verified_user("tobi").await;
    let conv = conversation(&a, &ada, &tobi).await;
    let mut tobi_on_b = ChatSocket::connect(&b_address, &tobi).await;
    let mut ada_on_a = ChatSocket::connect(&a.address, &ada).await;
    // Tobi hears (from the snapshot or live, whichever comes first) that ada is online on A.
    loop {
        let presence = tobi_on_b.next_of("presence").await;
        assert_eq!(presence["user_id"], ada.id.as_str());
        if presence["online"] == true {
            break;
        }
    }
    // Ada (on A) sees tobi (on B) online, from her snapshot or live.
    until_online(&mut ada_on_a, &tobi.id, true).await;

    ada_on_a
        .send(
            json!({"type": "send", "conversation_id": conv, "client_id": "x-1", "text": "across"}),
        )
        .await;
    assert_eq!(
        tobi_on_b.next_of("message.new").await["message"]["text"],
        "across"
    );
    tobi_on_b
        .send(json!({"type": "typing", "conversation_id": conv}))
        .await;
    ada_on_a.next_of("typing").await;

    // The phone on B dies; messages keep arriving through A; it comes back on A.
    tobi_on_b.close().await;
    until_online(&mut ada_on_a, &tobi.id, false).await;
    send_rest(&a, &ada, &conv, "x-2", "two").await;
    send_rest(&a, &ada, &conv, "x-3", "three").await;
    let mut tobi_on_a = ChatSocket::connect(&a.address, &tobi).await;
    tobi_on_a
        .send(json!({"type": "resume", "conversations": {conv.clone(): 1}}))
        .await;
    let replayed: Vec<i64> = vec![
        tobi_on_a.next_of("message.new").await["message"]["seq"]
            .as_i64()
            .unwrap(),
        tobi_on_a.next_of("message.new").await["message"]["seq"]
            .as_i64()
            .unwrap(),
    ];
    assert_eq!(replayed, vec![2, 3]);
    tobi_on_a.next_of("resume.done").await;
}

/// Waits until `watcher` hears that `user` is online (or offline).
async fn until_online(watcher: &mut ChatSocket, user: &str, online: bool) {
    loop {
        let frame = watcher.next_of("presence").await;
        if frame["user_id"] == user && frame["online"] == online {
            return;
        }
    }
}

/// A private Redis on a free port, so the test can stop and restart it.
pub struct PrivateRedis {
    port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    pub fn start(port: u16) -> Option<Self> {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        Some(Self {
            port,
            child: Some(child),
        })
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub async fn wait_ready(&self) {
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server did not start");
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_loses_nothing_and_fan_out_recovers_by_itself() {
    if cluster_services().is_none() {
        return;
    }
    let port = free_port();
    let Some(mut redis) = PrivateRedis::start(port) else {
        eprintln!("\n*** Redis restart test SKIPPED: redis-server is not installed. ***\n");
        return;
    };
    redis.wait_ready().await;
    let (a, b_address, _stop_b) = two_instances(&redis.url()).await;
    let ada = a.verified_user("ada").await;
    let tobi = a.verified_user("tobi").await;
    let conv = conversation(&a, &ada, &tobi).await;
    let mut ada_on_a = ChatSocket::connect(&a.address, &ada).await;
    let mut tobi_on_b = ChatSocket::connect(&b_address, &tobi).await;
    until_online(&mut ada_on_a, &tobi.id, true).await;
    send_rest(&a, &ada, &conv, "r-1", "before").await;
    assert_eq!(tobi_on_b.next_of("message.new").await["message"]["seq"], 1);

    redis.kill();
    let (status, _) = send_rest(&a, &ada, &conv, "r-2", "during the outage").await;
    assert_eq!(
        status,
        reqwest::StatusCode::CREATED,
        "sending does not depend on Redis"
    );
    let mut redis = PrivateRedis::start(port).expect("redis-server restarts");
    redis.wait_ready().await;

    // The instance tells its sockets that live events may have been missed;
    // they resume on the same socket and get what Redis dropped.
    tobi_on_b.next_of("resync").await;
    tobi_on_b
        .send(json!({"type": "resume", "conversations": {conv.clone(): 1}}))
        .await;
    let replayed = tobi_on_b.next_of("message.new").await;
    assert_eq!(
        (
            replayed["message"]["seq"].as_i64(),
            replayed["message"]["text"].as_str()
        ),
        (Some(2), Some("during the outage"))
    );
    tobi_on_b.next_of("resume.done").await;

    // Live delivery comes back without anyone restarting the instances.
    let mut n = 3;
    let recovered = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            send_rest(&a, &ada, &conv, &format!("r-{n}"), "after").await;
            n += 1;
            let frames = tobi_on_b.drain().await;
            if frames
                .iter()
                .any(|f| f["type"] == "message.new" && f["message"]["seq"].as_i64() >= Some(3))
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    })
    .await;
    assert!(
        recovered.is_ok(),
        "fan-out did not recover after the Redis restart"
    );
    // Presence after the restart (which lost every claim and the version
    // counter): tobi leaving still reaches ada, whose instance saw versions
    // from before.
    tobi_on_b.close().await;
    until_online(&mut ada_on_a, &tobi.id, false).await;
    redis.kill();
}

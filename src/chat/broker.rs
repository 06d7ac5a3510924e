//! Fan-out of chat events: always to this process's hub, and with Redis also
//! to every other instance through one pub/sub channel. Redis is only the
//! live path; what it drops, clients get back from the database on resume.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::hub::{Event, Hub};

const CHANNEL: &str = "atelier:chat:events";
/// Events waiting to be published when Redis is slow; beyond this they are
/// dropped (and counted): clients get them back on resume.
const PUBLISH_BACKLOG: usize = 10_000;
/// An instance's claim that a user is online lasts this long unless renewed.
const PRESENCE_TTL: Duration = Duration::from_secs(30);
const RECONNECT_MAX: Duration = Duration::from_secs(5);

/// What travels between instances.
#[derive(Serialize, Deserialize)]
struct Envelope {
    origin: Uuid,
    recipients: Vec<Uuid>,
    message: Option<(Uuid, i64)>,
    frame: String,
}

struct RedisLink {
    instance: Uuid,
    outgoing: mpsc::Sender<Envelope>,
    commands: ConnectionManager,
}

pub struct Fanout {
    hub: Arc<Hub>,
    redis: Option<RedisLink>,
}

impl Fanout {
    /// With a URL, connects to Redis now (a bad URL or a Redis that is down
    /// at start-up is a start-up error) and keeps reconnecting afterwards.
    /// Its background tasks end when `stop` is cancelled.
    pub async fn start(redis_url: Option<&str>, stop: CancellationToken) -> anyhow::Result<Self> {
        let hub = Arc::new(Hub::default());
        let Some(url) = redis_url else {
            return Ok(Self { hub, redis: None });
        };
        let client = redis::Client::open(url).map_err(|e| anyhow::anyhow!("bad REDIS_URL: {e}"))?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_max_delay(RECONNECT_MAX);
        let commands = client
            .get_connection_manager_with_config(config)
            .await
            .map_err(|e| anyhow::anyhow!("cannot connect to Redis: {e}"))?;
        let instance = Uuid::now_v7();
        let (outgoing, backlog) = mpsc::channel(PUBLISH_BACKLOG);
        tokio::spawn(until(stop.clone(), publish_loop(commands.clone(), backlog)));
        tokio::spawn(until(
            stop.clone(),
            subscribe_loop(client, instance, hub.clone()),
        ));
        tokio::spawn(until(
            stop,
            renew_presence(commands.clone(), instance, hub.clone()),
        ));
        tracing::info!(%instance, "chat fan-out through Redis");
        Ok(Self {
            hub,
            redis: Some(RedisLink {
                instance,
                outgoing,
                commands,
            }),
        })
    }

    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// Delivers here at once and hands the event to Redis for the others.
    pub fn publish(&self, recipients: Vec<Uuid>, frame: String, message: Option<(Uuid, i64)>) {
        let event = Arc::new(Event {
            frame: frame.clone().into(),
            message,
        });
        self.hub.deliver(&recipients, &event);
        if let Some(redis) = &self.redis {
            let envelope = Envelope {
                origin: redis.instance,
                recipients,
                message,
                frame,
            };
            if redis.outgoing.try_send(envelope).is_err() {
                metrics::counter!("chat_fanout_dropped_total").increment(1);
            }
        }
    }

    /// Marks a user online on this instance (for the others to see).
    pub async fn claim_online(&self, user: Uuid) {
        if let Some(redis) = &self.redis {
            let mut conn = redis.commands.clone();
            let mut pipe = redis::pipe();
            add_claim(&mut pipe, user, redis.instance);
            let result = pipe.query_async::<()>(&mut conn).await;
            if let Err(e) = result {
                tracing::warn!(error = %e, "presence: cannot reach Redis");
            }
        }
    }

    /// Drops this instance's claim; true when the user is still online on
    /// another instance.
    pub async fn release_online(&self, user: Uuid) -> bool {
        let Some(redis) = &self.redis else {
            return self.hub.is_here(user);
        };
        let mut conn = redis.commands.clone();
        let result = redis::pipe()
            .cmd("ZREM")
            .arg(presence_key(user))
            .arg(redis.instance.to_string())
            .ignore()
            .cmd("ZCOUNT")
            .arg(presence_key(user))
            .arg(now_ms())
            .arg("+inf")
            .query_async::<(u64,)>(&mut conn)
            .await;
        match result {
            Ok((count,)) => count > 0 || self.hub.is_here(user),
            Err(e) => {
                tracing::warn!(error = %e, "presence: cannot reach Redis");
                self.hub.is_here(user)
            }
        }
    }

    /// Which of `users` are online anywhere.
    pub async fn online_among(&self, users: &[Uuid]) -> HashSet<Uuid> {
        let here: HashSet<Uuid> = users
            .iter()
            .copied()
            .filter(|u| self.hub.is_here(*u))
            .collect();
        let Some(redis) = &self.redis else {
            return here;
        };
        if users.is_empty() {
            return here;
        }
        let mut pipe = redis::pipe();
        for user in users {
            pipe.cmd("ZCOUNT")
                .arg(presence_key(*user))
                .arg(now_ms())
                .arg("+inf");
        }
        let mut conn = redis.commands.clone();
        match pipe.query_async::<Vec<u64>>(&mut conn).await {
            Ok(counts) => users
                .iter()
                .zip(counts)
                .filter(|(_, n)| *n > 0)
                .map(|(u, _)| *u)
                .chain(here)
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, "presence: cannot reach Redis");
                here
            }
        }
    }
}

async fn until(stop: CancellationToken, task: impl std::future::Future<Output = ()>) {
    tokio::select! {
        () = stop.cancelled() => {}
        () = task => {}
    }
}

/// "`user` is online on `instance`" until the claim expires, unless renewed.
fn add_claim(pipe: &mut redis::Pipeline, user: Uuid, instance: Uuid) {
    pipe.cmd("ZADD")
        .arg(presence_key(user))
        .arg(expiry_ms())
        .arg(instance.to_string())
        .ignore()
        .cmd("PEXPIRE")
        .arg(presence_key(user))
        .arg(PRESENCE_TTL.as_millis() as u64)
        .ignore();
}

fn presence_key(user: Uuid) -> String {
    format!("atelier:chat:online:{user}")
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn expiry_ms() -> i64 {
    now_ms() + PRESENCE_TTL.as_millis() as i64
}

/// Publishes in batches: one round trip carries everything waiting.
async fn publish_loop(mut conn: ConnectionManager, mut backlog: mpsc::Receiver<Envelope>) {
    let mut batch = Vec::with_capacity(256);
    while backlog.recv_many(&mut batch, 256).await > 0 {
        let mut pipe = redis::pipe();
        for envelope in batch.drain(..) {
            if let Ok(payload) = serde_json::to_vec(&envelope) {
                pipe.cmd("PUBLISH").arg(CHANNEL).arg(payload).ignore();
            }
        }
        if let Err(e) = pipe.query_async::<()>(&mut conn).await {
            metrics::counter!("chat_fanout_dropped_total").increment(1);
            tracing::warn!(error = %e, "chat fan-out: publish to Redis failed");
        }
    }
}

/// Listens to the other instances, reconnecting with backoff whenever the
/// subscription breaks.
async fn subscribe_loop(client: redis::Client, instance: Uuid, hub: Arc<Hub>) {
    let mut wait = Duration::from_millis(100);
    let mut subscribed_before = false;
    loop {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => match pubsub.subscribe(CHANNEL).await {
                Ok(()) => {
                    tracing::info!("chat fan-out: subscribed to Redis");
                    wait = Duration::from_millis(100);
                    if subscribed_before {
                        // Events published while we were away are gone: the
                        // sockets here resume from the database.
                        hub.deliver_to_all(&Arc::new(Event {
                            frame: r#"{"type":"resync"}"#.to_string().into(),
                            message: None,
                        }));
                    }
                    subscribed_before = true;
                    let mut messages = pubsub.on_message();
                    while let Some(msg) = messages.next().await {
                        let Ok(payload) = msg.get_payload::<Vec<u8>>() else {
                            continue;
                        };
                        let Ok(envelope) = serde_json::from_slice::<Envelope>(&payload) else {
                            continue;
                        };
                        if envelope.origin != instance {
                            let event = Arc::new(Event {
                                frame: envelope.frame.into(),
                                message: envelope.message,
                            });
                            hub.deliver(&envelope.recipients, &event);
                        }
                    }
                    tracing::warn!("chat fan-out: lost the Redis subscription, reconnecting");
                }
                Err(e) => tracing::warn!(error = %e, "chat fan-out: cannot subscribe"),
            },
            Err(e) => tracing::warn!(error = %e, "chat fan-out: cannot reach Redis"),
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(RECONNECT_MAX);
    }
}

/// Keeps this instance's presence claims alive.
async fn renew_presence(mut conn: ConnectionManager, instance: Uuid, hub: Arc<Hub>) {
    let mut every = tokio::time::interval(PRESENCE_TTL / 3);
    loop {
        every.tick().await;
        let users = hub.users_here();
        if users.is_empty() {
            continue;
        }
        let mut pipe = redis::pipe();
        for user in users {
            add_claim(&mut pipe, user, instance);
        }
        if let Err(e) = pipe.query_async::<()>(&mut conn).await {
            tracing::warn!(error = %e, "presence: cannot renew in Redis");
        }
    }
}

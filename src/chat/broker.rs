//! Fan-out of chat events: always to this process's hub, and with Redis also
//! to every other instance through one pub/sub channel. Redis is only the
//! live path; what it drops, clients get back from the database on resume.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::hub::{Event, Hub, Topic};

const CHANNEL: &str = "atelier:chat:events";
/// Events waiting to be published when Redis is slow; beyond this they are
/// dropped (and counted): clients get them back on resume.
const PUBLISH_BACKLOG: usize = 10_000;
const RECONNECT_MAX: Duration = Duration::from_secs(5);
/// Users with a presence claim, scored by their latest claim's expiry: the
/// sweeper finds the users of a dead instance here.
const CLAIMED_KEY: &str = "atelier:chat:claimed";
/// One counter orders every presence change (across users and instances).
const VERSION_KEY: &str = "atelier:chat:presence:version";
const ONLINE_PREFIX: &str = "atelier:chat:online:";
/// Users looked at per sweep (the rest wait for the next one).
const SWEEP_BATCH: usize = 200;

/// The next presence version: one counter, never below Redis's clock in
/// microseconds, so versions keep growing after a Redis restart that lost
/// the counter (instances still remember the versions they delivered).
macro_rules! next_version_lua {
    () => {
        r"
local function next_version(key)
  local t = redis.call('TIME')
  local floor = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local v = redis.call('INCR', key)
  if v < floor then
    v = floor
    redis.call('SET', key, string.format('%.0f', v))
  end
  return v
end
"
    };
}

/// Claims `user` for this instance and takes a presence version.
const CLAIM_SCRIPT: &str = concat!(
    next_version_lua!(),
    r"
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3] * 2)
redis.call('ZADD', KEYS[2], 'GT', ARGV[2], ARGV[4])
return next_version(KEYS[3])
"
);

/// Drops this instance's claim (and expired ones); when none is left the
/// user is offline: a presence version for the announcement, else nil.
/// Atomic, so a claim made elsewhere is either seen here or ordered after.
const RELEASE_SCRIPT: &str = concat!(
    next_version_lua!(),
    r"
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZCARD', KEYS[1]) > 0 then return false end
redis.call('ZREM', KEYS[2], ARGV[3])
return next_version(KEYS[3])
"
);

/// Users whose every claim expired (their instance died): removed, each
/// with a presence version and its last claim's expiry. Only one sweeper
/// gets a user (the script is atomic). It reads the per-user keys it derives
/// from the claimed set, which a single Redis (not a cluster) allows.
const SWEEP_SCRIPT: &str = concat!(
    next_version_lua!(),
    r"
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
local gone = {}
for _, user in ipairs(due) do
  local key = ARGV[2] .. user
  local last = redis.call('ZSCORE', KEYS[1], user)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[1])
  local alive = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if #alive > 0 then
    redis.call('ZADD', KEYS[1], alive[2], user)
  else
    redis.call('ZREM', KEYS[1], user)
    table.insert(gone, user)
    table.insert(gone, string.format('%.0f', next_version(KEYS[2])))
    table.insert(gone, tostring(last))
  end
end
return gone
"
);

/// Gives a counted request back, unless its window is already gone (a
/// DECR would create a key that never expires).
const GIVE_BACK_SCRIPT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECR', KEYS[1]) end
return 0
";

/// What travels between instances.
#[derive(Serialize, Deserialize)]
struct Envelope {
    origin: Uuid,
    recipients: Vec<Uuid>,
    topic: Option<Topic>,
    presence: Option<(Uuid, u64)>,
    frame: String,
}

struct RedisLink {
    instance: Uuid,
    outgoing: mpsc::Sender<Envelope>,
    commands: ConnectionManager,
}

/// A user who went offline because their instance stopped renewing.
pub struct Expired {
    pub user: Uuid,
    pub version: u64,
    pub last_seen: DateTime<Utc>,
}

pub struct Fanout {
    hub: Arc<Hub>,
    redis: Option<RedisLink>,
    /// How long a presence claim lives unless renewed.
    claim_ttl: Duration,
    /// Presence versions when there is no Redis (one process).
    local_version: AtomicU64,
}

impl Fanout {
    /// With a URL, connects to Redis now (a bad URL or a Redis that is down
    /// at start-up is a start-up error) and keeps reconnecting afterwards.
    /// Its background tasks end when `stop` is cancelled.
    pub async fn start(
        redis_url: Option<&str>,
        claim_ttl: Duration,
        stop: CancellationToken,
    ) -> anyhow::Result<Self> {
        let hub = Arc::new(Hub::default());
        let local = |redis| Self {
            hub: hub.clone(),
            redis,
            claim_ttl,
            local_version: AtomicU64::new(0),
        };
        let Some(url) = redis_url else {
            return Ok(local(None));
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
        tokio::spawn(until(stop, subscribe_loop(client, instance, hub.clone())));
        tracing::info!(%instance, "chat fan-out through Redis");
        Ok(local(Some(RedisLink {
            instance,
            outgoing,
            commands,
        })))
    }

    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// The Redis connection shared by the instances, if there is one.
    pub fn shared(&self) -> Option<ConnectionManager> {
        self.redis.as_ref().map(|r| r.commands.clone())
    }

    pub fn claim_ttl(&self) -> Duration {
        self.claim_ttl
    }

    /// Delivers here at once and hands the event to Redis for the others.
    pub fn publish(&self, recipients: Vec<Uuid>, frame: String, topic: Option<Topic>) {
        self.emit(recipients, frame, topic, None);
    }

    /// A presence event with its version (stale ones are dropped on arrival).
    pub fn publish_presence(&self, recipients: Vec<Uuid>, frame: String, user: Uuid, version: u64) {
        self.emit(recipients, frame, None, Some((user, version)));
    }

    fn emit(
        &self,
        recipients: Vec<Uuid>,
        frame: String,
        topic: Option<Topic>,
        presence: Option<(Uuid, u64)>,
    ) {
        let event = Arc::new(Event {
            frame: frame.clone().into(),
            topic,
            presence,
        });
        self.hub.deliver(&recipients, &event);
        if let Some(redis) = &self.redis {
            let envelope = Envelope {
                origin: redis.instance,
                recipients,
                topic,
                presence,
                frame,
            };
            if redis.outgoing.try_send(envelope).is_err() {
                metrics::counter!("chat_fanout_dropped_total").increment(1);
            }
        }
    }

    /// Claims `user` as online on this instance; the version to announce it
    /// with, or `None` when Redis cannot be reached (the renewal retries).
    pub async fn claim(&self, user: Uuid) -> Option<u64> {
        let Some(redis) = &self.redis else {
            return Some(self.next_local_version());
        };
        let result = redis::cmd("EVAL")
            .arg(CLAIM_SCRIPT)
            .arg(3)
            .arg(online_key(user))
            .arg(CLAIMED_KEY)
            .arg(VERSION_KEY)
            .arg(redis.instance.to_string())
            .arg(now_ms() + self.claim_ttl.as_millis() as i64)
            .arg(self.claim_ttl.as_millis() as u64)
            .arg(user.to_string())
            .query_async::<u64>(&mut redis.commands.clone())
            .await;
        result
            .inspect_err(|e| tracing::warn!(error = %e, "presence: cannot reach Redis"))
            .ok()
    }

    /// Drops this instance's claim; the version to announce "offline" with
    /// when no instance claims the user any more, else `None`. Tried twice
    /// (the first command after a Redis restart fails while the connection
    /// is re-made); an error means the caller must try again later.
    pub async fn release(&self, user: Uuid) -> Result<Option<u64>, redis::RedisError> {
        let Some(redis) = &self.redis else {
            return Ok(Some(self.next_local_version()));
        };
        let mut attempt = 0;
        loop {
            let result = redis::cmd("EVAL")
                .arg(RELEASE_SCRIPT)
                .arg(3)
                .arg(online_key(user))
                .arg(CLAIMED_KEY)
                .arg(VERSION_KEY)
                .arg(redis.instance.to_string())
                .arg(now_ms())
                .arg(user.to_string())
                .query_async::<Option<u64>>(&mut redis.commands.clone())
                .await;
            match result {
                Err(e) if attempt == 0 => {
                    tracing::debug!(error = %e, "presence: release failed, trying again");
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "presence: cannot reach Redis");
                    return Err(e);
                }
                Ok(version) => return Ok(version),
            }
        }
    }

    fn next_local_version(&self) -> u64 {
        self.local_version.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Extends this instance's claims on `users`; returns those whose claim
    /// was gone (expired and swept while Redis was unreachable), to claim
    /// again. Never re-creates a claim released meanwhile.
    pub async fn renew(&self, users: &[Uuid]) -> Vec<Uuid> {
        let Some(redis) = &self.redis else {
            return Vec::new();
        };
        if users.is_empty() {
            return Vec::new();
        }
        let expiry = now_ms() + self.claim_ttl.as_millis() as i64;
        let mut pipe = redis::pipe();
        for user in users {
            pipe.cmd("ZADD")
                .arg(online_key(*user))
                .arg("XX")
                .arg("CH")
                .arg(expiry)
                .arg(redis.instance.to_string())
                .cmd("ZADD")
                .arg(CLAIMED_KEY)
                .arg("GT")
                .arg(expiry)
                .arg(user.to_string())
                .ignore()
                .cmd("PEXPIRE")
                .arg(online_key(*user))
                .arg(self.claim_ttl.as_millis() as u64 * 2)
                .ignore();
        }
        match pipe
            .query_async::<Vec<u64>>(&mut redis.commands.clone())
            .await
        {
            Ok(renewed) => users
                .iter()
                .zip(renewed)
                .filter(|(_, n)| *n == 0)
                .map(|(u, _)| *u)
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, "presence: cannot renew in Redis");
                Vec::new()
            }
        }
    }

    /// Users whose claims all expired (an instance died without saying
    /// goodbye): each is handed to exactly one instance to announce.
    pub async fn sweep(&self) -> Vec<Expired> {
        let Some(redis) = &self.redis else {
            return Vec::new();
        };
        let result = redis::cmd("EVAL")
            .arg(SWEEP_SCRIPT)
            .arg(2)
            .arg(CLAIMED_KEY)
            .arg(VERSION_KEY)
            .arg(now_ms())
            .arg(ONLINE_PREFIX)
            .arg(SWEEP_BATCH)
            .query_async::<Vec<String>>(&mut redis.commands.clone())
            .await;
        let flat = match result {
            Ok(flat) => flat,
            Err(e) => {
                tracing::warn!(error = %e, "presence: cannot sweep expired claims");
                return Vec::new();
            }
        };
        let ttl = chrono::Duration::from_std(self.claim_ttl).unwrap_or_default();
        flat.chunks_exact(3)
            .filter_map(|gone| {
                let user = Uuid::parse_str(&gone[0]).ok()?;
                let version = gone[1].parse().ok()?;
                let expiry = gone[2].parse::<f64>().ok()? as i64;
                // The claim was last renewed about one lifetime before it expired.
                let last_seen = DateTime::from_timestamp_millis(expiry)? - ttl;
                Some(Expired {
                    user,
                    version,
                    last_seen: last_seen.min(Utc::now()),
                })
            })
            .collect()
    }

    /// Counts one request of `key` in a fixed window shared by every
    /// instance: (requests so far in the window, time left in it). `None`
    /// without Redis; an error when Redis cannot be reached.
    pub async fn count_shared(
        &self,
        key: &str,
        window: Duration,
    ) -> Option<Result<(u64, Duration), redis::RedisError>> {
        let redis = self.redis.as_ref()?;
        // MULTI/EXEC: the window and its expiry are created together, so a
        // counter can never be left without one. One round trip.
        let result = redis::pipe()
            .atomic()
            .cmd("SET")
            .arg(key)
            .arg(0)
            .arg("PX")
            .arg(window.as_millis() as u64)
            .arg("NX")
            .ignore()
            .cmd("INCR")
            .arg(key)
            .cmd("PTTL")
            .arg(key)
            .query_async::<(u64, i64)>(&mut redis.commands.clone())
            .await;
        Some(result.map(|(count, ttl)| (count, Duration::from_millis(ttl.max(0) as u64))))
    }

    /// Gives back one request counted by `count_shared`.
    pub async fn give_back_shared(&self, key: &str) {
        if let Some(redis) = &self.redis {
            let result = redis::cmd("EVAL")
                .arg(GIVE_BACK_SCRIPT)
                .arg(1)
                .arg(key)
                .query_async::<i64>(&mut redis.commands.clone())
                .await;
            if let Err(e) = result {
                tracing::warn!(error = %e, "chat limits: cannot reach Redis");
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
                .arg(online_key(*user))
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

fn online_key(user: Uuid) -> String {
    format!("{ONLINE_PREFIX}{user}")
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
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
                        hub.deliver_to_all(&Event::plain(r#"{"type":"resync"}"#));
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
                                topic: envelope.topic,
                                presence: envelope.presence,
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

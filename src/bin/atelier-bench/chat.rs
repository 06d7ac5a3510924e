//! `atelier-bench chat`: live chat at scale. Two sockets per conversation (a
//! customer and a tailor), each sending a message every interval; measures
//! delivery latency from send to receipt, messages per second, lost and
//! duplicated messages, and the server's memory per connected socket.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use futures_util::{SinkExt, StreamExt};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::api::{Api, expect_json};
use crate::prepare::{Session, bounded, prepare_users};
use crate::server::{SERVER_PID, rss_mb_of};
use crate::stats::{Report, WorkerStats};
use crate::target::{TargetArgs, with_target};
use crate::target_help;

pub const LONG_ABOUT: &str = concat!(
    "Benchmark live chat: N conversations, two sockets each, every socket sending a message \
every interval. Prints delivery latency (send to receipt at the other socket), messages/s, \
lost and duplicated messages (by seq), and the server's memory per idle socket.",
    target_help!()
);

/// Time allowed after the last send for the last deliveries.
const GRACE: Duration = Duration::from_secs(3);
const SETTLE: Duration = Duration::from_secs(2);
const CONNECT_CONCURRENCY: usize = 64;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

#[derive(Args)]
pub struct ChatArgs {
    /// Conversations, each between a customer and a tailor with one socket each.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    conversations: u32,
    /// Seconds of traffic measured.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..))]
    duration: u64,
    /// Milliseconds between two messages from one socket.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    interval_ms: u64,
    /// Instead of one run: raise the rate step by step (each step --duration
    /// seconds, the interval shortened by a fifth) until delivery p99 passes
    /// --max-p99-ms or a message is lost, and print the highest rate sustained.
    #[arg(long)]
    find_max: bool,
    /// With --find-max: the delivery p99 a sustained rate must stay under.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..))]
    max_p99_ms: u64,
    /// Afterwards, hold this many more idle sockets to measure memory at scale (0: skip).
    #[arg(long, default_value_t = 0)]
    idle: u32,
    #[command(flatten)]
    target: TargetArgs,
}

/// One socket and what it has seen, kept from step to step.
struct Peer {
    socket: Socket,
    index: usize,
    conversation: String,
    /// Seqs this socket knows: its own (acks) and the peer's (pushes).
    seen: BTreeSet<i64>,
    /// Messages sent so far: the next client id.
    sent: u64,
}

/// What one socket saw during one run.
#[derive(Default)]
struct Tally {
    stats: WorkerStats,
    sent: u64,
    duplicates: u64,
    error_frames: u64,
}

/// One run's totals.
struct Outcome {
    report: Report,
    sent: u64,
    lost: u64,
    duplicates: u64,
    errors: u64,
}

impl Outcome {
    fn print(&self) {
        self.report.print();
        println!(
            "messages  sent={} lost={} duplicated={} error_frames={}",
            self.sent, self.lost, self.duplicates, self.errors
        );
    }
}

pub async fn bench_chat(args: ChatArgs) -> Result<()> {
    with_target(
        CONNECT_CONCURRENCY,
        &args.target,
        async |client: &Client, api: &Arc<Api>, outbox: &Path| {
            run(client, api, outbox, &args).await
        },
    )
    .await
}

async fn run(client: &Client, api: &Arc<Api>, outbox: &Path, args: &ChatArgs) -> Result<()> {
    let n = args.conversations as usize;
    let customers = prepare_users(client, api, outbox, n, "customer").await?;
    let tailors = prepare_users(client, api, outbox, n, "tailor").await?;
    let conversations = open_conversations(client, api, &customers, &tailors).await?;
    let ws_url = format!("{}/ws/chat", api.base.replacen("http://", "ws://", 1));
    // Password hashing during preparation ran on the server's blocking
    // threads; their memory goes back to the system once those threads idle
    // out (tokio keeps them 10 s), so the baseline is read after that.
    tokio::time::sleep(BLOCKING_THREADS_IDLE_OUT).await;
    let rss_before = server_rss();

    let tokens: Vec<String> = customers
        .iter()
        .zip(&tailors)
        .flat_map(|(c, t)| [c.access.clone(), t.access.clone()])
        .collect();
    let started = Instant::now();
    let sockets = connect_all(&ws_url, &tokens).await?;
    eprintln!(
        "connected {} sockets in {:.1}s",
        sockets.len(),
        started.elapsed().as_secs_f64()
    );
    tokio::time::sleep(SETTLE).await;
    let rss_idle = server_rss();

    println!(
        "target {} conversations={n} sockets={} interval={}ms duration={}s",
        api.base,
        sockets.len(),
        args.interval_ms,
        args.duration
    );
    let peers = sockets
        .into_iter()
        .enumerate()
        .map(|(index, socket)| Peer {
            socket,
            index,
            conversation: conversations[index / 2].clone(),
            seen: BTreeSet::new(),
            sent: 0,
        })
        .collect();
    let duration = Duration::from_secs(args.duration);
    let interval = Duration::from_millis(args.interval_ms);
    let peers = if args.find_max {
        find_max(
            peers,
            interval,
            duration,
            Duration::from_millis(args.max_p99_ms),
        )
        .await?
    } else {
        let (peers, outcome) = drive(peers, interval, duration).await?;
        outcome.print();
        peers
    };
    drop(peers);
    print_memory(rss_before, rss_idle, tokens.len());
    if args.idle > 0 {
        measure_idle(&ws_url, &tokens, args.idle as usize).await?;
    }
    Ok(())
}

/// Customer i opens the conversation with tailor i.
async fn open_conversations(
    client: &Client,
    api: &Arc<Api>,
    customers: &[Session],
    tailors: &[Session],
) -> Result<Vec<String>> {
    let tailor_ids = bounded(tailors.iter().map(|t| {
        let (client, api, access) = (client.clone(), api.clone(), t.access.clone());
        async move {
            let me: Value =
                expect_json(client.get(&api.me).bearer_auth(access), StatusCode::OK).await?;
            me["id"]
                .as_str()
                .map(str::to_string)
                .context("no id in users/me")
        }
    }))
    .await?;
    let url = format!("{}/chat/api/conversations", api.base);
    bounded(customers.iter().zip(tailor_ids).map(|(c, tailor)| {
        let (client, url, access) = (client.clone(), url.clone(), c.access.clone());
        async move {
            let body = json!({ "user_id": tailor });
            let opened: Value = expect_json(
                client.post(&url).bearer_auth(access).json(&body),
                StatusCode::CREATED,
            )
            .await?;
            opened["id"]
                .as_str()
                .map(str::to_string)
                .context("no conversation id")
        }
    }))
    .await
}

async fn connect(url: &str, token: &str) -> Result<Socket> {
    // As a phone's client does: no Nagle delay on small frames.
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
        .await
        .context("websocket connect")?;
    socket
        .send(Message::text(
            json!({"type": "auth", "token": token}).to_string(),
        ))
        .await?;
    // As a real client: signed in, it resumes; live events for its
    // conversations are held until then (ATELIER_CHAT_RESUME_WAIT_MS).
    while let Some(message) = socket.next().await {
        if let Message::Text(text) = message? {
            let frame: Value = serde_json::from_str(text.as_str())?;
            if frame["type"] == "ready" {
                socket
                    .send(Message::text(json!({"type": "resume"}).to_string()))
                    .await?;
            } else if frame["type"] == "resume.done" {
                return Ok(socket);
            }
        }
    }
    bail!("the socket closed before it was ready")
}

async fn connect_all(url: &str, tokens: &[String]) -> Result<Vec<Socket>> {
    bounded(tokens.iter().map(|token| {
        let (url, token) = (url.to_string(), token.clone());
        async move { connect(&url, &token).await }
    }))
    .await
}

/// Raises the rate until delivery p99 passes `max_p99` or a message is
/// lost; prints each step and the highest rate sustained.
async fn find_max(
    mut peers: Vec<Peer>,
    mut interval: Duration,
    duration: Duration,
    max_p99: Duration,
) -> Result<Vec<Peer>> {
    let sockets = peers.len() as f64;
    let mut best: Option<f64> = None;
    let mut lost_before = 0;
    loop {
        let offered = sockets / interval.as_secs_f64();
        println!(
            "step      interval={}ms offered={offered:.0}msg/s",
            interval.as_millis()
        );
        let (back, outcome) = drive(peers, interval, duration).await?;
        peers = back;
        outcome.print();
        let p99 = outcome.report.percentile(99.0).unwrap_or(Duration::MAX);
        let held = p99 < max_p99 && outcome.lost == lost_before && outcome.errors == 0;
        lost_before = outcome.lost;
        if !held {
            break;
        }
        best = Some(outcome.report.rps());
        interval = interval.mul_f64(0.8);
        if interval < Duration::from_millis(1) {
            break;
        }
    }
    match best {
        Some(rate) => println!(
            "sustained {rate:.0} msg/s delivered with p99 under {}ms",
            max_p99.as_millis()
        ),
        None => println!(
            "sustained nothing: the first step already passed p99 {}ms",
            max_p99.as_millis()
        ),
    }
    Ok(peers)
}

/// Every socket sends on its own clock (spread over the interval) and reads
/// until the grace period after the last send has passed; the sockets are
/// handed back open, for the next step.
async fn drive(
    peers: Vec<Peer>,
    interval: Duration,
    duration: Duration,
) -> Result<(Vec<Peer>, Outcome)> {
    let base = Instant::now();
    let send_until = base + duration;
    let read_until = send_until + GRACE;
    let count = peers.len();
    let mut tasks = tokio::task::JoinSet::new();
    for mut peer in peers {
        let offset = interval.mul_f64(peer.index as f64 / count as f64);
        tasks.spawn(async move {
            let mut tally = Tally::default();
            let mut ticker = tokio::time::interval_at((base + offset).into(), interval);
            loop {
                tokio::select! {
                    _ = ticker.tick(), if Instant::now() < send_until => {
                        let stamp = base.elapsed().as_micros();
                        let frame = json!({"type": "send", "conversation_id": peer.conversation,
                            "client_id": format!("{}-{}", peer.index, peer.sent), "text": format!("t:{stamp}")});
                        if peer.socket.send(Message::text(frame.to_string())).await.is_err() {
                            break;
                        }
                        peer.sent += 1;
                        tally.sent += 1;
                    }
                    () = tokio::time::sleep_until(read_until.into()) => break,
                    incoming = peer.socket.next() => {
                        let Some(Ok(Message::Text(text))) = incoming else {
                            if matches!(incoming, Some(Ok(_))) { continue; }
                            break;
                        };
                        tally.observe(&mut peer.seen, text.as_str(), base);
                    }
                }
            }
            (peer, tally)
        });
    }
    let mut peers = Vec::with_capacity(count);
    let mut tallies = Vec::with_capacity(count);
    while let Some(done) = tasks.join_next().await {
        let (peer, tally) = done.context("a socket task panicked")?;
        peers.push(peer);
        tallies.push(tally);
    }
    peers.sort_by_key(|p| p.index);
    let outcome = outcome(&peers, tallies, base);
    Ok((peers, outcome))
}

impl Tally {
    fn observe(&mut self, seen: &mut BTreeSet<i64>, text: &str, base: Instant) {
        let Ok(frame) = serde_json::from_str::<Value>(text) else {
            return;
        };
        match frame["type"].as_str() {
            Some("ack") => {
                if let Some(seq) = frame["message"]["seq"].as_i64() {
                    seen.insert(seq);
                }
            }
            Some("message.new") => {
                let message = &frame["message"];
                let Some(seq) = message["seq"].as_i64() else {
                    return;
                };
                if !seen.insert(seq) {
                    self.duplicates += 1;
                    return;
                }
                let sent_at = message["text"]
                    .as_str()
                    .and_then(|t| t.strip_prefix("t:"))
                    .and_then(|t| t.parse::<u64>().ok());
                if let Some(micros) = sent_at {
                    let now = base.elapsed();
                    let latency = now.saturating_sub(Duration::from_micros(micros));
                    self.stats.record(latency, Ok(()));
                    self.stats.finished = Some(Instant::now());
                }
            }
            Some("error") => self.error_frames += 1,
            _ => {}
        }
    }
}

/// Every socket must know each seq of its conversation from 1 to the highest
/// it saw (its own through acks, the peer's through pushes): a missing one
/// was lost, one pushed twice was duplicated. Loss counts since the start.
fn outcome(peers: &[Peer], tallies: Vec<Tally>, base: Instant) -> Outcome {
    let sent = tallies.iter().map(|t| t.sent).sum();
    let duplicates = tallies.iter().map(|t| t.duplicates).sum();
    let errors = tallies.iter().map(|t| t.error_frames).sum();
    let lost = peers
        .iter()
        .map(|p| {
            p.seen
                .last()
                .map_or(0, |max| *max as u64 - p.seen.len() as u64)
        })
        .sum();
    let sockets = tallies.len();
    let stats = tallies.into_iter().map(|t| t.stats).collect();
    Outcome {
        report: Report::new("delivery", sockets, base, stats),
        sent,
        lost,
        duplicates,
        errors,
    }
}

const BLOCKING_THREADS_IDLE_OUT: Duration = Duration::from_secs(11);

fn server_rss() -> Option<f64> {
    SERVER_PID.get().and_then(|pid| rss_mb_of(*pid).ok())
}

fn print_memory(before: Option<f64>, idle: Option<f64>, sockets: usize) {
    let (Some(before), Some(idle)) = (before, idle) else {
        println!("memory    unavailable (only measured on a server the bench started)");
        return;
    };
    let per_socket_kib = (idle - before) * 1024.0 / sockets as f64;
    let in_a_gib = if per_socket_kib > 0.0 {
        ((1024.0 - idle) * 1024.0 / per_socket_kib) as u64 + sockets as u64
    } else {
        0
    };
    println!(
        "memory    rss_before_sockets={before:.1}MB rss_with_sockets={idle:.1}MB per_socket={per_socket_kib:.1}KiB idle_sockets_in_1GiB≈{in_a_gib} (extrapolated)"
    );
}

/// Holds `extra` more idle sockets and measures the server again.
async fn measure_idle(url: &str, tokens: &[String], extra: usize) -> Result<()> {
    let before = server_rss();
    let cycled: Vec<String> = tokens.iter().cycle().take(extra).cloned().collect();
    let sockets = connect_all(url, &cycled).await?;
    tokio::time::sleep(SETTLE).await;
    let after = server_rss();
    if let (Some(before), Some(after)) = (before, after) {
        println!(
            "idle      extra_sockets={} rss_before={before:.1}MB rss_after={after:.1}MB per_socket={:.1}KiB",
            sockets.len(),
            (after - before) * 1024.0 / sockets.len() as f64
        );
    }
    drop(sockets);
    Ok(())
}

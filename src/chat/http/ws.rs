//! The chat WebSocket (`/ws/chat/`): one socket per device carries all of a
//! user's conversations. The protocol, frame by frame, is in the README.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::time::{Instant, sleep_until};
use uuid::Uuid;

use crate::auth::{AuthError, AuthService};
use crate::chat::{ChatError, ChatService, MessageView, Registration, SendInput, SeqTracker};
use crate::error::ApiError;
use crate::http::extract::ApiQuery;
use crate::state::AppState;
use crate::storage::entities::user;

/// Close codes the client can act on (4000-4999 are the application's).
pub mod close {
    /// The token is missing, invalid or revoked: sign in or refresh, then reconnect.
    pub const INVALID_TOKEN: u16 = 4001;
    /// No `auth` frame within the time allowed.
    pub const AUTH_TIMEOUT: u16 = 4002;
    /// The access token expired: refresh it and reconnect (then resume).
    pub const TOKEN_EXPIRED: u16 = 4003;
    /// The socket fell too far behind: reconnect and resume.
    pub const TOO_SLOW: u16 = 4004;
    /// Nothing heard (not even a pong) for two ping intervals.
    pub const NO_PONG: u16 = 4005;
    /// The server is shutting down: reconnect (to another instance) and resume.
    pub const GOING_AWAY: u16 = 1001;
    /// The database could not be reached while signing in: try again.
    pub const TRY_AGAIN: u16 = 1013;
    /// A frame larger than the transport takes (`MAX_FRAME_BYTES`).
    pub const TOO_BIG: u16 = 1009;
}

/// The largest frame the transport reads. Well above any valid frame (a
/// message's text is at most 4,000 characters), so that a too-long message
/// is read and answered with an error frame; beyond this the socket closes
/// with 1009.
const MAX_FRAME_BYTES: usize = 1024 * 1024;
/// Small buffers keep an idle socket cheap; they grow while a frame needs it.
const BUFFER_BYTES: usize = 4 * 1024;

mod replay;
use replay::{Held, ResumeFrom};

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SocketParams {
    token: Option<String>,
}

/// Upgrades to the chat socket. Not part of the OpenAPI document: the README
/// describes the protocol.
pub async fn chat_socket(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<SocketParams>,
    upgrade: WebSocketUpgrade,
) -> Response {
    upgrade
        .read_buffer_size(BUFFER_BYTES)
        .write_buffer_size(0)
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| run(state, socket, params.token))
}

#[derive(Deserialize)]
#[serde(tag = "type")]
enum ClientFrame {
    #[serde(rename = "auth")]
    Auth {},
    #[serde(rename = "send")]
    Send {
        conversation_id: Uuid,
        client_id: Option<String>,
        text: Option<String>,
        attachment_ids: Option<Vec<String>>,
    },
    #[serde(rename = "typing")]
    Typing { conversation_id: Uuid },
    #[serde(rename = "read")]
    Read { conversation_id: Uuid, seq: i64 },
    #[serde(rename = "resume")]
    Resume {
        #[serde(default)]
        conversations: HashMap<Uuid, ResumeFrom>,
    },
    #[serde(rename = "ping")]
    Ping {},
}

#[derive(Deserialize)]
struct AuthFrame {
    #[serde(rename = "type")]
    kind: String,
    token: Option<String>,
}

#[derive(Serialize)]
#[serde(tag = "type")]
enum Reply<'a> {
    #[serde(rename = "ready")]
    Ready { user_id: Uuid, expires_at: i64 },
    #[serde(rename = "ack")]
    Ack {
        client_id: &'a str,
        duplicate: bool,
        message: &'a MessageView,
    },
    #[serde(rename = "read.ok")]
    ReadOk {
        conversation_id: Uuid,
        last_read_seq: i64,
        unread_count: i64,
    },
    #[serde(rename = "resume.done")]
    ResumeDone {
        conversations: HashMap<Uuid, i64>,
        changes: HashMap<Uuid, i64>,
    },
    #[serde(rename = "pong")]
    Pong,
    #[serde(rename = "token.expired")]
    TokenExpired,
    #[serde(rename = "error")]
    Error {
        /// The `type` of the frame that failed (`send`, `read`...), if known.
        request: Option<&'a str>,
        client_id: Option<&'a str>,
        code: &'a str,
        detail: serde_json::Value,
    },
}

fn close_frame(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }))
}

async fn run(state: AppState, mut socket: WebSocket, query_token: Option<String>) {
    let chat = state.chat.clone();
    let (user, expires_at, token) = match authenticate(
        &state,
        &mut socket,
        query_token,
        chat.settings().auth_timeout,
    )
    .await
    {
        Ok(signed_in) => signed_in,
        Err(frame) => {
            let _ = socket.send(frame).await;
            return;
        }
    };
    let registration = chat.hub().register(user.id, chat.settings().socket_queue);
    let id = registration.id;
    let mut session = Session {
        chat: chat.clone(),
        auth: state.auth.clone(),
        token,
        send_timeout: chat.settings().ping_interval,
        user,
        socket,
        sent: SeqTracker::default(),
        held: Some(Held::until(Instant::now() + chat.settings().resume_wait)),
    };
    let goodbye = session.serve(registration, expires_at).await;
    if let Some(frame) = goodbye {
        let _ = tokio::time::timeout(Duration::from_secs(1), session.socket.send(frame)).await;
    }
    let user_id = session.user.id;
    drop(session);
    chat.hub().unregister(user_id, id);
    if let Err(e) = chat.left(user_id).await {
        tracing::warn!(error = %e, "chat: could not record last seen");
    }
}

/// The token from the query string, or from the first frame.
async fn authenticate(
    state: &AppState,
    socket: &mut WebSocket,
    query_token: Option<String>,
    wait: Duration,
) -> Result<(user::Model, i64, String), Message> {
    let token = match query_token.filter(|t| !t.is_empty()) {
        Some(token) => token,
        None => match tokio::time::timeout(wait, first_text(socket)).await {
            Err(_) => return Err(close_frame(close::AUTH_TIMEOUT, "send an auth frame first")),
            Ok(None) => return Err(close_frame(close::INVALID_TOKEN, "expected an auth frame")),
            Ok(Some(text)) => match serde_json::from_str::<AuthFrame>(&text) {
                Ok(AuthFrame {
                    kind,
                    token: Some(token),
                }) if kind == "auth" => token,
                _ => return Err(close_frame(close::INVALID_TOKEN, "expected an auth frame")),
            },
        },
    };
    let token = token.trim().to_string();
    match state.auth.authenticate_until(&token).await {
        Ok((user, expires_at)) => Ok((user, expires_at, token)),
        Err(AuthError::Storage(_)) => Err(close_frame(close::TRY_AGAIN, "try again shortly")),
        Err(_) => Err(close_frame(close::INVALID_TOKEN, "token not valid")),
    }
}

async fn first_text(socket: &mut WebSocket) -> Option<String> {
    while let Some(Ok(message)) = socket.recv().await {
        match message {
            Message::Text(text) => return Some(text.to_string()),
            Message::Ping(_) | Message::Pong(_) => continue,
            _ => return None,
        }
    }
    None
}

/// How a socket re-checks its token.
enum Check {
    /// Told that one of the user's logins ended (on any instance): the
    /// database itself, so the socket closes at once.
    InTheDatabase,
    /// The periodic check: the login has not ended, by the ended logins held
    /// in memory (read from the database every 0.2 s), so thousands of
    /// sockets cost no query each.
    InMemory,
}

/// Sockets opened together (after a restart, every client reconnects at
/// once) would otherwise ping and re-check together forever: the first
/// ping comes after between half and all of the interval.
fn first_ping(interval: Duration) -> Duration {
    let spread = (uuid::Uuid::new_v4().as_u128() % 1000) as f64 / 1000.0;
    interval.mul_f64(0.5 + spread / 2.0)
}

/// The client went away or stopped reading.
struct Gone;

struct Session {
    chat: Arc<ChatService>,
    auth: Arc<AuthService>,
    /// Re-checked every ping interval, so a revoked session ends here too.
    token: String,
    send_timeout: Duration,
    user: user::Model,
    socket: WebSocket,
    /// Messages and changes this socket has been sent, so none goes out twice.
    sent: SeqTracker,
    /// Conversation events held back until the replay of a resume has been
    /// sent (from sign-in, and again after a `resync`), so replay comes first.
    held: Option<Held>,
}

/// Why the loop ended, as the frame to close with (none when the peer is gone).
type Goodbye = Option<Message>;

impl Session {
    async fn serve(&mut self, mut registration: Registration, expires_at: i64) -> Goodbye {
        let settings = self.chat.settings().clone();
        let shutdown = self.chat.shutdown_token();
        let ready = Reply::Ready {
            user_id: self.user.id,
            expires_at,
        };
        if self.reply(&ready).await.is_err() {
            return None;
        }
        match self.chat.joined(self.user.id).await {
            Ok(frames) => {
                for frame in frames {
                    if self.push(Message::Text(frame.into())).await.is_err() {
                        return None;
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "chat: presence unavailable"),
        }
        let expiry = Instant::now() + seconds_until(expires_at);
        let mut ping = tokio::time::interval_at(
            Instant::now() + first_ping(settings.ping_interval),
            settings.ping_interval,
        );
        let mut last_heard = Instant::now();
        loop {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => {
                    return Some(close_frame(close::GOING_AWAY, "server shutting down"));
                }
                () = registration.too_slow.cancelled() => {
                    return Some(close_frame(close::TOO_SLOW, "too far behind: reconnect and resume"));
                }
                () = sleep_until(expiry) => {
                    let _ = self.reply(&Reply::TokenExpired).await;
                    return Some(close_frame(close::TOKEN_EXPIRED, "token expired"));
                }
                _ = ping.tick() => {
                    if last_heard.elapsed() > settings.ping_interval * 2 {
                        return Some(close_frame(close::NO_PONG, "no pong"));
                    }
                    if self.token_revoked(Check::InMemory).await {
                        return Some(close_frame(close::INVALID_TOKEN, "token revoked"));
                    }
                    if self.push(Message::Ping(Default::default())).await.is_err() {
                        return None;
                    }
                }
                () = sleep_until(self.hold_deadline()), if self.held.is_some() => {
                    // No resume came in time: the events flow without one.
                    if self.release_all().await.is_err() {
                        return None;
                    }
                }
                event = registration.events.recv() => {
                    let event = event?;
                    if crate::chat::is_recheck(&event) {
                        if self.token_revoked(Check::InTheDatabase).await {
                            return Some(close_frame(close::INVALID_TOKEN, "token revoked"));
                        }
                        continue;
                    }
                    if self.receive(event).await.is_err() {
                        return None;
                    }
                }
                incoming = self.socket.recv() => {
                    last_heard = Instant::now();
                    let outcome = match incoming {
                        Some(Ok(Message::Text(text))) => self.handle(text.as_str()).await,
                        Some(Ok(Message::Binary(_))) => {
                            self.error(None, None, "invalid_frame", json!("Frames are JSON text.")).await
                        }
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(()),
                        Some(Err(ref e)) if is_too_big(e) => {
                            return Some(close_frame(close::TOO_BIG, "frame too large: at most 1 MiB"));
                        }
                        Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return None,
                    };
                    if outcome.is_err() {
                        return None;
                    }
                }
            }
        }
    }

    /// Sends one frame, giving up (the client is gone or stopped reading)
    /// after one ping interval, so a stuck client cannot hold the socket.
    async fn push(&mut self, message: Message) -> Result<(), Gone> {
        match tokio::time::timeout(self.send_timeout, self.socket.send(message)).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(Gone),
        }
    }

    /// Logged out, password changed or account disabled since the socket
    /// signed in (checked once per ping interval, and at once when auth says
    /// one of the user's logins ended). Owned copies: the socket
    /// itself must not be borrowed across the query.
    fn token_revoked(
        &self,
        check: Check,
    ) -> impl std::future::Future<Output = bool> + Send + 'static {
        let (auth, token) = (self.auth.clone(), self.token.clone());
        async move {
            let outcome = match check {
                Check::InTheDatabase => auth.authenticate_until(&token).await.map(|_| ()),
                Check::InMemory => auth.login_still_open(&token).await,
            };
            matches!(outcome, Err(e) if !matches!(e, AuthError::Storage(_)))
        }
    }

    async fn reply(&mut self, reply: &Reply<'_>) -> Result<(), Gone> {
        let text = serde_json::to_string(reply).expect("replies serialise");
        self.push(Message::Text(text.into())).await
    }

    async fn error(
        &mut self,
        request: Option<&str>,
        client_id: Option<&str>,
        code: &str,
        detail: serde_json::Value,
    ) -> Result<(), Gone> {
        self.reply(&Reply::Error {
            request,
            client_id,
            code,
            detail,
        })
        .await
    }

    /// A domain error as an error frame, with the same code and detail the
    /// REST API gives.
    async fn failed(
        &mut self,
        request: &str,
        client_id: Option<&str>,
        err: ChatError,
    ) -> Result<(), Gone> {
        let (code, detail) = ApiError::from(err).code_and_detail();
        self.error(Some(request), client_id, code, detail).await
    }

    async fn handle(&mut self, text: &str) -> Result<(), Gone> {
        // PostgreSQL cannot store NUL in text; REST input is checked the same way.
        if text.contains("\\u0000") || text.contains('\0') {
            let detail = json!("Text may not contain NUL characters.");
            return self.error(None, None, "invalid_frame", detail).await;
        }
        let frame = match serde_json::from_str::<ClientFrame>(text) {
            Ok(frame) => frame,
            Err(e) => {
                let detail = json!(format!("Unreadable frame: {e}"));
                return self.error(None, None, "invalid_frame", detail).await;
            }
        };
        match frame {
            ClientFrame::Auth {} => {
                self.error(
                    Some("auth"),
                    None,
                    "already_authenticated",
                    json!("This socket is signed in already."),
                )
                .await
            }
            ClientFrame::Send {
                conversation_id,
                client_id,
                text,
                attachment_ids,
            } => {
                let input = SendInput {
                    client_id: client_id.clone(),
                    text,
                    attachment_ids,
                };
                match self.chat.send(&self.user, conversation_id, input).await {
                    Ok((message, created)) => {
                        self.sent.first_time(message.conversation_id, message.seq);
                        self.sent
                            .first_change(message.conversation_id, message.change_seq);
                        let ack = Reply::Ack {
                            client_id: &message.client_id,
                            duplicate: !created,
                            message: &message,
                        };
                        self.reply(&ack).await
                    }
                    Err(e) => self.failed("send", client_id.as_deref(), e).await,
                }
            }
            ClientFrame::Typing { conversation_id } => {
                match self.chat.typing(&self.user, conversation_id).await {
                    Ok(()) => Ok(()),
                    Err(e) => self.failed("typing", None, e).await,
                }
            }
            ClientFrame::Read {
                conversation_id,
                seq,
            } => match self
                .chat
                .mark_read(&self.user, conversation_id, Some(seq))
                .await
            {
                Ok(position) => {
                    let ok = Reply::ReadOk {
                        conversation_id,
                        last_read_seq: position.last_read_seq,
                        unread_count: position.unread_count,
                    };
                    self.reply(&ok).await
                }
                Err(e) => self.failed("read", None, e).await,
            },
            ClientFrame::Resume { conversations } => match self.resume(conversations).await {
                Ok(result) => result,
                Err(e) => self.failed("resume", None, e).await,
            },
            ClientFrame::Ping {} => self.reply(&Reply::Pong).await,
        }
    }
}

/// The transport refused a frame for its size (tungstenite's capacity error).
fn is_too_big(err: &axum::Error) -> bool {
    use std::error::Error as _;
    err.source()
        .and_then(|e| e.downcast_ref::<tokio_tungstenite::tungstenite::Error>())
        .is_some_and(|e| matches!(e, tokio_tungstenite::tungstenite::Error::Capacity(_)))
}

fn seconds_until(expires_at: i64) -> Duration {
    let left = expires_at - chrono::Utc::now().timestamp();
    Duration::from_secs(left.max(0) as u64)
}

//! A real WebSocket client for the chat socket, and the REST steps chat
//! stories start with.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::helpers::{TestApp, TestUser, status_and_body};

const WAIT: Duration = Duration::from_secs(10);

pub struct ChatSocket {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// `http://host:port` → `ws://host:port/ws/chat/`.
fn socket_url(address: &str) -> String {
    format!("{}/ws/chat/", address.replacen("http://", "ws://", 1))
}

impl ChatSocket {
    /// Connects without signing in.
    pub async fn open(address: &str, query: &str) -> Self {
        let (ws, _) = tokio_tungstenite::connect_async(format!("{}{query}", socket_url(address)))
            .await
            .expect("websocket connects");
        Self { ws }
    }

    /// Connects with a tiny receive buffer, as a phone on a bad network: once
    /// it stops reading, the server's writes to it soon block.
    pub async fn open_cramped(address: &str, who: &TestUser) -> Self {
        let host = address.trim_start_matches("http://");
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(2048).unwrap();
        let stream = socket.connect(host.parse().unwrap()).await.unwrap();
        let (ws, _) =
            tokio_tungstenite::client_async(socket_url(address), MaybeTlsStream::Plain(stream))
                .await
                .expect("websocket handshake");
        let mut socket = Self { ws };
        socket
            .send(json!({"type": "auth", "token": who.access}))
            .await;
        socket.next_of("ready").await;
        socket
    }

    /// Connects and signs in with an `auth` frame; waits for `ready`.
    pub async fn connect(address: &str, who: &TestUser) -> Self {
        let mut socket = Self::open(address, "").await;
        socket
            .send(json!({"type": "auth", "token": who.access}))
            .await;
        let ready = socket.next_of("ready").await;
        assert_eq!(ready["user_id"], who.id.as_str());
        socket
    }

    pub async fn send(&mut self, frame: Value) {
        self.ws
            .send(Message::text(frame.to_string()))
            .await
            .expect("frame sent");
    }

    pub async fn send_raw(&mut self, message: Message) {
        self.ws.send(message).await.expect("frame sent");
    }

    /// The next JSON frame (pings and pongs skipped); panics on close or timeout.
    pub async fn next(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("a frame within the wait")
                .expect("socket still open")
                .expect("a readable frame");
            match message {
                Message::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("expected a JSON frame, got {other:?}"),
            }
        }
    }

    /// The next frame of one type, skipping the others (presence, typing...).
    pub async fn next_of(&mut self, kind: &str) -> Value {
        loop {
            let frame = self.next().await;
            if frame["type"] == kind {
                return frame;
            }
        }
    }

    /// Frames up to and including the next `pong`: everything the server had
    /// queued for this socket before it answered the ping.
    pub async fn drain(&mut self) -> Vec<Value> {
        self.send(json!({"type": "ping"})).await;
        let mut frames = Vec::new();
        loop {
            let frame = self.next().await;
            if frame["type"] == "pong" {
                return frames;
            }
            frames.push(frame);
        }
    }

    /// The close code the server ends the socket with.
    pub async fn closed_with(&mut self) -> u16 {
        loop {
            let message = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("closed within the wait");
            match message {
                Some(Ok(Message::Close(Some(frame)))) => return u16::from(frame.code),
                Some(Ok(Message::Close(None))) => return u16::from(CloseCode::Status),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => panic!("socket ended without a close frame"),
            }
        }
    }

    /// Sends a frame the server refuses for its size while reading, as a
    /// real client does (a client blocked writing could not see the close
    /// frame): returns the close code the server ended the socket with.
    pub async fn send_oversized(self, message: Message) -> u16 {
        let (mut sink, mut stream) = self.ws.split();
        let writer = tokio::spawn(async move {
            let _ = sink.send(message).await;
        });
        let code = loop {
            match tokio::time::timeout(WAIT, stream.next())
                .await
                .expect("closed within the wait")
            {
                Some(Ok(Message::Close(Some(frame)))) => break u16::from(frame.code),
                Some(Ok(_)) => continue,
                other => panic!("socket ended without a close frame: {other:?}"),
            }
        };
        writer.abort();
        code
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// A opens (or gets) the conversation with B; returns its id.
pub async fn conversation(app: &TestApp, a: &TestUser, b: &TestUser) -> String {
    let (status, body) = status_and_body(
        app.post_as(
            &a.access,
            "/chat/api/conversations/",
            json!({"user_id": b.id}),
        )
        .await,
    )
    .await;
    assert!(
        status == StatusCode::CREATED || status == StatusCode::OK,
        "{status} {body}"
    );
    body["id"].as_str().unwrap().to_string()
}

/// Sends over REST; returns (status, body).
pub async fn send_rest(
    app: &TestApp,
    who: &TestUser,
    conversation: &str,
    client_id: &str,
    text: &str,
) -> (StatusCode, Value) {
    status_and_body(
        app.post_as(
            &who.access,
            &format!("/chat/api/conversations/{conversation}/messages/"),
            json!({"client_id": client_id, "text": text}),
        )
        .await,
    )
    .await
}

/// The seqs of a list of message objects.
pub fn seqs(messages: &[Value]) -> Vec<i64> {
    messages
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect()
}

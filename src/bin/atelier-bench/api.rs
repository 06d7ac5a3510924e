//! The endpoints, and the HTTP plumbing shared by user preparation and the
//! scenario workers.

use std::error::Error as StdError;

use anyhow::{Context, Result, bail};
use reqwest::{Client, RequestBuilder, Response, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// The endpoint URLs, built once.
pub struct Api {
    pub base: String,
    pub health: String,
    pub register: String,
    pub login: String,
    pub refresh: String,
    pub me: String,
    pub list: String,
    pub upload: String,
    /// The catalog without a query string.
    pub catalog: String,
    pub cart_items: String,
    pub checkout: String,
    /// The old chat app's send: `POST /chat/api/create/`.
    pub chat_send: String,
}

impl Api {
    pub fn new(base: &str) -> Self {
        let at = |path: &str| format!("{base}{path}");
        Api {
            base: base.to_string(),
            health: at("/health"),
            register: at("/auth/api/register"),
            login: at("/auth/api/login"),
            refresh: at("/auth/api/login/token/refresh"),
            me: at("/auth/api/users/me"),
            list: at("/auth/api/users/list?page=1&page_size=20"),
            upload: at("/shop/api/product/upload"),
            catalog: at("/shop/api/product/list"),
            cart_items: at("/shop/api/cart/items"),
            checkout: at("/shop/api/checkout"),
            chat_send: at("/chat/api/create"),
        }
    }

    pub fn verify(&self, code: &str) -> String {
        format!("{}/auth/api/register/verify-otp/{code}", self.base)
    }

    pub fn user_detail(&self, id: &str) -> String {
        format!("{}/auth/api/users/detail/{id}", self.base)
    }

    pub fn product(&self, id: &str) -> String {
        format!("{}/shop/api/product/{id}", self.base)
    }
}

pub async fn health(client: &Client, api: &Api) -> Result<()> {
    let status = client.get(&api.health).send().await?.status();
    if status != StatusCode::OK {
        bail!("/health answered {status}");
    }
    Ok(())
}

#[derive(Deserialize)]
pub struct TokenPair {
    pub access: String,
    pub refresh: String,
}

/// Why a measured request did not succeed.
pub enum Failure {
    /// The server answered, but not with 2xx.
    Status(String),
    /// No complete answer: connection error, timeout or unreadable body.
    Transport(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Status(text) => write!(f, "HTTP {text}"),
            Failure::Transport(text) => write!(f, "transport: {text}"),
        }
    }
}

pub fn transport(err: reqwest::Error) -> Failure {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    Failure::Transport(text)
}

/// Sends the request; a non-2xx answer becomes a failure carrying its body.
/// Callers read the body of a success, which lets the connection be reused.
pub async fn exchange(request: RequestBuilder) -> Result<Response, Failure> {
    let response = request.send().await.map_err(transport)?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body = response.text().await.unwrap_or_default();
    Err(Failure::Status(format!("{status} {}", snippet(&body))))
}

/// A measured request: sent, and its body read so the connection can be reused.
pub async fn fetch(request: RequestBuilder) -> Result<(), Failure> {
    exchange(request).await?.bytes().await.map_err(transport)?;
    Ok(())
}

/// A setup request that must answer `expected`; returns the body.
pub async fn expect_status(request: RequestBuilder, expected: StatusCode) -> Result<String> {
    let response = request.send().await?;
    let status = response.status();
    let text = response.text().await?;
    if status != expected {
        bail!("expected {expected}, got {status}: {}", snippet(&text));
    }
    Ok(text)
}

/// A setup request that must answer `expected` with a JSON body of type `T`.
pub async fn expect_json<T: DeserializeOwned>(
    request: RequestBuilder,
    expected: StatusCode,
) -> Result<T> {
    let text = expect_status(request, expected).await?;
    serde_json::from_str(&text).with_context(|| format!("unexpected answer: {}", snippet(&text)))
}

/// The start of a response body, enough to see what went wrong.
pub fn snippet(body: &str) -> String {
    const MAX: usize = 200;
    match body.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &body[..cut]),
        None => body.to_string(),
    }
}

//! The auth scenarios: each worker loops over one endpoint as one of the
//! prepared users.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, anyhow};
use reqwest::{Client, RequestBuilder};
use serde_json::{Value, json};

use crate::PASSWORD;
use crate::api::{Api, Failure, TokenPair, exchange, fetch, transport};
use crate::load::{LoadWorker, measure};
use crate::prepare::{Session, bounded};
use crate::stats::Report;

/// Pause after a failed re-login so a broken server is not hammered in a tight loop.
const RETRY_PAUSE: Duration = Duration::from_millis(50);

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    Me,
    List,
    Refresh,
    Login,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Me => "me",
            Scenario::List => "list",
            Scenario::Refresh => "refresh",
            Scenario::Login => "login",
        }
    }
}

pub async fn run_scenario(
    client: &Client,
    api: &Arc<Api>,
    sessions: &Arc<Vec<Session>>,
    scenario: Scenario,
    connections: usize,
    duration: Duration,
) -> Result<Report> {
    let mut workers: Vec<Worker> = (0..connections)
        .map(|i| Worker::new(client, api, &sessions[i % sessions.len()], scenario))
        .collect();
    if scenario == Scenario::Refresh {
        workers = start_login_families(workers).await?;
    }
    measure(scenario.name(), workers, duration).await
}

/// Refresh tokens are single-use and reuse revokes the whole login, so every
/// worker needs a login of its own, even when workers share a user.
async fn start_login_families(workers: Vec<Worker>) -> Result<Vec<Worker>> {
    bounded(workers.into_iter().map(|mut worker| async move {
        worker
            .relogin()
            .await
            .map_err(|failure| anyhow!("login before the refresh scenario failed: {failure}"))?;
        Ok(worker)
    }))
    .await
}

struct Worker {
    scenario: Scenario,
    client: Client,
    api: Arc<Api>,
    access: String,
    login_body: Value,
    /// The newest refresh token of this worker's own login (refresh scenario).
    refresh: Option<String>,
}

impl Worker {
    fn new(client: &Client, api: &Arc<Api>, session: &Session, scenario: Scenario) -> Self {
        Worker {
            scenario,
            client: client.clone(),
            api: api.clone(),
            access: session.access.clone(),
            login_body: json!({ "email": session.email, "password": PASSWORD }),
            refresh: None,
        }
    }

    async fn request(&mut self) -> Result<(), Failure> {
        match self.scenario {
            Scenario::Me => self.get_authorized(&self.api.me).await,
            Scenario::List => self.get_authorized(&self.api.list).await,
            Scenario::Login => fetch(self.login_request()).await,
            Scenario::Refresh => self.refresh().await,
        }
    }

    async fn get_authorized(&self, url: &str) -> Result<(), Failure> {
        fetch(self.client.get(url).bearer_auth(&self.access)).await
    }

    fn login_request(&self) -> RequestBuilder {
        self.client.post(&self.api.login).json(&self.login_body)
    }

    /// A fresh login: new access token and the start of a new refresh chain.
    async fn relogin(&mut self) -> Result<(), Failure> {
        let response = exchange(self.login_request()).await?;
        let pair: TokenPair = response.json().await.map_err(transport)?;
        self.access = pair.access;
        self.refresh = Some(pair.refresh);
        Ok(())
    }

    /// Presents the newest refresh token and keeps the one that replaces it.
    async fn refresh(&mut self) -> Result<(), Failure> {
        let Some(token) = self.refresh.take() else {
            return Err(Failure::Transport("no refresh token to present".into()));
        };
        let request = self
            .client
            .post(&self.api.refresh)
            .json(&json!({ "refresh": token }));
        let pair: TokenPair = exchange(request).await?.json().await.map_err(transport)?;
        self.access = pair.access;
        self.refresh = Some(pair.refresh);
        Ok(())
    }
}

impl LoadWorker for Worker {
    async fn step(&mut self) -> Option<Result<(), Failure>> {
        if self.scenario == Scenario::Refresh && self.refresh.is_none() {
            // A failed refresh leaves no usable token (it was consumed or
            // its login revoked), so start a new login, untimed.
            if self.relogin().await.is_err() {
                tokio::time::sleep(RETRY_PAUSE).await;
            }
            return None;
        }
        Some(self.request().await)
    }
}

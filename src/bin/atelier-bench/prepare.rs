//! Preparing users: registered, verified with the code from the outbox and
//! logged in, so the scenarios start from working sessions.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use reqwest::{Client, StatusCode};
use serde_json::json;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::api::{Api, TokenPair, expect_json, expect_status};
use crate::outbox::wait_for_codes;
use crate::{PASSWORD, SETUP_CONCURRENCY};

const OUTBOX_TIMEOUT: Duration = Duration::from_secs(30);

/// A prepared, verified user and the access token of its first login.
pub struct Session {
    pub email: String,
    pub access: String,
}

/// Registers `count` users with `role` (`customer` or `tailor`), verifies and
/// logs them in.
pub async fn prepare_users(
    client: &Client,
    api: &Arc<Api>,
    outbox: &Path,
    count: usize,
    role: &'static str,
) -> Result<Vec<Session>> {
    let started = Instant::now();
    eprintln!("preparing {count} users ({role})");
    // A per-run tag keeps emails and usernames unique across runs against one database.
    let run = uuid::Uuid::new_v4().simple().to_string();
    let run = &run[..12];
    let emails: Vec<String> = (0..count)
        .map(|i| format!("bench-{run}-{i}@example.com"))
        .collect();

    bounded(emails.iter().enumerate().map(|(i, email)| {
        let (client, api, email) = (client.clone(), api.clone(), email.clone());
        let username = format!("bench_{run}_{i}");
        async move { register(&client, &api, &email, &username, role).await }
    }))
    .await?;

    let codes = wait_for_codes(outbox, &emails, OUTBOX_TIMEOUT).await?;
    bounded(emails.iter().zip(codes).map(|(email, code)| {
        let (client, api, email) = (client.clone(), api.clone(), email.clone());
        async move { verify(&client, &api, &email, &code).await }
    }))
    .await?;

    let sessions = bounded(emails.into_iter().map(|email| {
        let (client, api) = (client.clone(), api.clone());
        async move {
            let pair = login(&client, &api, &email).await?;
            Ok(Session {
                email,
                access: pair.access,
            })
        }
    }))
    .await?;
    eprintln!(
        "prepared {count} users in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(sessions)
}

async fn register(
    client: &Client,
    api: &Api,
    email: &str,
    username: &str,
    role: &str,
) -> Result<()> {
    let body = json!({ "email": email, "username": username, "password": PASSWORD, "role": role });
    expect_status(client.post(&api.register).json(&body), StatusCode::CREATED)
        .await
        .with_context(|| format!("registering {email}"))?;
    Ok(())
}

async fn verify(client: &Client, api: &Api, email: &str, code: &str) -> Result<()> {
    let request = client
        .post(api.verify(code))
        .json(&json!({ "email": email }));
    expect_status(request, StatusCode::OK)
        .await
        .with_context(|| format!("verifying {email}"))?;
    Ok(())
}

async fn login(client: &Client, api: &Api, email: &str) -> Result<TokenPair> {
    let body = json!({ "email": email, "password": PASSWORD });
    expect_json(client.post(&api.login).json(&body), StatusCode::OK)
        .await
        .with_context(|| format!("logging in {email}"))
}

/// Runs the tasks at most `SETUP_CONCURRENCY` at a time; results keep the
/// input order. The first error aborts the rest (dropping the set aborts them).
pub async fn bounded<T, Fut>(tasks: impl IntoIterator<Item = Fut>) -> Result<Vec<T>>
where
    T: Send + 'static,
    Fut: Future<Output = Result<T>> + Send + 'static,
{
    let limit = Arc::new(Semaphore::new(SETUP_CONCURRENCY));
    let mut set = JoinSet::new();
    let mut count = 0;
    for (index, task) in tasks.into_iter().enumerate() {
        let limit = limit.clone();
        set.spawn(async move {
            let _permit = limit.acquire_owned().await?;
            task.await.map(|value| (index, value))
        });
        count += 1;
    }
    let mut results: Vec<Option<T>> = (0..count).map(|_| None).collect();
    while let Some(joined) = set.join_next().await {
        let (index, value) = joined.context("a setup task panicked")??;
        results[index] = Some(value);
    }
    results
        .into_iter()
        .map(|value| value.context("a setup task returned no result"))
        .collect()
}

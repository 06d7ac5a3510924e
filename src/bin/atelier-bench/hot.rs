//! The hot paths side by side: the ceiling of the HTTP stack, the two
//! authenticated reads (`users/me`, `users/detail/<own id>`) and the chat
//! send (`POST /chat/api/create/`), each then quoted as a share of the
//! ceiling measured in the same run.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use reqwest::{Client, StatusCode};
use serde::Deserialize;
use serde_json::json;

use crate::api::{Api, Failure, expect_json, fetch};
use crate::ceiling::Ceiling;
use crate::load::{LoadArgs, LoadWorker, measure};
use crate::prepare::{bounded, prepare_users};
use crate::stats::Report;
use crate::target::{TargetArgs, with_target};
use crate::target_help;

pub const LONG_ABOUT: &str = concat!(
    "The hot paths side by side: `ceiling` (an axum route in this process with no \
middleware and no database, answering a 250-byte JSON user), `me` (GET users/me), \
`detail` (GET users/detail/<own id>) and `send` (POST /chat/api/create/, each user \
writing to a partner), then each as a share of the ceiling.",
    target_help!()
);

#[derive(Args)]
pub struct HotArgs {
    /// Scenario to run; `all` runs ceiling, me, detail and send in that order.
    #[arg(long, value_enum, default_value_t = HotChoice::All)]
    scenario: HotChoice,
    /// Users prepared; worker i acts as user i % users, and sends to its partner.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(2..))]
    users: u32,
    #[command(flatten)]
    load: LoadArgs,
    #[command(flatten)]
    target: TargetArgs,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum HotChoice {
    All,
    Ceiling,
    Me,
    Detail,
    Send,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Hot {
    Ceiling,
    Me,
    Detail,
    Send,
}

impl Hot {
    fn name(self) -> &'static str {
        match self {
            Hot::Ceiling => "ceiling",
            Hot::Me => "me",
            Hot::Detail => "detail",
            Hot::Send => "send",
        }
    }
}

impl HotChoice {
    fn scenarios(self) -> Vec<Hot> {
        match self {
            HotChoice::All => vec![Hot::Ceiling, Hot::Me, Hot::Detail, Hot::Send],
            HotChoice::Ceiling => vec![Hot::Ceiling],
            HotChoice::Me => vec![Hot::Me],
            HotChoice::Detail => vec![Hot::Detail],
            HotChoice::Send => vec![Hot::Send],
        }
    }
}

/// A prepared user: its token and id.
struct Caller {
    access: String,
    id: String,
}

#[derive(Deserialize)]
struct Me {
    id: String,
}

pub async fn bench_hot(args: HotArgs) -> Result<()> {
    with_target(
        args.load.connections as usize,
        &args.target,
        async |client: &Client, api: &Arc<Api>, outbox: &Path| {
            run(client, api, outbox, &args).await
        },
    )
    .await
}

async fn run(client: &Client, api: &Arc<Api>, outbox: &Path, args: &HotArgs) -> Result<()> {
    let scenarios = args.scenario.scenarios();
    let callers = if scenarios.iter().any(|s| *s != Hot::Ceiling) {
        prepare_callers(client, api, outbox, args.users as usize).await?
    } else {
        Vec::new()
    };
    let callers = Arc::new(callers);
    args.load
        .print_target(api, &format!("users={}", args.users));
    let connections = args.load.connections as usize;
    let mut reports = Vec::new();
    for scenario in scenarios {
        let ceiling = (scenario == Hot::Ceiling)
            .then(Ceiling::start)
            .transpose()?;
        let workers: Vec<Worker> = (0..connections)
            .map(|i| Worker::new(client, api, &callers, i, scenario, ceiling.as_ref()))
            .collect();
        let report = measure(scenario.name(), workers, args.load.duration()).await?;
        report.print();
        reports.push(report);
    }
    print_shares(&reports);
    Ok(())
}

/// Each scenario's throughput as a share of the ceiling's.
fn print_shares(reports: &[Report]) {
    let Some(ceiling) = reports.iter().find(|r| r.name() == "ceiling") else {
        return;
    };
    for report in reports.iter().filter(|r| r.name() != "ceiling") {
        println!(
            "{:<9} {:.1}% of the ceiling ({:.0} of {:.0} req/s)",
            report.name(),
            100.0 * report.rps() / ceiling.rps().max(f64::MIN_POSITIVE),
            report.rps(),
            ceiling.rps()
        );
    }
}

async fn prepare_callers(
    client: &Client,
    api: &Arc<Api>,
    outbox: &Path,
    count: usize,
) -> Result<Vec<Caller>> {
    let sessions = prepare_users(client, api, outbox, count, "customer").await?;
    bounded(sessions.into_iter().map(|session| {
        let (client, api) = (client.clone(), api.clone());
        async move {
            let me: Me = expect_json(
                client.get(&api.me).bearer_auth(&session.access),
                StatusCode::OK,
            )
            .await
            .context("reading a prepared user's id")?;
            Ok(Caller {
                access: session.access,
                id: me.id,
            })
        }
    }))
    .await
}

struct Worker {
    client: Client,
    scenario: Hot,
    url: String,
    access: String,
    /// `send`: the body, naming the partner.
    body: serde_json::Value,
}

impl Worker {
    fn new(
        client: &Client,
        api: &Api,
        callers: &[Caller],
        index: usize,
        scenario: Hot,
        ceiling: Option<&Ceiling>,
    ) -> Self {
        let (access, id, partner) = if callers.is_empty() {
            Default::default()
        } else {
            let me = index % callers.len();
            // Users pair up 0-1, 2-3, ...; an odd last one writes to user 0.
            let partner = match me ^ 1 {
                p if p < callers.len() => p,
                _ => 0,
            };
            (
                callers[me].access.clone(),
                callers[me].id.clone(),
                callers[partner].id.clone(),
            )
        };
        let url = match scenario {
            Hot::Ceiling => ceiling.map(|c| c.url.clone()).unwrap_or_default(),
            Hot::Me => api.me.clone(),
            Hot::Detail => api.user_detail(&id),
            Hot::Send => api.chat_send.clone(),
        };
        Worker {
            client: client.clone(),
            scenario,
            url,
            access,
            body: json!({ "receiver": partner, "message": "Is the agbada ready for Saturday?" }),
        }
    }
}

impl LoadWorker for Worker {
    async fn step(&mut self) -> Option<Result<(), Failure>> {
        let request = match self.scenario {
            Hot::Ceiling => self.client.get(&self.url),
            Hot::Me | Hot::Detail => self.client.get(&self.url).bearer_auth(&self.access),
            Hot::Send => self
                .client
                .post(&self.url)
                .bearer_auth(&self.access)
                .json(&self.body),
        };
        Some(fetch(request).await)
    }
}

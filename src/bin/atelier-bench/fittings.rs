//! `atelier-bench fittings`: a tailor with published availability and 200
//! existing bookings (made through the API), then the slot listing of a
//! 14-day window at full concurrency, then a booking storm.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use chrono::{Duration as Span, Utc};
use clap::Args;
use reqwest::{Client, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::{Api, Failure, expect_json, expect_status, fetch, transport};
use crate::load::{LoadArgs, LoadWorker, measure};
use crate::prepare::{Session, bounded, prepare_users};
use crate::target::{TargetArgs, with_target};
use crate::target_help;

pub const LONG_ABOUT: &str = concat!(
    "Benchmark fittings: prepares a tailor open 08:00-20:00 every day (Africa/Lagos,
30-minute slots, instant booking) and customers, books --bookings fittings
spread over the next 14 days through the API, then measures the slot listing
of that 14-day window (`slots`), then a booking storm (`storm`): every worker
walks the same list of later slots, so about --connections requests race for
each; each slot is booked once and the rest are answered 409 with
alternatives. The storm prints the bookings made per second.",
    target_help!()
);

#[derive(Args)]
pub struct FittingsArgs {
    /// Bookings made before the slot listing is measured.
    #[arg(long, default_value_t = 200)]
    bookings: u32,
    /// Customers prepared (registered, verified, logged in); worker i acts as customer i % customers.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    customers: u32,
    /// Skip the booking storm.
    #[arg(long)]
    no_storm: bool,
    #[command(flatten)]
    load: LoadArgs,
    #[command(flatten)]
    target: TargetArgs,
}

pub async fn bench_fittings(args: FittingsArgs) -> Result<()> {
    with_target(
        args.load.connections as usize,
        &args.target,
        async |client: &Client, api: &Arc<Api>, outbox: &Path| {
            run(client, api, outbox, &args).await
        },
    )
    .await
}

#[derive(Deserialize)]
struct Me {
    id: String,
}

#[derive(Deserialize)]
struct SlotsAnswer {
    slots: Vec<Value>,
}

async fn open_tailor(client: &Client, api: &Api, tailor: &Session) -> Result<String> {
    let me: Me = expect_json(
        client.get(&api.me).bearer_auth(&tailor.access),
        StatusCode::OK,
    )
    .await?;
    let profile = json!({"business_name": "Bench Fittings", "in_shop_fittings": true});
    expect_status(
        client
            .patch(format!("{}/tailor/api/me", api.base))
            .bearer_auth(&tailor.access)
            .json(&profile),
        StatusCode::OK,
    )
    .await
    .context("PATCH /tailor/api/me")?;
    let hours = json!([{"start": "08:00", "end": "20:00"}]);
    let days = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    let weekly: serde_json::Map<String, Value> = days
        .iter()
        .map(|d| (d.to_string(), hours.clone()))
        .collect();
    let availability = json!({"time_zone": "Africa/Lagos", "weekly_hours": weekly, "slot_minutes": 30,
        "horizon_days": 60, "min_notice_minutes": 0, "requires_approval": false});
    expect_status(
        client
            .put(format!("{}/tailor/api/availability", api.base))
            .bearer_auth(&tailor.access)
            .json(&availability),
        StatusCode::OK,
    )
    .await
    .context("PUT /tailor/api/availability")?;
    Ok(me.id)
}

async fn open_slots(client: &Client, url: &str, session: &Session) -> Result<Vec<Value>> {
    let answer: SlotsAnswer =
        expect_json(client.get(url).bearer_auth(&session.access), StatusCode::OK).await?;
    Ok(answer.slots)
}

async fn run(client: &Client, api: &Arc<Api>, outbox: &Path, args: &FittingsArgs) -> Result<()> {
    let tailor = prepare_users(client, api, outbox, 1, "tailor")
        .await?
        .remove(0);
    let customers =
        Arc::new(prepare_users(client, api, outbox, args.customers as usize, "customer").await?);
    let tailor_id = open_tailor(client, api, &tailor).await?;
    let first_day = Utc::now().date_naive() + Span::days(1);
    let window = format!(
        "{}/tailor/api/{tailor_id}/slots?from={first_day}&to={}",
        api.base,
        first_day + Span::days(13)
    );
    let before = open_slots(client, &window, &customers[0]).await?;
    let wanted = args.bookings as usize;
    if wanted > before.len() {
        bail!(
            "--bookings {wanted} is more than the {} slots of the window",
            before.len()
        );
    }
    let book_url = format!("{}/tailor/api/book", api.base);
    let started = Instant::now();
    let spread: Vec<&Value> = (0..wanted)
        .map(|i| &before[i * before.len() / wanted.max(1)])
        .collect();
    bounded(spread.into_iter().enumerate().map(|(i, slot)| {
        let (client, customers, book_url, tailor_id) = (
            client.clone(),
            customers.clone(),
            book_url.clone(),
            tailor_id.clone(),
        );
        let start = slot["start"].clone();
        async move {
            let who = &customers[i % customers.len()];
            let body = json!({"tailor_id": tailor_id, "start": start, "kind": "in_shop"});
            expect_status(
                client.post(&book_url).bearer_auth(&who.access).json(&body),
                StatusCode::CREATED,
            )
            .await
        }
    }))
    .await
    .context("booking the existing fittings")?;
    let after = open_slots(client, &window, &customers[0]).await?;
    eprintln!(
        "booked {wanted} fittings in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    args.load.print_target(
        api,
        &format!(
            "bookings={wanted} window=14 days open_slots={} (of {})",
            after.len(),
            before.len()
        ),
    );
    let url = Arc::new(window);
    let workers = (0..args.load.connections as usize)
        .map(|i| SlotWorker {
            client: client.clone(),
            url: url.clone(),
            access: customers[i % customers.len()].access.clone(),
        })
        .collect();
    measure("slots", workers, args.load.duration())
        .await?
        .print();
    if !args.no_storm {
        storm(client, api, &tailor_id, &customers, args).await?;
    }
    Ok(())
}

/// The slot listing, as one customer.
struct SlotWorker {
    client: Client,
    url: Arc<String>,
    access: String,
}

impl LoadWorker for SlotWorker {
    async fn step(&mut self) -> Option<Result<(), Failure>> {
        Some(fetch(self.client.get(self.url.as_str()).bearer_auth(&self.access)).await)
    }
}

/// Every worker books the slot at the shared cursor; a 201 or a 409 moves
/// the cursor on, so all workers race for the same slot at a time.
async fn storm(
    client: &Client,
    api: &Api,
    tailor_id: &str,
    customers: &Arc<Vec<Session>>,
    args: &FittingsArgs,
) -> Result<()> {
    let from = Utc::now().date_naive() + Span::days(15);
    let mut targets = Vec::new();
    for week in 0..6 {
        let url = format!(
            "{}/tailor/api/{tailor_id}/slots?from={}&to={}",
            api.base,
            from + Span::days(7 * week),
            from + Span::days(7 * week + 6)
        );
        targets.extend(
            open_slots(client, &url, &customers[0])
                .await?
                .into_iter()
                .map(|s| s["start"].clone()),
        );
    }
    let shared = Arc::new(Storm {
        targets,
        cursor: AtomicUsize::new(0),
        booked: AtomicU64::new(0),
        // `measure` starts now; bookings in its warm-up are not counted.
        counting_from: Instant::now() + crate::WARM_UP,
        book_url: format!("{}/tailor/api/book", api.base),
        tailor_id: tailor_id.to_string(),
    });
    let workers = (0..args.load.connections as usize)
        .map(|i| StormWorker {
            client: client.clone(),
            access: customers[i % customers.len()].access.clone(),
            storm: shared.clone(),
        })
        .collect();
    let report = measure("storm", workers, args.load.duration()).await?;
    report.print();
    let booked = shared.booked.load(Ordering::Relaxed);
    println!(
        "{:<9} bookings={booked} bookings/s={:.1} (each slot booked once; {:.1} requests per booking)",
        "",
        booked as f64 / args.load.duration as f64,
        report.requests() as f64 / booked.max(1) as f64,
    );
    Ok(())
}

struct Storm {
    targets: Vec<Value>,
    cursor: AtomicUsize,
    booked: AtomicU64,
    counting_from: Instant,
    book_url: String,
    tailor_id: String,
}

struct StormWorker {
    client: Client,
    access: String,
    storm: Arc<Storm>,
}

impl LoadWorker for StormWorker {
    async fn step(&mut self) -> Option<Result<(), Failure>> {
        let storm = &self.storm;
        let at = storm.cursor.load(Ordering::Relaxed);
        let Some(start) = storm.targets.get(at) else {
            return Some(Err(Failure::Status("the storm ran out of slots".into())));
        };
        let body = json!({"tailor_id": storm.tailor_id, "start": start, "kind": "in_shop"});
        let response = match self
            .client
            .post(&storm.book_url)
            .bearer_auth(&self.access)
            .json(&body)
            .send()
            .await
        {
            Ok(response) => response,
            Err(err) => return Some(Err(transport(err))),
        };
        let status = response.status();
        if let Err(err) = response.bytes().await {
            return Some(Err(transport(err)));
        }
        match status {
            StatusCode::CREATED => {
                if Instant::now() >= storm.counting_from {
                    storm.booked.fetch_add(1, Ordering::Relaxed);
                }
                let _ =
                    storm
                        .cursor
                        .compare_exchange(at, at + 1, Ordering::Relaxed, Ordering::Relaxed);
                Some(Ok(()))
            }
            StatusCode::CONFLICT => {
                let _ =
                    storm
                        .cursor
                        .compare_exchange(at, at + 1, Ordering::Relaxed, Ordering::Relaxed);
                Some(Ok(()))
            }
            other => Some(Err(Failure::Status(other.to_string()))),
        }
    }
}

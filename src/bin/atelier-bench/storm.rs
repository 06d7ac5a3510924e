//! `atelier-bench storm`: a checkout storm. Customers fill their carts from a
//! few hot variants that hold less stock than the carts ask for, then all
//! check out at the same moment; afterwards the stock must match the orders.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use reqwest::{Client, RequestBuilder, Response, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::Barrier;
use tokio::task::JoinSet;

use crate::api::{Api, Failure, expect_json, expect_status, snippet, transport};
use crate::catalog::{self, Mix};
use crate::prepare::{Session, bounded, prepare_users};
use crate::shop::{ProductStock, upload_products};
use crate::stats::{Report, WorkerStats};
use crate::target::{TargetArgs, with_target};
use crate::target_help;

pub const LONG_ABOUT: &str = concat!(
    "A checkout storm: every customer checks out at the same moment, all buying
from a few hot variants that hold less stock than the carts ask for.

Tailors upload the hot products (5 variants each, every variant with
--stock-per-variant units; product i belongs to tailor i % tailors).
Customers are prepared like the auth bench's users; customer i fills a cart
with 1 or 2 units of 1 or 2 hot variants chosen from i alone, so every run
asks for the same. Then every customer's checkout (pay on delivery, with its
own Idempotency-Key and connection) waits at a barrier, and all are sent
together.

201 (orders placed) and 409 out_of_stock are the correct answers. Any other
status counts as non_2xx in the report line and a broken connection or
timeout as errors; rps there is checkouts answered per second of the storm,
from the first request sent to the last answer read. Afterwards every hot
variant's stock is read back from its product: none may be negative, each
must have lost exactly the units in the placed orders, each placed checkout
must hold its whole cart, and no out_of_stock answer may refuse a cart that
the remaining stock still covers. Any failure makes the exit status non-zero.",
    target_help!()
);

const VARIANTS_PER_PRODUCT: usize = 5;
const DELIVERY_ADDRESS: &str = "12 Broad Street, Lagos";
/// Stock-check problems printed; the count covers all of them.
const SHOWN_PROBLEMS: usize = 10;

#[derive(Args)]
pub struct StormArgs {
    /// Customers, each with one checkout in the storm.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..))]
    customers: u32,
    /// Hot variants the carts draw from, 5 per product.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    variants: u32,
    /// Units each hot variant holds before the storm.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    stock_per_variant: u32,
    /// Tailors registered to own the hot products.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..))]
    tailors: u32,
    #[command(flatten)]
    target: TargetArgs,
}

pub async fn bench_storm(args: StormArgs) -> Result<()> {
    with_target(
        args.customers as usize,
        &args.target,
        async |client: &Client, api: &Arc<Api>, outbox: &Path| {
            run_storm(client, api, outbox, &args).await
        },
    )
    .await
}

/// Seeds the hot variants, fills the carts, runs the storm and checks the stock.
async fn run_storm(client: &Client, api: &Arc<Api>, outbox: &Path, args: &StormArgs) -> Result<()> {
    let tailors = prepare_users(client, api, outbox, args.tailors as usize, "tailor").await?;
    let products = hot_products(args.variants as usize, args.stock_per_variant);
    let hot = Hot::new(upload_products(client, api, &tailors, products).await?);
    let customers = prepare_users(client, api, outbox, args.customers as usize, "customer").await?;
    let stock = i64::from(args.stock_per_variant);
    let carts: Vec<Vec<Line>> = (0..customers.len())
        .map(|i| cart(i, hot.variants.len(), stock))
        .collect();
    fill_carts(client, api, &hot, &customers, &carts).await?;

    let initial = hot.stock(client, api).await?;
    let demand: i64 = carts.iter().flatten().map(|line| line.quantity).sum();
    println!(
        "target {} customers={} hot_variants={} stock={} ({stock} each) demand={demand} units",
        api.base,
        customers.len(),
        hot.variants.len(),
        initial.iter().sum::<i64>(),
    );
    let storm = storm(client, api, &customers).await?;
    storm.report.print();
    storm.print_answers();

    let left = hot.stock(client, api).await?;
    let problems = check_stock(&hot, &carts, &storm.checkouts, &initial, &left);
    println!(
        "stock     variants={} initial={} final={} sold={} ordered={} negative={}",
        hot.variants.len(),
        initial.iter().sum::<i64>(),
        left.iter().sum::<i64>(),
        initial.iter().sum::<i64>() - left.iter().sum::<i64>(),
        storm.units(),
        left.iter().filter(|&&units| units < 0).count(),
    );
    if problems.is_empty() {
        println!("stock check: ok");
    } else {
        println!("stock check: FAILED ({} problems)", problems.len());
        for problem in problems.iter().take(SHOWN_PROBLEMS) {
            println!("{:<9} {problem}", "");
        }
    }
    let mut reasons = Vec::new();
    let failed = storm.failed();
    if failed > 0 {
        reasons.push(format!(
            "{failed} of {} checkouts failed (5xx, transport error or unexpected answer)",
            customers.len()
        ));
    }
    if !problems.is_empty() {
        reasons.push(format!("the stock check found {} problems", problems.len()));
    }
    if !reasons.is_empty() {
        bail!("{}", reasons.join("; "));
    }
    Ok(())
}

/// The upload bodies: catalog products with `variants` variants in all,
/// 5 per product, each variant holding `stock` units.
fn hot_products(variants: usize, stock: u32) -> Vec<Value> {
    (0..variants.div_ceil(VARIANTS_PER_PRODUCT))
        .map(|p| {
            let count = (variants - p * VARIANTS_PER_PRODUCT).min(VARIANTS_PER_PRODUCT);
            let mut body = catalog::product(p, count);
            for variant in body["variants"].as_array_mut().into_iter().flatten() {
                variant["stock"] = json!(stock);
            }
            body
        })
        .collect()
}

/// The hot variants in upload order, and the products holding them.
struct Hot {
    products: Vec<String>,
    variants: Vec<String>,
}

impl Hot {
    fn new(products: Vec<ProductStock>) -> Self {
        let variants = products
            .iter()
            .flat_map(|product| product.variants.iter().map(|v| v.id.clone()))
            .collect();
        Hot {
            products: products.into_iter().map(|product| product.id).collect(),
            variants,
        }
    }

    /// Every hot variant's stock now, as its product page shows it.
    async fn stock(&self, client: &Client, api: &Arc<Api>) -> Result<Vec<i64>> {
        let pages = bounded(self.products.iter().map(|id| {
            let (client, url) = (client.clone(), api.product(id));
            async move {
                let page: ProductStock = expect_json(client.get(&url), StatusCode::OK)
                    .await
                    .with_context(|| format!("GET {url}"))?;
                Ok(page)
            }
        }))
        .await?;
        let levels: HashMap<String, i64> = pages
            .into_iter()
            .flat_map(|page| page.variants)
            .map(|variant| (variant.id, variant.stock))
            .collect();
        self.variants
            .iter()
            .map(|id| {
                levels
                    .get(id)
                    .copied()
                    .with_context(|| format!("variant {id} is missing from its product"))
            })
            .collect()
    }
}

/// A cart line: an index into the hot variants and the units wanted.
struct Line {
    variant: usize,
    quantity: i64,
}

/// Customer `index`'s cart: 1 or 2 distinct hot variants, 1 or 2 units of
/// each (never more than a variant holds, which the cart would refuse).
fn cart(index: usize, variants: usize, stock: i64) -> Vec<Line> {
    let mut mix = Mix(index as u64);
    let first = mix.below(variants as u64) as usize;
    let mut picked = vec![first];
    if variants > 1 && mix.below(2) == 1 {
        let offset = 1 + mix.below(variants as u64 - 1) as usize;
        picked.push((first + offset) % variants);
    }
    picked
        .into_iter()
        .map(|variant| Line {
            variant,
            quantity: (1 + mix.below(2) as i64).min(stock),
        })
        .collect()
}

async fn fill_carts(
    client: &Client,
    api: &Arc<Api>,
    hot: &Hot,
    customers: &[Session],
    carts: &[Vec<Line>],
) -> Result<()> {
    eprintln!("filling {} carts", carts.len());
    bounded(customers.iter().zip(carts).enumerate().map(|(i, (customer, lines))| {
        let (client, api, access) = (client.clone(), api.clone(), customer.access.clone());
        let items: Vec<Value> = lines
            .iter()
            .map(|line| json!({ "variant_id": hot.variants[line.variant], "quantity": line.quantity }))
            .collect();
        async move {
            for item in items {
                let request = client.post(&api.cart_items).bearer_auth(&access).json(&item);
                expect_status(request, StatusCode::CREATED)
                    .await
                    .with_context(|| format!("filling the cart of customer {i}"))?;
            }
            Ok(())
        }
    }))
    .await?;
    Ok(())
}

/// A 201 checkout body, reduced to what was sold.
#[derive(Deserialize)]
struct Placed {
    orders: Vec<Order>,
}

#[derive(Deserialize)]
struct Order {
    items: Vec<OrderItem>,
}

#[derive(Deserialize)]
struct OrderItem {
    variant_id: String,
    quantity: i64,
}

#[derive(Deserialize)]
struct ErrorCode {
    code: String,
}

enum Outcome {
    /// 201: the orders placed.
    Placed(Vec<Order>),
    /// 409 `out_of_stock`.
    OutOfStock,
    /// Anything else; the report line counts it and shows the first.
    Failed,
}

/// One customer's checkout, as answered.
struct Checkout {
    started: Instant,
    finished: Instant,
    /// `None` after a transport error.
    status: Option<StatusCode>,
    outcome: Outcome,
}

struct Storm {
    report: Report,
    /// In the order of the customers.
    checkouts: Vec<Checkout>,
    /// From the first request sent to the last answer read.
    wall: Duration,
}

/// Sends every customer's checkout at the same moment and waits for all answers.
async fn storm(client: &Client, api: &Api, customers: &[Session]) -> Result<Storm> {
    let count = customers.len();
    eprintln!("storm: {count} checkouts at once");
    let barrier = Arc::new(Barrier::new(count + 1));
    let body = json!({ "delivery_address": DELIVERY_ADDRESS, "payment_method": "pay_on_delivery" });
    let mut set = JoinSet::new();
    for (i, customer) in customers.iter().enumerate() {
        let request = client
            .post(&api.checkout)
            .bearer_auth(&customer.access)
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .json(&body);
        let barrier = barrier.clone();
        set.spawn(async move { (i, check_out(request, &barrier).await) });
    }
    barrier.wait().await;
    let mut answered = Vec::with_capacity(count);
    while let Some(joined) = set.join_next().await {
        answered.push(joined.context("a checkout task panicked")?);
    }
    answered.sort_by_key(|(i, _)| *i);
    let (stats, checkouts): (Vec<WorkerStats>, Vec<Checkout>) =
        answered.into_iter().map(|(_, answer)| answer).unzip();
    let start = checkouts.iter().map(|c| c.started).min();
    let end = checkouts.iter().map(|c| c.finished).max();
    let (start, wall) = match (start, end) {
        (Some(start), Some(end)) => (start, end - start),
        _ => (Instant::now(), Duration::ZERO),
    };
    Ok(Storm {
        report: Report::new("storm", count, start, stats),
        checkouts,
        wall,
    })
}

/// One checkout, sent once every checkout is ready.
async fn check_out(request: RequestBuilder, barrier: &Barrier) -> (WorkerStats, Checkout) {
    barrier.wait().await;
    let started = Instant::now();
    let (status, answer) = match request.send().await {
        Ok(response) => (Some(response.status()), read_answer(response).await),
        Err(err) => (None, Err(transport(err))),
    };
    let finished = Instant::now();
    let (result, outcome) = match answer {
        Ok(outcome) => (Ok(()), outcome),
        Err(failure) => (Err(failure), Outcome::Failed),
    };
    let mut stats = WorkerStats::default();
    stats.record(finished - started, result);
    stats.finished = Some(finished);
    let checkout = Checkout {
        started,
        finished,
        status,
        outcome,
    };
    (stats, checkout)
}

async fn read_answer(response: Response) -> Result<Outcome, Failure> {
    let status = response.status();
    let body = response.text().await.map_err(transport)?;
    let outcome = match status {
        StatusCode::CREATED => serde_json::from_str::<Placed>(&body)
            .ok()
            .map(|placed| Outcome::Placed(placed.orders)),
        StatusCode::CONFLICT => serde_json::from_str::<ErrorCode>(&body)
            .is_ok_and(|error| error.code == "out_of_stock")
            .then_some(Outcome::OutOfStock),
        _ => None,
    };
    outcome.ok_or_else(|| Failure::Status(format!("{status} {}", snippet(&body))))
}

impl Storm {
    /// Units in all placed orders.
    fn units(&self) -> i64 {
        self.placed()
            .flat_map(|orders| orders.iter().flat_map(|order| &order.items))
            .map(|item| item.quantity)
            .sum()
    }

    fn placed(&self) -> impl Iterator<Item = &Vec<Order>> {
        self.checkouts.iter().filter_map(|c| match &c.outcome {
            Outcome::Placed(orders) => Some(orders),
            _ => None,
        })
    }

    fn failed(&self) -> usize {
        let failed = |c: &&Checkout| matches!(c.outcome, Outcome::Failed);
        self.checkouts.iter().filter(failed).count()
    }

    /// Answers by status, then what the placed checkouts hold.
    fn print_answers(&self) {
        let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
        for checkout in &self.checkouts {
            let key = checkout
                .status
                .map_or("transport".into(), |s| s.as_u16().to_string());
            *statuses.entry(key).or_default() += 1;
        }
        let statuses: Vec<String> = statuses
            .iter()
            .map(|(status, count)| format!("{status}={count}"))
            .collect();
        let out_of_stock = self
            .checkouts
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::OutOfStock))
            .count();
        println!(
            "answers   {} (out_of_stock={out_of_stock} failed={})",
            statuses.join(" "),
            self.failed()
        );
        let placed = self.placed().count();
        let seconds = self.wall.as_secs_f64();
        let per_second = |n: usize| {
            if seconds > 0.0 {
                n as f64 / seconds
            } else {
                0.0
            }
        };
        println!(
            "placed    checkouts={placed} orders={} units={} wall={:.1}ms checkouts/s={:.1} placed/s={:.1}",
            self.placed().map(Vec::len).sum::<usize>(),
            self.units(),
            seconds * 1000.0,
            per_second(self.checkouts.len()),
            per_second(placed),
        );
    }
}

/// Compares the stock before and after with the answers; returns the problems.
fn check_stock(
    hot: &Hot,
    carts: &[Vec<Line>],
    checkouts: &[Checkout],
    initial: &[i64],
    left: &[i64],
) -> Vec<String> {
    let index: HashMap<&str, usize> = hot
        .variants
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let mut problems = Vec::new();
    let mut ordered = vec![0; hot.variants.len()];
    for (i, (cart, checkout)) in carts.iter().zip(checkouts).enumerate() {
        match &checkout.outcome {
            Outcome::Placed(orders) => {
                let mut got: BTreeMap<usize, i64> = BTreeMap::new();
                for item in orders.iter().flat_map(|order| &order.items) {
                    match index.get(item.variant_id.as_str()) {
                        Some(&v) => *got.entry(v).or_default() += item.quantity,
                        None => problems.push(format!(
                            "customer {i} was sold variant {}, which is not a hot one",
                            item.variant_id
                        )),
                    }
                }
                let wanted: BTreeMap<usize, i64> = cart
                    .iter()
                    .map(|line| (line.variant, line.quantity))
                    .collect();
                if got != wanted {
                    problems.push(format!(
                        "customer {i}'s orders hold {got:?} (variant: units) but the cart held {wanted:?}"
                    ));
                }
                for (v, units) in got {
                    ordered[v] += units;
                }
            }
            // Stock only falls during the storm, so what is left now was
            // there when this checkout was refused.
            Outcome::OutOfStock if cart.iter().all(|line| left[line.variant] >= line.quantity) => {
                problems.push(format!(
                    "customer {i} was refused as out of stock, yet the stock left covers the cart"
                ));
            }
            // A failed checkout may or may not have taken stock; it already fails the run.
            Outcome::OutOfStock | Outcome::Failed => {}
        }
    }
    for (v, id) in hot.variants.iter().enumerate() {
        if left[v] < 0 {
            problems.push(format!("variant {v} ({id}) has negative stock {}", left[v]));
        }
        if initial[v] - left[v] != ordered[v] {
            problems.push(format!(
                "variant {v} ({id}) went from {} to {} units, but the orders hold {}",
                initial[v], left[v], ordered[v]
            ));
        }
    }
    problems
}

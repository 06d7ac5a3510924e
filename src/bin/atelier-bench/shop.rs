//! `atelier-bench shop`: prepares tailors, uploads a catalog through the
//! API, then measures the catalog listing without and with filters.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use reqwest::{Client, StatusCode};
use serde::Deserialize;
use serde_json::Value;

use crate::api::{Api, Failure, expect_json, fetch};
use crate::catalog::{self, FILTERS};
use crate::load::{LoadArgs, LoadWorker, measure};
use crate::prepare::{Session, bounded, prepare_users};
use crate::target::{TargetArgs, with_target};
use crate::target_help;

pub const LONG_ABOUT: &str = concat!(
    "Benchmark the shop catalog: product/list unfiltered (`list`) and with a
rotating mix of filters, orderings, searches and pairs of them (`filtered`).

Tailors are prepared like the auth bench's users, then upload the catalog
through the API (16 uploads in flight). Product i is derived from i alone:
kinds, materials, colours, sizes, stock and prices vary so that each filter
selects a realistic share of the catalog; the share of each filter is printed
before the measurement. With --url the catalog adds to what the server has.",
    target_help!()
);

/// The first page, as a shopper opens the catalog.
const FIRST_PAGE: &str = "page=1&page_size=20";
/// The server's limit on variants per product.
const MAX_VARIANTS: u32 = 100;

#[derive(Args)]
pub struct ShopArgs {
    /// Products uploaded before the scenarios; 0 measures what a --url server already has.
    #[arg(long, default_value_t = 10_000)]
    products: u32,
    /// Variants (size and colour with stock) per product.
    #[arg(long, default_value_t = 5,
        value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_VARIANTS)))]
    variants_per_product: u32,
    /// Tailors registered to own the products; product i belongs to tailor i % tailors.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    tailors: u32,
    /// A query string (e.g. `color=red&size=M`) to measure in place of the
    /// built-in filter mix; repeat it for a mix of your own.
    #[arg(long = "filter")]
    filters: Vec<String>,
    /// Run only this scenario (`list` or `filtered`).
    #[arg(long, value_parser = ["list", "filtered"])]
    only: Option<String>,
    #[command(flatten)]
    load: LoadArgs,
    #[command(flatten)]
    target: TargetArgs,
}

pub async fn bench_shop(args: ShopArgs) -> Result<()> {
    with_target(
        args.load.connections as usize,
        &args.target,
        async |client: &Client, api: &Arc<Api>, outbox: &Path| {
            run_shop(client, api, outbox, &args).await
        },
    )
    .await
}

/// Prepares tailors and catalog, then runs and prints both scenarios.
async fn run_shop(client: &Client, api: &Arc<Api>, outbox: &Path, args: &ShopArgs) -> Result<()> {
    if args.products > 0 {
        let tailors = prepare_users(client, api, outbox, args.tailors as usize, "tailor").await?;
        let variants = args.variants_per_product as usize;
        let products = (0..args.products as usize).map(|i| catalog::product(i, variants));
        upload_products(client, api, &tailors, products.collect()).await?;
    }
    let list = vec![format!("{}?{FIRST_PAGE}", api.catalog)];
    let mix: Vec<&str> = if args.filters.is_empty() {
        FILTERS.to_vec()
    } else {
        args.filters.iter().map(String::as_str).collect()
    };
    let filtered: Vec<String> = mix
        .iter()
        .map(|filter| format!("{}?{FIRST_PAGE}&{filter}", api.catalog))
        .collect();
    print_shares(client, &list[0], &mix, &filtered).await?;

    args.load.print_target(
        api,
        &format!(
            "products={} variants={} tailors={}",
            args.products,
            u64::from(args.products) * u64::from(args.variants_per_product),
            args.tailors
        ),
    );
    for (name, urls) in [("list", list), ("filtered", filtered)] {
        if args.only.as_ref().is_some_and(|only| only != name) {
            continue;
        }
        let urls = Arc::new(urls);
        let workers = (0..args.load.connections as usize)
            .map(|i| CatalogWorker {
                client: client.clone(),
                urls: urls.clone(),
                // Workers start at different filters, so they do not move in step.
                next: i,
            })
            .collect();
        measure(name, workers, args.load.duration()).await?.print();
    }
    Ok(())
}

/// A product as the server shows it, reduced to its variants' stock.
#[derive(Deserialize)]
pub struct ProductStock {
    pub id: String,
    pub variants: Vec<VariantStock>,
}

#[derive(Deserialize)]
pub struct VariantStock {
    pub id: String,
    pub stock: i64,
}

/// Uploads the products (product i by tailor i % tailors), at most
/// `SETUP_CONCURRENCY` uploads at a time; returns them as created, in order.
pub async fn upload_products(
    client: &Client,
    api: &Arc<Api>,
    tailors: &[Session],
    products: Vec<Value>,
) -> Result<Vec<ProductStock>> {
    let count = products.len();
    let variants: usize = products
        .iter()
        .map(|body| body["variants"].as_array().map_or(0, Vec::len))
        .sum();
    eprintln!("seeding {count} products with {variants} variants");
    let started = Instant::now();
    let created = bounded(products.into_iter().enumerate().map(|(i, body)| {
        let (client, api) = (client.clone(), api.clone());
        let access = tailors[i % tailors.len()].access.clone();
        async move {
            let request = client.post(&api.upload).bearer_auth(access).json(&body);
            expect_json(request, StatusCode::CREATED)
                .await
                .with_context(|| format!("uploading product {i}"))
        }
    }))
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "seeded    products={count} variants={variants} in {seconds:.1}s ({:.0} products/s)",
        count as f64 / seconds
    );
    Ok(created)
}

#[derive(Deserialize)]
struct PageCount {
    count: u64,
}

async fn count(client: &Client, url: &str) -> Result<u64> {
    let page: PageCount = expect_json(client.get(url), StatusCode::OK)
        .await
        .with_context(|| format!("GET {url}"))?;
    Ok(page.count)
}

/// Checks every query once, untimed, and prints the share of the catalog it selects.
async fn print_shares(
    client: &Client,
    list: &str,
    mix: &[&str],
    filtered: &[String],
) -> Result<()> {
    let total = count(client, list).await?;
    println!("catalog   count={total}; the filtered mix selects:");
    for (filter, url) in mix.iter().zip(filtered) {
        let selected = count(client, url).await?;
        let share = 100.0 * selected as f64 / total.max(1) as f64;
        println!("{:<9} {filter:<38} {selected:>6} ({share:.1}%)", "");
    }
    Ok(())
}

/// Walks through its URLs, one GET per step.
struct CatalogWorker {
    client: Client,
    urls: Arc<Vec<String>>,
    next: usize,
}

impl LoadWorker for CatalogWorker {
    async fn step(&mut self) -> Option<Result<(), Failure>> {
        let url = &self.urls[self.next % self.urls.len()];
        self.next = self.next.wrapping_add(1);
        Some(fetch(self.client.get(url)).await)
    }
}

//! `atelier-bench tailors`: seeds a directory of tailors straight into the
//! server's database (through the storage layer's entities, in batches),
//! then measures the directory with a mix of searches.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use atelier::storage::entities::{
    media, portfolio_image, portfolio_item, tailor_profile, tailor_review, user,
};
use atelier::tailors::{SKILLS, search_text_of, skills_column_of};
use chrono::{Duration as Span, Utc};
use clap::Args;
use reqwest::{Client, StatusCode};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait, TransactionTrait,
};
use serde::Deserialize;
use uuid::Uuid;

use crate::api::{Api, Failure, expect_json, fetch};
use crate::load::{LoadArgs, LoadWorker, measure};
use crate::target::{TargetArgs, with_target};
use crate::target_help;

pub const LONG_ABOUT: &str = concat!(
    "Benchmark the tailor directory (/tailor/api/list/): seeds tailors with
profiles spread over Nigerian cities (coordinates around each city's centre),
portfolio items with their images, customers and their reviews of tailors,
straight into the server's database in batches; then measures a rotating mix
of text search, skill, location, near-me (25 km around Lagos) and -rating
ordering, each on the first page of 20.

Seeding writes to the database the server uses: the one it started
(--database-url, or its SQLite file), or --seed-database-url with --url.",
    target_help!()
);

/// The kinds of search in the mix.
const KINDS: [&str; 5] = ["text", "skill", "location", "near", "rating"];

/// The mix: every kind of search over the seeded vocabulary, cities and
/// first pages (a few hundred different pages, as many people searching
/// their own cities would ask), so the bench does not measure one page
/// answered from memory again and again.
fn mix_queries() -> Vec<(&'static str, String)> {
    let mut queries = Vec::new();
    let pages = |n: u64| 1..=n;
    for term in SPECIALTIES {
        for page in pages(5) {
            queries.push((
                "text",
                format!("q={}&page={page}", term.replace(' ', "%20")),
            ));
        }
    }
    for skill in SKILLS {
        for page in pages(5) {
            queries.push(("skill", format!("skill={skill}&page={page}")));
        }
    }
    for (city, _, lat, lng, _) in CITIES {
        let city = city.to_lowercase().replace(' ', "%20");
        for page in pages(5) {
            queries.push(("location", format!("location={city}&page={page}")));
        }
        queries.push(("text", format!("q=lace&location={city}")));
        // A few points around each city centre, nearest first and best first.
        for k in 0..8u64 {
            let (dlat, dlng) = ((unit(k, 71) - 0.5) * 0.1, (unit(k, 72) - 0.5) * 0.1);
            let near = format!("near={:.4},{:.4}&radius_km=25", lat + dlat, lng + dlng);
            queries.push(("near", near.clone()));
            queries.push(("near", format!("{near}&ordering=-rating")));
        }
    }
    for ordering in ["-rating", "-reviews", "-followers", "-experience"] {
        for page in pages(10) {
            queries.push(("rating", format!("ordering={ordering}&page={page}")));
        }
    }
    queries
}

/// Rows per INSERT: well under both backends' limits on bound parameters.
const BATCH: usize = 500;

#[derive(Args)]
pub struct TailorsArgs {
    /// Tailors seeded (users with a named profile); 0 measures what the server has.
    #[arg(long, default_value_t = 20_000)]
    tailors: u32,
    /// Portfolio images, two per portfolio item, spread evenly over the tailors.
    #[arg(long, default_value_t = 200_000)]
    images: u32,
    /// Reviews of tailors, by `customers` customers (one per customer and tailor).
    #[arg(long, default_value_t = 100_000)]
    reviews: u32,
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u32).range(1..))]
    customers: u32,
    /// Also measure each kind of query of the mix on its own.
    #[arg(long)]
    each: bool,
    /// With --url: the DATABASE_URL of that server, for the seeding.
    #[arg(long, requires = "url")]
    seed_database_url: Option<String>,
    #[command(flatten)]
    load: LoadArgs,
    #[command(flatten)]
    target: TargetArgs,
}

pub async fn bench_tailors(args: TailorsArgs) -> Result<()> {
    with_target(
        args.load.connections as usize,
        &args.target,
        async |client: &Client, api: &Arc<Api>, outbox: &Path| {
            run(client, api, outbox, &args).await
        },
    )
    .await
}

async fn run(client: &Client, api: &Arc<Api>, outbox: &Path, args: &TailorsArgs) -> Result<()> {
    if args.tailors > 0 {
        let url = match (&args.seed_database_url, args.target.database_url()) {
            (Some(url), _) => url.clone(),
            (None, Some(url)) => url.to_string(),
            // The server's default: SQLite in its data folder, next to the outbox.
            (None, None) => {
                let data_dir = outbox.parent().context("the outbox has no parent folder")?;
                format!("sqlite://{}", data_dir.join("atelier.db").display())
            }
        };
        let db = atelier::storage::connect(&url, 4, std::time::Duration::from_secs(30)).await?;
        seed(&db, args).await?;
        db.close().await?;
    }
    let directory = format!("{}/tailor/api/list", api.base);
    let queries = mix_queries();
    let urls: Vec<String> = queries
        .iter()
        .map(|(_, query)| format!("{directory}?page_size=20&{query}"))
        .collect();
    println!(
        "directory count={}; the mix asks {} different pages, e.g.:",
        count(client, &directory).await?,
        urls.len()
    );
    for url in urls.iter().step_by(urls.len() / 8 + 1) {
        let query = url.split_once("page_size=20&").map_or("", |(_, q)| q);
        println!("{:<9} {query:<52} {:>6}", "", count(client, url).await?);
    }
    // Every page once before measuring, as a server that has been up for a
    // while has them: the measurement is the steady state, not the start.
    for url in &urls {
        count(client, url).await?;
    }
    args.load.print_target(
        api,
        &format!(
            "tailors={} images={} reviews={}",
            args.tailors, args.images, args.reviews
        ),
    );
    let mut scenarios: Vec<(&'static str, Vec<String>)> = vec![("directory", urls.clone())];
    if args.each {
        for name in KINDS {
            let own = queries
                .iter()
                .zip(&urls)
                .filter(|((kind, _), _)| *kind == name)
                .map(|(_, url)| url.clone())
                .collect();
            scenarios.push((name, own));
        }
    }
    for (name, urls) in scenarios {
        let urls = Arc::new(urls);
        let workers = (0..args.load.connections as usize)
            .map(|i| DirectoryWorker {
                client: client.clone(),
                urls: urls.clone(),
                next: mix(i as u64, 73) as usize,
            })
            .collect();
        let before = page_counters(client, api).await;
        measure(name, workers, args.load.duration()).await?.print();
        if let (Some(before), Some(after)) = (before, page_counters(client, api).await) {
            let asked = after.0 - before.0;
            let read = after.1 - before.1;
            println!(
                "{name:<9} pages asked {asked:.0}, read from the database {read:.0}: {:.1}% answered from memory",
                100.0 * (asked - read) / asked.max(1.0)
            );
        }
    }
    Ok(())
}

/// The server's directory page counters (asked, read from the database),
/// from its Prometheus metrics; none when it does not expose them.
async fn page_counters(client: &Client, api: &Api) -> Option<(f64, f64)> {
    let text = client
        .get(format!("{}/metrics", api.base))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    let value = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
    };
    Some((
        value("directory_pages_total")?,
        value("directory_page_reads_total").unwrap_or(0.0),
    ))
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

/// Walks through its URLs, one GET per step.
struct DirectoryWorker {
    client: Client,
    urls: Arc<Vec<String>>,
    next: usize,
}

impl LoadWorker for DirectoryWorker {
    async fn step(&mut self) -> Option<Result<(), Failure>> {
        let url = &self.urls[self.next % self.urls.len()];
        // A stride coprime with any list length below 1,009 visits every
        // URL, in an order no two workers share.
        self.next = self.next.wrapping_add(1_009);
        Some(fetch(self.client.get(url)).await)
    }
}

/// City, state, centre, and weight (Lagos has the most tailors).
const CITIES: [(&str, &str, f64, f64, u32); 16] = [
    ("Lagos", "Lagos", 6.5244, 3.3792, 30),
    ("Abuja", "FCT", 9.0765, 7.3986, 12),
    ("Kano", "Kano", 12.0022, 8.5920, 10),
    ("Ibadan", "Oyo", 7.3775, 3.9470, 8),
    ("Port Harcourt", "Rivers", 4.8156, 7.0498, 8),
    ("Benin City", "Edo", 6.3350, 5.6037, 6),
    ("Enugu", "Enugu", 6.4584, 7.5464, 5),
    ("Kaduna", "Kaduna", 10.5105, 7.4165, 5),
    ("Onitsha", "Anambra", 6.1413, 6.8020, 4),
    ("Aba", "Abia", 5.1066, 7.3667, 4),
    ("Jos", "Plateau", 9.8965, 8.8583, 3),
    ("Ilorin", "Kwara", 8.4966, 4.5426, 3),
    ("Warri", "Delta", 5.5544, 5.7932, 3),
    ("Owerri", "Imo", 5.4840, 7.0351, 3),
    ("Abeokuta", "Ogun", 7.1475, 3.3619, 3),
    ("Calabar", "Cross River", 4.9757, 8.3417, 2),
];

const SPECIALTIES: [&str; 12] = [
    "agbada",
    "aso ebi",
    "kaftan",
    "ankara",
    "lace",
    "adire",
    "buba",
    "senator",
    "iro and buba",
    "gele",
    "suits",
    "school uniforms",
];
const WORDS: [&str; 8] = [
    "Couture",
    "Stitches",
    "Atelier",
    "Tailoring",
    "Fashion House",
    "Designs",
    "Threads",
    "Bespoke",
];

/// A fixed pseudo-random number for (i, salt): the same data on every run.
fn mix(i: u64, salt: u64) -> u64 {
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt.wrapping_mul(0xD1B5_4A32_D192_ED03);
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^ (x >> 29)
}

/// In [0, 1).
fn unit(i: u64, salt: u64) -> f64 {
    (mix(i, salt) >> 11) as f64 / (1u64 << 53) as f64
}

fn city_of(i: u64) -> (&'static str, &'static str, f64, f64) {
    let total: u32 = CITIES.iter().map(|c| c.4).sum();
    let mut pick = (mix(i, 1) % u64::from(total)) as u32;
    for (city, state, lat, lng, weight) in CITIES {
        if pick < weight {
            // Around the centre: the sum of two uniforms, ±0.3° (about 33 km).
            let lat = lat + (unit(i, 2) + unit(i, 3) - 1.0) * 0.3;
            let lng = lng + (unit(i, 4) + unit(i, 5) - 1.0) * 0.3;
            return (city, state, lat, lng);
        }
        pick -= weight;
    }
    unreachable!("the pick is below the total weight")
}

fn user_row(id: Uuid, name: &str, role: &str, joined: chrono::DateTime<Utc>) -> user::ActiveModel {
    user::ActiveModel {
        id: Set(id),
        email: Set(format!("{name}@bench.atelier.test")),
        email_lower: Set(format!("{name}@bench.atelier.test")),
        username: Set(name.to_string()),
        username_lower: Set(name.to_string()),
        // No password logs in: no argon2 hash verifies against this.
        password_hash: Set("!unusable".into()),
        first_name: Set(String::new()),
        last_name: Set(String::new()),
        phone_number: Set(String::new()),
        role: Set(role.into()),
        avatar_id: Set(None),
        is_verified: Set(true),
        is_active: Set(true),
        is_staff: Set(false),
        is_superuser: Set(false),
        token_version: Set(0),
        date_joined: Set(joined),
        deleted_at: Set(None),
    }
}

fn profile_row(
    i: u64,
    id: Uuid,
    created: chrono::DateTime<Utc>,
) -> Result<tailor_profile::ActiveModel> {
    let (city, state, lat, lng) = city_of(i);
    let name = format!(
        "{} {} {}",
        [
            "Ade", "Ngozi", "Musa", "Funke", "Chidi", "Amina", "Tunde", "Efe"
        ][(mix(i, 6) % 8) as usize],
        WORDS[(mix(i, 7) % 8) as usize],
        i
    );
    let specialties: Vec<String> = (0..(1 + mix(i, 8) % 3))
        .map(|k| SPECIALTIES[(mix(i, 9 + k) % 12) as usize].to_string())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let skills: Vec<String> = SKILLS
        .iter()
        .enumerate()
        .filter(|(k, _)| mix(i, 20 + *k as u64).is_multiple_of(4))
        .map(|(_, s)| s.to_string())
        .collect();
    let bio = format!(
        "Tailor in {city}, {state}: made to measure since {}.",
        1990 + mix(i, 30) % 34
    );
    let home_visits = mix(i, 31).is_multiple_of(3);
    Ok(tailor_profile::ActiveModel {
        user_id: Set(id),
        business_name: Set(Some(name.clone())),
        search_text: Set(search_text_of(Some(&name), &specialties, &bio)),
        bio: Set(bio),
        skills: Set(skills_column_of(&skills)),
        specialties: Set(serde_json::to_string(&specialties)?),
        years_of_experience: Set((mix(i, 32) % 31) as i32),
        city: Set(city.into()),
        state: Set(state.into()),
        country: Set("NG".into()),
        latitude: Set(Some(lat)),
        longitude: Set(Some(lng)),
        in_shop_fittings: Set(mix(i, 33).is_multiple_of(2)),
        home_visits: Set(home_visits),
        home_visit_radius_km: Set(home_visits.then_some(5 + (mix(i, 34) % 30) as i32)),
        ships_nationwide: Set(mix(i, 35).is_multiple_of(2)),
        price_from: Set(Some(100_000 + (mix(i, 36) % 100) as i64 * 50_000)),
        turnaround_days: Set(Some(3 + (mix(i, 37) % 28) as i32)),
        languages: Set(r#"["English"]"#.into()),
        contact_phone: Set(format!("+23480{:08}", i)),
        is_verified_tailor: Set(mix(i, 38).is_multiple_of(5)),
        rating_avg_centi: Set(0),
        rating_count: Set(0),
        followers_count: Set((mix(i, 39) % 500) as i64),
        created_at: Set(created),
        updated_at: Set(created),
    })
}

/// Inserts the rows `make(i)` for i in 0..n, `BATCH` at a time, in one transaction.
async fn insert_all<A, E>(
    db: &DatabaseConnection,
    what: &str,
    n: u64,
    make: impl Fn(u64) -> Result<A>,
) -> Result<()>
where
    E: EntityTrait<ActiveModel = A>,
    A: sea_orm::ActiveModelTrait<Entity = E> + Send,
    E::Model: sea_orm::IntoActiveModel<A>,
{
    let started = Instant::now();
    let txn = db.begin().await?;
    let mut start = 0;
    while start < n {
        let end = (start + BATCH as u64).min(n);
        let rows = (start..end).map(&make).collect::<Result<Vec<A>>>()?;
        E::insert_many(rows)
            .exec_without_returning(&txn)
            .await
            .with_context(|| format!("inserting {what} {start}..{end}"))?;
        start = end;
    }
    txn.commit().await?;
    println!(
        "seeded    {what}={n} in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Tailors with named profiles, their portfolios (two images per item) and
/// media rows, customers and their reviews; then each tailor's rating
/// recomputed from the reviews, as the reviews' writers keep it.
async fn seed(db: &DatabaseConnection, args: &TailorsArgs) -> Result<()> {
    let (tailors, customers) = (u64::from(args.tailors), u64::from(args.customers));
    let images = u64::from(args.images);
    let reviews = u64::from(args.reviews).min(tailors * customers);
    let items = images.div_ceil(2);
    let started = Instant::now();
    let base = Utc::now() - Span::days(400);
    // Ids are made here, in creation order, so rows can point at each other.
    let tailor_ids: Vec<Uuid> = (0..tailors).map(|_| Uuid::now_v7()).collect();
    let customer_ids: Vec<Uuid> = (0..customers).map(|_| Uuid::now_v7()).collect();
    let item_ids: Vec<Uuid> = (0..items).map(|_| Uuid::now_v7()).collect();
    let media_ids: Vec<Uuid> = (0..images).map(|_| Uuid::now_v7()).collect();
    let run = Uuid::new_v4().simple().to_string()[..8].to_string();
    let joined = |i: u64| base + Span::minutes(i as i64);

    insert_all(db, "tailors", tailors, |i| {
        Ok(user_row(
            tailor_ids[i as usize],
            &format!("t{run}{i}"),
            "tailor",
            joined(i),
        ))
    })
    .await?;
    insert_all(db, "profiles", tailors, |i| {
        profile_row(i, tailor_ids[i as usize], joined(i))
    })
    .await?;
    insert_all(db, "customers", customers, |i| {
        Ok(user_row(
            customer_ids[i as usize],
            &format!("c{run}{i}"),
            "customer",
            joined(i),
        ))
    })
    .await?;
    // Item k belongs to tailor k % tailors; its images are media 2k and 2k+1.
    let owner_of_item = |k: u64| tailor_ids[(k % tailors) as usize];
    insert_all(db, "media", images, |m| {
        Ok(media::ActiveModel {
            id: Set(media_ids[m as usize]),
            owner_id: Set(owner_of_item(m / 2)),
            name: Set(format!("{}.jpg", media_ids[m as usize])),
            content_type: Set("image/jpeg".into()),
            size_bytes: Set(120_000),
            created_at: Set(base),
        })
    })
    .await?;
    insert_all(db, "portfolio_items", items, |k| {
        Ok(portfolio_item::ActiveModel {
            id: Set(item_ids[k as usize]),
            tailor_id: Set(owner_of_item(k)),
            title: Set(format!("Piece {k}")),
            description: Set(String::new()),
            tags: Set("[]".into()),
            price_indication: Set(None),
            product_id: Set(None),
            position: Set((k / tailors) as i32),
            created_at: Set(base),
            updated_at: Set(base),
        })
    })
    .await?;
    insert_all(db, "portfolio_images", images, |m| {
        Ok(portfolio_image::ActiveModel {
            item_id: Set(item_ids[(m / 2) as usize]),
            position: Set((m % 2) as i32),
            media_id: Set(media_ids[m as usize]),
        })
    })
    .await?;
    // Review r: tailor r % tailors by customer r / tailors (distinct pairs).
    insert_all(db, "reviews", reviews, |r| {
        Ok(tailor_review::ActiveModel {
            id: Set(Uuid::now_v7()),
            tailor_id: Set(tailor_ids[(r % tailors) as usize]),
            customer_id: Set(customer_ids[(r / tailors % customers) as usize]),
            rating: Set(1 + (mix(r, 40) % 5).min(mix(r, 41) % 5 + 2) as i32),
            feedback: Set("Neat work, on time.".into()),
            image_ids: Set("[]".into()),
            reply: Set(None),
            replied_at: Set(None),
            created_at: Set(base),
            updated_at: Set(base),
        })
    })
    .await?;
    let summaries = Instant::now();
    db.execute_unprepared(RATING_SUMMARIES).await?;
    println!(
        "seeded    rating summaries in {:.1}s; all in {:.1}s",
        summaries.elapsed().as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    // Fresh statistics for the planners after a bulk load (the same
    // statement on both backends).
    db.execute_unprepared("ANALYZE").await?;
    Ok(())
}

/// Every profile's rating from its reviews, as `tailors::reviews` keeps it
/// (average in hundredths, rounded half up); the same SQL on both backends.
const RATING_SUMMARIES: &str = "UPDATE tailor_profiles SET \
    rating_count = (SELECT COUNT(*) FROM tailor_reviews r WHERE r.tailor_id = tailor_profiles.user_id), \
    rating_avg_centi = (SELECT COALESCE((SUM(r.rating) * 100 + COUNT(*) / 2) / NULLIF(COUNT(*), 0), 0) \
        FROM tailor_reviews r WHERE r.tailor_id = tailor_profiles.user_id)";

//! Driving a scenario: one worker per connection, each looping over its
//! requests until the deadline, after a warm-up that is not counted.

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use tokio::task::JoinSet;

use crate::WARM_UP;
use crate::api::{Api, Failure};
use crate::stats::{Report, WorkerStats};

/// How hard and how long each scenario runs; shared by the subcommands.
#[derive(Args)]
pub struct LoadArgs {
    /// Seconds each scenario is measured, after a 1 s warm-up that is not counted.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub duration: u64,
    /// Concurrent workers, each with one request in flight at a time.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub connections: u32,
}

impl LoadArgs {
    pub fn duration(&self) -> Duration {
        Duration::from_secs(self.duration)
    }

    /// The line before the reports; `sizes` describes the prepared data.
    pub fn print_target(&self, api: &Api, sizes: &str) {
        println!(
            "target {} {sizes} connections={} duration={}s (+{}s warm-up per scenario)",
            api.base,
            self.connections,
            self.duration,
            WARM_UP.as_secs()
        );
    }
}

/// One scenario worker.
pub trait LoadWorker: Send + 'static {
    /// One timed request, or `None` after untimed housekeeping (such as a
    /// fresh login) that must not be counted.
    fn step(&mut self) -> impl Future<Output = Option<Result<(), Failure>>> + Send;
}

/// Runs the workers for the warm-up plus `duration`, and merges their stats.
pub async fn measure<W: LoadWorker>(
    name: &'static str,
    workers: Vec<W>,
    duration: Duration,
) -> Result<Report> {
    let connections = workers.len();
    let warm_up_end = Instant::now() + WARM_UP;
    let end = warm_up_end + duration;
    let mut set = JoinSet::new();
    for worker in workers {
        set.spawn(drive(worker, warm_up_end, end));
    }
    let mut stats = Vec::with_capacity(connections);
    while let Some(joined) = set.join_next().await {
        stats.push(joined.context("a worker panicked")?);
    }
    Ok(Report::new(name, connections, warm_up_end, stats))
}

/// Loops until `end`; only requests started after `warm_up_end` count.
/// The request in flight at `end` is awaited and counted.
async fn drive<W: LoadWorker>(mut worker: W, warm_up_end: Instant, end: Instant) -> WorkerStats {
    let mut stats = WorkerStats::default();
    loop {
        let started = Instant::now();
        if started >= end {
            break;
        }
        if let Some(result) = worker.step().await
            && started >= warm_up_end
        {
            stats.record(started.elapsed(), result);
        }
    }
    stats.finished = Some(Instant::now());
    stats
}

//! Latencies recorded per worker, merged into one report per scenario.

use std::time::{Duration, Instant};

use crate::api::Failure;

#[derive(Default)]
pub struct WorkerStats {
    /// Every counted request, failed ones included.
    latencies: Vec<Duration>,
    non_2xx: u64,
    errors: u64,
    pub finished: Option<Instant>,
    first_failure: Option<String>,
}

impl WorkerStats {
    pub fn record(&mut self, latency: Duration, result: Result<(), Failure>) {
        self.latencies.push(latency);
        let Err(failure) = result else {
            return;
        };
        match failure {
            Failure::Status(_) => self.non_2xx += 1,
            Failure::Transport(_) => self.errors += 1,
        }
        if self.first_failure.is_none() {
            self.first_failure = Some(failure.to_string());
        }
    }
}

pub struct Report {
    name: &'static str,
    connections: usize,
    errors: u64,
    non_2xx: u64,
    /// From the start of the measurement (the end of the warm-up) until the
    /// last worker finished.
    elapsed: Duration,
    sorted: Vec<Duration>,
    first_failure: Option<String>,
}

impl Report {
    pub fn new(
        name: &'static str,
        connections: usize,
        start: Instant,
        stats: Vec<WorkerStats>,
    ) -> Self {
        let finished = stats.iter().filter_map(|s| s.finished).max();
        let elapsed = finished.map_or(Duration::ZERO, |f| f.saturating_duration_since(start));
        let first_failure = stats.iter().find_map(|s| s.first_failure.clone());
        let errors = stats.iter().map(|s| s.errors).sum();
        let non_2xx = stats.iter().map(|s| s.non_2xx).sum();
        let mut sorted: Vec<Duration> = stats.into_iter().flat_map(|s| s.latencies).collect();
        sorted.sort_unstable();
        Report {
            name,
            connections,
            errors,
            non_2xx,
            elapsed,
            sorted,
            first_failure,
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Requests counted.
    pub fn requests(&self) -> usize {
        self.sorted.len()
    }

    /// Requests per second over the measured time.
    pub fn rps(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 {
            self.sorted.len() as f64 / seconds
        } else {
            0.0
        }
    }

    /// Nearest-rank percentile.
    pub fn percentile(&self, p: f64) -> Option<Duration> {
        let rank = ((p / 100.0) * self.sorted.len() as f64).ceil() as usize;
        self.sorted
            .get(rank.clamp(1, self.sorted.len().max(1)) - 1)
            .copied()
    }

    /// The report line, and the first failure if there was one.
    pub fn print(&self) {
        println!("{}", self.line());
        if let Some(failure) = &self.first_failure {
            println!("{:<9} first failure: {failure}", "");
        }
    }

    fn line(&self) -> String {
        let rps = self.rps();
        let ms = |d: Option<Duration>, decimals: usize| match d {
            Some(d) => format!("{:.*}ms", decimals, d.as_secs_f64() * 1000.0),
            None => "-".into(),
        };
        format!(
            "{:<9} connections={} requests={} errors={} non_2xx={} rps={rps:.1} p50={} p90={} p99={} max={}",
            self.name,
            self.connections,
            self.sorted.len(),
            self.errors,
            self.non_2xx,
            ms(self.percentile(50.0), 2),
            ms(self.percentile(90.0), 2),
            ms(self.percentile(99.0), 2),
            ms(self.sorted.last().copied(), 1),
        )
    }
}

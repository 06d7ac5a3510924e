//! Per-user send limit, kept in this process: a fixed window per user.
//! Across several instances a user gets the limit once per instance, which is
//! enough to stop a flood; nothing secret is guarded by it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::throttle::RetryAfter;

/// Entries kept before old windows are swept out.
const SWEEP_AT: usize = 10_000;

pub struct SendLimiter {
    limit: u32,
    window: Duration,
    windows: Mutex<HashMap<Uuid, (Instant, u32)>>,
}

impl SendLimiter {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Returns a send that turned out to be a retry of an earlier one.
    pub fn give_back(&self, user: Uuid) {
        if let Some((_, count)) = self.windows.lock().expect("limiter lock").get_mut(&user) {
            *count = count.saturating_sub(1);
        }
    }

    /// Counts one send, or says how long to wait.
    pub fn take(&self, user: Uuid) -> Result<(), RetryAfter> {
        if self.limit == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut windows = self.windows.lock().expect("limiter lock");
        if windows.len() >= SWEEP_AT {
            windows.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let (start, count) = windows.entry(user).or_insert((now, 0));
        if now.duration_since(*start) >= self.window {
            *start = now;
            *count = 0;
        }
        if *count >= self.limit {
            return Err(RetryAfter(self.window - now.duration_since(*start)));
        }
        *count += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_applies_per_user() {
        let limiter = SendLimiter::new(2, Duration::from_secs(60));
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert!(limiter.take(a).is_ok());
        assert!(limiter.take(a).is_ok());
        assert!(limiter.take(a).is_err());
        assert!(limiter.take(b).is_ok());
    }
}

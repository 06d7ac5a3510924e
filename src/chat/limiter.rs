//! Per-user limits on chat sends and typing frames: a fixed window per user.
//! With Redis the window is shared by every instance (one counter in Redis,
//! one round trip per request), so a user with sockets on several instances
//! gets the limit once in all, not once per instance. Without Redis there is
//! one instance, and the window is kept in this process. If Redis cannot be
//! reached, the process's own window applies meanwhile.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::broker::Fanout;
use crate::throttle::RetryAfter;

/// Entries kept before old windows are swept out.
const SWEEP_AT: usize = 10_000;

pub struct WindowLimiter {
    /// Names the counters in Redis (`atelier:chat:limit:<name>:<user>`).
    name: &'static str,
    limit: u32,
    window: Duration,
    windows: Mutex<HashMap<Uuid, (Instant, u32)>>,
}

impl WindowLimiter {
    pub fn new(name: &'static str, limit: u32, window: Duration) -> Self {
        Self {
            name,
            limit,
            window,
            windows: Mutex::new(HashMap::new()),
        }
    }

    fn key(&self, user: Uuid) -> String {
        format!("atelier:chat:limit:{}:{user}", self.name)
    }

    /// Counts one request, or says how long to wait.
    pub async fn take(&self, fanout: &Fanout, user: Uuid) -> Result<(), RetryAfter> {
        if self.limit == 0 {
            return Ok(());
        }
        match fanout.count_shared(&self.key(user), self.window).await {
            None => self.take_here(user),
            Some(Ok((count, left))) if count > u64::from(self.limit) => Err(RetryAfter(left)),
            Some(Ok(_)) => Ok(()),
            Some(Err(e)) => {
                tracing::warn!(error = %e, limit = self.name, "chat limits: cannot reach Redis");
                self.take_here(user)
            }
        }
    }

    /// Returns a request that turned out to be a retry of an earlier one.
    pub async fn give_back(&self, fanout: &Fanout, user: Uuid) {
        if self.limit == 0 {
            return;
        }
        if fanout.shared().is_some() {
            fanout.give_back_shared(&self.key(user)).await;
            return;
        }
        if let Some((_, count)) = self.windows.lock().expect("limiter lock").get_mut(&user) {
            *count = count.saturating_sub(1);
        }
    }

    fn take_here(&self, user: Uuid) -> Result<(), RetryAfter> {
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
        let limiter = WindowLimiter::new("send", 2, Duration::from_secs(60));
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert!(limiter.take_here(a).is_ok());
        assert!(limiter.take_here(a).is_ok());
        assert!(limiter.take_here(a).is_err());
        assert!(limiter.take_here(b).is_ok());
    }
}

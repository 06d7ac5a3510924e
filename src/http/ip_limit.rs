//! Per-client-address request limit for the sensitive endpoints. Coarse and
//! per process on purpose: many mobile users share one address, so the real
//! protection is the per-account counters in `crate::throttle`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{ConnectInfo, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::throttle::RetryAfter;

pub struct IpLimiter {
    per_minute: u32,
    trust_forwarded_for: bool,
    /// Address → (minute number, requests in that minute).
    windows: Mutex<HashMap<IpAddr, (u64, u32)>>,
}

const PRUNE_ABOVE: usize = 50_000;

impl IpLimiter {
    pub fn new(per_minute: u32, trust_forwarded_for: bool) -> Arc<Self> {
        Arc::new(Self {
            per_minute,
            trust_forwarded_for,
            windows: Mutex::new(HashMap::new()),
        })
    }

    pub fn check(&self, ip: IpAddr) -> Result<(), RetryAfter> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let minute = now.as_secs() / 60;
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() > PRUNE_ABOVE {
            windows.retain(|_, (m, _)| *m == minute);
        }
        let entry = windows.entry(ip).or_insert((minute, 0));
        if entry.0 != minute {
            *entry = (minute, 0);
        }
        if entry.1 >= self.per_minute {
            let wait = Duration::from_secs((minute + 1) * 60) - now;
            return Err(RetryAfter(wait.max(Duration::from_secs(1))));
        }
        entry.1 += 1;
        Ok(())
    }
}

pub async fn limit_by_ip(req: Request, next: Next) -> Response {
    let Some(limiter) = req.extensions().get::<Arc<IpLimiter>>().cloned() else {
        return next.run(req).await;
    };
    if let Some(ip) = client_address(&req, limiter.trust_forwarded_for)
        && let Err(wait) = limiter.check(ip)
    {
        return ApiError::Throttled(wait).into_response();
    }
    next.run(req).await
}

/// The peer address, or with a trusted load balancer in front, the address it
/// appended last to `X-Forwarded-For` (earlier entries are client-supplied).
fn client_address(req: &Request, trust_forwarded_for: bool) -> Option<IpAddr> {
    if trust_forwarded_for {
        let forwarded = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse::<IpAddr>().ok())
            .next_back();
        if forwarded.is_some() {
            return forwarded;
        }
    }
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

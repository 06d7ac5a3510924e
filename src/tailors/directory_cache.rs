//! Short-lived memory of what the directory's expensive statements
//! answered: the count of a filtered listing, and the profiles inside a
//! near-me circle.
//! Counting thousands of profiles, or reading every profile in a city's box,
//! on every page request would cost most of the directory's throughput (the
//! catalog made the same finding for its counts). A near-me circle is kept
//! as the sorted ids and distances of the profiles inside it.
//!
//! An entry serves for `TTL` and until a profile write through this process
//! (`TailorService::directory_changed`); writes elsewhere (another instance,
//! a review, a follow, an account verified) show within `TTL`. When an entry
//! expires one request reads it anew while the others keep the previous
//! answer, instead of all reading at once.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sea_orm::FromQueryResult;
use uuid::Uuid;

use super::{TailorError, TailorService};

/// Ids and distances (km) of the profiles inside a near-me circle, sorted.
pub type Circle = Arc<Vec<(Uuid, f64)>>;

const TTL: Duration = Duration::from_secs(2);
const MAX_COUNTS: usize = 10_000;
/// A circle holds up to every listed profile (24 bytes each): few are kept.
const MAX_CIRCLES: usize = 256;

/// A profile inside a near-me box: its position and its sort keys.
#[derive(Debug, Clone, FromQueryResult)]
pub struct Candidate {
    pub user_id: Uuid,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub rating_avg_centi: i64,
    pub rating_count: i64,
    pub followers_count: i64,
    pub years_of_experience: i32,
    pub price_from: Option<i64>,
    pub created_at: DateTime<Utc>,
}

#[derive(Default)]
pub struct DirectoryCache {
    /// Bumped by every profile write here; older entries are not used.
    version: AtomicU64,
    counts: Mutex<HashMap<String, Entry<u64>>>,
    circles: Mutex<HashMap<String, Entry<Circle>>>,
}

struct Entry<T> {
    version: u64,
    at: Instant,
    value: T,
    refreshing: bool,
}

impl DirectoryCache {
    pub fn changed(&self) {
        self.version.fetch_add(1, Ordering::SeqCst);
    }

    /// The count answered by the statement `key`.
    pub async fn count(
        &self,
        key: String,
        load: impl Future<Output = Result<u64, TailorError>>,
    ) -> Result<u64, TailorError> {
        self.remember(&self.counts, MAX_COUNTS, key, load).await
    }

    /// A near-me circle (ids and distances, sorted) for its statement,
    /// point, radius and order `key`.
    pub async fn circle(
        &self,
        key: String,
        load: impl Future<Output = Result<Circle, TailorError>>,
    ) -> Result<Circle, TailorError> {
        self.remember(&self.circles, MAX_CIRCLES, key, load).await
    }

    async fn remember<T: Clone>(
        &self,
        map: &Mutex<HashMap<String, Entry<T>>>,
        max: usize,
        key: String,
        load: impl Future<Output = Result<T, TailorError>>,
    ) -> Result<T, TailorError> {
        let version = self.version.load(Ordering::SeqCst);
        if let Ok(mut entries) = map.lock()
            && let Some(entry) = entries.get_mut(&key).filter(|e| e.version == version)
        {
            if entry.at.elapsed() < TTL || entry.refreshing {
                return Ok(entry.value.clone());
            }
            entry.refreshing = true;
        }
        let value = match load.await {
            Ok(value) => value,
            Err(err) => {
                // The next request tries again rather than this failure
                // leaving the entry marked as being refreshed.
                if let Ok(mut entries) = map.lock() {
                    entries.remove(&key);
                }
                return Err(err);
            }
        };
        if let Ok(mut entries) = map.lock() {
            if entries.len() >= max {
                entries.clear();
            }
            entries.insert(
                key,
                Entry {
                    version,
                    at: Instant::now(),
                    value: value.clone(),
                    refreshing: false,
                },
            );
        }
        Ok(value)
    }
}

impl TailorService {
    /// A profile changed through this process: the directory reads anew.
    pub(super) fn directory_changed(&self) {
        self.cache.changed();
    }
}

//! Short-lived memory of what the directory's expensive statements
//! answered: the count of a filtered listing, the profiles inside a
//! near-me circle, and whole pages.
//! A page is the same for every caller (the directory is public and reads
//! nothing of the caller), and the popular searches of a city repeat many
//! times a second: answering them again within `TTL` from memory is what
//! lets one machine serve the directory at the rate the app asks for it
//! (see the README's benchmark, which also prints the share answered from
//! memory).
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
/// A page is about 20 summaries (a few KiB).
const MAX_PAGES: usize = 4096;

/// One page of the directory as `directory` answers it (`None` past the end).
pub type Page = Arc<Option<super::DirectoryPage>>;

pub enum Remembered {
    Fresh(Page),
    /// Expired: answer it, and read it anew behind the answer.
    Stale(Page),
}

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
    pages: Mutex<HashMap<String, Entry<Page>>>,
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

    /// The remembered page for `key`: `Fresh`, or `Stale` (expired, and
    /// this caller is the one to read it anew: the others keep getting the
    /// stale page meanwhile), or none.
    pub fn page(&self, key: &str) -> Option<Remembered> {
        metrics::counter!("directory_pages_total").increment(1);
        let version = self.version.load(Ordering::SeqCst);
        let mut pages = self.pages.lock().ok()?;
        let entry = pages.get_mut(key).filter(|e| e.version == version)?;
        if entry.at.elapsed() < TTL || entry.refreshing {
            return Some(Remembered::Fresh(entry.value.clone()));
        }
        entry.refreshing = true;
        Some(Remembered::Stale(entry.value.clone()))
    }

    /// Keeps a page read from the database under `key`.
    pub fn keep_page(&self, key: String, page: Page, version: u64) {
        metrics::counter!("directory_page_reads_total").increment(1);
        if let Ok(mut pages) = self.pages.lock() {
            if pages.len() >= MAX_PAGES {
                pages.clear();
            }
            pages.insert(
                key,
                Entry {
                    version,
                    at: Instant::now(),
                    value: page,
                    refreshing: false,
                },
            );
        }
    }

    /// The version a page read now belongs to (read it before the page).
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::SeqCst)
    }

    /// A refresh that failed: the next caller tries again.
    pub fn forget_page(&self, key: &str) {
        if let Ok(mut pages) = self.pages.lock() {
            pages.remove(key);
        }
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

//! Paystack's bank list, kept in process for a day: it changes rarely, and
//! every resolve needs it to check the bank code and name the bank.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::PayoutAccountError;
use crate::wallet::transfers::{Bank, Transfers};

const FRESH_FOR: Duration = Duration::from_secs(24 * 3600);
/// After a failed fetch, callers get the old list (or a 503) this long
/// before anyone asks Paystack again, so an outage is not met by a queue of
/// requests each waiting out a timeout.
const QUIET_AFTER_FAILURE: Duration = Duration::from_secs(30);

#[derive(Default)]
pub(super) struct BankCache {
    /// Held across the fetch: one fetch at a time, the others wait for it.
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    banks: Option<(Instant, Arc<Vec<Bank>>)>,
    failed_at: Option<Instant>,
}

impl BankCache {
    /// The list, fetched when missing or older than a day. A stale list is
    /// served while Paystack is down; with none, `ProviderDown`.
    pub(super) async fn get(
        &self,
        transfers: &Transfers,
    ) -> Result<Arc<Vec<Bank>>, PayoutAccountError> {
        let mut state = self.state.lock().await;
        let stale = match &state.banks {
            Some((at, banks)) if at.elapsed() < FRESH_FOR => return Ok(banks.clone()),
            Some((_, banks)) => Some(banks.clone()),
            None => None,
        };
        if state
            .failed_at
            .is_some_and(|at| at.elapsed() < QUIET_AFTER_FAILURE)
        {
            return stale.ok_or_else(|| {
                PayoutAccountError::ProviderDown("the bank list failed moments ago".into())
            });
        }
        match transfers.list_banks().await {
            Ok(mut banks) => {
                banks.sort_by_key(|b| b.name.to_lowercase());
                let banks = Arc::new(banks);
                state.banks = Some((Instant::now(), banks.clone()));
                state.failed_at = None;
                tracing::info!(banks = banks.len(), "bank list fetched from Paystack");
                Ok(banks)
            }
            Err(failure) => {
                state.failed_at = Some(Instant::now());
                tracing::warn!(%failure, stale = stale.is_some(), "bank list fetch failed");
                stale.ok_or_else(|| PayoutAccountError::ProviderDown(failure.to_string()))
            }
        }
    }
}

//! The stand-in's lists, for reconciliation: `GET /transaction` and
//! `GET /transfer` with Paystack's `from`/`to`/`perPage`/`page` query and
//! `meta` paging. Tests seed what they list; every request is counted so a
//! test can see that all pages were read.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Ledger, MockPaystack, authorized};

#[derive(Default)]
pub(super) struct ListLedger {
    charges: Vec<Value>,
    transfers: Vec<Value>,
    /// `(path, page)` of every list request answered.
    requests: Vec<(String, u64)>,
    /// At most this many items a page, whatever `perPage` asks (Paystack
    /// caps it too): small, to make a few items span pages.
    max_per_page: Option<u64>,
}

pub(super) fn routes() -> Router<Arc<Mutex<Ledger>>> {
    Router::new()
        .route("/transaction", get(list_charges))
        .route("/transfer", get(list_transfers))
}

#[derive(Deserialize)]
struct ListQuery {
    from: Option<String>,
    to: Option<String>,
    #[serde(rename = "perPage")]
    per_page: Option<u64>,
    page: Option<u64>,
}

impl MockPaystack {
    /// Lists a charge created now, as `GET /transaction` shows it.
    pub fn seed_charge(&self, reference: &str, amount: i64, status: &str) {
        let mut ledger = self.ledger.lock().unwrap();
        let id = 5_000_000 + ledger.lists.charges.len() as u64;
        ledger.lists.charges.push(json!({
            "id": id, "domain": "test", "status": status, "reference": reference,
            "amount": amount, "currency": "NGN", "channel": "card", "gateway_response": "Successful",
            "paid_at": now(), "created_at": now(), "createdAt": now(),
            "customer": {"email": "buyer@example.com"}, "fees": 0
        }));
    }

    /// Lists a transfer created now, as `GET /transfer` shows it.
    pub fn seed_transfer(&self, reference: &str, amount: i64, status: &str) {
        let mut ledger = self.ledger.lock().unwrap();
        let n = ledger.lists.transfers.len();
        ledger.lists.transfers.push(json!({
            "integration": 428626, "domain": "test", "amount": amount, "currency": "NGN",
            "source": "balance", "reason": "Atelier payout", "recipient": {"recipient_code": "RCP_mock"},
            "status": status, "transfer_code": format!("TRF_list{n}"), "id": 9_000 + n,
            "reference": reference, "createdAt": now(), "updatedAt": now()
        }));
    }

    /// Pages hold at most `n` items from now on.
    pub fn list_pages_of(&self, n: u64) {
        self.ledger.lock().unwrap().lists.max_per_page = Some(n);
    }

    /// `(path, page)` of every list request, in order.
    pub fn list_requests(&self) -> Vec<(String, u64)> {
        self.ledger.lock().unwrap().lists.requests.clone()
    }
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

async fn list_charges(
    State(ledger): State<Arc<Mutex<Ledger>>>,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> (StatusCode, String) {
    list(&ledger, &headers, &query, "/transaction", |l| &l.charges)
}

async fn list_transfers(
    State(ledger): State<Arc<Mutex<Ledger>>>,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> (StatusCode, String) {
    list(&ledger, &headers, &query, "/transfer", |l| &l.transfers)
}

fn list(
    ledger: &Mutex<Ledger>,
    headers: &HeaderMap,
    query: &ListQuery,
    path: &str,
    items: impl Fn(&ListLedger) -> &Vec<Value>,
) -> (StatusCode, String) {
    if !authorized(headers) {
        return (
            StatusCode::UNAUTHORIZED,
            json!({"status": false, "message": "Invalid key"}).to_string(),
        );
    }
    let at = |raw: &Option<String>| {
        raw.as_deref()
            .and_then(|r| DateTime::parse_from_rfc3339(r).ok())
    };
    let (from, to) = (at(&query.from), at(&query.to));
    let mut ledger = ledger.lock().unwrap();
    let cap = ledger.lists.max_per_page.unwrap_or(100);
    let per_page = query.per_page.unwrap_or(50).clamp(1, cap);
    let page = query.page.unwrap_or(1).max(1);
    ledger.lists.requests.push((path.to_string(), page));
    let within: Vec<Value> = items(&ledger.lists)
        .iter()
        .filter(|item| {
            let Some(created) = at(&item["createdAt"].as_str().map(str::to_string)) else {
                return true;
            };
            from.is_none_or(|f| created >= f) && to.is_none_or(|t| created <= t)
        })
        .cloned()
        .collect();
    let total = within.len() as u64;
    let skipped = (page - 1) * per_page;
    let data: Vec<Value> = within
        .into_iter()
        .skip(skipped as usize)
        .take(per_page as usize)
        .collect();
    let body = json!({
        "status": true,
        "message": if path == "/transfer" { "Transfers retrieved" } else { "Transactions retrieved" },
        "data": data,
        "meta": {
            "total": total, "skipped": skipped, "perPage": per_page, "page": page,
            "pageCount": total.div_ceil(per_page).max(1)
        }
    });
    (StatusCode::OK, body.to_string())
}

//! A stand-in for Paystack's API on loopback, answering with Paystack's
//! documented JSON: `POST /transaction/initialize`, `GET /transaction/verify/:reference`,
//! `POST /refund`, and for payouts (`transfers`) `GET /bank`,
//! `GET /bank/resolve`, `POST /transferrecipient`, `POST /transfer`,
//! `GET /transfer/verify/:reference`; and for reconciliation (`lists`) the
//! lists `GET /transaction` and `GET /transfer`.

mod lists;
mod transfers;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha512;

pub use transfers::{Answer, send_transfer_webhook, transfer_event};

pub const SECRET: &str = "sk_test_atelier_mock_secret";

#[derive(Default)]
struct Ledger {
    initialized: Vec<Value>,
    /// When set, verify reports this amount instead of the one initialised.
    paid_amount: Option<i64>,
    /// Every refund request received, accepted or not.
    refunds: Vec<Value>,
    /// How the next refund requests are answered; accepted when empty.
    refund_answers: VecDeque<RefundAnswer>,
    /// The Transfers API's state (`transfers`).
    transfers: transfers::TransferLedger,
    /// What `GET /transaction` and `GET /transfer` list (`lists`).
    lists: lists::ListLedger,
}

/// A scripted answer to a refund request.
#[derive(Clone, Copy)]
pub enum RefundAnswer {
    /// 503: Paystack is down for a moment.
    Busy,
    /// 400 with Paystack's message for a transaction refunded already.
    AlreadyReversed,
    /// 200 with a body that is not JSON: nobody can tell what happened.
    Garbled,
}

#[derive(Clone)]
pub struct MockPaystack {
    pub url: String,
    ledger: Arc<Mutex<Ledger>>,
}

impl MockPaystack {
    pub async fn start() -> Self {
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let app = Router::new()
            .route("/transaction/initialize", post(initialize))
            .route("/transaction/verify/{reference}", get(verify))
            .route("/refund", post(refund))
            .merge(transfers::routes())
            .merge(lists::routes())
            .with_state(ledger.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, ledger }
    }

    pub fn initialized(&self) -> Vec<Value> {
        self.ledger.lock().unwrap().initialized.clone()
    }

    pub fn report_paid_amount(&self, amount: Option<i64>) {
        self.ledger.lock().unwrap().paid_amount = amount;
    }

    pub fn refunds(&self) -> Vec<Value> {
        self.ledger.lock().unwrap().refunds.clone()
    }

    /// Answers the next refund requests with these, in order.
    pub fn answer_refunds(&self, answers: &[RefundAnswer]) {
        self.ledger.lock().unwrap().refund_answers.extend(answers);
    }
}

fn authorized(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {SECRET}"))
}

async fn initialize(
    State(ledger): State<Arc<Mutex<Ledger>>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    if !authorized(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"status": false, "message": "Invalid key"})),
        );
    }
    let reference = body["reference"].as_str().unwrap_or_default().to_string();
    ledger.lock().unwrap().initialized.push(body);
    (
        StatusCode::OK,
        Json(json!({
            "status": true,
            "message": "Authorization URL created",
            "data": {"authorization_url": format!("https://checkout.paystack.com/{reference}"), "access_code": "0peioxfhpn", "reference": reference}
        })),
    )
}

async fn verify(
    State(ledger): State<Arc<Mutex<Ledger>>>,
    headers: HeaderMap,
    Path(reference): Path<String>,
) -> (StatusCode, Json<Value>) {
    if !authorized(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"status": false, "message": "Invalid key"})),
        );
    }
    let ledger = ledger.lock().unwrap();
    let Some(initialized) = ledger
        .initialized
        .iter()
        .find(|b| b["reference"] == reference.as_str())
    else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"status": false, "message": "Transaction reference not found"})),
        );
    };
    let amount = ledger
        .paid_amount
        .unwrap_or_else(|| initialized["amount"].as_i64().unwrap());
    (
        StatusCode::OK,
        Json(json!({
            "status": true,
            "message": "Verification successful",
            "data": {"id": 4099260516u64, "status": "success", "reference": reference, "amount": amount, "currency": "NGN", "channel": "card"}
        })),
    )
}

async fn refund(
    State(ledger): State<Arc<Mutex<Ledger>>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, String) {
    if !authorized(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            json!({"status": false, "message": "Invalid key"}).to_string(),
        );
    }
    let mut ledger = ledger.lock().unwrap();
    ledger.refunds.push(body.clone());
    let id = ledger.refunds.len();
    match ledger.refund_answers.pop_front() {
        Some(RefundAnswer::Busy) => (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"status": false, "message": "Service unavailable"}).to_string(),
        ),
        Some(RefundAnswer::AlreadyReversed) => (
            StatusCode::BAD_REQUEST,
            json!({"status": false, "message": "Transaction has been fully reversed"}).to_string(),
        ),
        Some(RefundAnswer::Garbled) => (StatusCode::OK, "<html>upstream reset</html>".into()),
        None => (
            StatusCode::OK,
            json!({
                "status": true,
                "message": "Refund has been queued for processing",
                "data": {
                    "transaction": {"reference": body["transaction"], "amount": body["amount"], "currency": "NGN"},
                    "integration": 428626, "deducted_amount": 0, "channel": null,
                    "merchant_note": "Refund for transaction", "customer_note": "Refund for transaction",
                    "status": "pending", "refunded_by": "ops@atelier.test", "expected_at": "2026-12-01T10:00:00.000Z",
                    "currency": "NGN", "domain": "test", "amount": body["amount"], "fully_deducted": false,
                    "id": 1_000 + id, "createdAt": "2026-11-24T10:00:00.000Z", "updatedAt": "2026-11-24T10:00:00.000Z"
                }
            })
            .to_string(),
        ),
    }
}

/// A `charge.success` event as Paystack sends it, and its signature.
pub fn charge_success(reference: &str, amount: i64, currency: &str) -> (String, String) {
    let body = json!({
        "event": "charge.success",
        "data": {"id": 302961, "status": "success", "reference": reference, "amount": amount, "currency": currency, "channel": "card"}
    })
    .to_string();
    let signature = sign(&body, SECRET);
    (body, signature)
}

pub fn sign(body: &str, secret: &str) -> String {
    let mut mac = Hmac::<Sha512>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

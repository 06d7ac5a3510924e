//! A stand-in for Paystack's API on loopback, answering with Paystack's
//! documented JSON: `POST /transaction/initialize`, `GET /transaction/verify/:reference`.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha512;

pub const SECRET: &str = "sk_test_atelier_mock_secret";

#[derive(Default)]
struct Ledger {
    initialized: Vec<Value>,
    /// When set, verify reports this amount instead of the one initialised.
    paid_amount: Option<i64>,
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

//! The stand-in's Transfers API: the bank list (two cursor pages, counted),
//! account resolution for a few known accounts (422 otherwise), transfer
//! recipients (`RCP_...`), transfers recorded and answered as scripted, their
//! verification, and signed `transfer.*` webhooks sent to the server.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{Ledger, MockPaystack, SECRET, authorized, sign};
use crate::helpers::TestApp;

/// Accounts the stand-in's banks know: (bank code, account number, name).
const KNOWN_ACCOUNTS: &[(&str, &str, &str)] = &[
    ("058", "0123456789", "ADA OBI"),
    ("044", "1234567890", "CHIDI OKAFOR"),
    ("057", "2222222222", "NGOZI EZE"),
];

/// (name, code, type, active, deleted).
type BankRow = (&'static str, &'static str, &'static str, bool, bool);

/// The bank list, over two cursor pages.
const BANKS: &[&[BankRow]] = &[
    &[
        ("Access Bank", "044", "nuban", true, false),
        ("Guaranty Trust Bank", "058", "nuban", true, false),
        ("Closed Bank", "999", "nuban", false, false),
    ],
    &[
        ("Zenith Bank", "057", "nuban", true, false),
        ("Removed Bank", "998", "nuban", true, true),
    ],
];

/// A scripted answer to one request.
#[derive(Clone, Copy, Debug)]
pub enum Answer {
    /// 400 with `"status": false` (for a transfer: insufficient balance).
    Refused,
    /// 500 with Paystack's error envelope.
    ServerError,
    /// 200 with a body that is not JSON.
    Garbled,
    /// No answer for a minute (longer than any client waits).
    Hang,
    /// 500, and the transfer is not kept: it never reached Paystack's
    /// books, so verify will not find it.
    Lost,
    /// 200: the transfer taken, already in this status (`success`, `otp`,
    /// `failed`...); verify reports the same.
    Status(&'static str),
}

#[derive(Default)]
pub(super) struct TransferLedger {
    /// First-page requests of the bank list: one per fetch of the whole list.
    bank_list_fetches: usize,
    bank_answers: VecDeque<Answer>,
    resolve_answers: VecDeque<Answer>,
    recipients: Vec<Value>,
    transfers: Vec<Value>,
    transfer_answers: VecDeque<Answer>,
    /// Verify's answer per reference; `pending` when unset.
    statuses: HashMap<String, String>,
    /// The most transfers ever unsettled at once (not yet `success`,
    /// `failed` or `reversed` by `set_transfer_status`) when one arrived.
    max_unsettled: usize,
}

fn settled(status: Option<&String>) -> bool {
    matches!(
        status.map(String::as_str),
        Some("success" | "failed" | "reversed")
    )
}

type Shared = Arc<Mutex<Ledger>>;

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/bank", get(banks))
        .route("/bank/resolve", get(resolve))
        .route("/transferrecipient", post(recipient))
        .route("/transfer", post(transfer))
        .route("/transfer/verify/{reference}", get(verify))
}

impl MockPaystack {
    pub fn bank_list_fetches(&self) -> usize {
        self.ledger.lock().unwrap().transfers.bank_list_fetches
    }

    /// Answers the next bank-list requests with these, in order.
    pub fn answer_banks(&self, answers: &[Answer]) {
        let mut ledger = self.ledger.lock().unwrap();
        ledger.transfers.bank_answers.extend(answers);
    }

    /// Answers the next resolve requests with these, in order.
    pub fn answer_resolves(&self, answers: &[Answer]) {
        let mut ledger = self.ledger.lock().unwrap();
        ledger.transfers.resolve_answers.extend(answers);
    }

    /// Every recipient-creation request received.
    pub fn recipients(&self) -> Vec<Value> {
        self.ledger.lock().unwrap().transfers.recipients.clone()
    }

    /// Every transfer request received, answered or not (a reused reference
    /// is refused and not recorded).
    pub fn transfers(&self) -> Vec<Value> {
        self.ledger.lock().unwrap().transfers.transfers.clone()
    }

    /// Answers the next transfer requests with these, in order; accepted
    /// (`pending`) when none is left.
    pub fn answer_transfers(&self, answers: &[Answer]) {
        let mut ledger = self.ledger.lock().unwrap();
        ledger.transfers.transfer_answers.extend(answers);
    }

    /// The most transfers unsettled at once when one arrived (see
    /// `set_transfer_status`).
    pub fn max_unsettled_transfers(&self) -> usize {
        self.ledger.lock().unwrap().transfers.max_unsettled
    }

    /// References of transfers received and not settled yet.
    pub fn unsettled_transfers(&self) -> Vec<String> {
        let ledger = self.ledger.lock().unwrap();
        let t = &ledger.transfers;
        t.transfers
            .iter()
            .filter_map(|b| b["reference"].as_str())
            .filter(|r| !settled(t.statuses.get(*r)))
            .map(str::to_string)
            .collect()
    }

    /// What verify reports for `reference` from now on (`success`, `failed`, ...).
    pub fn set_transfer_status(&self, reference: &str, status: &str) {
        let mut ledger = self.ledger.lock().unwrap();
        ledger
            .transfers
            .statuses
            .insert(reference.to_string(), status.to_string());
    }
}

fn refused(status: StatusCode, message: &str) -> (StatusCode, String) {
    (
        status,
        json!({"status": false, "message": message}).to_string(),
    )
}

fn ok(message: &str, data: Value) -> (StatusCode, String) {
    (
        StatusCode::OK,
        json!({"status": true, "message": message, "data": data}).to_string(),
    )
}

/// The scripted answer, if any, as a response (`Hang` waits first).
async fn scripted(answer: Option<Answer>, refusal: &str) -> Option<(StatusCode, String)> {
    Some(match answer? {
        Answer::Status(_) => return None,
        Answer::Lost => refused(StatusCode::INTERNAL_SERVER_ERROR, "An error occurred"),
        Answer::Refused => refused(StatusCode::BAD_REQUEST, refusal),
        Answer::ServerError => refused(StatusCode::INTERNAL_SERVER_ERROR, "An error occurred"),
        Answer::Garbled => (StatusCode::OK, "<html>upstream reset</html>".into()),
        Answer::Hang => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            refused(StatusCode::GATEWAY_TIMEOUT, "late")
        }
    })
}

fn bank_json(name: &str, code: &str, kind: &str, active: bool, deleted: bool, id: usize) -> Value {
    json!({
        "name": name, "slug": name.to_lowercase().replace(' ', "-"), "code": code,
        "longcode": format!("{code}150149"), "gateway": null, "pay_with_bank": false,
        "supports_transfer": true, "active": active, "is_deleted": deleted,
        "country": "Nigeria", "currency": "NGN", "type": kind, "id": id,
        "createdAt": "2016-07-14T10:04:29.000Z", "updatedAt": "2024-02-20T10:10:10.000Z"
    })
}

fn bank_name(code: &str) -> Option<&'static str> {
    BANKS
        .iter()
        .flat_map(|page| page.iter())
        .find(|b| b.1 == code)
        .map(|b| b.0)
}

async fn banks(
    State(ledger): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> (StatusCode, String) {
    if !authorized(&headers) {
        return refused(StatusCode::UNAUTHORIZED, "Invalid key");
    }
    let answer = {
        let mut ledger = ledger.lock().unwrap();
        if !query.contains_key("next") {
            ledger.transfers.bank_list_fetches += 1;
        }
        ledger.transfers.bank_answers.pop_front()
    };
    if let Some(response) = scripted(answer, "Invalid country").await {
        return response;
    }
    if query.get("country").map(String::as_str) != Some("nigeria") {
        return refused(StatusCode::BAD_REQUEST, "Invalid country");
    }
    let page = usize::from(query.get("next").map(String::as_str) == Some("YmFuazoy"));
    let data: Vec<Value> = BANKS[page]
        .iter()
        .enumerate()
        .map(|(i, b)| bank_json(b.0, b.1, b.2, b.3, b.4, page * 10 + i + 1))
        .collect();
    let next = (page == 0).then_some("YmFuazoy");
    (
        StatusCode::OK,
        json!({
            "status": true, "message": "Banks retrieved", "data": data,
            "meta": {"next": next, "previous": null, "perPage": 100}
        })
        .to_string(),
    )
}

fn known(bank_code: &str, account_number: &str) -> Option<&'static str> {
    KNOWN_ACCOUNTS
        .iter()
        .find(|a| a.0 == bank_code && a.1 == account_number)
        .map(|a| a.2)
}

async fn resolve(
    State(ledger): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> (StatusCode, String) {
    if !authorized(&headers) {
        return refused(StatusCode::UNAUTHORIZED, "Invalid key");
    }
    let answer = ledger.lock().unwrap().transfers.resolve_answers.pop_front();
    if let Some(response) = scripted(answer, "Unknown bank code").await {
        return response;
    }
    let number = query.get("account_number").cloned().unwrap_or_default();
    let bank = query.get("bank_code").cloned().unwrap_or_default();
    match known(&bank, &number) {
        Some(name) => ok(
            "Account number resolved",
            json!({"account_number": number, "account_name": name, "bank_id": 9}),
        ),
        None => refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Could not resolve account name. Check parameters or try again.",
        ),
    }
}

async fn recipient(
    State(ledger): State<Shared>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> (StatusCode, String) {
    if !authorized(&headers) {
        return refused(StatusCode::UNAUTHORIZED, "Invalid key");
    }
    let number = body["account_number"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let bank = body["bank_code"].as_str().unwrap_or_default().to_string();
    let id = {
        let mut ledger = ledger.lock().unwrap();
        ledger.transfers.recipients.push(body.clone());
        ledger.transfers.recipients.len()
    };
    let Some(name) = known(&bank, &number).filter(|_| body["type"] == "nuban") else {
        return refused(StatusCode::BAD_REQUEST, "Account number is invalid");
    };
    ok(
        "Transfer recipient created successfully",
        json!({
            "active": true, "createdAt": "2026-11-24T10:00:00.000Z", "currency": "NGN",
            "domain": "test", "id": 6_788_000 + id, "integration": 428626, "name": body["name"],
            "recipient_code": format!("RCP_mock{id:010}"), "type": "nuban",
            "updatedAt": "2026-11-24T10:00:00.000Z", "is_deleted": false,
            "details": {
                "authorization_code": null, "account_number": number, "account_name": name,
                "bank_code": bank, "bank_name": bank_name(&bank)
            }
        }),
    )
}

fn transfer_json(body: &Value, status: &str, id: usize) -> Value {
    json!({
        "transfersessionid": [], "transfertrials": [], "domain": "test",
        "amount": body["amount"], "currency": "NGN", "reference": body["reference"],
        "source": "balance", "source_details": null, "reason": body["reason"],
        "status": status, "failures": null, "transfer_code": format!("TRF_mock{id:08}"),
        "titan_code": null, "transferred_at": null, "id": 860_000_000 + id,
        "integration": 428626, "request": 1_068_000_000 + id, "recipient": 56824902,
        "createdAt": "2026-11-24T10:00:00.000Z", "updatedAt": "2026-11-24T10:00:00.000Z"
    })
}

async fn transfer(
    State(ledger): State<Shared>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> (StatusCode, String) {
    if !authorized(&headers) {
        return refused(StatusCode::UNAUTHORIZED, "Invalid key");
    }
    let (answer, id) = {
        let mut ledger = ledger.lock().unwrap();
        let reused = ledger
            .transfers
            .transfers
            .iter()
            .any(|t| t["reference"] == body["reference"]);
        if reused {
            return refused(StatusCode::BAD_REQUEST, "Duplicate Transfer Reference");
        }
        let answer = ledger.transfers.transfer_answers.pop_front();
        if matches!(answer, Some(Answer::Lost)) {
            return refused(StatusCode::INTERNAL_SERVER_ERROR, "An error occurred");
        }
        ledger.transfers.transfers.push(body.clone());
        let reference = body["reference"].as_str().unwrap_or_default().to_string();
        if let Some(Answer::Status(status)) = answer {
            ledger.transfers.statuses.insert(reference, status.into());
        }
        let t = &mut ledger.transfers;
        let unsettled = t
            .transfers
            .iter()
            .filter(|b| !settled(b["reference"].as_str().and_then(|r| t.statuses.get(r))))
            .count();
        t.max_unsettled = t.max_unsettled.max(unsettled);
        let id = t.transfers.len();
        (answer, id)
    };
    if let Some(Answer::Status(status)) = answer {
        return ok("Transfer has been queued", transfer_json(&body, status, id));
    }
    let refusal = "Your balance is not enough to fulfil this request";
    if let Some(response) = scripted(answer, refusal).await {
        return response;
    }
    ok(
        "Transfer has been queued",
        transfer_json(&body, "pending", id),
    )
}

async fn verify(
    State(ledger): State<Shared>,
    headers: HeaderMap,
    Path(reference): Path<String>,
) -> (StatusCode, String) {
    if !authorized(&headers) {
        return refused(StatusCode::UNAUTHORIZED, "Invalid key");
    }
    let ledger = ledger.lock().unwrap();
    let found = ledger
        .transfers
        .transfers
        .iter()
        .enumerate()
        .find(|(_, t)| t["reference"] == reference.as_str());
    let Some((index, body)) = found else {
        return refused(StatusCode::NOT_FOUND, "Transfer not found");
    };
    let status = ledger
        .transfers
        .statuses
        .get(&reference)
        .map_or("pending", String::as_str);
    ok("Transfer retrieved", transfer_json(body, status, index + 1))
}

/// A `transfer.success`, `transfer.failed` or `transfer.reversed` event as
/// Paystack sends it, and its signature.
pub fn transfer_event(event: &str, reference: &str, amount: i64) -> (String, String) {
    let status = match event {
        "transfer.success" => "success",
        "transfer.failed" => "failed",
        "transfer.reversed" => "reversed",
        other => panic!("not a transfer event: {other}"),
    };
    let body = json!({
        "event": event,
        "data": {
            "amount": amount, "currency": "NGN", "domain": "test", "failures": null,
            "id": 37272792, "integration": {"id": 463433, "is_live": false, "business_name": "Atelier"},
            "reason": "Atelier payout", "reference": reference, "source": "balance",
            "source_details": null, "status": status, "titan_code": null,
            "transfer_code": "TRF_mockwebhook", "transferred_at": null,
            "recipient": {
                "active": true, "currency": "NGN", "description": "", "domain": "test",
                "email": null, "id": 8690817, "integration": 463433, "metadata": null,
                "name": "ADA OBI", "recipient_code": "RCP_mock0000000001", "type": "nuban",
                "is_deleted": false,
                "details": {"account_number": "0123456789", "account_name": "ADA OBI", "bank_code": "058", "bank_name": "Guaranty Trust Bank"}
            },
            "session": {"provider": null, "id": null},
            "created_at": "2026-11-24T10:00:00.000Z", "updated_at": "2026-11-24T10:00:05.000Z"
        }
    })
    .to_string();
    let signature = sign(&body, SECRET);
    (body, signature)
}

/// Sends the transfer event to the server's Paystack webhook, signed as
/// Paystack signs it; returns the server's status.
pub async fn send_transfer_webhook(
    app: &TestApp,
    event: &str,
    reference: &str,
    amount: i64,
) -> StatusCode {
    let (body, signature) = transfer_event(event, reference, amount);
    app.client
        .post(app.url("/shop/api/payments/webhook/paystack/"))
        .header("content-type", "application/json")
        .header("x-paystack-signature", signature)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
}

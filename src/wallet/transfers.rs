//! Paystack's Transfers API: banks, account resolution, transfer recipients,
//! transfers and their verification. It shares the shop's Paystack client
//! (connection pool, base URL, secret key).
//!
//! Every call's failure says what it means for a retry ([`ProviderFailure`]):
//! Paystack certainly said no, the request certainly never left, or nobody
//! can tell. A transfer whose outcome is unknown may have moved money, so it
//! must be verified (`verify_transfer`), never sent again blindly.
//!
//! Account numbers travel in the query string of `/bank/resolve`; reqwest's
//! errors name the URL, so every error here is stripped of it before it can
//! reach a message or a log line.

use std::time::Duration;

use reqwest::{Method, RequestBuilder, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::store::Paystack;

/// The currency every payout is in.
pub const CURRENCY: &str = "NGN";
/// Most pages of the bank list followed (100 banks each).
const MAX_BANK_PAGES: usize = 10;

/// Why a call did not give an answer, by what it means for a retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderFailure {
    /// Paystack answered no (a 4xx with `"status": false`): nothing happened.
    Refused { status: u16, message: String },
    /// The request never reached Paystack (no connection): nothing happened.
    NotSent(String),
    /// Timeout, 5xx, or an answer nobody can read: it may or may not have
    /// taken effect. For a transfer: verify, never resend blindly.
    Unknown(String),
}

impl ProviderFailure {
    /// Paystack certainly did nothing (refused, or never reached).
    pub fn nothing_happened(&self) -> bool {
        !matches!(self, ProviderFailure::Unknown(_))
    }

    /// A refusal because the thing asked about does not exist (verify of an
    /// unknown reference, resolve of an unknown account).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            ProviderFailure::Refused {
                status: 404 | 422,
                ..
            }
        )
    }
}

impl std::fmt::Display for ProviderFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProviderFailure::Refused { status, message } => {
                write!(f, "refused ({status}): {message}")
            }
            ProviderFailure::NotSent(why) => write!(f, "not sent: {why}"),
            ProviderFailure::Unknown(why) => write!(f, "outcome unknown: {why}"),
        }
    }
}

#[derive(Deserialize)]
struct Envelope<T> {
    status: bool,
    #[serde(default)]
    message: String,
    data: Option<T>,
    #[serde(default)]
    meta: Option<Meta>,
}

#[derive(Deserialize, Default)]
struct Meta {
    /// The cursor of the next page of a list; null on the last.
    next: Option<String>,
}

/// A bank transfers can go to.
#[derive(Debug, Clone, Deserialize)]
pub struct Bank {
    pub name: String,
    pub code: String,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(default)]
    pub is_deleted: bool,
    /// `nuban` for Nigerian bank accounts.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

fn yes() -> bool {
    true
}

/// The bank's record of an account (its number is not kept from it).
#[derive(Debug, Clone, Deserialize)]
pub struct ResolvedAccount {
    pub account_name: String,
}

/// A transfer recipient Paystack created.
#[derive(Debug, Clone, Deserialize)]
pub struct Recipient {
    /// `RCP_...`: what transfers are sent to.
    pub recipient_code: String,
    #[serde(default)]
    pub details: Option<RecipientDetails>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RecipientDetails {
    #[serde(default)]
    pub bank_name: Option<String>,
    #[serde(default)]
    pub account_name: Option<String>,
}

/// A transfer to send: our own reference makes a resend of the same
/// transfer recognisable to Paystack and to us.
pub struct TransferRequest<'a> {
    pub amount_kobo: i64,
    /// `RCP_...`
    pub recipient_code: &'a str,
    /// Ours, unique per transfer: 16–50 lowercase letters, digits, `-` and `_`.
    pub reference: &'a str,
    pub reason: &'a str,
}

/// Where a transfer stands, as Paystack reports it.
#[derive(Debug, Clone, Deserialize)]
pub struct Transfer {
    pub reference: String,
    /// `pending`, `success`, `failed`, `reversed`, `otp`, `abandoned`, ...
    pub status: String,
    pub amount: i64,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub transfer_code: Option<String>,
}

/// What a transfer's status means for the money.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferState {
    /// Money left the balance and arrived.
    Succeeded,
    /// It never went, or came back: the amount is free again.
    Failed,
    /// Still on its way: wait for the webhook or ask again.
    InFlight,
    /// Waiting for an OTP (transfer OTPs are on in the Paystack dashboard):
    /// it does not move until a person finalises or abandons it.
    NeedsOtp,
}

impl Transfer {
    pub fn state(&self) -> TransferState {
        match self.status.as_str() {
            "success" => TransferState::Succeeded,
            "failed" | "reversed" | "abandoned" | "rejected" | "blocked" => TransferState::Failed,
            "otp" => TransferState::NeedsOtp,
            _ => TransferState::InFlight,
        }
    }
}

/// Paystack's Transfers API over the shop's client.
#[derive(Clone)]
pub struct Transfers {
    paystack: Paystack,
    /// Overrides the client's timeout (tests use a short one).
    timeout: Option<Duration>,
}

impl Transfers {
    pub fn new(paystack: Paystack) -> Self {
        Self {
            paystack,
            timeout: None,
        }
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let request = self.paystack.request(method, path);
        match self.timeout {
            Some(timeout) => request.timeout(timeout),
            None => request,
        }
    }

    /// Nigerian banks that take NGN transfers to a NUBAN account, every page.
    pub async fn list_banks(&self) -> Result<Vec<Bank>, ProviderFailure> {
        let mut banks = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_BANK_PAGES {
            let mut request = self.request(Method::GET, "/bank").query(&[
                ("country", "nigeria"),
                ("currency", CURRENCY),
                ("perPage", "100"),
                ("use_cursor", "true"),
            ]);
            if let Some(next) = &cursor {
                request = request.query(&[("next", next)]);
            }
            let (page, meta): (Vec<Bank>, _) = send(request).await?;
            banks.extend(page.into_iter().filter(|b| {
                b.active && !b.is_deleted && b.kind.as_deref().is_none_or(|k| k == "nuban")
            }));
            match meta.and_then(|m| m.next).filter(|n| !n.is_empty()) {
                Some(next) => cursor = Some(next),
                None => return Ok(banks),
            }
        }
        Err(ProviderFailure::Unknown(format!(
            "the bank list has more than {MAX_BANK_PAGES} pages"
        )))
    }

    /// The name on the account `account_number` at the bank `bank_code`.
    pub async fn resolve_account(
        &self,
        account_number: &str,
        bank_code: &str,
    ) -> Result<ResolvedAccount, ProviderFailure> {
        let request = self
            .request(Method::GET, "/bank/resolve")
            .query(&[("account_number", account_number), ("bank_code", bank_code)]);
        Ok(send(request).await?.0)
    }

    /// Registers the account as a `nuban` transfer recipient.
    pub async fn create_transfer_recipient(
        &self,
        name: &str,
        account_number: &str,
        bank_code: &str,
    ) -> Result<Recipient, ProviderFailure> {
        let body = json!({
            "type": "nuban",
            "name": name,
            "account_number": account_number,
            "bank_code": bank_code,
            "currency": CURRENCY,
        });
        let request = self.request(Method::POST, "/transferrecipient").json(&body);
        Ok(send(request).await?.0)
    }

    /// Sends money from the Paystack balance. `Ok` means Paystack took it
    /// (its status may still be `pending`); see [`ProviderFailure`] for the
    /// rest. A refusal because the reference is taken is `Unknown`, not
    /// `Refused`: a transfer with that reference exists and may have paid.
    pub async fn initiate_transfer(
        &self,
        transfer: &TransferRequest<'_>,
    ) -> Result<Transfer, ProviderFailure> {
        let body = json!({
            "source": "balance",
            "amount": transfer.amount_kobo,
            "currency": CURRENCY,
            "recipient": transfer.recipient_code,
            "reference": transfer.reference,
            "reason": transfer.reason,
        });
        let request = self.request(Method::POST, "/transfer").json(&body);
        match send(request).await {
            Ok((transfer, _)) => Ok(transfer),
            Err(ProviderFailure::Refused { status, message }) if names_duplicate(&message) => {
                Err(ProviderFailure::Unknown(format!(
                    "reference already used ({status}): {message}; verify it"
                )))
            }
            Err(other) => Err(other),
        }
    }

    /// Asks where the transfer with our `reference` stands. A `Refused` with
    /// [`ProviderFailure::is_not_found`] means Paystack has no such transfer.
    pub async fn verify_transfer(&self, reference: &str) -> Result<Transfer, ProviderFailure> {
        let path = format!("/transfer/verify/{}", urlencode(reference));
        Ok(send(self.request(Method::GET, &path)).await?.0)
    }
}

/// Sends the request and sorts its outcome (see [`ProviderFailure`]).
async fn send<T: DeserializeOwned>(
    request: RequestBuilder,
) -> Result<(T, Option<Meta>), ProviderFailure> {
    let response = match request.send().await {
        Ok(response) => response,
        Err(e) if e.is_connect() => {
            return Err(ProviderFailure::NotSent(e.without_url().to_string()));
        }
        Err(e) => return Err(ProviderFailure::Unknown(e.without_url().to_string())),
    };
    let status = response.status();
    let text = match response.text().await {
        Ok(text) => text,
        Err(e) => {
            return Err(ProviderFailure::Unknown(format!(
                "answer cut off ({status}): {}",
                e.without_url()
            )));
        }
    };
    classify(status, &text)
}

fn classify<T: DeserializeOwned>(
    status: StatusCode,
    body: &str,
) -> Result<(T, Option<Meta>), ProviderFailure> {
    let unknown = |why: &str| ProviderFailure::Unknown(format!("{why} ({status})"));
    if status.is_server_error() {
        return Err(unknown("server error"));
    }
    let envelope: Envelope<T> = match serde_json::from_str(body) {
        Ok(envelope) => envelope,
        // A 4xx body that is not Paystack's (a proxy's page) proves nothing.
        Err(_) => return Err(unknown("unreadable answer")),
    };
    match envelope {
        Envelope {
            status: true,
            data: Some(data),
            meta,
            ..
        } if status.is_success() => Ok((data, meta)),
        Envelope {
            status: false,
            message,
            ..
        } if status.is_client_error() => Err(ProviderFailure::Refused {
            status: status.as_u16(),
            message: mask_numbers(&message),
        }),
        _ => Err(unknown("unexpected answer")),
    }
}

/// Paystack's refusal of a reused reference ("Duplicate Transfer
/// Reference"; matched loosely, its wording is not a documented contract).
fn names_duplicate(message: &str) -> bool {
    let message = message.to_lowercase();
    message.contains("reference") && (message.contains("duplicate") || message.contains("exist"))
}

/// Paystack's messages are logged; should one ever quote an account
/// number, only its last 4 digits remain.
fn mask_numbers(message: &str) -> String {
    let mut masked = String::with_capacity(message.len());
    let mut digits = String::new();
    let flush = |digits: &mut String, masked: &mut String| {
        if digits.len() >= 8 {
            masked.push_str(&"*".repeat(digits.len() - 4));
            masked.push_str(&digits[digits.len() - 4..]);
        } else {
            masked.push_str(digits);
        }
        digits.clear();
    };
    for c in message.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush(&mut digits, &mut masked);
            masked.push(c);
        }
    }
    flush(&mut digits, &mut masked);
    masked
}

/// Our references are plain already; this keeps a bad one from changing the path.
fn urlencode(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(status: u16, body: &str) -> Result<ResolvedAccount, ProviderFailure> {
        classify::<ResolvedAccount>(StatusCode::from_u16(status).unwrap(), body).map(|(d, _)| d)
    }

    #[test]
    fn outcomes_are_sorted_by_what_a_retry_may_do() {
        let ok = r#"{"status":true,"message":"ok","data":{"account_name":"ADA OBI"}}"#;
        assert_eq!(outcome(200, ok).unwrap().account_name, "ADA OBI");
        let no = r#"{"status":false,"message":"Could not resolve account name"}"#;
        assert!(matches!(
            outcome(422, no),
            Err(ProviderFailure::Refused { status: 422, .. })
        ));
        assert!(matches!(outcome(502, no), Err(ProviderFailure::Unknown(_))));
        assert!(matches!(
            outcome(400, "<html>bad gateway</html>"),
            Err(ProviderFailure::Unknown(_))
        ));
        assert!(matches!(
            outcome(200, r#"{"status":false,"message":"?"}"#),
            Err(ProviderFailure::Unknown(_))
        ));
        assert!(matches!(
            outcome(200, "{"),
            Err(ProviderFailure::Unknown(_))
        ));
    }

    #[test]
    fn transfer_statuses_map_to_what_they_mean_for_the_money() {
        let transfer = |status: &str| Transfer {
            reference: "r".into(),
            status: status.into(),
            amount: 1,
            currency: None,
            transfer_code: None,
        };
        assert_eq!(transfer("success").state(), TransferState::Succeeded);
        assert_eq!(transfer("reversed").state(), TransferState::Failed);
        assert_eq!(transfer("failed").state(), TransferState::Failed);
        assert_eq!(transfer("pending").state(), TransferState::InFlight);
        assert_eq!(transfer("received").state(), TransferState::InFlight);
        assert_eq!(transfer("otp").state(), TransferState::NeedsOtp);
        assert_eq!(urlencode("wd_01/../x"), "wd_01%2F..%2Fx");
        assert_eq!(
            mask_numbers("Account 0123456789 at 058 is invalid"),
            "Account ******6789 at 058 is invalid"
        );
    }
}

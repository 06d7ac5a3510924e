//! The Paystack API: initialise and verify transactions, list a day's
//! charges and transfers (for reconciliation), check webhook signatures
//! (hex HMAC-SHA512 of the raw body with the secret key).

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha512;
use subtle::ConstantTimeEq;

#[derive(Debug, thiserror::Error)]
#[error("payment provider: {0}")]
pub struct ProviderError(pub String);

#[derive(Deserialize)]
struct Envelope<T> {
    status: bool,
    #[serde(default)]
    message: String,
    data: Option<T>,
}

#[derive(Deserialize)]
pub struct Initialized {
    pub authorization_url: String,
}

/// What the provider says about a transaction.
#[derive(Debug, Deserialize)]
pub struct Transaction {
    /// `success`, `failed`, `abandoned`, ...
    pub status: String,
    pub reference: String,
    pub amount: i64,
    pub currency: String,
}

/// A charge or a transfer as Paystack's lists give it (`GET /transaction`,
/// `GET /transfer`): the fields reconciliation compares.
#[derive(Debug, Clone, Deserialize)]
pub struct Listed {
    #[serde(default)]
    pub reference: Option<String>,
    pub amount: i64,
    /// Charges: `success`, `failed`, `abandoned` ...; transfers: `success`,
    /// `failed`, `reversed`, `pending`, `otp` ...
    pub status: String,
    #[serde(default)]
    pub currency: String,
}

/// One page of a list, and how many pages the list has.
#[derive(Debug)]
pub struct ListPage<T> {
    pub items: Vec<T>,
    pub page_count: u64,
}

#[derive(Deserialize)]
struct ListEnvelope {
    status: bool,
    #[serde(default)]
    message: String,
    data: Option<Vec<Listed>>,
    #[serde(default)]
    meta: Option<serde_json::Value>,
}

/// `meta.pageCount`, a number (or, leniently, a numeric string).
fn page_count(meta: &serde_json::Value) -> Option<u64> {
    let count = meta.get("pageCount")?;
    count
        .as_u64()
        .or_else(|| count.as_str().and_then(|s| s.parse().ok()))
}

/// The provider's acknowledgement of a refund request.
#[derive(Debug, Deserialize)]
pub struct RefundAccepted {
    pub id: i64,
}

/// Why a refund request did not go through, by what it means for a retry.
#[derive(Debug)]
pub enum RefundFailure {
    /// The provider certainly did not take it (unreachable, busy): send again later.
    Retry(String),
    /// The provider answered no (e.g. already reversed): a person must look.
    Refused(String),
    /// The request may have reached the provider and we cannot tell:
    /// sending again could refund twice, so a person must check.
    Unknown(String),
}

/// Cheap to clone: the clones share one connection pool (the wallet's
/// transfer client holds one).
#[derive(Clone)]
pub struct Paystack {
    http: reqwest::Client,
    base_url: String,
    secret: String,
}

impl Paystack {
    pub fn new(base_url: &str, secret: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .expect("a client without custom TLS settings builds");
        Self {
            http,
            base_url: base_url.to_string(),
            secret: secret.to_string(),
        }
    }

    pub async fn initialize(
        &self,
        email: &str,
        amount_kobo: i64,
        currency: &str,
        reference: &str,
    ) -> Result<Initialized, ProviderError> {
        let body = json!({"email": email, "amount": amount_kobo, "currency": currency, "reference": reference});
        let request = self
            .http
            .post(format!("{}/transaction/initialize", self.base_url))
            .bearer_auth(&self.secret)
            .json(&body);
        self.call(request).await
    }

    pub async fn verify(&self, reference: &str) -> Result<Transaction, ProviderError> {
        let request = self
            .http
            .get(format!("{}/transaction/verify/{reference}", self.base_url))
            .bearer_auth(&self.secret);
        self.call(request).await
    }

    /// Asks for `amount_kobo` of the transaction `reference` back.
    pub async fn refund(
        &self,
        reference: &str,
        amount_kobo: i64,
        currency: &str,
    ) -> Result<RefundAccepted, RefundFailure> {
        let body = json!({"transaction": reference, "amount": amount_kobo, "currency": currency});
        let sent = self
            .http
            .post(format!("{}/refund", self.base_url))
            .bearer_auth(&self.secret)
            .json(&body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) if e.is_connect() => {
                return Err(RefundFailure::Retry(format!("unreachable: {e}")));
            }
            Err(e) => return Err(RefundFailure::Unknown(format!("no answer: {e}"))),
        };
        let status = response.status();
        // Busy, or our key refused (rotated, say): nothing was taken either way.
        if matches!(status.as_u16(), 401 | 403 | 429 | 503) {
            return Err(RefundFailure::Retry(format!("not taken ({status})")));
        }
        let envelope: Result<Envelope<RefundAccepted>, _> = response.json().await;
        match envelope {
            Ok(Envelope {
                status: true,
                data: Some(data),
                ..
            }) if status.is_success() => Ok(data),
            Ok(envelope) if status.is_client_error() => Err(RefundFailure::Refused(format!(
                "refused ({status}): {}",
                envelope.message
            ))),
            Ok(envelope) => Err(RefundFailure::Unknown(format!(
                "unexpected answer ({status}): {}",
                envelope.message
            ))),
            Err(e) => Err(RefundFailure::Unknown(format!(
                "unreadable answer ({status}): {e}"
            ))),
        }
    }

    /// One page of the charges created in `[from, to]` (RFC 3339), as
    /// `GET /transaction` lists them.
    pub async fn list_transactions(
        &self,
        from: &str,
        to: &str,
        page: u64,
        per_page: u64,
    ) -> Result<ListPage<Listed>, ProviderError> {
        self.list("/transaction", from, to, page, per_page).await
    }

    /// One page of the transfers created in `[from, to]` (RFC 3339), as
    /// `GET /transfer` lists them.
    pub async fn list_transfers(
        &self,
        from: &str,
        to: &str,
        page: u64,
        per_page: u64,
    ) -> Result<ListPage<Listed>, ProviderError> {
        self.list("/transfer", from, to, page, per_page).await
    }

    async fn list(
        &self,
        path: &str,
        from: &str,
        to: &str,
        page: u64,
        per_page: u64,
    ) -> Result<ListPage<Listed>, ProviderError> {
        let request = self.request(reqwest::Method::GET, path).query(&[
            ("from", from.to_string()),
            ("to", to.to_string()),
            ("perPage", per_page.to_string()),
            ("page", page.to_string()),
        ]);
        let response = request
            .send()
            .await
            .map_err(|e| ProviderError(format!("unreachable: {}", e.without_url())))?;
        let status = response.status();
        let envelope: ListEnvelope = response
            .json()
            .await
            .map_err(|e| ProviderError(format!("unreadable answer ({status}): {e}")))?;
        match envelope.data {
            Some(items) if envelope.status && status.is_success() => Ok(ListPage {
                items,
                page_count: envelope.meta.as_ref().and_then(page_count).unwrap_or(1),
            }),
            _ => Err(ProviderError(format!(
                "refused ({status}): {}",
                envelope.message
            ))),
        }
    }

    /// A request to `path` (e.g. `/bank`) with the secret key, for the
    /// other Paystack APIs the wallet calls (`wallet::transfers`).
    pub(crate) fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base_url))
            .bearer_auth(&self.secret)
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, ProviderError> {
        let response = request
            .send()
            .await
            .map_err(|e| ProviderError(format!("unreachable: {e}")))?;
        let status = response.status();
        let envelope: Envelope<T> = response
            .json()
            .await
            .map_err(|e| ProviderError(format!("unreadable answer ({status}): {e}")))?;
        match envelope.data {
            Some(data) if envelope.status && status.is_success() => Ok(data),
            _ => Err(ProviderError(format!(
                "refused ({status}): {}",
                envelope.message
            ))),
        }
    }

    /// Whether `signature` is the hex HMAC-SHA512 of `body`, compared in constant time.
    pub fn signature_valid(&self, body: &[u8], signature: &str) -> bool {
        let mut mac =
            Hmac::<Sha512>::new_from_slice(self.secret.as_bytes()).expect("any key length");
        mac.update(body);
        let expected: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let given = signature.trim().to_ascii_lowercase();
        expected.len() == given.len() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
    }
}

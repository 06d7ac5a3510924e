//! `/tailor/api/banks/` and `/tailor/api/payout-account/...`: tailors only.
//! Account numbers come in; only their last four digits go out.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{
    AccountInput, ChangeInput, PayoutAccountError, PayoutAccountView, ResolveInput, ResolvedView,
};
use crate::auth::http::{CurrentUser, DetailBody};
use crate::error::{ApiError, BadRequest, ErrorBody};
use crate::http::extract::ApiJson;
use crate::state::AppState;

pub(crate) const TAG: &str = "wallet";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(banks))
        .routes(routes!(resolve))
        .routes(routes!(read_account, add_account, change_account))
        .routes(routes!(request_change))
}

impl From<PayoutAccountError> for ApiError {
    fn from(err: PayoutAccountError) -> Self {
        match err {
            PayoutAccountError::Invalid(errors) => ApiError::Validation(errors),
            PayoutAccountError::Forbidden(why) => {
                ApiError::new(StatusCode::FORBIDDEN, "permission_denied", why)
            }
            PayoutAccountError::NoAccount => ApiError::new(
                StatusCode::NOT_FOUND,
                "no_payout_account",
                "You have no payout account yet: add one with POST /tailor/api/payout-account/.",
            ),
            PayoutAccountError::Conflict(code, detail) => {
                ApiError::new(StatusCode::CONFLICT, code, detail)
            }
            // As checkout's `payments_unavailable`: the server's setup, not
            // a passing failure, so not a 5xx.
            PayoutAccountError::NotConfigured => ApiError::new(
                StatusCode::CONFLICT,
                "payouts_unavailable",
                "Payouts are not set up on this server yet (no payment provider).",
            ),
            // The cause was logged where it happened.
            PayoutAccountError::ProviderDown(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "payment_provider_unavailable",
                "The payment provider (Paystack) could not be reached. Nothing was saved; try again in a few minutes.",
            ),
            PayoutAccountError::Throttled(wait) => ApiError::Throttled(wait),
            PayoutAccountError::Auth(e) => e.into(),
            PayoutAccountError::Storage(e) => e.into(),
        }
    }
}

/// A bank payouts can go to.
#[derive(Serialize, ToSchema)]
pub struct BankBody {
    #[schema(example = "Guaranty Trust Bank")]
    pub name: String,
    /// What `bank_code` takes.
    #[schema(example = "058")]
    pub code: String,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct ResolveRequest {
    /// A `code` from `/tailor/api/banks/`.
    #[schema(value_type = String, required = true, example = "058")]
    pub bank_code: Option<String>,
    /// The 10-digit account number (NUBAN).
    #[schema(value_type = String, required = true, example = "0123456789")]
    pub account_number: Option<String>,
}

/// The bank's name for the account, to show the tailor for confirmation.
#[derive(Serialize, ToSchema)]
pub struct ResolvedBody {
    pub bank_code: String,
    pub bank_name: String,
    #[schema(example = "ADA OBI")]
    pub account_name: String,
    #[schema(example = "6789")]
    pub account_last4: String,
}

impl From<ResolvedView> for ResolvedBody {
    fn from(v: ResolvedView) -> Self {
        Self {
            bank_code: v.bank_code,
            bank_name: v.bank_name,
            account_name: v.account_name,
            account_last4: v.account_last4,
        }
    }
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct PayoutAccountRequest {
    #[schema(value_type = String, required = true, example = "058")]
    pub bank_code: Option<String>,
    #[schema(value_type = String, required = true, example = "0123456789")]
    pub account_number: Option<String>,
    /// The name the tailor confirmed (from resolve); it must be the bank's.
    #[schema(value_type = String, required = true, example = "ADA OBI")]
    pub account_name: Option<String>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct PayoutAccountChangeRequest {
    /// The 6-digit code emailed after `POST /tailor/api/payout-account/change/`.
    #[schema(value_type = String, required = true, example = "482913")]
    pub code: Option<String>,
    #[schema(value_type = String, required = true, example = "058")]
    pub bank_code: Option<String>,
    #[schema(value_type = String, required = true, example = "0123456789")]
    pub account_number: Option<String>,
    #[schema(value_type = String, required = true, example = "ADA OBI")]
    pub account_name: Option<String>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct PasswordRequest {
    #[schema(value_type = String, required = true, min_length = 1)]
    pub password: Option<String>,
}

/// The tailor's payout account (the number's last 4 digits only).
#[derive(Serialize, ToSchema)]
pub struct PayoutAccountBody {
    pub id: Uuid,
    pub bank_code: String,
    pub bank_name: String,
    pub account_name: String,
    #[schema(example = "6789")]
    pub account_last4: String,
    /// Payouts can go to the account from then (a new or changed account waits).
    pub usable_from: DateTime<Utc>,
    /// Whether `usable_from` has passed.
    pub usable_now: bool,
    pub created_at: DateTime<Utc>,
}

impl From<PayoutAccountView> for PayoutAccountBody {
    fn from(v: PayoutAccountView) -> Self {
        Self {
            id: v.id,
            bank_code: v.bank_code,
            bank_name: v.bank_name,
            account_name: v.account_name,
            account_last4: v.account_last4,
            usable_now: v.usable_from <= Utc::now(),
            usable_from: v.usable_from,
            created_at: v.created_at,
        }
    }
}

/// The banks payouts can go to (Paystack's list, cached for a day).
#[utoipa::path(get, path = "/tailor/api/banks", tag = TAG,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Banks by name", body = [BankBody]),
        (status = 403, description = "`permission_denied`: not a tailor", body = ErrorBody),
        (status = 409, description = "`payouts_unavailable`: no Paystack key on this server", body = ErrorBody),
        (status = 503, description = "`payment_provider_unavailable`: Paystack down and no list cached", body = ErrorBody)))]
async fn banks(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
) -> Result<Json<Vec<BankBody>>, ApiError> {
    let banks = state.payout_accounts.banks(&me).await?;
    Ok(Json(
        banks
            .iter()
            .map(|b| BankBody {
                name: b.name.clone(),
                code: b.code.clone(),
            })
            .collect(),
    ))
}

/// Look an account up at its bank: the name on it, to confirm before adding
/// it. Nothing is stored. Limited per tailor (it asks the bank each time).
#[utoipa::path(post, path = "/tailor/api/payout-account/resolve", tag = TAG,
    request_body = ResolveRequest, security(("bearer" = [])),
    responses(
        (status = 200, description = "The bank's name for the account", body = ResolvedBody),
        (status = 400, description = "Missing or malformed fields, an unknown `bank_code`, or `account_number`: no such account at the bank", body = BadRequest),
        (status = 403, description = "`permission_denied`: not a tailor", body = ErrorBody),
        (status = 429, description = "Too many lookups; see `Retry-After`", body = ErrorBody),
        (status = 409, description = "`payouts_unavailable`: no Paystack key on this server", body = ErrorBody),
        (status = 503, description = "`payment_provider_unavailable`", body = ErrorBody)))]
async fn resolve(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiJson(body): ApiJson<ResolveRequest>,
) -> Result<Json<ResolvedBody>, ApiError> {
    let input = ResolveInput {
        bank_code: body.bank_code,
        account_number: body.account_number,
    };
    Ok(Json(
        state.payout_accounts.resolve(&me, input).await?.into(),
    ))
}

/// Your payout account.
#[utoipa::path(get, path = "/tailor/api/payout-account", tag = TAG,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The account", body = PayoutAccountBody),
        (status = 403, description = "`permission_denied`: not a tailor", body = ErrorBody),
        (status = 404, description = "`no_payout_account`: none added yet", body = ErrorBody)))]
async fn read_account(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
) -> Result<Json<PayoutAccountBody>, ApiError> {
    Ok(Json(state.payout_accounts.current(&me).await?.into()))
}

/// Add your first payout account: the bank is asked again, the name must be
/// the one you confirmed, and the account is registered with Paystack.
/// Payouts can go to it after the cooldown (`usable_from`); you get an email.
#[utoipa::path(post, path = "/tailor/api/payout-account", tag = TAG,
    request_body = PayoutAccountRequest, security(("bearer" = [])),
    responses(
        (status = 201, description = "Added", body = PayoutAccountBody),
        (status = 400, description = "Missing or malformed fields, an unknown bank or account, or `account_name` not the bank's", body = BadRequest),
        (status = 403, description = "`permission_denied`: not a tailor", body = ErrorBody),
        (status = 409, description = "`payout_account_exists`: change it instead; `payouts_unavailable`: no Paystack key on this server", body = ErrorBody),
        (status = 429, description = "Too many lookups; see `Retry-After`", body = ErrorBody),
        (status = 503, description = "`payment_provider_unavailable`; nothing saved", body = ErrorBody)))]
async fn add_account(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiJson(body): ApiJson<PayoutAccountRequest>,
) -> Result<(StatusCode, Json<PayoutAccountBody>), ApiError> {
    let input = AccountInput {
        bank_code: body.bank_code,
        account_number: body.account_number,
        account_name: body.account_name,
    };
    let view = state.payout_accounts.add(&me, input).await?;
    Ok((StatusCode::CREATED, Json(view.into())))
}

/// Replace your payout account, with the code emailed by
/// `POST /tailor/api/payout-account/change/` (single use, 10 minutes, 5
/// tries). The new account waits out the cooldown again; you get an email.
#[utoipa::path(put, path = "/tailor/api/payout-account", tag = TAG,
    request_body = PayoutAccountChangeRequest, security(("bearer" = [])),
    responses(
        (status = 200, description = "Replaced", body = PayoutAccountBody),
        (status = 400, description = "Field errors as for adding, or `otp_invalid` / `otp_expired`", body = BadRequest),
        (status = 403, description = "`permission_denied`: not a tailor", body = ErrorBody),
        (status = 404, description = "`no_payout_account`: add one first", body = ErrorBody),
        (status = 429, description = "Too many tries or lookups; see `Retry-After`", body = ErrorBody),
        (status = 409, description = "`payouts_unavailable`: no Paystack key on this server", body = ErrorBody),
        (status = 503, description = "`payment_provider_unavailable`; nothing changed, the code still works", body = ErrorBody)))]
async fn change_account(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiJson(body): ApiJson<PayoutAccountChangeRequest>,
) -> Result<Json<PayoutAccountBody>, ApiError> {
    let input = ChangeInput {
        code: body.code,
        account: AccountInput {
            bank_code: body.bank_code,
            account_number: body.account_number,
            account_name: body.account_name,
        },
    };
    Ok(Json(state.payout_accounts.change(&me, input).await?.into()))
}

/// Start changing your payout account: your password, then a 6-digit code
/// is emailed to you (one per minute).
#[utoipa::path(post, path = "/tailor/api/payout-account/change", tag = TAG,
    request_body = PasswordRequest, security(("bearer" = [])),
    responses(
        (status = 200, description = "Code sent", body = DetailBody),
        (status = 400, description = "`password`: missing or wrong", body = BadRequest),
        (status = 403, description = "`permission_denied`: not a tailor", body = ErrorBody),
        (status = 404, description = "`no_payout_account`: add one first", body = ErrorBody),
        (status = 429, description = "Too many wrong passwords, or a code was sent moments ago; see `Retry-After`", body = ErrorBody)))]
async fn request_change(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiJson(body): ApiJson<PasswordRequest>,
) -> Result<Json<DetailBody>, ApiError> {
    state
        .payout_accounts
        .request_change(&me, body.password)
        .await?;
    Ok(Json(DetailBody::new(
        "We emailed you a code. Send it with the new account to PUT /tailor/api/payout-account/.",
    )))
}

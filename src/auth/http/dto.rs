//! Request and response bodies of the auth API. Request fields are optional
//! at the type level so that a missing field is a DRF-style field error, not a
//! parse error.

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::storage::entities::user;

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct RegisterRequest {
    #[schema(value_type = String, format = Email, required = true, max_length = 254, example = "ada@example.com")]
    pub email: Option<String>,
    /// Letters, digits and @ . + - _; at most 150 characters.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 150, pattern = r"^[\w.@+-]+$", example = "ada")]
    pub username: Option<String>,
    /// At least 8 characters, not common, not all digits, not like the username or email.
    #[schema(value_type = String, required = true, min_length = 8, example = "Needle&Thread-2026")]
    pub password: Option<String>,
    /// `customer` (default) or `tailor`.
    #[schema(value_type = Role, required = false, example = "customer")]
    pub role: Option<String>,
    #[schema(value_type = String, required = false, max_length = 150)]
    pub first_name: Option<String>,
    #[schema(value_type = String, required = false, max_length = 150)]
    pub last_name: Option<String>,
    /// 6 to 15 digits, optionally with a leading `+`, spaces, brackets and dashes.
    #[schema(value_type = String, required = false, max_length = 32, pattern = r"^(\+?[ ()\-]*([0-9][ ()\-]*){6,15})?$", example = "+2348012345678")]
    pub phone_number: Option<String>,
}

/// An account's role.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // documentation only: the role travels as a string
pub enum Role {
    Customer,
    Tailor,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct EmailRequest {
    #[schema(value_type = String, format = Email, required = true, max_length = 254, example = "ada@example.com")]
    pub email: Option<String>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct LoginRequest {
    /// Email or username (one of them is required).
    #[schema(value_type = String, required = false, example = "ada@example.com")]
    pub email: Option<String>,
    #[schema(value_type = String, required = false)]
    pub username: Option<String>,
    #[schema(value_type = String, required = true, min_length = 1)]
    pub password: Option<String>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct RefreshRequest {
    #[schema(value_type = String, required = true, min_length = 1)]
    pub refresh: Option<String>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct LogoutRequest {
    /// The refresh token of the login to end (required, here or as `refresh_token`).
    #[schema(value_type = String, required = false)]
    pub refresh: Option<String>,
    /// Accepted for clients of the old API.
    #[schema(value_type = String, required = false)]
    pub refresh_token: Option<String>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct ChangePasswordRequest {
    #[schema(value_type = String, required = true, min_length = 1)]
    pub old_password: Option<String>,
    /// The new password (required unless `new_password1` and `new_password2` are sent).
    #[schema(value_type = String, required = false, min_length = 8)]
    pub new_password: Option<String>,
    /// Old clients: `new_password1` and `new_password2` (must match) instead of `new_password`.
    #[schema(value_type = String, required = false, min_length = 8)]
    pub new_password1: Option<String>,
    #[schema(value_type = String, required = false, min_length = 8)]
    pub new_password2: Option<String>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct ResetConfirmRequest {
    #[schema(value_type = String, format = Email, required = true, max_length = 254, example = "ada@example.com")]
    pub email: Option<String>,
    /// The 6-digit code from the email (a number is accepted too).
    #[serde(deserialize_with = "string_or_number")]
    #[schema(required = true, value_type = String, pattern = "^[0-9]{6}$", example = "493817")]
    pub code: Option<String>,
    #[schema(value_type = String, required = true, min_length = 8)]
    pub new_password: Option<String>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct ProfileUpdate {
    #[schema(value_type = String, required = false, max_length = 150)]
    pub first_name: Option<String>,
    #[schema(value_type = String, required = false, max_length = 150)]
    pub last_name: Option<String>,
    /// Letters, digits and @ . + - _; at most 150 characters.
    #[schema(value_type = String, required = false, min_length = 1, max_length = 150, pattern = r"^[\w.@+-]+$")]
    pub username: Option<String>,
    /// 6 to 15 digits, optionally with a leading `+`, spaces, brackets and dashes; empty to remove.
    #[schema(value_type = String, required = false, max_length = 32, pattern = r"^(\+?[ ()\-]*([0-9][ ()\-]*){6,15})?$")]
    pub phone_number: Option<String>,
    /// The `id` of an image you uploaded through `/media/api/upload/`, or
    /// null to remove the avatar. Someone else's image or an unknown id is a
    /// 400 on `avatar_id`.
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Uuid, nullable = true)]
    pub avatar_id: Option<Option<serde_json::Value>>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct DeleteAccountRequest {
    /// The account's current password.
    #[schema(value_type = String, required = true, min_length = 1)]
    pub password: Option<String>,
}

/// 409 from account deletion: money is still in motion on these orders, or
/// in the tailor's wallet.
#[derive(Serialize, ToSchema)]
pub struct OpenOrdersBody {
    pub detail: String,
    /// `account_has_open_orders`, or `account_has_balance`
    #[schema(example = "account_has_open_orders")]
    pub code: String,
    /// Orders (as customer or as tailor) that are unpaid, paid but not yet
    /// delivered, or whose refund is not settled.
    pub open_orders: Vec<Uuid>,
    /// Commissions (either side) paid for, being made, delivered but not
    /// completed, or disputed.
    pub open_commissions: Vec<Uuid>,
}

#[derive(Deserialize, IntoParams, Default)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct UserListQuery {
    /// 1-based page number.
    #[param(value_type = Option<u64>, minimum = 1)]
    pub page: Option<String>,
    /// Results per page, at most 100 (default 20; more is capped).
    #[param(value_type = Option<u64>, minimum = 1)]
    pub page_size: Option<String>,
    /// `customer` or `tailor`.
    #[param(value_type = Option<Role>, inline)]
    pub role: Option<String>,
    /// Matches username, first or last name, case-insensitively.
    pub search: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenPairBody {
    /// Short-lived access token: `Authorization: Bearer <access>`.
    pub access: String,
    /// Single-use refresh token for `login/token/refresh/`.
    pub refresh: String,
}

#[derive(Serialize, ToSchema)]
pub struct DetailBody {
    pub detail: String,
}

impl DetailBody {
    pub fn new(detail: &str) -> Self {
        Self {
            detail: detail.into(),
        }
    }
}

/// A user as anyone signed in sees them.
#[derive(Serialize, ToSchema)]
pub struct UserPublic {
    pub id: Uuid,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    #[schema(value_type = Role)]
    pub role: String,
    /// URL of the avatar image (`/media/...`); null without one.
    pub avatar: Option<String>,
    pub date_joined: chrono::DateTime<chrono::Utc>,
}

/// A user as the account's owner sees them.
#[derive(Serialize, ToSchema)]
pub struct UserOwner {
    #[serde(flatten)]
    pub public: UserPublic,
    pub email: String,
    pub phone_number: String,
    pub is_verified: bool,
}

/// What `users/detail` answers: the owner view for the caller's own id,
/// the public view for anyone else. Documented as `UserDetail`, one schema
/// that both views match.
#[derive(Serialize)]
#[serde(untagged)]
pub enum UserView {
    Owner(UserOwner),
    Public(UserPublic),
}

/// A user as `users/detail` shows them: the public fields, plus `email`,
/// `phone_number` and `is_verified` when the user is the caller.
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only: `UserView` is what is sent
pub struct UserDetail {
    #[serde(flatten)]
    public: UserPublic,
    /// Only in the caller's own view.
    #[schema(required = false)]
    email: String,
    /// Only in the caller's own view.
    #[schema(required = false)]
    phone_number: String,
    /// Only in the caller's own view.
    #[schema(required = false)]
    is_verified: bool,
}

#[derive(Serialize, ToSchema)]
pub struct UserPage {
    pub count: u64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<UserPublic>,
}

impl UserPublic {
    /// `avatar` is the URL of the user's avatar (see `AuthService::avatar_urls`).
    pub fn new(u: &user::Model, avatar: Option<String>) -> Self {
        Self {
            id: u.id,
            username: u.username.clone(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            role: u.role.clone(),
            avatar,
            date_joined: u.date_joined,
        }
    }
}

impl UserOwner {
    pub fn new(u: &user::Model, avatar: Option<String>) -> Self {
        Self {
            public: UserPublic::new(u, avatar),
            email: u.email.clone(),
            phone_number: u.phone_number.clone(),
            is_verified: u.is_verified,
        }
    }
}

/// Tells a JSON null (`Some(None)`) from an absent field (`None`, through
/// `#[serde(default)]`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Ok(Some(Option::<T>::deserialize(d)?))
}

fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Code {
        Text(String),
        Number(u64),
    }
    Ok(Option::<Code>::deserialize(d)?.map(|c| match c {
        Code::Text(s) => s,
        Code::Number(n) => n.to_string(),
    }))
}

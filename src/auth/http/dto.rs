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
    #[schema(required = true, example = "ada@example.com")]
    pub email: Option<String>,
    /// Letters, digits and @ . + - _; at most 150 characters.
    #[schema(required = true, example = "ada")]
    pub username: Option<String>,
    /// At least 8 characters, not common, not all digits, not like the username or email.
    #[schema(required = true, example = "Needle&Thread-2026")]
    pub password: Option<String>,
    /// `customer` (default) or `tailor`.
    #[schema(example = "customer")]
    pub role: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    #[schema(example = "+2348012345678")]
    pub phone_number: Option<String>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct EmailRequest {
    #[schema(required = true, example = "ada@example.com")]
    pub email: Option<String>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct LoginRequest {
    /// Email or username (one of them is required).
    pub email: Option<String>,
    pub username: Option<String>,
    #[schema(required = true)]
    pub password: Option<String>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct RefreshRequest {
    #[schema(required = true)]
    pub refresh: Option<String>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct LogoutRequest {
    /// The refresh token of the login to end.
    pub refresh: Option<String>,
    /// Accepted for clients of the old API.
    pub refresh_token: Option<String>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct ChangePasswordRequest {
    #[schema(required = true)]
    pub old_password: Option<String>,
    pub new_password: Option<String>,
    /// Old clients: `new_password1` and `new_password2` (must match) instead of `new_password`.
    pub new_password1: Option<String>,
    pub new_password2: Option<String>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct ResetConfirmRequest {
    #[schema(required = true)]
    pub email: Option<String>,
    /// The 6-digit code from the email (a string or a number).
    #[serde(deserialize_with = "string_or_number")]
    #[schema(required = true, value_type = String, example = "493817")]
    pub code: Option<String>,
    #[schema(required = true)]
    pub new_password: Option<String>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct ProfileUpdate {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub phone_number: Option<String>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct DeleteAccountRequest {
    /// The account's current password.
    #[schema(required = true)]
    pub password: Option<String>,
}

/// 409 from account deletion: money is still in motion on these orders.
#[derive(Serialize, ToSchema)]
pub struct OpenOrdersBody {
    pub detail: String,
    /// `account_has_open_orders`
    #[schema(example = "account_has_open_orders")]
    pub code: String,
    /// Orders (as customer or as tailor) that are unpaid, paid but not yet
    /// delivered, or whose refund is not settled.
    pub open_orders: Vec<Uuid>,
}

#[derive(Deserialize, IntoParams, Default)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct UserListQuery {
    /// 1-based page number.
    pub page: Option<String>,
    /// Results per page, at most 100 (default 20).
    pub page_size: Option<String>,
    /// `customer` or `tailor`.
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
    /// `customer` or `tailor`.
    pub role: String,
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

#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum UserView {
    Owner(UserOwner),
    Public(UserPublic),
}

#[derive(Serialize, ToSchema)]
pub struct UserPage {
    pub count: u64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<UserPublic>,
}

impl From<&user::Model> for UserPublic {
    fn from(u: &user::Model) -> Self {
        Self {
            id: u.id,
            username: u.username.clone(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            role: u.role.clone(),
            avatar: u.avatar.clone(),
            date_joined: u.date_joined,
        }
    }
}

impl From<&user::Model> for UserOwner {
    fn from(u: &user::Model) -> Self {
        Self {
            public: u.into(),
            email: u.email.clone(),
            phone_number: u.phone_number.clone(),
            is_verified: u.is_verified,
        }
    }
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

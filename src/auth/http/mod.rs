//! The auth API (`/auth/api/...`), compatible with the old Django `auth_api`.

mod dto;
mod extract;

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use dto::*;
pub use extract::CurrentUser;

use super::{
    AccountDeletion, AuthError, Credentials, DataExport, NewAccount, PasswordChange,
    ProfileChanges, ResetConfirmation, UserQuery,
};
use crate::error::{ApiError, BadRequest, ErrorBody};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::ip_limit::{IpLimiter, limit_by_ip};
use crate::http::pagination::{PageLinks, PageRequest, invalid_page};
use crate::state::AppState;
use crate::validation::FieldErrors;

const TAG: &str = "auth";

/// The routes; those that check secrets or send email sit behind the
/// per-address limit.
pub fn routes() -> OpenApiRouter<AppState> {
    let sensitive = OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(verify_otp))
        .routes(routes!(resend_otp))
        .routes(routes!(login))
        .routes(routes!(password_reset))
        .routes(routes!(password_reset_confirm))
        .route_layer(axum::middleware::from_fn(limit_by_ip));
    OpenApiRouter::new()
        .merge(sensitive)
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(change_password))
        .routes(routes!(list_users))
        .routes(routes!(user_detail))
        .routes(routes!(me, update_me, delete_me))
        .routes(routes!(export_me))
}

/// Installs what `routes()` needs at run time.
pub fn ip_limit_layer(per_minute: u32, trust_forwarded_for: bool) -> Extension<Arc<IpLimiter>> {
    Extension(IpLimiter::new(per_minute, trust_forwarded_for))
}

/// Create an account; a 6-digit code is emailed to verify it.
#[utoipa::path(post, path = "/auth/api/register", tag = TAG, request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created (not verified yet)", body = UserOwner),
        (status = 400, description = "Field errors, e.g. `{\"email\": [\"A user with that email already exists.\"]}`", body = BadRequest),
        (status = 429, description = "Too many requests from this address", body = ErrorBody)))]
async fn register(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> Result<(StatusCode, Json<UserOwner>), ApiError> {
    let user = state
        .auth
        .register(NewAccount {
            email: body.email,
            username: body.username,
            password: body.password,
            role: body.role,
            first_name: body.first_name,
            last_name: body.last_name,
            phone_number: body.phone_number,
        })
        .await?;
    // A new account has no avatar yet.
    Ok((StatusCode::CREATED, Json(UserOwner::new(&user, None))))
}

/// Verify the account with the emailed code.
#[utoipa::path(post, path = "/auth/api/register/verify-otp/{otp}", tag = TAG,
    params(("otp" = String, Path, description = "The 6-digit code", pattern = "^[0-9]{6}$")),
    request_body = EmailRequest,
    responses(
        (status = 200, description = "Account verified", body = DetailBody),
        (status = 400, description = "`otp_invalid` (wrong, used, malformed, dead, unknown address), `otp_expired`, or field errors (`email`)", body = BadRequest),
        (status = 429, description = "Too many wrong codes for this address", body = ErrorBody)))]
async fn verify_otp(
    State(state): State<AppState>,
    otp: Result<Path<String>, PathRejection>,
    ApiJson(body): ApiJson<EmailRequest>,
) -> Result<Json<DetailBody>, ApiError> {
    // An undecodable code is just a wrong code: 400, never 404.
    let Ok(Path(otp)) = otp else {
        return Err(AuthError::InvalidCode.into());
    };
    state.auth.verify_email(&otp, body.email).await?;
    Ok(Json(DetailBody::new("Your account has been verified.")))
}

const CODE_SENT: &str =
    "If this address belongs to an account that needs it, a code has been sent to it.";

/// Send a new verification code (the old one stops working).
#[utoipa::path(post, path = "/auth/api/register/resend-otp", tag = TAG, request_body = EmailRequest,
    responses(
        (status = 200, description = "Same answer whether or not the address exists", body = DetailBody),
        (status = 400, description = "Missing or invalid email", body = BadRequest),
        (status = 429, description = "Cooldown for this address (see `Retry-After`)", body = ErrorBody)))]
async fn resend_otp(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<EmailRequest>,
) -> Result<Json<DetailBody>, ApiError> {
    state.auth.resend_code(body.email).await?;
    Ok(Json(DetailBody::new(CODE_SENT)))
}

/// Log in with email or username and password.
#[utoipa::path(post, path = "/auth/api/login", tag = TAG, request_body = LoginRequest,
    responses(
        (status = 200, description = "Tokens", body = TokenPairBody),
        (status = 400, description = "Missing fields", body = BadRequest),
        (status = 401, description = "`no_active_account`: wrong credentials", body = ErrorBody),
        (status = 403, description = "`account_not_verified`: right password, account not verified", body = ErrorBody),
        (status = 429, description = "Too many failed logins for this account", body = ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Json<TokenPairBody>, ApiError> {
    let pair = state
        .auth
        .login(Credentials {
            email: body.email,
            username: body.username,
            password: body.password,
        })
        .await?;
    Ok(Json(TokenPairBody {
        access: pair.access,
        refresh: pair.refresh,
    }))
}

/// Swap a refresh token for a new pair. The presented token dies; presenting
/// it again revokes every token of that login.
#[utoipa::path(post, path = "/auth/api/login/token/refresh", tag = TAG, request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens", body = TokenPairBody),
        (status = 400, description = "`refresh` missing or blank", body = BadRequest),
        (status = 401, description = "`token_not_valid`: bad, expired, used or revoked refresh token", body = ErrorBody)))]
async fn refresh(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> Result<Json<TokenPairBody>, ApiError> {
    let pair = state.auth.refresh(body.refresh).await?;
    Ok(Json(TokenPairBody {
        access: pair.access,
        refresh: pair.refresh,
    }))
}

/// End the login that the refresh token belongs to.
#[utoipa::path(post, path = "/auth/api/logout", tag = TAG, request_body = LogoutRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Logged out", body = DetailBody),
        (status = 400, description = "No refresh token (`refresh`)", body = BadRequest),
        (status = 401, description = "`not_authenticated` or `token_not_valid`", body = ErrorBody)))]
async fn logout(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<LogoutRequest>,
) -> Result<Json<DetailBody>, ApiError> {
    let token = body.refresh.or(body.refresh_token);
    state.auth.logout(&user, token).await?;
    Ok(Json(DetailBody::new("Logged out.")))
}

/// Change the password; every earlier token on every device dies and the
/// caller gets a fresh pair.
#[utoipa::path(method(post, put, patch), path = "/auth/api/change-password", tag = TAG,
    request_body = ChangePasswordRequest, security(("bearer" = [])),
    responses(
        (status = 200, description = "Password changed; fresh tokens", body = TokenPairBody),
        (status = 400, description = "Wrong `old_password` or a weak new password", body = BadRequest),
        (status = 401, description = "`not_authenticated` or `token_not_valid`", body = ErrorBody),
        (status = 429, description = "Too many wrong old passwords", body = ErrorBody)))]
async fn change_password(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<ChangePasswordRequest>,
) -> Result<Json<TokenPairBody>, ApiError> {
    let pair = state
        .auth
        .change_password(
            user,
            PasswordChange {
                old_password: body.old_password,
                new_password: body.new_password,
                new_password1: body.new_password1,
                new_password2: body.new_password2,
            },
        )
        .await?;
    Ok(Json(TokenPairBody {
        access: pair.access,
        refresh: pair.refresh,
    }))
}

/// Email a password reset code.
#[utoipa::path(post, path = "/auth/api/password-reset", tag = TAG, request_body = EmailRequest,
    responses(
        (status = 200, description = "Same answer whether or not the address exists", body = DetailBody),
        (status = 400, description = "Missing or invalid email", body = BadRequest),
        (status = 429, description = "Cooldown for this address", body = ErrorBody)))]
async fn password_reset(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<EmailRequest>,
) -> Result<Json<DetailBody>, ApiError> {
    state.auth.request_password_reset(body.email).await?;
    Ok(Json(DetailBody::new(CODE_SENT)))
}

/// Set a new password with the emailed code; every earlier token dies.
#[utoipa::path(post, path = "/auth/api/password-reset/confirm", tag = TAG, request_body = ResetConfirmRequest,
    responses(
        (status = 200, description = "Password changed", body = DetailBody),
        (status = 400, description = "`otp_invalid`, `otp_expired`, or field errors", body = BadRequest),
        (status = 429, description = "Too many wrong codes for this address", body = ErrorBody)))]
async fn password_reset_confirm(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ResetConfirmRequest>,
) -> Result<Json<DetailBody>, ApiError> {
    state
        .auth
        .confirm_password_reset(ResetConfirmation {
            email: body.email,
            code: body.code,
            new_password: body.new_password,
        })
        .await?;
    Ok(Json(DetailBody::new(
        "Your password has been reset. Log in with the new one.",
    )))
}

/// Verified customers and tailors (no staff), oldest first.
#[utoipa::path(get, path = "/auth/api/users/list", tag = TAG, params(UserListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of users", body = UserPage),
        (status = 400, description = "`invalid_page_size`, or a field error for an unknown `role`", body = BadRequest),
        (status = 401, description = "`not_authenticated` or `token_not_valid`", body = ErrorBody),
        (status = 404, description = "Invalid page", body = ErrorBody)))]
async fn list_users(
    State(state): State<AppState>,
    CurrentUser(_caller): CurrentUser,
    ApiQuery(query): ApiQuery<UserListQuery>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Result<Json<UserPage>, ApiError> {
    let request = PageRequest::parse(query.page.as_deref(), query.page_size.as_deref())?;
    let role = query.role.filter(|r| !r.is_empty());
    if let Some(role) = &role {
        let mut errors = FieldErrors::new();
        if !super::ROLES.contains(&role.as_str()) {
            errors.add(
                "role",
                format!("Select a valid choice. {role} is not one of the available choices."),
            );
        }
        errors.into_result()?;
    }
    let (count, users) = state
        .auth
        .list_users(UserQuery {
            role,
            search: query.search,
            page: request.page,
            page_size: request.page_size,
        })
        .await?
        .ok_or_else(invalid_page)?;
    let mut avatars = state.auth.avatar_urls(&users).await?;
    let (next, previous) = PageLinks::new(&uri, &headers).neighbours(request, count);
    Ok(Json(UserPage {
        count,
        next,
        previous,
        results: users
            .iter()
            .map(|u| UserPublic::new(u, avatars.remove(&u.id)))
            .collect(),
    }))
}

/// One user; the owner view when it is the caller.
#[utoipa::path(get, path = "/auth/api/users/detail/{id}", tag = TAG,
    params(("id" = Uuid, Path, description = "The user's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user: the owner view (with `email`, `phone_number`, `is_verified`) when it is the caller", body = UserDetail),
        (status = 401, description = "`not_authenticated` or `token_not_valid`", body = ErrorBody),
        (status = 404, description = "Unknown or malformed id", body = ErrorBody)))]
async fn user_detail(
    State(state): State<AppState>,
    CurrentUser(caller): CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<UserView>, ApiError> {
    let id = uuid::Uuid::parse_str(&id).map_err(|_| ApiError::not_found())?;
    if id == caller.id {
        let avatar = state.auth.avatar_url(&caller).await?;
        return Ok(Json(UserView::Owner(UserOwner::new(&caller, avatar))));
    }
    let user = state.auth.user(id).await?;
    if !user.is_verified || user.is_staff || user.is_superuser {
        return Err(ApiError::not_found());
    }
    let avatar = state.auth.avatar_url(&user).await?;
    Ok(Json(UserView::Public(UserPublic::new(&user, avatar))))
}

/// The caller's own account.
#[utoipa::path(get, path = "/auth/api/users/me", tag = TAG, security(("bearer" = [])),
    responses(
        (status = 200, description = "Owner view", body = UserOwner),
        (status = 401, description = "`not_authenticated` or `token_not_valid`", body = ErrorBody)))]
async fn me(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<UserOwner>, ApiError> {
    let avatar = state.auth.avatar_url(&user).await?;
    Ok(Json(UserOwner::new(&user, avatar)))
}

/// Update the caller's names, username, phone number or avatar (`avatar_id`:
/// an image the caller uploaded, or null to remove it).
#[utoipa::path(patch, path = "/auth/api/users/me", tag = TAG, request_body = ProfileUpdate,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Owner view after the change", body = UserOwner),
        (status = 400, description = "Field errors, e.g. `{\"avatar_id\": [\"No image you uploaded has this id.\"]}`", body = BadRequest),
        (status = 401, description = "`not_authenticated` or `token_not_valid`", body = ErrorBody)))]
async fn update_me(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<ProfileUpdate>,
) -> Result<Json<UserOwner>, ApiError> {
    let avatar_id = match body.avatar_id {
        None => None,
        Some(None | Some(serde_json::Value::Null)) => Some(None),
        Some(Some(serde_json::Value::String(id))) => Some(Some(id)),
        Some(Some(_)) => {
            return Err(FieldErrors::single("avatar_id", "Must be a valid UUID.").into());
        }
    };
    let user = state
        .auth
        .update_profile(
            user,
            ProfileChanges {
                first_name: body.first_name,
                last_name: body.last_name,
                username: body.username,
                phone_number: body.phone_number,
                avatar_id,
            },
        )
        .await?;
    let avatar = state.auth.avatar_url(&user).await?;
    Ok(Json(UserOwner::new(&user, avatar)))
}

/// Everything stored about the caller, as one JSON document to keep (the
/// right of access and portability): account (no password hash, token or
/// code secrets), sessions, orders as customer and as tailor, payments,
/// reviews, favourites, cart, products, conversations and the caller's
/// messages, blocks, reports and uploads. At most 3 an hour.
#[utoipa::path(get, path = "/auth/api/users/me/export", tag = TAG, security(("bearer" = [])),
    responses(
        (status = 200, description = "The export, sent as a download", body = DataExport,
            headers(("Content-Disposition" = String,
                description = "`attachment; filename=\"atelier-export-<YYYY-MM-DD>.json\"`"))),
        (status = 401, description = "`not_authenticated` or `token_not_valid`", body = ErrorBody),
        (status = 429, description = "`throttled`: more than 3 exports this hour", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait")))))]
async fn export_me(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<([(header::HeaderName, String); 2], Json<DataExport>), ApiError> {
    let export = state.auth.export(&user).await?;
    let filename = format!(
        "atelier-export-{}.json",
        export.exported_at.format("%Y-%m-%d")
    );
    Ok((
        [
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            // Personal data: no shared cache may keep a copy.
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        Json(export),
    ))
}

/// Delete the caller's account (the app stores require it of apps with
/// sign-up). Needs the current password. Personal data (email, names, phone,
/// avatar) is erased; the account stays as an anonymous "Deleted user" so
/// orders, reviews and chats stay whole; every token and chat socket of the
/// account ends at once; a tailor's products leave the catalog; the email and
/// username can be registered again. Refused with 409 while orders are unpaid,
/// paid but not delivered, or have a refund that is not settled, and while a
/// tailor's wallet holds their money (in escrow, available or being paid out).
#[utoipa::path(delete, path = "/auth/api/users/me", tag = TAG, request_body = DeleteAccountRequest,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "`{\"password\": [...]}`: missing or wrong password", body = BadRequest),
        (status = 401, description = "`not_authenticated` or `token_not_valid` (also when the account was deleted meanwhile)", body = ErrorBody),
        (status = 409, description = "`account_has_open_orders`, with the ids in `open_orders` and `open_commissions`; or `account_has_balance` (a tailor's wallet holds their money; both lists empty)", body = OpenOrdersBody),
        (status = 429, description = "Too many wrong passwords", body = ErrorBody)))]
async fn delete_me(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<DeleteAccountRequest>,
) -> Result<Response, ApiError> {
    match state.auth.delete_account(user, body.password).await? {
        AccountDeletion::Deleted => Ok(StatusCode::NO_CONTENT.into_response()),
        AccountDeletion::OpenOrders {
            orders,
            commissions,
        } => {
            let body = OpenOrdersBody {
                detail: format!(
                    "Money or work is still moving on {} order(s) and {} commission(s): wait until they are delivered, completed or cancelled and any refund is settled, then try again.",
                    orders.len(),
                    commissions.len()
                ),
                code: "account_has_open_orders".into(),
                open_orders: orders,
                open_commissions: commissions,
            };
            Ok((StatusCode::CONFLICT, Json(body)).into_response())
        }
        AccountDeletion::MoneyHeld {
            pending,
            available,
            withdrawing,
        } => {
            let body = OpenOrdersBody {
                detail: format!(
                    "Your wallet still holds your money ({} kobo available, {} kobo in escrow, {} kobo being paid out): withdraw it, and wait for escrow to be released and payouts to arrive, then try again.",
                    available, pending, withdrawing
                ),
                code: "account_has_balance".into(),
                open_orders: Vec::new(),
                open_commissions: Vec::new(),
            };
            Ok((StatusCode::CONFLICT, Json(body)).into_response())
        }
    }
}

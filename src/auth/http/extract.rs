use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::error::ApiError;
use crate::state::AppState;
use crate::storage::entities::user;

/// The signed-in user, from `Authorization: Bearer <access>` (or `JWT <access>`).
pub struct CurrentUser(pub user::Model);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(ApiError::not_authenticated)?
            .to_str()
            .map_err(|_| ApiError::token_not_valid())?;
        let (scheme, token) = header.trim().split_once(' ').unwrap_or((header, ""));
        let token = token.trim();
        let known_scheme =
            scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("jwt");
        if !known_scheme || token.is_empty() {
            return Err(ApiError::not_authenticated());
        }
        let user = state.auth.authenticate(token).await?;
        Ok(CurrentUser(user))
    }
}

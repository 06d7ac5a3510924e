//! `POST /media/api/upload` (multipart) and `GET /media/<name>`.

use axum::Json;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::MediaView;
use crate::auth::http::CurrentUser;
use crate::error::{ApiError, BadRequest, ErrorBody};
use crate::http::extract::{ApiPath, payload_too_large};
use crate::state::AppState;
use crate::validation::FieldErrors;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload))
        .routes(routes!(serve))
        // The upload enforces its own (configurable) limit while reading.
        .layer(DefaultBodyLimit::disable())
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// A JPEG, PNG or WebP image (checked by content), at most the configured size (default 10 MiB).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Upload an image; use its `id` in a product's `image_ids`, or as your `avatar_id`
/// (`PATCH /auth/api/users/me/`).
#[utoipa::path(post, path = "/media/api/upload", tag = "media",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Stored", body = MediaView),
        (status = 400, description = "No `file` field, or not a JPEG/PNG/WebP image", body = BadRequest),
        (status = 413, description = "Larger than the limit", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: not a `multipart/form-data` request", body = ErrorBody),
        (status = 503, description = "`service_unavailable`: the media bucket cannot be reached", body = ErrorBody)))]
async fn upload(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<MediaView>), ApiError> {
    let mut multipart = multipart.map_err(|e| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            e.body_text(),
        )
    })?;
    let limit = state.media.max_bytes();
    while let Some(mut field) = multipart.next_field().await.map_err(bad_multipart)? {
        if field.name() != Some("file") {
            continue;
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(bad_multipart)? {
            if bytes.len() + chunk.len() > limit {
                return Err(payload_too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        let stored = state.media.store(&user, bytes).await?;
        return Ok((StatusCode::CREATED, Json(stored)));
    }
    Err(FieldErrors::single("file", "No file was submitted.").into())
}

fn bad_multipart(err: axum::extract::multipart::MultipartError) -> ApiError {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return payload_too_large();
    }
    ApiError::bad_request("parse_error", err.body_text())
}

/// An uploaded image, cacheable forever (names never change content).
#[utoipa::path(get, path = "/media/{name}", tag = "media",
    params(("name" = String, Path, description = "The name from an upload's url")),
    responses(
        (status = 200, description = "The image", content_type = "image/*", body = Vec<u8>),
        (status = 404, description = "No such image", body = ErrorBody),
        (status = 503, description = "`service_unavailable`: the media bucket cannot be reached", body = ErrorBody)))]
async fn serve(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<Response, ApiError> {
    let (content_type, bytes) = state.media.open(&name).await?;
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (
                header::CACHE_CONTROL,
                "public, max-age=31536000, immutable".to_string(),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        bytes,
    )
        .into_response())
}

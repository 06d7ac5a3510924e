//! Image uploads shared by the whole API (products now; portfolios and chat
//! attachments later): JPEG, PNG and WebP only, recognised by their content;
//! stored under random names (in the media folder, or an S3-compatible
//! bucket when one is configured) and served at `/media/...`.

mod avatars;
pub mod http;
mod store;

pub use avatars::{avatar_url, avatar_urls, forget_avatar, recent_avatar_urls};

pub use store::{MediaStore, S3Settings};

use chrono::Utc;
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::storage::StorageError;
use crate::storage::entities::{media, user};
use crate::validation::FieldErrors;

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("invalid upload")]
    Invalid(FieldErrors),
    #[error("file larger than {0} bytes")]
    TooLarge(usize),
    #[error("not found")]
    NotFound,
    #[error("media storage: {0}")]
    Io(#[from] std::io::Error),
    /// The bucket could not be reached or refused.
    #[error("media bucket: {0}")]
    Remote(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<sea_orm::DbErr> for MediaError {
    fn from(err: sea_orm::DbErr) -> Self {
        MediaError::Storage(err.into())
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MediaView {
    pub id: Uuid,
    /// Where the image is served, e.g. `/media/0193....jpg`.
    pub url: String,
    pub content_type: String,
    pub size: i64,
}

pub struct MediaService {
    db: DatabaseConnection,
    store: MediaStore,
    max_bytes: usize,
}

/// The image types accepted, by their first bytes.
pub fn sniff(bytes: &[u8]) -> Option<(&'static str, &'static str)> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(("image/jpeg", "jpg"))
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(("image/png", "png"))
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(("image/webp", "webp"))
    } else {
        None
    }
}

pub fn url_of(name: &str) -> String {
    format!("/media/{name}")
}

impl MediaService {
    pub fn new(db: DatabaseConnection, store: MediaStore, max_bytes: usize) -> Self {
        Self {
            db,
            store,
            max_bytes,
        }
    }

    pub fn describe(&self) -> String {
        self.store.describe()
    }

    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    pub async fn store(
        &self,
        owner: &user::Model,
        bytes: Vec<u8>,
    ) -> Result<MediaView, MediaError> {
        if bytes.len() > self.max_bytes {
            return Err(MediaError::TooLarge(self.max_bytes));
        }
        let Some((content_type, ext)) = sniff(&bytes) else {
            return Err(MediaError::Invalid(FieldErrors::single(
                "file",
                "Upload a JPEG, PNG or WebP image.",
            )));
        };
        let id = Uuid::now_v7();
        let name = format!("{id}.{ext}");
        let size = bytes.len() as i64;
        self.store.put(&name, bytes).await?;
        media::Entity::insert(media::ActiveModel {
            id: Set(id),
            owner_id: Set(owner.id),
            name: Set(name.clone()),
            content_type: Set(content_type.into()),
            size_bytes: Set(size),
            created_at: Set(Utc::now()),
        })
        .exec_without_returning(&self.db)
        .await?;
        Ok(MediaView {
            id,
            url: url_of(&name),
            content_type: content_type.into(),
            size,
        })
    }

    /// The file behind a served name. Names are checked against the database,
    /// so no request can reach outside the media folder.
    pub async fn open(&self, name: &str) -> Result<(String, Vec<u8>), MediaError> {
        let row = media::Entity::find()
            .filter(media::Column::Name.eq(name))
            .one(&self.db)
            .await?
            .ok_or(MediaError::NotFound)?;
        let bytes = self.store.get(&row.name).await?;
        Ok((row.content_type, bytes))
    }
}

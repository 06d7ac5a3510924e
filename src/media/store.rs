//! Where image bytes live: a folder on this machine (the default), or an
//! S3-compatible bucket shared by every instance.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutPayload, RetryConfig};

use super::MediaError;

/// An S3-compatible bucket (AWS, MinIO, Cloudflare R2, ...).
#[derive(Clone)]
pub struct S3Settings {
    pub bucket: String,
    pub region: String,
    /// Another provider's endpoint, e.g. `http://127.0.0.1:9000`; AWS when unset.
    pub endpoint: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
}

// Written by hand so the secret key never reaches a log line.
impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("credentials", &self.access_key_id.is_some())
            .finish()
    }
}

pub enum MediaStore {
    Folder(PathBuf),
    Bucket {
        store: Arc<dyn ObjectStore>,
        name: String,
    },
}

impl MediaStore {
    pub fn folder(dir: PathBuf) -> Self {
        MediaStore::Folder(dir)
    }

    pub fn bucket(settings: &S3Settings) -> anyhow::Result<Self> {
        // A bucket that is down answers within seconds (a 503), not after
        // the client library's default of minutes of retries.
        let retry = RetryConfig {
            max_retries: 2,
            retry_timeout: Duration::from_secs(5),
            ..RetryConfig::default()
        };
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            .with_retry(retry);
        if let Some(endpoint) = &settings.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"))
                // Self-hosted stores (MinIO and the like) address buckets by path.
                .with_virtual_hosted_style_request(false);
        }
        if let (Some(key), Some(secret)) = (&settings.access_key_id, &settings.secret_access_key) {
            builder = builder
                .with_access_key_id(key)
                .with_secret_access_key(secret);
        }
        let store = builder
            .build()
            .map_err(|e| anyhow::anyhow!("media bucket: {e}"))?;
        Ok(MediaStore::Bucket {
            store: Arc::new(store),
            name: settings.bucket.clone(),
        })
    }

    pub fn describe(&self) -> String {
        match self {
            MediaStore::Folder(dir) => format!("folder {}", dir.display()),
            MediaStore::Bucket { name, .. } => format!("bucket {name}"),
        }
    }

    pub async fn put(&self, name: &str, bytes: Vec<u8>) -> Result<(), MediaError> {
        match self {
            MediaStore::Folder(dir) => {
                tokio::fs::create_dir_all(dir).await?;
                // Written aside, then renamed: a reader never sees half a file.
                let partial = dir.join(format!(".{name}.partial"));
                tokio::fs::write(&partial, &bytes).await?;
                tokio::fs::rename(&partial, dir.join(name)).await?;
                Ok(())
            }
            MediaStore::Bucket { store, .. } => store
                .put(&ObjectPath::from(name), PutPayload::from(bytes))
                .await
                .map(|_| ())
                .map_err(|e| MediaError::Remote(e.to_string())),
        }
    }

    pub async fn get(&self, name: &str) -> Result<Vec<u8>, MediaError> {
        match self {
            MediaStore::Folder(dir) => tokio::fs::read(dir.join(name))
                .await
                .map_err(|_| MediaError::NotFound),
            MediaStore::Bucket { store, .. } => {
                let object = match store.get(&ObjectPath::from(name)).await {
                    Ok(object) => object,
                    Err(object_store::Error::NotFound { .. }) => return Err(MediaError::NotFound),
                    Err(e) => return Err(MediaError::Remote(e.to_string())),
                };
                let bytes = object
                    .bytes()
                    .await
                    .map_err(|e| MediaError::Remote(e.to_string()))?;
                Ok(bytes.to_vec())
            }
        }
    }
}

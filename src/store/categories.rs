use chrono::Utc;
use sea_orm::{ActiveValue::Set, EntityTrait, QueryOrder};
use uuid::Uuid;

use super::{StoreError, StoreService};
use crate::storage::StorageError;
use crate::storage::entities::{category, user};
use crate::validation::FieldErrors;

impl StoreService {
    pub async fn categories(&self) -> Result<Vec<category::Model>, StoreError> {
        Ok(category::Entity::find()
            .order_by_asc(category::Column::Name)
            .all(&self.db)
            .await?)
    }

    /// Staff only.
    pub async fn create_category(
        &self,
        caller: &user::Model,
        name: Option<String>,
    ) -> Result<category::Model, StoreError> {
        if !(caller.is_staff || caller.is_superuser) {
            return Err(StoreError::Forbidden("Only staff can manage categories."));
        }
        let mut errors = FieldErrors::new();
        let name = errors.required("name", &name).map(str::trim);
        if let Some(name) = name {
            errors.max_len("name", name, 100);
            if slug(name).is_empty() {
                errors.add("name", "Use at least one letter or digit.");
            }
        }
        errors.into_result()?;
        let name = name.unwrap_or_default();
        let row = category::ActiveModel {
            id: Set(Uuid::now_v7()),
            name: Set(name.to_string()),
            slug: Set(slug(name)),
            created_at: Set(Utc::now()),
        };
        match category::Entity::insert(row.clone())
            .exec_without_returning(&self.db)
            .await
        {
            Ok(_) => Ok(category::Model {
                id: row.id.unwrap(),
                name: row.name.unwrap(),
                slug: row.slug.unwrap(),
                created_at: row.created_at.unwrap(),
            }),
            Err(e) => match StorageError::from(e) {
                StorageError::UniqueViolation(_) => Err(FieldErrors::single(
                    "name",
                    "A category with this name already exists.",
                )
                .into()),
                other => Err(other.into()),
            },
        }
    }
}

/// `Wedding Gowns` → `wedding-gowns`.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().to_lowercase().chars() {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

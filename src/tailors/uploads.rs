//! Uploads that portfolio items and tailor reviews point at: only the
//! caller's own, each once, in the order given; shown as `/media/...` URLs.

use std::collections::{HashMap, HashSet};

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::storage::entities::media;
use crate::validation::FieldErrors;

/// The ids in `raw`, in order, when every one is an upload of `owner`'s and
/// none repeats, and there are `min..=max` of them; otherwise an error on
/// `field` (the ids are then of no use to the caller).
pub async fn own_uploads(
    db: &impl ConnectionTrait,
    owner: Uuid,
    raw: &[String],
    (min, max): (usize, usize),
    field: &str,
    errors: &mut FieldErrors,
) -> Result<Vec<Uuid>, DbErr> {
    if raw.len() < min {
        errors.add(field, format!("Add at least {min} image."));
        return Ok(Vec::new());
    }
    if raw.len() > max {
        errors.add(field, format!("At most {max} images."));
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = raw
        .iter()
        .filter_map(|r| Uuid::parse_str(r.trim()).ok())
        .collect();
    let unique: HashSet<Uuid> = ids.iter().copied().collect();
    let owned = if ids.is_empty() {
        0
    } else {
        media::Entity::find()
            .filter(media::Column::Id.is_in(unique.iter().copied()))
            .filter(media::Column::OwnerId.eq(owner))
            .all(db)
            .await?
            .len()
    };
    if ids.len() != raw.len() || unique.len() != ids.len() || owned != unique.len() {
        errors.add(field, "Use the ids of images you uploaded, each once.");
    }
    Ok(ids)
}

/// The URL of each of these uploads that still exists, by id (one query).
pub async fn urls(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = Uuid>,
) -> Result<HashMap<Uuid, String>, DbErr> {
    let ids: HashSet<Uuid> = ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(media::Entity::find()
        .filter(media::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.id, crate::media::url_of(&m.name)))
        .collect())
}

//! Customers' measurement profiles, stored in millimetres, with every
//! earlier version kept.
//!
//! A change takes the profile's row first (a no-op update: its lock, held to
//! the end of the transaction), then reads it, applies the request to what
//! it read, and writes the profile and its next immutable version together.
//! Concurrent changes therefore queue: none is lost and no two versions get
//! the same number (the unique index on `(profile_id, version)` would refuse
//! it anyway).

pub mod table;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use self::table::{MEASURES, UNITS, Unit};
use super::{TailorError, TailorService};
use crate::storage::entities::{measurement_profile, measurement_version, user};
use crate::validation::FieldErrors;

pub const NAME_MAX: usize = 100;
pub const NOTE_MAX: usize = 2000;

/// Fields of the answers that a client may send back unchanged; they are ignored.
const READ_ONLY: [&str; 4] = ["id", "version", "created_at", "updated_at"];

/// A profile as its owner sees it: every standard measurement, in the
/// profile's unit to one decimal, null when not taken.
#[derive(Debug, Serialize)]
pub struct MeasurementView {
    pub id: Uuid,
    pub name: String,
    pub note: String,
    pub unit: &'static str,
    /// The number of the version these values are (1 at creation).
    pub version: i32,
    #[serde(flatten)]
    pub values: BTreeMap<&'static str, Option<f64>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One version of a profile as it was, never changed once written.
#[derive(Debug, Serialize)]
pub struct MeasurementVersionView {
    /// What a commission will point at.
    pub id: Uuid,
    pub version: i32,
    pub name: String,
    pub note: String,
    pub unit: &'static str,
    #[serde(flatten)]
    pub values: BTreeMap<&'static str, Option<f64>>,
    pub created_at: DateTime<Utc>,
}

pub struct Page<T> {
    pub count: u64,
    pub results: Vec<T>,
}

/// What a profile holds, as written to its row and to each version.
#[derive(Clone, PartialEq)]
struct Content {
    name: String,
    note: String,
    unit: Unit,
    values_mm: BTreeMap<String, i64>,
}

impl TailorService {
    /// A new profile from a request body; it is version 1.
    pub async fn create_measurements(
        &self,
        me: &user::Model,
        body: Map<String, Value>,
    ) -> Result<MeasurementView, TailorError> {
        let blank = Content {
            name: String::new(),
            note: String::new(),
            unit: Unit::Cm,
            values_mm: BTreeMap::new(),
        };
        let content = apply(&blank, &body, true)?;
        let now = Utc::now();
        let id = Uuid::now_v7();
        let values_mm = serde_json::to_string(&content.values_mm).unwrap_or_default();
        let txn = self.db.begin().await?;
        measurement_profile::Entity::insert(measurement_profile::ActiveModel {
            id: Set(id),
            owner_id: Set(me.id),
            name: Set(content.name.clone()),
            note: Set(content.note.clone()),
            unit: Set(content.unit.as_str().into()),
            values_mm: Set(values_mm),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec_without_returning(&txn)
        .await?;
        insert_version(&txn, id, me.id, 1, &content, now).await?;
        let row = owned_profile(&txn, me.id, id).await?;
        txn.commit().await?;
        Ok(view(row))
    }

    /// The caller's profiles, newest first; `None` past the last page.
    pub async fn list_measurements(
        &self,
        me: &user::Model,
        page: u64,
        page_size: u64,
    ) -> Result<Option<Page<MeasurementView>>, TailorError> {
        let select = measurement_profile::Entity::find()
            .filter(measurement_profile::Column::OwnerId.eq(me.id));
        let count = select.clone().count(&self.db).await?;
        let Some(offset) = crate::storage::page_offset(page, page_size, count) else {
            return Ok(None);
        };
        let rows = select
            .order_by_desc(measurement_profile::Column::CreatedAt)
            .order_by_desc(measurement_profile::Column::Id)
            .offset(offset)
            .limit(page_size)
            .all(&self.db)
            .await?;
        Ok(Some(Page {
            count,
            results: rows.into_iter().map(view).collect(),
        }))
    }

    /// One of the caller's profiles; anyone else's is not found.
    pub async fn measurements(
        &self,
        me: &user::Model,
        id: Uuid,
    ) -> Result<MeasurementView, TailorError> {
        Ok(view(owned_profile(&self.db, me.id, id).await?))
    }

    /// Applies a partial change; a change that alters anything becomes the
    /// next version. Values are read in the unit of the request (`unit` if
    /// it sends one, else the profile's).
    pub async fn update_measurements(
        &self,
        me: &user::Model,
        id: Uuid,
        body: Map<String, Value>,
    ) -> Result<MeasurementView, TailorError> {
        let txn = self.db.begin().await?;
        if !lock_profile(&txn, me.id, id).await? {
            txn.rollback().await?;
            return Err(TailorError::NotFound);
        }
        let current = owned_profile(&txn, me.id, id).await?;
        let before = content_of(&current);
        let after = match apply(&before, &body, false) {
            Ok(after) => after,
            Err(errors) => {
                txn.rollback().await?;
                return Err(errors);
            }
        };
        if after == before {
            txn.commit().await?;
            return Ok(view(current));
        }
        let version = current.version + 1;
        let now = Utc::now();
        measurement_profile::Entity::update_many()
            .col_expr(
                measurement_profile::Column::Name,
                Expr::value(after.name.clone()),
            )
            .col_expr(
                measurement_profile::Column::Note,
                Expr::value(after.note.clone()),
            )
            .col_expr(
                measurement_profile::Column::Unit,
                Expr::value(after.unit.as_str()),
            )
            .col_expr(
                measurement_profile::Column::ValuesMm,
                Expr::value(serde_json::to_string(&after.values_mm).unwrap_or_default()),
            )
            .col_expr(measurement_profile::Column::Version, Expr::value(version))
            .col_expr(measurement_profile::Column::UpdatedAt, Expr::value(now))
            .filter(measurement_profile::Column::Id.eq(id))
            .exec(&txn)
            .await?;
        insert_version(&txn, id, me.id, version, &after, now).await?;
        let row = owned_profile(&txn, me.id, id).await?;
        txn.commit().await?;
        Ok(view(row))
    }

    /// Deletes one of the caller's profiles; its versions stay (with no
    /// profile) for whatever points at them.
    pub async fn delete_measurements(&self, me: &user::Model, id: Uuid) -> Result<(), TailorError> {
        let deleted = measurement_profile::Entity::delete_many()
            .filter(measurement_profile::Column::Id.eq(id))
            .filter(measurement_profile::Column::OwnerId.eq(me.id))
            .exec(&self.db)
            .await?;
        if deleted.rows_affected == 0 {
            return Err(TailorError::NotFound);
        }
        Ok(())
    }

    /// Every version of one of the caller's profiles, newest first; `None`
    /// past the last page.
    pub async fn measurement_history(
        &self,
        me: &user::Model,
        id: Uuid,
        page: u64,
        page_size: u64,
    ) -> Result<Option<Page<MeasurementVersionView>>, TailorError> {
        owned_profile(&self.db, me.id, id).await?;
        let select = measurement_version::Entity::find()
            .filter(measurement_version::Column::ProfileId.eq(id));
        let count = select.clone().count(&self.db).await?;
        let Some(offset) = crate::storage::page_offset(page, page_size, count) else {
            return Ok(None);
        };
        let rows = select
            .order_by_desc(measurement_version::Column::Version)
            .offset(offset)
            .limit(page_size)
            .all(&self.db)
            .await?;
        Ok(Some(Page {
            count,
            results: rows.into_iter().map(version_view).collect(),
        }))
    }
}

/// A no-op update of the profile's row: its lock, held to the end of the
/// transaction (SQLite: the write lock). False when the caller has no such
/// profile.
async fn lock_profile(
    conn: &impl ConnectionTrait,
    owner: Uuid,
    id: Uuid,
) -> Result<bool, TailorError> {
    let locked = measurement_profile::Entity::update_many()
        .col_expr(
            measurement_profile::Column::Version,
            Expr::col(measurement_profile::Column::Version).into(),
        )
        .filter(measurement_profile::Column::Id.eq(id))
        .filter(measurement_profile::Column::OwnerId.eq(owner))
        .exec(conn)
        .await?;
    Ok(locked.rows_affected == 1)
}

async fn owned_profile(
    conn: &impl ConnectionTrait,
    owner: Uuid,
    id: Uuid,
) -> Result<measurement_profile::Model, TailorError> {
    measurement_profile::Entity::find_by_id(id)
        .filter(measurement_profile::Column::OwnerId.eq(owner))
        .one(conn)
        .await?
        .ok_or(TailorError::NotFound)
}

async fn insert_version(
    txn: &DatabaseTransaction,
    profile: Uuid,
    owner: Uuid,
    version: i32,
    content: &Content,
    now: DateTime<Utc>,
) -> Result<(), TailorError> {
    measurement_version::Entity::insert(measurement_version::ActiveModel {
        id: Set(Uuid::now_v7()),
        profile_id: Set(Some(profile)),
        owner_id: Set(owner),
        version: Set(version),
        name: Set(content.name.clone()),
        note: Set(content.note.clone()),
        unit: Set(content.unit.as_str().into()),
        values_mm: Set(serde_json::to_string(&content.values_mm).unwrap_or_default()),
        created_at: Set(now),
    })
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

/// `before` with the request applied, or every field error in it. On
/// creation `name` is required.
fn apply(
    before: &Content,
    body: &Map<String, Value>,
    creating: bool,
) -> Result<Content, TailorError> {
    let mut errors = FieldErrors::new();
    let mut after = before.clone();
    match body.get("name") {
        None if creating => errors.add("name", crate::validation::REQUIRED),
        None => {}
        Some(Value::String(name)) if name.trim().is_empty() => {
            errors.add("name", crate::validation::BLANK)
        }
        Some(Value::String(name)) => {
            errors.max_len("name", name.trim(), NAME_MAX);
            after.name = name.trim().to_string();
        }
        Some(Value::Null) => errors.add("name", "This field may not be null."),
        Some(_) => errors.add("name", "Not a valid string."),
    }
    match body.get("note") {
        None => {}
        Some(Value::Null) => after.note = String::new(),
        Some(Value::String(note)) => {
            errors.max_len("note", note.trim(), NOTE_MAX);
            after.note = note.trim().to_string();
        }
        Some(_) => errors.add("note", "Not a valid string."),
    }
    match body.get("unit") {
        None => {}
        Some(raw) => match raw.as_str().and_then(Unit::parse) {
            Some(unit) => after.unit = unit,
            None => errors.add(
                "unit",
                format!(
                    "Select a valid choice. {raw} is not one of the available choices ({}).",
                    UNITS.join(", ")
                ),
            ),
        },
    }
    for (key, value) in body {
        if ["name", "note", "unit"].contains(&key.as_str()) || READ_ONLY.contains(&key.as_str()) {
            continue;
        }
        let Some(measure) = table::find(key) else {
            errors.add(key, "Unknown field: not a standard measurement.");
            continue;
        };
        let number = match value {
            Value::Null => {
                after.values_mm.remove(measure.name);
                continue;
            }
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
            _ => None,
        };
        let Some(number) = number else {
            errors.add(key, "A valid number is required.");
            continue;
        };
        match table::checked_mm(measure, after.unit, number) {
            Ok(mm) => {
                after.values_mm.insert(measure.name.to_string(), mm);
            }
            Err(message) => errors.add(key, message),
        }
    }
    errors.into_result()?;
    Ok(after)
}

fn content_of(row: &measurement_profile::Model) -> Content {
    Content {
        name: row.name.clone(),
        note: row.note.clone(),
        unit: Unit::parse(&row.unit).unwrap_or(Unit::Cm),
        values_mm: parse_values(&row.values_mm),
    }
}

fn parse_values(raw: &str) -> BTreeMap<String, i64> {
    serde_json::from_str(raw).unwrap_or_default()
}

/// Every standard measurement in `unit`, null where not taken.
fn values_in(raw: &str, unit: Unit) -> BTreeMap<&'static str, Option<f64>> {
    let stored: HashMap<String, i64> = serde_json::from_str(raw).unwrap_or_default();
    MEASURES
        .iter()
        .map(|m| (m.name, stored.get(m.name).map(|mm| unit.shown(*mm))))
        .collect()
}

fn view(row: measurement_profile::Model) -> MeasurementView {
    let unit = Unit::parse(&row.unit).unwrap_or(Unit::Cm);
    MeasurementView {
        id: row.id,
        values: values_in(&row.values_mm, unit),
        name: row.name,
        note: row.note,
        unit: unit.as_str(),
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

/// A stored version as its owner (or a commission's tailor) sees it.
pub fn version_view(row: measurement_version::Model) -> MeasurementVersionView {
    let unit = Unit::parse(&row.unit).unwrap_or(Unit::Cm);
    MeasurementVersionView {
        id: row.id,
        values: values_in(&row.values_mm, unit),
        version: row.version,
        name: row.name,
        note: row.note,
        unit: unit.as_str(),
        created_at: row.created_at,
    }
}

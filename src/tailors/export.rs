//! The tailor side's part of a user's data export (`GET users/me/export`):
//! what this area stores about the user, as stored. Read inside the
//! export's snapshot transaction.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::storage::entities::{
    follow, measurement_profile, measurement_version, portfolio_image, portfolio_item,
    tailor_profile, tailor_review,
};

#[derive(Debug, Serialize, ToSchema)]
pub struct TailorSideExport {
    /// The user's tailor profile, as stored (null for a customer).
    #[schema(value_type = Option<Object>)]
    pub tailor_profile: Option<Value>,
    pub portfolio: Vec<ExportPortfolioItem>,
    /// Users the user follows.
    pub following: Vec<ExportFollow>,
    /// Users who follow the user.
    pub followers: Vec<ExportFollow>,
    /// Reviews of tailors the user wrote.
    pub tailor_reviews_written: Vec<ExportTailorReview>,
    /// Reviews of the user as tailor.
    pub tailor_reviews_received: Vec<ExportTailorReview>,
    /// Measurement profiles, each with every version kept.
    pub measurements: Vec<ExportMeasurementProfile>,
    /// Versions whose profile was deleted (kept for what points at them).
    pub measurement_versions_of_deleted_profiles: Vec<ExportMeasurementVersion>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportPortfolioItem {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    #[schema(value_type = Vec<String>)]
    pub tags: Value,
    pub price_indication: Option<i64>,
    pub product_id: Option<Uuid>,
    pub position: i32,
    /// Uploaded images (see `uploads`), in order.
    pub image_ids: Vec<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportFollow {
    pub user_id: Uuid,
    pub since: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportTailorReview {
    pub id: Uuid,
    pub tailor_id: Uuid,
    pub customer_id: Uuid,
    pub rating: i32,
    pub feedback: String,
    #[schema(value_type = Vec<Uuid>)]
    pub image_ids: Value,
    pub reply: Option<String>,
    pub replied_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportMeasurementProfile {
    pub id: Uuid,
    pub name: String,
    pub note: String,
    pub unit: String,
    /// Measurement name → millimetres, as stored.
    #[schema(value_type = Object)]
    pub values_mm: Value,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Oldest first.
    pub versions: Vec<ExportMeasurementVersion>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportMeasurementVersion {
    pub id: Uuid,
    pub version: i32,
    pub name: String,
    pub note: String,
    pub unit: String,
    #[schema(value_type = Object)]
    pub values_mm: Value,
    pub created_at: DateTime<Utc>,
}

/// Stored JSON text as a value (text that is not JSON is exported as a string).
fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

pub async fn export(conn: &impl ConnectionTrait, me: Uuid) -> Result<TailorSideExport, DbErr> {
    let (measurements, orphans) = measurements(conn, me).await?;
    Ok(TailorSideExport {
        tailor_profile: tailor_profile::Entity::find_by_id(me)
            .one(conn)
            .await?
            .map(profile_as_stored),
        portfolio: portfolio(conn, me).await?,
        following: follows(conn, follow::Column::FollowerId, me).await?,
        followers: follows(conn, follow::Column::FolloweeId, me).await?,
        tailor_reviews_written: reviews(conn, tailor_review::Column::CustomerId, me).await?,
        tailor_reviews_received: reviews(conn, tailor_review::Column::TailorId, me).await?,
        measurements,
        measurement_versions_of_deleted_profiles: orphans,
    })
}

fn profile_as_stored(p: tailor_profile::Model) -> Value {
    serde_json::json!({
        "business_name": p.business_name,
        "bio": p.bio,
        "skills": p.skills.split(',').filter(|s| !s.is_empty()).collect::<Vec<_>>(),
        "specialties": json(&p.specialties),
        "years_of_experience": p.years_of_experience,
        "city": p.city,
        "state": p.state,
        "country": p.country,
        "latitude": p.latitude,
        "longitude": p.longitude,
        "in_shop_fittings": p.in_shop_fittings,
        "home_visits": p.home_visits,
        "home_visit_radius_km": p.home_visit_radius_km,
        "ships_nationwide": p.ships_nationwide,
        "price_from": p.price_from,
        "turnaround_days": p.turnaround_days,
        "languages": json(&p.languages),
        "contact_phone": p.contact_phone,
        "is_verified_tailor": p.is_verified_tailor,
        "created_at": p.created_at,
        "updated_at": p.updated_at,
    })
}

async fn portfolio(
    conn: &impl ConnectionTrait,
    me: Uuid,
) -> Result<Vec<ExportPortfolioItem>, DbErr> {
    let items = portfolio_item::Entity::find()
        .filter(portfolio_item::Column::TailorId.eq(me))
        .order_by_asc(portfolio_item::Column::Position)
        .all(conn)
        .await?;
    let images = portfolio_image::Entity::find()
        .filter(portfolio_image::Column::ItemId.is_in(items.iter().map(|i| i.id)))
        .order_by_asc(portfolio_image::Column::Position)
        .all(conn)
        .await?;
    Ok(items
        .into_iter()
        .map(|i| ExportPortfolioItem {
            image_ids: images
                .iter()
                .filter(|image| image.item_id == i.id)
                .map(|image| image.media_id)
                .collect(),
            tags: json(&i.tags),
            id: i.id,
            title: i.title,
            description: i.description,
            price_indication: i.price_indication,
            product_id: i.product_id,
            position: i.position,
            created_at: i.created_at,
            updated_at: i.updated_at,
        })
        .collect())
}

/// The follows where `me` is in `side`; each names the user on the other side.
async fn follows(
    conn: &impl ConnectionTrait,
    side: follow::Column,
    me: Uuid,
) -> Result<Vec<ExportFollow>, DbErr> {
    Ok(follow::Entity::find()
        .filter(side.eq(me))
        .order_by_asc(follow::Column::CreatedAt)
        .all(conn)
        .await?
        .into_iter()
        .map(|f| ExportFollow {
            user_id: if f.follower_id == me {
                f.followee_id
            } else {
                f.follower_id
            },
            since: f.created_at,
        })
        .collect())
}

async fn reviews(
    conn: &impl ConnectionTrait,
    side: tailor_review::Column,
    me: Uuid,
) -> Result<Vec<ExportTailorReview>, DbErr> {
    Ok(tailor_review::Entity::find()
        .filter(side.eq(me))
        .order_by_asc(tailor_review::Column::CreatedAt)
        .all(conn)
        .await?
        .into_iter()
        .map(|r| ExportTailorReview {
            image_ids: json(&r.image_ids),
            id: r.id,
            tailor_id: r.tailor_id,
            customer_id: r.customer_id,
            rating: r.rating,
            feedback: r.feedback,
            reply: r.reply,
            replied_at: r.replied_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
        .collect())
}

async fn measurements(
    conn: &impl ConnectionTrait,
    me: Uuid,
) -> Result<(Vec<ExportMeasurementProfile>, Vec<ExportMeasurementVersion>), DbErr> {
    let profiles = measurement_profile::Entity::find()
        .filter(measurement_profile::Column::OwnerId.eq(me))
        .order_by_asc(measurement_profile::Column::CreatedAt)
        .all(conn)
        .await?;
    let mut versions = measurement_version::Entity::find()
        .filter(measurement_version::Column::OwnerId.eq(me))
        .order_by_asc(measurement_version::Column::Version)
        .all(conn)
        .await?;
    let orphans = versions
        .extract_if(.., |v| v.profile_id.is_none())
        .map(version_view)
        .collect();
    let profiles = profiles
        .into_iter()
        .map(|p| ExportMeasurementProfile {
            versions: versions
                .iter()
                .filter(|v| v.profile_id == Some(p.id))
                .cloned()
                .map(version_view)
                .collect(),
            values_mm: json(&p.values_mm),
            id: p.id,
            name: p.name,
            note: p.note,
            unit: p.unit,
            version: p.version,
            created_at: p.created_at,
            updated_at: p.updated_at,
        })
        .collect();
    Ok((profiles, orphans))
}

fn version_view(v: measurement_version::Model) -> ExportMeasurementVersion {
    ExportMeasurementVersion {
        values_mm: json(&v.values_mm),
        id: v.id,
        version: v.version,
        name: v.name,
        note: v.note,
        unit: v.unit,
        created_at: v.created_at,
    }
}

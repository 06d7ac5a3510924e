//! Tailor profiles: opening one, the owner's view and edits, the public view,
//! staff verification.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};
use uuid::Uuid;

use crate::storage::entities::tailor_profile;

/// Gives `user` an empty profile (no business name: out of the directory
/// until named), unless they have one. Runs in the caller's transaction, so
/// a user never has the role `tailor` without a profile.
pub async fn insert_empty_profile(
    conn: &impl ConnectionTrait,
    user: Uuid,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let row = tailor_profile::ActiveModel {
        user_id: Set(user),
        business_name: Set(None),
        bio: Set(String::new()),
        skills: Set(",".into()),
        specialties: Set("[]".into()),
        search_text: Set(String::new()),
        years_of_experience: Set(0),
        city: Set(String::new()),
        state: Set(String::new()),
        country: Set("NG".into()),
        latitude: Set(None),
        longitude: Set(None),
        in_shop_fittings: Set(false),
        home_visits: Set(false),
        home_visit_radius_km: Set(None),
        ships_nationwide: Set(false),
        price_from: Set(None),
        turnaround_days: Set(None),
        languages: Set("[]".into()),
        contact_phone: Set(String::new()),
        is_verified_tailor: Set(false),
        rating_avg_centi: Set(0),
        rating_count: Set(0),
        followers_count: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
    };
    tailor_profile::Entity::insert(row)
        .on_conflict(
            OnConflict::column(tailor_profile::Column::UserId)
                .do_nothing()
                .to_owned(),
        )
        .do_nothing()
        .exec(conn)
        .await?;
    Ok(())
}

//! The tailor side (app `tailor_api`): tailors' profiles and the directory
//! customers search, portfolios, follows between users, reviews of tailors,
//! customers' measurement profiles, and the tailor's own dashboard.
//!
//! The domain (`TailorService`) knows nothing of HTTP; `http` turns requests
//! into calls. Tables: migration m0017.

mod customers;
mod directory;
mod directory_cache;
mod directory_filters;
mod error;
pub mod export;
mod follows;
pub mod http;
pub mod measurements;
mod portfolio;
mod profile_input;
mod profiles;
mod reviews;
mod tailor_row;
pub mod uploads;

pub use directory::{DirectoryPage, DirectoryQuery, TailorSummary};
pub use error::TailorError;
pub use follows::{end_all_follows, end_follows_between};
pub use profile_input::{ProfileInput, SKILLS, Skill, search_text_of, skills_column_of};
pub use profiles::{
    OwnProfileView, PortfolioPreview, PublicProfileView, VerificationView, insert_empty_profile,
};
pub use tailor_row::{is_live_tailor, lock_profile};

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::auth::UserCache;

pub struct TailorService {
    db: DatabaseConnection,
    /// Recent directory counts and near-me boxes (see `directory_cache`).
    cache: directory_cache::DirectoryCache,
    /// Opening a profile changes the user's role: its cached row goes.
    users: Arc<UserCache>,
}

impl TailorService {
    pub fn new(db: DatabaseConnection, users: Arc<UserCache>) -> Self {
        Self {
            db,
            cache: Default::default(),
            users,
        }
    }
}

/// A deleted account's rows on the tailor side that are personal data: its
/// measurement profiles and every version of them, its tailor profile and
/// its portfolio (reviews it wrote or received stay, under "Deleted user",
/// as product reviews do). Runs in the deletion's transaction.
pub async fn forget_tailor_side(
    conn: &impl sea_orm::ConnectionTrait,
    account: uuid::Uuid,
) -> Result<(), sea_orm::DbErr> {
    use crate::storage::entities::{
        measurement_profile, measurement_version, portfolio_item, tailor_profile,
    };
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    measurement_version::Entity::delete_many()
        .filter(measurement_version::Column::OwnerId.eq(account))
        .exec(conn)
        .await?;
    measurement_profile::Entity::delete_many()
        .filter(measurement_profile::Column::OwnerId.eq(account))
        .exec(conn)
        .await?;
    portfolio_item::Entity::delete_many()
        .filter(portfolio_item::Column::TailorId.eq(account))
        .exec(conn)
        .await?;
    tailor_profile::Entity::delete_many()
        .filter(tailor_profile::Column::UserId.eq(account))
        .exec(conn)
        .await?;
    Ok(())
}

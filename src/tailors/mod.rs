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
mod follows;
pub mod http;
mod measurements;
mod portfolio;
mod profile_input;
mod profiles;
mod reviews;

pub use directory::{DirectoryPage, DirectoryQuery, TailorSummary};
pub use error::TailorError;
pub use profile_input::{ProfileInput, SKILLS, Skill, search_text_of, skills_column_of};
pub use profiles::{
    OwnProfileView, PortfolioPreview, PublicProfileView, VerificationView, insert_empty_profile,
};

use sea_orm::DatabaseConnection;

pub struct TailorService {
    #[allow(dead_code)] // read by the features landing on this skeleton
    db: DatabaseConnection,
    /// Recent directory counts and near-me boxes (see `directory_cache`).
    cache: directory_cache::DirectoryCache,
}

impl TailorService {
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            cache: Default::default(),
        }
    }
}

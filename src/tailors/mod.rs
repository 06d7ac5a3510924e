//! The tailor side (app `tailor_api`): tailors' profiles and the directory
//! customers search, portfolios, follows between users, reviews of tailors,
//! customers' measurement profiles, and the tailor's own dashboard.
//!
//! The domain (`TailorService`) knows nothing of HTTP; `http` turns requests
//! into calls. Tables: migration m0017.

mod customers;
mod directory;
mod error;
mod follows;
pub mod http;
mod measurements;
mod portfolio;
mod profiles;
mod reviews;
mod tailor_row;
mod uploads;

pub use error::TailorError;
pub use profiles::insert_empty_profile;

use sea_orm::DatabaseConnection;

pub struct TailorService {
    #[allow(dead_code)] // read by the features landing on this skeleton
    db: DatabaseConnection,
}

impl TailorService {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

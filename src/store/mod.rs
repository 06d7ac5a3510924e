//! The shop (app `shop_api`): categories, tailors' products with variants,
//! the public catalog and favourites. Cart, checkout, orders, payments,
//! media and reviews are still to come (issue 3).
//!
//! The domain (`StoreService` and its siblings) knows nothing of HTTP;
//! `http` turns requests into calls.

mod browse;
mod categories;
mod error;
mod favorites;
pub mod http;
mod products;
mod views;

pub use browse::{CatalogQuery, Ordering};
pub use error::StoreError;
pub use products::{ProductInput, VariantInput};
pub use views::{CategoryView, ProductDetail, ProductSummary, RatingSummary, VariantView};

use sea_orm::DatabaseConnection;

pub const KINDS: [&str; 3] = ["ready_made", "fabric", "accessory"];
pub const CURRENCY: &str = "NGN";

pub struct StoreService {
    db: DatabaseConnection,
}

impl StoreService {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

//! The shop (app `shop_api`): categories, tailors' products with variants,
//! the public catalog, favourites, the cart, checkout, orders and reviews.
//! Payments and media are still to come (issue 3).
//!
//! The domain (`StoreService` and its siblings) knows nothing of HTTP;
//! `http` turns requests into calls.

mod browse;
mod cart;
mod categories;
mod checkout;
mod error;
mod favorites;
pub mod http;
mod orders;
mod products;
mod reviews;
mod views;

pub use browse::{CatalogQuery, Ordering};
pub use cart::{CartLine, CartView};
pub use error::StoreError;
pub use orders::{OrderEventView, OrderItemView, OrderPage, OrderView, Party, PaymentView, Status};
pub use products::{ProductInput, VariantInput};
pub use reviews::{ReviewPage, ReviewView};
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

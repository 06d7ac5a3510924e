//! What the catalog shows. Plain data (serde and schema derives only), built
//! from rows by `StoreService`; the HTTP layer returns them as they are.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::storage::entities::{category, product, product_variant};

#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryView {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
}

impl From<&category::Model> for CategoryView {
    fn from(c: &category::Model) -> Self {
        Self {
            id: c.id,
            name: c.name.clone(),
            slug: c.slug.clone(),
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RatingSummary {
    /// Average of 1–5 stars, two decimals; 0 without reviews.
    pub average: f64,
    pub count: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VariantView {
    pub id: Uuid,
    /// Empty when the product has no sizes.
    pub size: String,
    /// Empty when the product has no colours.
    pub color: String,
    /// Units in stock (yards for fabric).
    pub stock: i64,
    /// The variant's price change in kobo.
    pub price_delta: i64,
    /// What one unit (or yard) of this variant costs now, in kobo.
    pub price: i64,
}

/// A product in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductSummary {
    pub id: Uuid,
    pub tailor_id: Uuid,
    /// URL of the tailor's avatar (`/media/...`); null without one.
    pub tailor_avatar: Option<String>,
    pub category_id: Option<Uuid>,
    pub name: String,
    /// `ready_made`, `fabric` (sold by the yard) or `accessory`.
    pub kind: String,
    pub material: String,
    pub colors: Vec<String>,
    /// List price in kobo (integer minor units).
    pub price: i64,
    pub currency: String,
    pub discount_percent: i32,
    /// Price after the discount, in kobo.
    pub effective_price: i64,
    pub in_stock: bool,
    pub is_active: bool,
    pub rating: RatingSummary,
    pub favorites_count: i64,
    pub created_at: DateTime<Utc>,
    /// URL of the first image (`/media/...`); null when the product has none.
    pub image: Option<String>,
}

/// A product with its variants.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductDetail {
    #[serde(flatten)]
    pub summary: ProductSummary,
    pub description: String,
    pub category: Option<CategoryView>,
    pub variants: Vec<VariantView>,
    /// Image URLs in display order.
    pub images: Vec<String>,
    pub updated_at: DateTime<Utc>,
}

pub fn detail(
    summary: ProductSummary,
    p: &product::Model,
    variants: &[product_variant::Model],
    category: Option<&category::Model>,
    images: Vec<String>,
) -> ProductDetail {
    ProductDetail {
        summary,
        description: p.description.clone(),
        category: category.map(CategoryView::from),
        variants: variants
            .iter()
            .map(|v| VariantView {
                id: v.id,
                size: v.size.clone(),
                color: v.color.clone(),
                stock: v.stock,
                price_delta: v.price_delta_kobo,
                price: p.effective_price_kobo + v.price_delta_kobo,
            })
            .collect(),
        images,
        updated_at: p.updated_at,
    }
}

//! What a customer can be charged: a product's price after its discount,
//! plus each variant's delta, never below 1 kobo.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::StoreError;
use super::products::ProductInput;
use crate::storage::entities::{product, product_variant};
use crate::validation::FieldErrors;

/// Which field a price too low is reported on: what the request changed.
pub(super) fn price_field(input: &ProductInput) -> &'static str {
    if input
        .variants
        .iter()
        .flatten()
        .any(|v| v.price_delta.is_some())
    {
        "variants"
    } else if input.price.is_some() {
        "price"
    } else if input.discount_percent.is_some() {
        "discount_percent"
    } else {
        "variants"
    }
}

/// Every variant must cost a customer at least 1 kobo: the product's price
/// after its discount plus the variant's delta, as the cart and checkout
/// charge it. Checked inside the writing transaction, after its writes, on
/// what the database then holds (the product row is locked by then), so two
/// edits that are each fine cannot together make a variant free.
pub(super) async fn ensure_chargeable(
    conn: &impl ConnectionTrait,
    product_id: Uuid,
    field: &str,
) -> Result<(), StoreError> {
    let product = product::Entity::find_by_id(product_id)
        .one(conn)
        .await?
        .ok_or(StoreError::NotFound)?;
    let variants = product_variant::Entity::find()
        .filter(product_variant::Column::ProductId.eq(product_id))
        .order_by_asc(product_variant::Column::Id)
        .all(conn)
        .await?;
    let mut errors = FieldErrors::new();
    for variant in variants {
        let price = product.effective_price_kobo + variant.price_delta_kobo;
        if price < 1 {
            errors.add(
                field,
                format!(
                    "Variant {}: it would cost {price} kobo after the discount; every variant must cost at least 1 kobo.",
                    variant_name(&variant)
                ),
            );
        }
    }
    Ok(errors.into_result()?)
}

fn variant_name(variant: &product_variant::Model) -> String {
    let parts: Vec<&str> = [variant.size.as_str(), variant.color.as_str()]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect();
    if parts.is_empty() {
        "without size or colour".into()
    } else {
        format!("\"{}\"", parts.join(", "))
    }
}

/// The price after a whole-percent discount, rounded down to the kobo.
pub fn effective_price(price_kobo: i64, discount_percent: i32) -> i64 {
    price_kobo * i64::from(100 - discount_percent) / 100
}

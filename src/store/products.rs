//! Tailors' products: create, update, soft delete, and loading one with its
//! variants.

use chrono::Utc;
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::browse::SummaryRow;
use super::pricing::{effective_price, ensure_chargeable, price_field};
use super::views::{self, ProductDetail};
use super::{CURRENCY, KINDS, StoreError, StoreService};
use crate::storage::entities::{category, media, product, product_image, product_variant, user};
use crate::validation::FieldErrors;

const MAX_PRICE: i64 = 1_000_000_000_000;
const MAX_STOCK: i64 = 1_000_000;
const MAX_VARIANTS: usize = 100;
const MAX_COLORS: usize = 20;
const MAX_IMAGES: usize = 10;

/// A product as a tailor sends it. On update every field is optional; on
/// create (`NewProduct`) `name`, `kind`, `price` and `variants` are required.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(default)]
pub struct ProductInput {
    /// Up to 200 characters.
    #[schema(value_type = String, required = false, min_length = 1, max_length = 200, example = "Agbada, hand-embroidered")]
    pub name: Option<String>,
    /// Up to 5,000 characters.
    #[schema(value_type = String, required = false, max_length = 5000)]
    pub description: Option<String>,
    /// `ready_made`, `fabric` (sold by the yard) or `accessory`.
    #[schema(value_type = crate::store::http::schema::ProductKind, required = false, example = "ready_made")]
    pub kind: Option<String>,
    /// A category id from `/shop/api/categories/`; on update an empty string removes it.
    #[schema(value_type = String, required = false, pattern = "^$|^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    pub category_id: Option<String>,
    /// Up to 100 characters.
    #[schema(value_type = String, required = false, max_length = 100, example = "cotton")]
    pub material: Option<String>,
    /// At most 20 colours of up to 40 characters, without commas.
    #[schema(value_type = Vec<String>, required = false, max_items = 20)]
    pub colors: Option<Vec<String>>,
    /// Price in kobo (integer minor units of NGN): 2500000 is ₦25,000.
    #[schema(value_type = i64, required = false, minimum = 1, maximum = 1_000_000_000_000_i64, example = 2500000)]
    pub price: Option<i64>,
    /// Only `NGN` for now.
    #[schema(value_type = String, required = false, pattern = "^NGN$")]
    pub currency: Option<String>,
    #[schema(value_type = i64, required = false, minimum = 0, maximum = 95)]
    pub discount_percent: Option<i64>,
    /// False hides the product from the catalog (it stays in the tailor's store).
    #[schema(value_type = bool, required = false)]
    pub is_active: Option<bool>,
    /// On create: at least one. On update: items with an `id` change that
    /// variant, items without one are added.
    #[schema(value_type = Vec<VariantInput>, required = false, max_items = 100)]
    pub variants: Option<Vec<VariantInput>>,
    /// Ids of images you uploaded (`/media/api/upload/`), in display order;
    /// on update the list replaces the old one.
    #[schema(value_type = Vec<Uuid>, required = false, max_items = 10)]
    pub image_ids: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(default)]
pub struct VariantInput {
    /// On update: the variant to change.
    #[schema(value_type = Uuid, required = false)]
    pub id: Option<String>,
    #[schema(value_type = String, required = false, max_length = 20, example = "L")]
    pub size: Option<String>,
    #[schema(value_type = String, required = false, max_length = 40, example = "indigo")]
    pub color: Option<String>,
    /// Units in stock (yards for fabric); required for a new variant.
    #[schema(value_type = i64, required = false, minimum = 0, maximum = 1_000_000, example = 12)]
    pub stock: Option<i64>,
    /// Price change for this variant, in kobo (may be negative).
    #[schema(value_type = i64, required = false, minimum = -1_000_000_000_000_i64, maximum = 1_000_000_000_000_i64)]
    pub price_delta: Option<i64>,
}

/// The columns that a valid input sets.
struct Checked {
    category_id: Option<Option<Uuid>>,
    images: Option<Vec<Uuid>>,
    colors: Option<String>,
    variants: Vec<(Option<Uuid>, VariantInput)>,
}

impl StoreService {
    pub async fn create_product(
        &self,
        tailor: &user::Model,
        input: ProductInput,
    ) -> Result<ProductDetail, StoreError> {
        if tailor.role != "tailor" {
            return Err(StoreError::Forbidden("Only tailors can upload products."));
        }
        let mut errors = FieldErrors::new();
        errors.required("name", &input.name);
        errors.required("kind", &input.kind);
        if input.price.is_none() {
            errors.add("price", crate::validation::REQUIRED);
        }
        if input.variants.as_ref().is_none_or(Vec::is_empty) {
            errors.add(
                "variants",
                "Add at least one variant (size and/or colour with its stock).",
            );
        }
        let checked = self.check(tailor, &input, &mut errors).await?;
        errors.into_result()?;

        let price_field = price_field(&input);
        let now = Utc::now();
        let price = input.price.unwrap_or_default();
        let discount = input.discount_percent.unwrap_or(0) as i32;
        let row = product::ActiveModel {
            id: Set(Uuid::now_v7()),
            tailor_id: Set(tailor.id),
            category_id: Set(checked.category_id.flatten()),
            name: Set(input.name.unwrap_or_default().trim().to_string()),
            description: Set(input.description.unwrap_or_default().trim().to_string()),
            kind: Set(input.kind.unwrap_or_default()),
            material: Set(input.material.unwrap_or_default().trim().to_lowercase()),
            colors: Set(checked.colors.unwrap_or_default()),
            price_kobo: Set(price),
            currency: Set(CURRENCY.into()),
            discount_percent: Set(discount),
            effective_price_kobo: Set(effective_price(price, discount)),
            is_active: Set(input.is_active.unwrap_or(true)),
            rating_avg_centi: Set(0),
            rating_count: Set(0),
            favorites_count: Set(0),
            deleted_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        };
        let txn = self.db.begin().await?;
        let product = row.insert(&txn).await?;
        for (_, variant) in checked.variants {
            new_variant(product.id, variant).insert(&txn).await?;
        }
        if let Some(images) = &checked.images {
            set_images(&txn, product.id, images).await?;
        }
        ensure_chargeable(&txn, product.id, price_field).await?;
        txn.commit().await?;
        self.catalog_changed();
        tracing::info!(product_id = %product.id, tailor_id = %tailor.id, "product created");
        self.product_detail(product.id, Some(tailor)).await
    }

    pub async fn update_product(
        &self,
        tailor: &user::Model,
        id: Uuid,
        input: ProductInput,
    ) -> Result<ProductDetail, StoreError> {
        self.owned_product(tailor, id).await?;
        let mut errors = FieldErrors::new();
        for (field, value) in [("name", &input.name), ("kind", &input.kind)] {
            if value.is_some() {
                errors.required(field, value);
            }
        }
        let checked = self.check(tailor, &input, &mut errors).await?;
        let existing = self.variants_of(&[id]).await?;
        for (variant_id, _) in &checked.variants {
            if variant_id.is_some_and(|v| !existing.iter().any(|e| e.id == v)) {
                errors.add("variants", "A variant id does not belong to this product.");
            }
        }
        errors.into_result()?;

        let price_field = price_field(&input);
        let txn = self.db.begin().await?;
        // The product row first: concurrent edits of one product queue here,
        // so the price check below sees every earlier edit.
        update_product_row(&txn, id, input, &checked).await?;
        if let Some(images) = &checked.images {
            set_images(&txn, id, images).await?;
        }
        for (variant_id, variant) in checked.variants {
            match variant_id.and_then(|v| existing.iter().find(|e| e.id == v)) {
                Some(current) => {
                    let mut changed = current.clone().into_active_model();
                    if let Some(size) = variant.size {
                        changed.size = Set(size.trim().to_uppercase());
                    }
                    if let Some(color) = variant.color {
                        changed.color = Set(color.trim().to_lowercase());
                    }
                    if let Some(stock) = variant.stock {
                        changed.stock = Set(stock);
                    }
                    if let Some(delta) = variant.price_delta {
                        changed.price_delta_kobo = Set(delta);
                    }
                    changed.update(&txn).await?;
                }
                None => {
                    new_variant(id, variant).insert(&txn).await?;
                }
            }
        }
        ensure_chargeable(&txn, id, price_field).await?;
        txn.commit().await?;
        self.catalog_changed();
        self.product_detail(id, Some(tailor)).await
    }

    /// Soft delete: the product leaves the catalog; orders keep it.
    pub async fn delete_product(&self, tailor: &user::Model, id: Uuid) -> Result<(), StoreError> {
        let product = self.owned_product(tailor, id).await?;
        let mut row = product.into_active_model();
        row.deleted_at = Set(Some(Utc::now()));
        row.update(&self.db).await?;
        self.catalog_changed();
        tracing::info!(product_id = %id, "product deleted");
        Ok(())
    }

    /// A product that is not deleted and belongs to `tailor` (403 otherwise).
    async fn owned_product(
        &self,
        tailor: &user::Model,
        id: Uuid,
    ) -> Result<product::Model, StoreError> {
        let product = self.live_product(id).await?.ok_or(StoreError::NotFound)?;
        if product.tailor_id != tailor.id {
            return Err(StoreError::Forbidden(
                "This product belongs to another tailor.",
            ));
        }
        Ok(product)
    }

    pub(super) async fn live_product(
        &self,
        id: Uuid,
    ) -> Result<Option<product::Model>, StoreError> {
        Ok(product::Entity::find_by_id(id)
            .filter(product::Column::DeletedAt.is_null())
            .one(&self.db)
            .await?)
    }

    pub(super) async fn variants_of(
        &self,
        products: &[Uuid],
    ) -> Result<Vec<product_variant::Model>, StoreError> {
        Ok(product_variant::Entity::find()
            .filter(product_variant::Column::ProductId.is_in(products.iter().copied()))
            .order_by_asc(product_variant::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// One product with its variants. Hidden products are shown to their
    /// tailor only; deleted ones to nobody.
    pub async fn product_detail(
        &self,
        id: Uuid,
        viewer: Option<&user::Model>,
    ) -> Result<ProductDetail, StoreError> {
        let product = self.live_product(id).await?.ok_or(StoreError::NotFound)?;
        if !product.is_active && viewer.is_none_or(|v| v.id != product.tailor_id) {
            return Err(StoreError::NotFound);
        }
        let variants = self.variants_of(&[id]).await?;
        let category = match product.category_id {
            Some(c) => category::Entity::find_by_id(c).one(&self.db).await?,
            None => None,
        };
        let images = self.image_names(id).await?;
        let in_stock = variants.iter().any(|v| v.stock > 0);
        let avatar = crate::media::avatar_urls(&self.db, [product.tailor_id])
            .await?
            .remove(&product.tailor_id);
        let summary = SummaryRow::of(&product, in_stock, images.first().cloned()).into_view(avatar);
        Ok(views::detail(
            summary,
            &product,
            &variants,
            category.as_ref(),
            images
                .iter()
                .map(|name| crate::media::url_of(name))
                .collect(),
        ))
    }

    /// Field checks shared by create and update; also resolves the category.
    /// The stored names of the product's images, in display order.
    async fn image_names(&self, product_id: Uuid) -> Result<Vec<String>, StoreError> {
        let order = product_image::Entity::find()
            .filter(product_image::Column::ProductId.eq(product_id))
            .order_by_asc(product_image::Column::Position)
            .all(&self.db)
            .await?;
        let names: std::collections::HashMap<Uuid, String> = media::Entity::find()
            .filter(media::Column::Id.is_in(order.iter().map(|i| i.media_id)))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| (m.id, m.name))
            .collect();
        Ok(order
            .iter()
            .filter_map(|i| names.get(&i.media_id).cloned())
            .collect())
    }

    /// Image ids must be the owner's own uploads, each once.
    pub(super) async fn check_images(
        &self,
        tailor: &user::Model,
        raw: &[String],
        errors: &mut FieldErrors,
    ) -> Result<Vec<Uuid>, StoreError> {
        if raw.len() > MAX_IMAGES {
            errors.add("image_ids", format!("At most {MAX_IMAGES} images."));
        }
        let ids: Vec<Uuid> = raw.iter().filter_map(|r| Uuid::parse_str(r).ok()).collect();
        let owned = media::Entity::find()
            .filter(media::Column::Id.is_in(ids.iter().copied()))
            .filter(media::Column::OwnerId.eq(tailor.id))
            .all(&self.db)
            .await?;
        let unique: std::collections::HashSet<&Uuid> = ids.iter().collect();
        if ids.len() != raw.len() || owned.len() != unique.len() || unique.len() != ids.len() {
            errors.add(
                "image_ids",
                "Use the ids of images you uploaded, each once.",
            );
        }
        Ok(ids)
    }

    async fn check(
        &self,
        tailor: &user::Model,
        input: &ProductInput,
        errors: &mut FieldErrors,
    ) -> Result<Checked, StoreError> {
        if let Some(name) = &input.name {
            errors.max_len("name", name, 200);
        }
        if let Some(description) = &input.description {
            errors.max_len("description", description, 5000);
        }
        if let Some(material) = &input.material {
            errors.max_len("material", material, 100);
        }
        if let Some(kind) = input.kind.as_deref().filter(|k| !k.is_empty())
            && !KINDS.contains(&kind)
        {
            errors.add("kind", format!("\"{kind}\" is not a valid choice."));
        }
        if input.currency.as_deref().is_some_and(|c| c != CURRENCY) {
            errors.add("currency", "Only NGN is supported.");
        }
        if input.price.is_some_and(|p| !(1..=MAX_PRICE).contains(&p)) {
            errors.add(
                "price",
                format!("Enter a price in kobo between 1 and {MAX_PRICE}."),
            );
        }
        if input
            .discount_percent
            .is_some_and(|d| !(0..=95).contains(&d))
        {
            errors.add("discount_percent", "Enter a whole number from 0 to 95.");
        }
        let colors = input.colors.as_ref().map(|colors| {
            if colors.len() > MAX_COLORS || colors.iter().any(|c| c.len() > 40 || c.contains(',')) {
                errors.add(
                    "colors",
                    format!("At most {MAX_COLORS} colours of up to 40 characters, without commas."),
                );
            }
            colors
                .iter()
                .map(|c| c.trim().to_lowercase())
                .filter(|c| !c.is_empty())
                .collect::<Vec<_>>()
                .join(",")
        });
        let category_id = match input.category_id.as_deref() {
            None => None,
            Some("") => Some(None),
            Some(raw) => match Uuid::parse_str(raw) {
                Ok(id)
                    if category::Entity::find_by_id(id)
                        .one(&self.db)
                        .await?
                        .is_some() =>
                {
                    Some(Some(id))
                }
                _ => {
                    errors.add(
                        "category_id",
                        format!("Invalid pk \"{raw}\" - object does not exist."),
                    );
                    None
                }
            },
        };
        let variants = check_variants(input.variants.as_deref().unwrap_or_default(), errors);
        let images = match &input.image_ids {
            Some(raw) => Some(self.check_images(tailor, raw, errors).await?),
            None => None,
        };
        Ok(Checked {
            category_id,
            images,
            colors,
            variants: variants
                .into_iter()
                .zip(input.variants.iter().flatten())
                .map(|(id, v)| {
                    (
                        id,
                        VariantInput {
                            id: None,
                            size: v.size.clone(),
                            color: v.color.clone(),
                            stock: v.stock,
                            price_delta: v.price_delta,
                        },
                    )
                })
                .collect(),
        })
    }
}

/// Checks each variant; returns their ids (None for new ones), in order.
fn check_variants(variants: &[VariantInput], errors: &mut FieldErrors) -> Vec<Option<Uuid>> {
    if variants.len() > MAX_VARIANTS {
        errors.add("variants", format!("At most {MAX_VARIANTS} variants."));
    }
    variants
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let n = i + 1;
            let id = v.id.as_deref().map(Uuid::parse_str);
            if matches!(id, Some(Err(_))) {
                errors.add("variants", format!("Variant {n}: id is not a valid UUID."));
            }
            if id.is_none() && v.stock.is_none() {
                errors.add("variants", format!("Variant {n}: stock is required."));
            }
            if v.stock.is_some_and(|s| !(0..=MAX_STOCK).contains(&s)) {
                errors.add(
                    "variants",
                    format!("Variant {n}: stock must be from 0 to {MAX_STOCK}."),
                );
            }
            if v.price_delta
                .is_some_and(|d| !(-MAX_PRICE..=MAX_PRICE).contains(&d))
            {
                errors.add(
                    "variants",
                    format!("Variant {n}: price_delta is out of range."),
                );
            }
            if v.size.as_deref().is_some_and(|s| s.len() > 20)
                || v.color.as_deref().is_some_and(|c| c.len() > 40)
            {
                errors.add(
                    "variants",
                    format!("Variant {n}: size (20) or colour (40) is too long."),
                );
            }
            id.and_then(Result::ok)
        })
        .collect()
}

async fn set_images(
    conn: &impl sea_orm::ConnectionTrait,
    product_id: Uuid,
    images: &[Uuid],
) -> Result<(), StoreError> {
    product_image::Entity::delete_many()
        .filter(product_image::Column::ProductId.eq(product_id))
        .exec(conn)
        .await?;
    for (position, media_id) in images.iter().enumerate() {
        product_image::ActiveModel {
            product_id: Set(product_id),
            position: Set(position as i32),
            media_id: Set(*media_id),
        }
        .insert(conn)
        .await?;
    }
    Ok(())
}

fn new_variant(product_id: Uuid, v: VariantInput) -> product_variant::ActiveModel {
    product_variant::ActiveModel {
        id: Set(Uuid::now_v7()),
        product_id: Set(product_id),
        size: Set(v.size.unwrap_or_default().trim().to_uppercase()),
        color: Set(v.color.unwrap_or_default().trim().to_lowercase()),
        stock: Set(v.stock.unwrap_or(0)),
        price_delta_kobo: Set(v.price_delta.unwrap_or(0)),
        created_at: Set(Utc::now()),
    }
}

/// Writes the product's own columns that the input sets, in one statement
/// that also locks the row. The effective price is computed by the statement
/// from the row's current price and discount where the input leaves them,
/// so an edit never writes back a value another edit changed meanwhile.
async fn update_product_row(
    conn: &impl ConnectionTrait,
    id: Uuid,
    input: ProductInput,
    checked: &Checked,
) -> Result<(), StoreError> {
    let mut update = product::Entity::update_many()
        .col_expr(product::Column::UpdatedAt, Expr::value(Utc::now()));
    let text_columns = [
        (
            product::Column::Name,
            input.name.map(|v| v.trim().to_string()),
        ),
        (
            product::Column::Description,
            input.description.map(|v| v.trim().to_string()),
        ),
        (product::Column::Kind, input.kind),
        (
            product::Column::Material,
            input.material.map(|v| v.trim().to_lowercase()),
        ),
        (product::Column::Colors, checked.colors.clone()),
    ];
    for (column, value) in text_columns {
        if let Some(value) = value {
            update = update.col_expr(column, Expr::value(value));
        }
    }
    if let Some(category_id) = checked.category_id {
        update = update.col_expr(product::Column::CategoryId, Expr::value(category_id));
    }
    if let Some(active) = input.is_active {
        update = update.col_expr(product::Column::IsActive, Expr::value(active));
    }
    let price: SimpleExpr = match input.price {
        Some(price) => {
            update = update.col_expr(product::Column::PriceKobo, Expr::value(price));
            Expr::value(price)
        }
        None => Expr::col(product::Column::PriceKobo).into(),
    };
    let discount: SimpleExpr = match input.discount_percent {
        Some(discount) => {
            let discount = discount as i32;
            update = update.col_expr(product::Column::DiscountPercent, Expr::value(discount));
            Expr::value(discount)
        }
        None => Expr::col(product::Column::DiscountPercent).into(),
    };
    // As `effective_price`: price * (100 - discount) / 100, rounded down.
    let effective = Expr::expr(price)
        .mul(Expr::expr(Expr::value(100)).sub(discount))
        .div(100);
    update
        .col_expr(product::Column::EffectivePriceKobo, effective)
        .filter(product::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

//! The public catalog: filters, ordering and pages over visible products, and
//! a tailor's own store.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Func, LikeExpr, Order, Query, SelectStatement, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect,
    Select,
};
use uuid::Uuid;

use super::views::{ProductSummary, RatingSummary};
use super::{KINDS, StoreError, StoreService};
use crate::storage::entities::{category, media, product, product_image, product_variant, user};
use crate::validation::FieldErrors;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Ordering {
    /// Newest first.
    #[default]
    Newest,
    PriceAscending,
    PriceDescending,
    Rating,
    Popularity,
}

impl Ordering {
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "-created" => Ordering::Newest,
            "price" => Ordering::PriceAscending,
            "-price" => Ordering::PriceDescending,
            "-rating" => Ordering::Rating,
            "-popularity" => Ordering::Popularity,
            _ => return None,
        })
    }
}

/// Catalog filters as they arrive (strings from the query), checked by `list_products`.
#[derive(Debug, Default, Clone)]
pub struct CatalogQuery {
    pub search: Option<String>,
    /// A category id or slug.
    pub category: Option<String>,
    pub kind: Option<String>,
    pub color: Option<String>,
    pub size: Option<String>,
    pub material: Option<String>,
    /// A tailor's user id.
    pub tailor: Option<String>,
    pub min_price: Option<String>,
    pub max_price: Option<String>,
    pub in_stock: Option<String>,
    pub ordering: Option<String>,
}

pub struct ProductPage {
    pub count: u64,
    pub products: Vec<ProductSummary>,
}

impl StoreService {
    /// One page of visible products; `None` past the last page.
    pub async fn list_products(
        &self,
        query: &CatalogQuery,
        page: u64,
        page_size: u64,
    ) -> Result<Option<ProductPage>, StoreError> {
        let (select, ordering) = filtered(query)?;
        let select = select
            .filter(product::Column::IsActive.eq(true))
            .filter(product::Column::DeletedAt.is_null());
        self.page(ordered(select, ordering), page, page_size).await
    }

    /// The tailor's own products, hidden and out of stock included.
    pub async fn store_products(
        &self,
        tailor: &user::Model,
        page: u64,
        page_size: u64,
    ) -> Result<Option<ProductPage>, StoreError> {
        let select = product::Entity::find()
            .filter(product::Column::TailorId.eq(tailor.id))
            .filter(product::Column::DeletedAt.is_null());
        self.page(ordered(select, Ordering::Newest), page, page_size)
            .await
    }

    pub(super) async fn page(
        &self,
        select: Select<product::Entity>,
        page: u64,
        page_size: u64,
    ) -> Result<Option<ProductPage>, StoreError> {
        let count = self.count_cached(&select).await?;
        let Some(offset) = crate::storage::page_offset(page, page_size, count) else {
            return Ok(None);
        };
        // The page, each product's stock flag and first image come in one
        // statement: on SQLite every statement is a round trip to the
        // connection's thread, and a summary needs no description.
        let rows = select
            .select_only()
            .columns(SUMMARY_COLUMNS)
            .expr_as(with_variant(variant_in_stock()), "in_stock")
            .expr_as(first_image_name(), "image_name")
            .offset(offset)
            .limit(page_size)
            .into_model::<SummaryRow>()
            .all(&self.db)
            .await?;
        // Tailors' avatars as recently read (a page names few tailors, and
        // the same ones page after page).
        let avatars =
            crate::media::recent_avatar_urls(&self.db, rows.iter().map(|r| r.tailor_id)).await?;
        let products = rows
            .into_iter()
            .map(|row| {
                let avatar = avatars.get(&row.tailor_id).cloned();
                row.into_view(avatar)
            })
            .collect();
        Ok(Some(ProductPage { count, products }))
    }
}

/// The product columns a summary shows.
const SUMMARY_COLUMNS: [product::Column; 16] = {
    use product::Column as C;
    [
        C::Id,
        C::TailorId,
        C::CategoryId,
        C::Name,
        C::Kind,
        C::Material,
        C::Colors,
        C::PriceKobo,
        C::Currency,
        C::DiscountPercent,
        C::EffectivePriceKobo,
        C::IsActive,
        C::RatingAvgCenti,
        C::RatingCount,
        C::FavoritesCount,
        C::CreatedAt,
    ]
};

/// A product as a list shows it: `SUMMARY_COLUMNS`, whether any variant is
/// in stock, and the stored name of its first image.
#[derive(FromQueryResult)]
pub(super) struct SummaryRow {
    id: Uuid,
    tailor_id: Uuid,
    category_id: Option<Uuid>,
    name: String,
    kind: String,
    material: String,
    colors: String,
    price_kobo: i64,
    currency: String,
    discount_percent: i32,
    effective_price_kobo: i64,
    is_active: bool,
    rating_avg_centi: i64,
    rating_count: i64,
    favorites_count: i64,
    created_at: DateTime<Utc>,
    in_stock: bool,
    image_name: Option<String>,
}

impl SummaryRow {
    /// A row from a loaded product.
    pub(super) fn of(p: &product::Model, in_stock: bool, image_name: Option<String>) -> Self {
        Self {
            id: p.id,
            tailor_id: p.tailor_id,
            category_id: p.category_id,
            name: p.name.clone(),
            kind: p.kind.clone(),
            material: p.material.clone(),
            colors: p.colors.clone(),
            price_kobo: p.price_kobo,
            currency: p.currency.clone(),
            discount_percent: p.discount_percent,
            effective_price_kobo: p.effective_price_kobo,
            is_active: p.is_active,
            rating_avg_centi: p.rating_avg_centi,
            rating_count: p.rating_count,
            favorites_count: p.favorites_count,
            created_at: p.created_at,
            in_stock,
            image_name,
        }
    }

    /// The summary, with the URL of the tailor's avatar.
    pub(super) fn into_view(self, tailor_avatar: Option<String>) -> ProductSummary {
        ProductSummary {
            id: self.id,
            tailor_id: self.tailor_id,
            tailor_avatar,
            category_id: self.category_id,
            name: self.name,
            kind: self.kind,
            material: self.material,
            colors: self
                .colors
                .split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect(),
            price: self.price_kobo,
            currency: self.currency,
            discount_percent: self.discount_percent,
            effective_price: self.effective_price_kobo,
            in_stock: self.in_stock,
            is_active: self.is_active,
            rating: RatingSummary {
                average: self.rating_avg_centi as f64 / 100.0,
                count: self.rating_count,
            },
            favorites_count: self.favorites_count,
            created_at: self.created_at,
            image: self.image_name.as_deref().map(crate::media::url_of),
        }
    }
}

fn variant_in_stock() -> Condition {
    Condition::all().add(product_variant::Column::Stock.gt(0))
}

/// The stored name of the product's first image, as a scalar subquery.
fn first_image_name() -> SimpleExpr {
    let (image, media) = (product_image::Entity, media::Entity);
    let first = Query::select()
        .column((media, media::Column::Name))
        .from(image)
        .inner_join(
            media,
            Expr::col((media, media::Column::Id)).equals((image, product_image::Column::MediaId)),
        )
        .and_where(
            Expr::col((image, product_image::Column::ProductId))
                .equals((product::Entity, product::Column::Id)),
        )
        .order_by((image, product_image::Column::Position), Order::Asc)
        .limit(1)
        .to_owned();
    SimpleExpr::SubQuery(None, Box::new(first.into_sub_query_statement()))
}

fn ordered(select: Select<product::Entity>, ordering: Ordering) -> Select<product::Entity> {
    use product::Column as C;
    // The id (UUID v7, so creation order) breaks ties in the same direction
    // as the key: one index scan then serves the page without a sort.
    match ordering {
        Ordering::Newest => select.order_by_desc(C::Id),
        Ordering::PriceAscending => select
            .order_by_asc(C::EffectivePriceKobo)
            .order_by_asc(C::Id),
        Ordering::PriceDescending => select
            .order_by_desc(C::EffectivePriceKobo)
            .order_by_desc(C::Id),
        Ordering::Rating => select
            .order_by_desc(C::RatingAvgCenti)
            .order_by_desc(C::RatingCount)
            .order_by_desc(C::Id),
        Ordering::Popularity => select.order_by_desc(C::FavoritesCount).order_by_desc(C::Id),
    }
}

/// Makes user input literal inside a LIKE pattern.
fn contains(input: &str) -> LikeExpr {
    let mut escaped = String::with_capacity(input.len() + 2);
    escaped.push('%');
    for c in input.trim().to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped.push('%');
    LikeExpr::new(escaped).escape('\\')
}

fn lower(col: product::Column) -> SimpleExpr {
    Expr::expr(Func::lower(Expr::col((product::Entity, col)))).into()
}

/// Whether the product has a variant that matches `condition`: one probe of
/// the (product_id, ...) variant indexes per product, on both backends.
/// Written as `(SELECT 1 ... LIMIT 1) IS NOT NULL` rather than EXISTS:
/// PostgreSQL plans an EXISTS in the select list or under an OR as a hash
/// of every matching variant, costed for the whole table rather than the
/// page, so each 20-product page read all 50,000 variants.
fn with_variant(condition: Condition) -> SimpleExpr {
    let first = variants_where(condition).limit(1).to_owned();
    Expr::expr(SimpleExpr::SubQuery(
        None,
        Box::new(first.into_sub_query_statement()),
    ))
    .is_not_null()
}

/// `SELECT 1` from the product's variants that match `condition`.
fn variants_where(condition: Condition) -> SelectStatement {
    Query::select()
        .expr(Expr::val(1))
        .from(product_variant::Entity)
        .and_where(
            Expr::col((product_variant::Entity, product_variant::Column::ProductId))
                .equals((product::Entity, product::Column::Id)),
        )
        .cond_where(condition)
        .to_owned()
}

fn filtered(q: &CatalogQuery) -> Result<(Select<product::Entity>, Ordering), StoreError> {
    use product::Column as C;
    let mut errors = FieldErrors::new();
    let mut select = product::Entity::find();
    let given = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };

    if let Some(search) = given(&q.search) {
        select = select.filter(
            Condition::any()
                .add(Expr::expr(lower(C::Name)).like(contains(&search)))
                .add(Expr::expr(lower(C::Description)).like(contains(&search))),
        );
    }
    if let Some(raw) = given(&q.category) {
        select = match Uuid::parse_str(&raw) {
            Ok(id) => select.filter(C::CategoryId.eq(id)),
            Err(_) => select.filter(
                Expr::col((product::Entity, C::CategoryId)).in_subquery(
                    Query::select()
                        .column(category::Column::Id)
                        .from(category::Entity)
                        .and_where(Expr::col(category::Column::Slug).eq(raw.to_lowercase()))
                        .to_owned(),
                ),
            ),
        };
    }
    if let Some(kind) = given(&q.kind) {
        if !KINDS.contains(&kind.as_str()) {
            errors.add(
                "kind",
                format!("Select a valid choice. {kind} is not one of the available choices."),
            );
        }
        select = select.filter(C::Kind.eq(kind));
    }
    if let Some(color) = given(&q.color) {
        let color = color.to_lowercase();
        select = select.filter(
            Condition::any()
                .add(with_variant(
                    Condition::all().add(product_variant::Column::Color.eq(color.clone())),
                ))
                .add(Expr::expr(lower(C::Colors)).like(contains(&color))),
        );
    }
    if let Some(size) = given(&q.size) {
        // Sizes are stored upper-case, so this equality can use the index.
        let size_matches = Expr::col(product_variant::Column::Size).eq(size.to_uppercase());
        select = select.filter(with_variant(Condition::all().add(size_matches)));
    }
    if let Some(material) = given(&q.material) {
        select = select.filter(Expr::expr(lower(C::Material)).like(contains(&material)));
    }
    if let Some(tailor) = given(&q.tailor) {
        match Uuid::parse_str(&tailor) {
            Ok(id) => select = select.filter(C::TailorId.eq(id)),
            Err(_) => errors.add("tailor", "Enter a valid tailor id."),
        }
    }
    for (field, value, lower_bound) in [
        ("min_price", &q.min_price, true),
        ("max_price", &q.max_price, false),
    ] {
        if let Some(raw) = given(value) {
            match raw.parse::<i64>() {
                Ok(kobo) if lower_bound => select = select.filter(C::EffectivePriceKobo.gte(kobo)),
                Ok(kobo) => select = select.filter(C::EffectivePriceKobo.lte(kobo)),
                Err(_) => errors.add(field, "Enter a whole number of kobo."),
            }
        }
    }
    if let Some(raw) = given(&q.in_stock) {
        match raw.to_lowercase().as_str() {
            "true" | "1" => select = select.filter(with_variant(variant_in_stock())),
            "false" | "0" => {
                select = select.filter(Condition::all().not().add(with_variant(variant_in_stock())))
            }
            _ => errors.add("in_stock", "Use true or false."),
        }
    }
    let ordering = match given(&q.ordering) {
        None => Ordering::default(),
        Some(raw) => Ordering::parse(&raw).unwrap_or_else(|| {
            errors.add(
                "ordering",
                "Use price, -price, -created, -rating or -popularity.",
            );
            Ordering::default()
        }),
    };
    errors.into_result()?;
    Ok((select, ordering))
}

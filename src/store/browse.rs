//! The public catalog: filters, ordering and pages over visible products, and
//! a tailor's own store.

use sea_orm::sea_query::{Expr, Func, LikeExpr, Query};
use sea_orm::{
    ColumnTrait, Condition, DbErr, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QueryResult, QuerySelect, Select,
};
use uuid::Uuid;

use super::views::{self, ProductSummary};
use super::{KINDS, StoreError, StoreService};
use crate::storage::entities::{category, product, product_variant, user};
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
        let variant = product_variant::Entity;
        let stocked = Query::select()
            .expr(Expr::val(1))
            .from(variant)
            .and_where(
                Expr::col((variant, product_variant::Column::ProductId))
                    .equals((product::Entity, product::Column::Id)),
            )
            .and_where(Expr::col((variant, product_variant::Column::Stock)).gt(0))
            .to_owned();
        // Whether each product has stock comes in the same query as the page:
        // one statement per page instead of two.
        let rows = select
            .expr_as(Expr::exists(stocked), "in_stock")
            .offset(offset)
            .limit(page_size)
            .into_model::<WithStock>()
            .all(&self.db)
            .await?;
        Ok(Some(ProductPage {
            count,
            products: rows
                .iter()
                .map(|row| views::summary(&row.product, row.in_stock))
                .collect(),
        }))
    }
}

/// A product row and whether any of its variants is in stock.
struct WithStock {
    product: product::Model,
    in_stock: bool,
}

impl FromQueryResult for WithStock {
    fn from_query_result(row: &QueryResult, prefix: &str) -> Result<Self, DbErr> {
        Ok(Self {
            product: product::Model::from_query_result(row, prefix)?,
            in_stock: row.try_get(prefix, "in_stock")?,
        })
    }
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

fn lower(col: product::Column) -> sea_orm::sea_query::SimpleExpr {
    Expr::expr(Func::lower(Expr::col((product::Entity, col)))).into()
}

/// Products having a variant that matches `condition`: a correlated EXISTS,
/// answered per product from the (product_id, ...) variant indexes.
fn with_variant(condition: Condition) -> sea_orm::sea_query::SimpleExpr {
    Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from(product_variant::Entity)
            .and_where(
                Expr::col((product_variant::Entity, product_variant::Column::ProductId))
                    .equals((product::Entity, product::Column::Id)),
            )
            .cond_where(condition)
            .to_owned(),
    )
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
        let stocked = with_variant(Condition::all().add(product_variant::Column::Stock.gt(0)));
        match raw.to_lowercase().as_str() {
            "true" | "1" => select = select.filter(stocked),
            "false" | "0" => select = select.filter(Condition::all().not().add(stocked)),
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

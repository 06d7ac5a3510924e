//! Tailors' portfolio items and their ordered images: created, edited,
//! reordered and deleted by their tailor, shown to anyone a page at a time.
//!
//! Every write takes the tailor's profile row first (`lock_profile`), so a
//! new item's position (the last one plus one) is computed with every other
//! writer's items committed; positions are also unique in the database
//! (m0019), so no interleaving can put two items in one place.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{CaseStatement, Expr};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::tailor_row::{is_live_tailor, lock_profile};
use super::{TailorError, TailorService, uploads};
use crate::storage::entities::{portfolio_image, portfolio_item, product, user};
use crate::validation::{FieldErrors, REQUIRED};

/// Items one tailor may show: enough for any portfolio, and it bounds what a
/// reorder has to name.
pub const MAX_ITEMS: u64 = 200;
pub const MAX_IMAGES: usize = 10;
pub const MAX_TAGS: usize = 20;
pub const MAX_TAG_CHARS: usize = 40;
pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_DESCRIPTION_CHARS: usize = 5000;
/// Kobo: ₦10 billion, as the shop's highest price.
pub const MAX_PRICE: i64 = 1_000_000_000_000;

const NOT_A_TAILOR: &str = "Only tailors have a portfolio.";

/// A portfolio item as its tailor sends it. On create `title` and
/// `image_ids` are required; on edit every field is optional.
#[derive(Debug, Default)]
pub struct PortfolioInput {
    pub title: Option<String>,
    pub description: Option<String>,
    pub tags: Option<Vec<String>>,
    /// Upload ids in display order; on edit the list replaces the old one.
    pub image_ids: Option<Vec<String>>,
    /// Absent: unchanged; `Some(None)`: removed.
    pub price_indication: Option<Option<i64>>,
    /// Absent: unchanged; `Some(None)`: unlinked; `Some(Some(id))` as typed.
    pub product_id: Option<Option<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PortfolioItemView {
    pub id: Uuid,
    pub tailor_id: Uuid,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    /// Kobo: roughly what such a piece costs; null when not given.
    pub price_indication: Option<i64>,
    /// One of the tailor's products this piece can be bought as; null
    /// without one, or once that product is deleted.
    pub product_id: Option<Uuid>,
    /// Place in the tailor's portfolio (ascending; the tailor sets it by
    /// reordering).
    pub position: i32,
    /// The images' upload ids, in order.
    pub image_ids: Vec<Uuid>,
    /// The images' URLs (`/media/...`), in order.
    pub images: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub struct PortfolioPage {
    pub count: u64,
    pub items: Vec<PortfolioItemView>,
}

/// What a checked input changes.
struct Changes {
    title: Option<String>,
    description: Option<String>,
    /// JSON array, as stored.
    tags: Option<String>,
    images: Option<Vec<Uuid>>,
    price_indication: Option<Option<i64>>,
    product_id: Option<Option<Uuid>>,
}

impl TailorService {
    /// A new item at the end of `tailor`'s portfolio.
    pub async fn create_portfolio_item(
        &self,
        tailor: &user::Model,
        input: PortfolioInput,
    ) -> Result<PortfolioItemView, TailorError> {
        if tailor.role != "tailor" {
            return Err(TailorError::Forbidden(NOT_A_TAILOR));
        }
        let changes = self.check(tailor, input, true).await?;
        let txn = self.db.begin().await?;
        if !lock_profile(&txn, tailor.id).await? {
            return Err(TailorError::Forbidden(NOT_A_TAILOR));
        }
        let of_tailor =
            portfolio_item::Entity::find().filter(portfolio_item::Column::TailorId.eq(tailor.id));
        if of_tailor.clone().count(&txn).await? >= MAX_ITEMS {
            return Err(TailorError::Conflict(
                "portfolio_full",
                format!("A portfolio holds at most {MAX_ITEMS} items; delete one first."),
            ));
        }
        // Read under the profile's lock: no other writer of this portfolio
        // can take the same place meanwhile.
        let last: Option<Option<i32>> = of_tailor
            .select_only()
            .column_as(portfolio_item::Column::Position.max(), "last")
            .into_tuple()
            .one(&txn)
            .await?;
        let now = Utc::now();
        let row = portfolio_item::Model {
            id: Uuid::now_v7(),
            tailor_id: tailor.id,
            title: changes.title.unwrap_or_default(),
            description: changes.description.unwrap_or_default(),
            tags: changes.tags.unwrap_or_else(|| "[]".into()),
            price_indication: changes.price_indication.flatten(),
            product_id: changes.product_id.flatten(),
            position: last.flatten().map_or(0, |p| p + 1),
            created_at: now,
            updated_at: now,
        };
        portfolio_item::Entity::insert(portfolio_item::ActiveModel::from(row.clone()))
            .exec_without_returning(&txn)
            .await?;
        insert_images(&txn, row.id, &changes.images.unwrap_or_default()).await?;
        txn.commit().await?;
        // The reviewer's rating, or the new cover image, shows at once here.
        self.directory_changed();
        self.one_view(row).await
    }

    /// Changes one of `tailor`'s items; `image_ids` replaces the image list.
    pub async fn update_portfolio_item(
        &self,
        tailor: &user::Model,
        item_id: Uuid,
        input: PortfolioInput,
    ) -> Result<PortfolioItemView, TailorError> {
        let changes = self.check(tailor, input, false).await?;
        let txn = self.db.begin().await?;
        let item = own_item(&txn, tailor, item_id).await?;
        let mut row: portfolio_item::ActiveModel = item.into();
        if let Some(title) = changes.title {
            row.title = Set(title);
        }
        if let Some(description) = changes.description {
            row.description = Set(description);
        }
        if let Some(tags) = changes.tags {
            row.tags = Set(tags);
        }
        if let Some(price) = changes.price_indication {
            row.price_indication = Set(price);
        }
        if let Some(product) = changes.product_id {
            row.product_id = Set(product);
        }
        row.updated_at = Set(Utc::now());
        let row = row.update(&txn).await?;
        if let Some(images) = changes.images {
            portfolio_image::Entity::delete_many()
                .filter(portfolio_image::Column::ItemId.eq(item_id))
                .exec(&txn)
                .await?;
            insert_images(&txn, item_id, &images).await?;
        }
        txn.commit().await?;
        // The reviewer's rating, or the new cover image, shows at once here.
        self.directory_changed();
        self.one_view(row).await
    }

    /// Deletes one of `tailor`'s items with its images (the uploads stay).
    pub async fn delete_portfolio_item(
        &self,
        tailor: &user::Model,
        item_id: Uuid,
    ) -> Result<(), TailorError> {
        let txn = self.db.begin().await?;
        own_item(&txn, tailor, item_id).await?;
        portfolio_image::Entity::delete_many()
            .filter(portfolio_image::Column::ItemId.eq(item_id))
            .exec(&txn)
            .await?;
        portfolio_item::Entity::delete_by_id(item_id)
            .exec(&txn)
            .await?;
        txn.commit().await?;
        // The reviewer's rating, or the new cover image, shows at once here.
        self.directory_changed();
        Ok(())
    }

    /// Puts `tailor`'s items in the order of `ids` (positions 0..n), which
    /// must name every one of their items exactly once.
    pub async fn reorder_portfolio(
        &self,
        tailor: &user::Model,
        ids: Option<Vec<String>>,
    ) -> Result<(), TailorError> {
        let Some(raw) = ids else {
            return Err(FieldErrors::single("ids", REQUIRED).into());
        };
        let wrong = || {
            TailorError::Invalid(FieldErrors::single(
                "ids",
                "List each of your portfolio items exactly once.",
            ))
        };
        if raw.len() as u64 > MAX_ITEMS {
            return Err(wrong());
        }
        let ids: Vec<Uuid> = raw
            .iter()
            .map(|r| Uuid::parse_str(r.trim()))
            .collect::<Result<_, _>>()
            .map_err(|_| wrong())?;
        let txn = self.db.begin().await?;
        if !lock_profile(&txn, tailor.id).await? {
            return Err(TailorError::Forbidden(NOT_A_TAILOR));
        }
        let current: HashSet<Uuid> = portfolio_item::Entity::find()
            .select_only()
            .column(portfolio_item::Column::Id)
            .filter(portfolio_item::Column::TailorId.eq(tailor.id))
            .into_tuple()
            .all(&txn)
            .await?
            .into_iter()
            .collect();
        let given: HashSet<Uuid> = ids.iter().copied().collect();
        if given.len() != ids.len() || given != current {
            return Err(wrong());
        }
        if ids.is_empty() {
            return Ok(());
        }
        // Two statements: positions are unique and both backends check that
        // row by row, so moving items straight to their new places could
        // collide midway. First every item to a distinct negative place...
        portfolio_item::Entity::update_many()
            .col_expr(
                portfolio_item::Column::Position,
                Expr::val(-1).sub(Expr::col(portfolio_item::Column::Position)),
            )
            .filter(portfolio_item::Column::TailorId.eq(tailor.id))
            .exec(&txn)
            .await?;
        // ...then each to its place in the list.
        let mut places = CaseStatement::new();
        for (position, id) in ids.iter().enumerate() {
            places = places.case(portfolio_item::Column::Id.eq(*id), position as i32);
        }
        portfolio_item::Entity::update_many()
            .col_expr(portfolio_item::Column::Position, places.into())
            .col_expr(portfolio_item::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(portfolio_item::Column::TailorId.eq(tailor.id))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        // The reviewer's rating, or the new cover image, shows at once here.
        self.directory_changed();
        Ok(())
    }

    /// A tailor's portfolio in their order; `None` past the last page.
    pub async fn portfolio(
        &self,
        tailor_id: Uuid,
        page: u64,
        page_size: u64,
    ) -> Result<Option<PortfolioPage>, TailorError> {
        if !is_live_tailor(&self.db, tailor_id).await? {
            return Err(TailorError::NotFound);
        }
        let select =
            portfolio_item::Entity::find().filter(portfolio_item::Column::TailorId.eq(tailor_id));
        let count = select.clone().count(&self.db).await?;
        let Some(offset) = crate::storage::page_offset(page, page_size, count) else {
            return Ok(None);
        };
        let rows = select
            .order_by_asc(portfolio_item::Column::Position)
            .order_by_asc(portfolio_item::Column::Id)
            .offset(offset)
            .limit(page_size)
            .all(&self.db)
            .await?;
        let items = self.views(rows).await?;
        Ok(Some(PortfolioPage { count, items }))
    }

    async fn check(
        &self,
        tailor: &user::Model,
        input: PortfolioInput,
        creating: bool,
    ) -> Result<Changes, TailorError> {
        let mut errors = FieldErrors::new();
        let title = match input.title.as_deref().map(str::trim) {
            None if creating => {
                errors.add("title", REQUIRED);
                None
            }
            None => None,
            Some("") => {
                errors.add("title", crate::validation::BLANK);
                None
            }
            Some(title) => {
                errors.max_len("title", title, MAX_TITLE_CHARS);
                Some(title.to_string())
            }
        };
        let description = input.description.map(|d| d.trim().to_string());
        if let Some(description) = &description {
            errors.max_len("description", description, MAX_DESCRIPTION_CHARS);
        }
        let tags = input.tags.map(|tags| check_tags(tags, &mut errors));
        let images = match &input.image_ids {
            None if creating => {
                errors.add("image_ids", REQUIRED);
                None
            }
            None => None,
            Some(raw) => Some(
                uploads::own_uploads(
                    &self.db,
                    tailor.id,
                    raw,
                    (1, MAX_IMAGES),
                    "image_ids",
                    &mut errors,
                )
                .await?,
            ),
        };
        if let Some(Some(price)) = input.price_indication
            && !(0..=MAX_PRICE).contains(&price)
        {
            errors.add(
                "price_indication",
                format!("Enter an amount in kobo from 0 to {MAX_PRICE}."),
            );
        }
        let product_id = match input.product_id {
            Some(Some(raw)) => Some(self.own_product(tailor, &raw, &mut errors).await?),
            Some(None) => Some(None),
            None => None,
        };
        errors.into_result()?;
        Ok(Changes {
            title,
            description,
            tags: tags.map(|t| serde_json::Value::from(t).to_string()),
            images,
            price_indication: input.price_indication,
            product_id,
        })
    }

    /// `raw` as the id of one of `tailor`'s products that is not deleted.
    async fn own_product(
        &self,
        tailor: &user::Model,
        raw: &str,
        errors: &mut FieldErrors,
    ) -> Result<Option<Uuid>, TailorError> {
        let found = match Uuid::parse_str(raw.trim()) {
            Ok(id) => product::Entity::find_by_id(id)
                .filter(product::Column::TailorId.eq(tailor.id))
                .filter(product::Column::DeletedAt.is_null())
                .one(&self.db)
                .await?
                .map(|p| p.id),
            Err(_) => None,
        };
        if found.is_none() {
            errors.add("product_id", "Choose one of your own products.");
        }
        Ok(found)
    }

    async fn one_view(&self, row: portfolio_item::Model) -> Result<PortfolioItemView, TailorError> {
        self.views(vec![row])
            .await?
            .pop()
            .ok_or(TailorError::NotFound)
    }

    /// Views of these items with their images, in a fixed number of queries.
    async fn views(
        &self,
        rows: Vec<portfolio_item::Model>,
    ) -> Result<Vec<PortfolioItemView>, TailorError> {
        let images = portfolio_image::Entity::find()
            .filter(portfolio_image::Column::ItemId.is_in(rows.iter().map(|r| r.id)))
            .order_by_asc(portfolio_image::Column::ItemId)
            .order_by_asc(portfolio_image::Column::Position)
            .all(&self.db)
            .await?;
        let urls = uploads::urls(&self.db, images.iter().map(|i| i.media_id)).await?;
        let mut by_item: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for image in images {
            by_item
                .entry(image.item_id)
                .or_default()
                .push(image.media_id);
        }
        let linked: Vec<Uuid> = rows.iter().filter_map(|r| r.product_id).collect();
        let live_products: HashSet<Uuid> = if linked.is_empty() {
            HashSet::new()
        } else {
            product::Entity::find()
                .select_only()
                .column(product::Column::Id)
                .filter(product::Column::Id.is_in(linked))
                .filter(product::Column::DeletedAt.is_null())
                .into_tuple()
                .all(&self.db)
                .await?
                .into_iter()
                .collect()
        };
        Ok(rows
            .into_iter()
            .map(|r| {
                let image_ids: Vec<Uuid> = by_item
                    .remove(&r.id)
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|id| urls.contains_key(id))
                    .collect();
                PortfolioItemView {
                    id: r.id,
                    tailor_id: r.tailor_id,
                    title: r.title,
                    description: r.description,
                    tags: serde_json::from_str(&r.tags).unwrap_or_default(),
                    price_indication: r.price_indication,
                    product_id: r.product_id.filter(|p| live_products.contains(p)),
                    position: r.position,
                    images: image_ids.iter().map(|id| urls[id].clone()).collect(),
                    image_ids,
                    created_at: r.created_at,
                    updated_at: r.updated_at,
                }
            })
            .collect())
    }
}

/// The item `item_id` if it is `tailor`'s, with the tailor's profile locked
/// for the rest of the transaction. Unknown: 404; someone else's: 403.
async fn own_item(
    txn: &sea_orm::DatabaseTransaction,
    tailor: &user::Model,
    item_id: Uuid,
) -> Result<portfolio_item::Model, TailorError> {
    let locked = lock_profile(txn, tailor.id).await?;
    let item = portfolio_item::Entity::find_by_id(item_id)
        .one(txn)
        .await?
        .ok_or(TailorError::NotFound)?;
    if !locked || item.tailor_id != tailor.id {
        return Err(TailorError::Forbidden(
            "This portfolio item belongs to another tailor.",
        ));
    }
    Ok(item)
}

async fn insert_images(
    txn: &sea_orm::DatabaseTransaction,
    item_id: Uuid,
    images: &[Uuid],
) -> Result<(), TailorError> {
    if images.is_empty() {
        return Ok(());
    }
    portfolio_image::Entity::insert_many(images.iter().enumerate().map(|(position, media_id)| {
        portfolio_image::ActiveModel {
            item_id: Set(item_id),
            position: Set(position as i32),
            media_id: Set(*media_id),
        }
    }))
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

/// Tags trimmed, without repeats (the first spelling kept), each non-blank
/// and short, at most `MAX_TAGS`.
fn check_tags(tags: Vec<String>, errors: &mut FieldErrors) -> Vec<String> {
    if tags.len() > MAX_TAGS {
        errors.add("tags", format!("At most {MAX_TAGS} tags."));
        return Vec::new();
    }
    let mut seen = HashSet::new();
    let mut kept = Vec::new();
    for tag in tags {
        let tag = tag.trim();
        if tag.is_empty() {
            errors.add("tags", "Tags may not be blank.");
        } else if tag.chars().count() > MAX_TAG_CHARS {
            errors.add(
                "tags",
                format!("Each tag has at most {MAX_TAG_CHARS} characters."),
            );
        } else if seen.insert(tag.to_lowercase()) {
            kept.push(tag.to_string());
        }
    }
    kept
}

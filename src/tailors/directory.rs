//! The directory customers search: text, skill, location, near-me (a
//! bounding box on the indexed coordinates, refined by exact distance),
//! rating, verification; paginated like the catalog.
//!
//! Only profiles with a business name whose account is verified, active and
//! not deleted are listed.
//!
//! Near-me: the box around the point is read through the (latitude,
//! longitude) index, with every other filter applied in the same statement,
//! reading only the columns that sort (no text). The exact (haversine)
//! distance of each row inside the box then drops the corners, and the rows
//! are sorted and paged in memory: the page and its count must be those of
//! the circle, which SQL cannot know. The work is bounded by the box (radius
//! at most `MAX_RADIUS_KM`), never by the table. Only the page's rows are
//! then read whole.

use std::cmp::Ordering as Cmp;
use std::sync::Arc;

use sea_orm::sea_query::{Alias, Expr, Order, Query, SelectStatement, SimpleExpr};
use sea_orm::{Condition, ConnectionTrait, FromQueryResult, StatementBuilder};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::directory_cache::{Candidate, Remembered};
pub use super::directory_filters::DirectoryQuery;
use super::directory_filters::{Near, Ordering, bounding_box, haversine_km, parse};
use super::profile_input::skills_of;
use super::profiles::rating_of;
use super::{TailorError, TailorService};
use crate::storage::entities::{media, portfolio_image, portfolio_item, tailor_profile, user};
use crate::storage::subquery;
use crate::store::RatingSummary;

/// A tailor as the directory lists them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TailorSummary {
    /// The tailor's user id (a profile's id is its user's id).
    pub id: Uuid,
    pub user_id: Uuid,
    pub username: String,
    pub business_name: String,
    /// URL of the avatar (`/media/...`); null without one.
    pub avatar: Option<String>,
    pub city: String,
    pub state: String,
    #[schema(value_type = Vec<super::profile_input::Skill>)]
    pub skills: Vec<String>,
    pub years_of_experience: i32,
    pub rating: RatingSummary,
    pub followers_count: i64,
    pub is_verified_tailor: bool,
    pub home_visits: bool,
    /// Kobo.
    pub price_from: Option<i64>,
    /// Kilometres from `near` (2 decimals); present only when `near` is given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_km: Option<f64>,
    /// URL of the first image of the portfolio; null without one.
    pub cover_image: Option<String>,
}

#[derive(Debug, Clone)]
pub struct DirectoryPage {
    pub count: u64,
    pub results: Vec<TailorSummary>,
}

impl TailorService {
    /// One page of the directory; `None` past the last page. Pages are
    /// remembered for a moment (see `directory_cache`); an expired page is
    /// answered once more while a task reads it anew, so no request waits
    /// for a page that was there a moment ago.
    pub async fn directory(
        self: &Arc<Self>,
        query: &DirectoryQuery,
        page: u64,
        page_size: u64,
    ) -> Result<Option<DirectoryPage>, TailorError> {
        let filters = parse(query)?;
        let key = format!("{query:?} page {page} size {page_size}");
        match self.cache.page(&key) {
            Some(Remembered::Fresh(answer)) => Ok(answer.as_ref().clone()),
            Some(Remembered::Stale(answer)) => {
                let service = self.clone();
                tokio::spawn(async move {
                    if let Err(err) = service
                        .read_and_keep(key.clone(), filters, page, page_size)
                        .await
                    {
                        service.cache.forget_page(&key);
                        tracing::warn!(error = %err, "refreshing a directory page failed");
                    }
                });
                Ok(answer.as_ref().clone())
            }
            None => Ok(self
                .read_and_keep(key, filters, page, page_size)
                .await?
                .as_ref()
                .clone()),
        }
    }

    async fn read_and_keep(
        &self,
        key: String,
        filters: super::directory_filters::Filters,
        page: u64,
        page_size: u64,
    ) -> Result<super::directory_cache::Page, TailorError> {
        let version = self.cache.version();
        let answer = Arc::new(self.read_page(filters, page, page_size).await?);
        self.cache.keep_page(key, answer.clone(), version);
        Ok(answer)
    }

    async fn read_page(
        &self,
        filters: super::directory_filters::Filters,
        page: u64,
        page_size: u64,
    ) -> Result<Option<DirectoryPage>, TailorError> {
        let backend = self.db.get_database_backend();
        match filters.near {
            None => {
                let mut count = listed(filters.condition.clone());
                count.expr(
                    Expr::col((tailor_profile::Entity, tailor_profile::Column::UserId)).count(),
                );
                let count_statement = StatementBuilder::build(&count, &backend);
                let count = self
                    .cache
                    .count(count_statement.to_string(), async {
                        let row = self.db.query_one(count_statement.clone()).await?;
                        let n: i64 = match row {
                            Some(row) => row.try_get_by_index(0)?,
                            None => 0,
                        };
                        Ok(n.max(0) as u64)
                    })
                    .await?;
                let Some(offset) = crate::storage::page_offset(page, page_size, count) else {
                    return Ok(None);
                };
                let mut select = summary_select(filters.condition);
                order_by(&mut select, filters.ordering);
                select.limit(page_size).offset(offset);
                let rows = self.summary_rows(&select).await?;
                let results = self.summaries(rows, |_| None).await?;
                Ok(Some(DirectoryPage { count, results }))
            }
            Some(near) => {
                let mut candidates = listed(filters.condition.add(bounding_box(near)));
                candidates.columns(CANDIDATE_COLUMNS.map(|c| (tailor_profile::Entity, c)));
                let statement = StatementBuilder::build(&candidates, &backend);
                // The circle, sorted, is what is remembered: a page then costs
                // a slice and one statement for its own rows.
                let key = format!(
                    "{statement} @ {},{} r {} by {:?}",
                    near.lat, near.lng, near.radius_km, filters.ordering
                );
                let inside = self
                    .cache
                    .circle(key, async {
                        let in_box = Candidate::find_by_statement(statement.clone())
                            .all(&self.db)
                            .await?;
                        Ok(Arc::new(circle(in_box, near, filters.ordering)))
                    })
                    .await?;
                let count = inside.len() as u64;
                let Some(offset) = crate::storage::page_offset(page, page_size, count) else {
                    return Ok(None);
                };
                let chosen: Vec<(Uuid, f64)> = inside
                    .iter()
                    .skip(offset as usize)
                    .take(page_size as usize)
                    .copied()
                    .collect();
                if chosen.is_empty() {
                    return Ok(Some(DirectoryPage {
                        count,
                        results: Vec::new(),
                    }));
                }
                let ids: Vec<Uuid> = chosen.iter().map(|(id, _)| *id).collect();
                let select = summary_select(
                    Condition::all().add(
                        Expr::col((tailor_profile::Entity, tailor_profile::Column::UserId))
                            .is_in(ids.clone()),
                    ),
                );
                let mut rows = self.summary_rows(&select).await?;
                // Back in the order the page was sorted in.
                rows.sort_by_key(|r| ids.iter().position(|id| *id == r.user_id));
                let distances: std::collections::HashMap<Uuid, f64> = chosen.into_iter().collect();
                let results = self
                    .summaries(rows, |id| {
                        distances.get(&id).map(|d| (d * 100.0).round() / 100.0)
                    })
                    .await?;
                Ok(Some(DirectoryPage { count, results }))
            }
        }
    }

    async fn summary_rows(&self, select: &SelectStatement) -> Result<Vec<SummaryRow>, TailorError> {
        let statement = StatementBuilder::build(select, &self.db.get_database_backend());
        Ok(SummaryRow::find_by_statement(statement)
            .all(&self.db)
            .await?)
    }

    async fn summaries(
        &self,
        rows: Vec<SummaryRow>,
        distance: impl Fn(Uuid) -> Option<f64>,
    ) -> Result<Vec<TailorSummary>, TailorError> {
        // Avatars as recently read: a directory page is read many times a
        // second and avatars change rarely (changes here show at once).
        let avatars =
            crate::media::recent_avatar_urls(&self.db, rows.iter().map(|r| r.user_id)).await?;
        Ok(rows
            .into_iter()
            .map(|r| TailorSummary {
                id: r.user_id,
                user_id: r.user_id,
                username: r.username,
                business_name: r.business_name.unwrap_or_default(),
                avatar: avatars.get(&r.user_id).cloned(),
                city: r.city,
                state: r.state,
                skills: skills_of(&r.skills),
                years_of_experience: r.years_of_experience,
                rating: rating_of(r.rating_avg_centi, r.rating_count),
                followers_count: r.followers_count,
                is_verified_tailor: r.is_verified_tailor,
                home_visits: r.home_visits,
                price_from: r.price_from,
                distance_km: distance(r.user_id),
                cover_image: r.cover_name.as_deref().map(crate::media::url_of),
            })
            .collect())
    }
}

#[derive(FromQueryResult)]
struct SummaryRow {
    user_id: Uuid,
    business_name: Option<String>,
    city: String,
    state: String,
    skills: String,
    years_of_experience: i32,
    rating_avg_centi: i64,
    rating_count: i64,
    followers_count: i64,
    is_verified_tailor: bool,
    home_visits: bool,
    price_from: Option<i64>,
    username: String,
    cover_name: Option<String>,
}

/// What near-me reads of every profile in the box: position and sort keys.
const CANDIDATE_COLUMNS: [tailor_profile::Column; 9] = {
    use tailor_profile::Column as C;
    [
        C::UserId,
        C::Latitude,
        C::Longitude,
        C::RatingAvgCenti,
        C::RatingCount,
        C::FollowersCount,
        C::YearsOfExperience,
        C::PriceFrom,
        C::CreatedAt,
    ]
};

/// Listed profiles matching `condition`: FROM, JOIN and WHERE, no columns.
fn listed(condition: Condition) -> SelectStatement {
    let (tp, u) = (tailor_profile::Entity, user::Entity);
    Query::select()
        .from(tp)
        .inner_join(
            u,
            Expr::col((u, user::Column::Id)).equals((tp, tailor_profile::Column::UserId)),
        )
        .and_where(Expr::col((tp, tailor_profile::Column::BusinessName)).is_not_null())
        // The flags as bare boolean conditions (both backends read a boolean
        // column as one), not `= ?`: SQLite plans an equality on a bound
        // value (or on TRUE) as selective, drives the query from `users` and
        // sorts every match, evaluating each cover subquery, instead of
        // walking the ordering's index: 100× slower at 20,000 tailors.
        .and_where(Expr::col((u, user::Column::IsVerified)).into())
        .and_where(Expr::col((u, user::Column::IsActive)).into())
        .and_where(Expr::col((u, user::Column::DeletedAt)).is_null())
        .cond_where(condition)
        .to_owned()
}

/// A page's columns, with the username and the cover image's stored name.
fn summary_select(condition: Condition) -> SelectStatement {
    use tailor_profile::Column as C;
    let tp = tailor_profile::Entity;
    let mut select = listed(condition);
    select
        .columns(
            [
                C::UserId,
                C::BusinessName,
                C::City,
                C::State,
                C::Skills,
                C::YearsOfExperience,
                C::RatingAvgCenti,
                C::RatingCount,
                C::FollowersCount,
                C::IsVerifiedTailor,
                C::HomeVisits,
                C::PriceFrom,
            ]
            .map(|c| (tp, c)),
        )
        .column((user::Entity, user::Column::Username))
        .expr_as(cover_image_name(), Alias::new("cover_name"));
    select
}

/// The stored name of the first image of the tailor's portfolio (the first
/// item by position that has an image; its first image), as a scalar
/// subquery: the page's covers come in the page's own statement. Written as
/// nested lookups, each one walk of an index that stops at its first row,
/// rather than a join of all the tailor's images sorted to keep one. "Has an
/// image" is `(SELECT 1 ... LIMIT 1) IS NOT NULL`, not EXISTS, which
/// PostgreSQL may plan as a hash over every image (see `store::browse`).
fn cover_image_name() -> SimpleExpr {
    let (image, media) = (portfolio_image::Entity, media::Entity);
    let (item, any_image) = (Alias::new("cover_item"), Alias::new("cover_any"));
    let has_image = Query::select()
        .expr(Expr::val(1))
        .from_as(image, any_image.clone())
        .and_where(
            Expr::col((any_image, portfolio_image::Column::ItemId))
                .equals((item.clone(), portfolio_item::Column::Id)),
        )
        .limit(1)
        .to_owned();
    let first_item = Query::select()
        .column((item.clone(), portfolio_item::Column::Id))
        .from_as(portfolio_item::Entity, item.clone())
        .and_where(
            Expr::col((item.clone(), portfolio_item::Column::TailorId))
                .equals((tailor_profile::Entity, tailor_profile::Column::UserId)),
        )
        .and_where(Expr::expr(subquery(has_image)).is_not_null())
        .order_by((item, portfolio_item::Column::Position), Order::Asc)
        .limit(1)
        .to_owned();
    let first = Query::select()
        .column((media, media::Column::Name))
        .from(image)
        .inner_join(
            media,
            Expr::col((media, media::Column::Id)).equals((image, portfolio_image::Column::MediaId)),
        )
        .and_where(Expr::col((image, portfolio_image::Column::ItemId)).eq(subquery(first_item)))
        .order_by((image, portfolio_image::Column::Position), Order::Asc)
        .limit(1)
        .to_owned();
    subquery(first)
}

/// SQL order for the orderings SQL can do (all but distance); the user id
/// breaks ties in the key's direction, so one index scan serves the page.
fn order_by(select: &mut SelectStatement, ordering: Ordering) {
    use tailor_profile::Column as C;
    let tp = tailor_profile::Entity;
    let keys: &[(C, Order)] = match ordering {
        Ordering::Rating => &[
            (C::RatingAvgCenti, Order::Desc),
            (C::RatingCount, Order::Desc),
            (C::UserId, Order::Desc),
        ],
        Ordering::Reviews => &[(C::RatingCount, Order::Desc), (C::UserId, Order::Desc)],
        Ordering::Followers => &[(C::FollowersCount, Order::Desc), (C::UserId, Order::Desc)],
        Ordering::Experience => &[
            (C::YearsOfExperience, Order::Desc),
            (C::UserId, Order::Desc),
        ],
        Ordering::PriceFrom => {
            // Without a price last, on both backends (NULL sorts first on
            // SQLite, last on PostgreSQL).
            select.order_by_expr(Expr::col((tp, C::PriceFrom)).is_null(), Order::Asc);
            &[(C::PriceFrom, Order::Asc), (C::UserId, Order::Asc)]
        }
        Ordering::Newest | Ordering::Distance => {
            &[(C::CreatedAt, Order::Desc), (C::UserId, Order::Desc)]
        }
    };
    for (col, order) in keys {
        select.order_by((tp, *col), order.clone());
    }
}

/// The profiles of the box inside the circle, with their distance, in the
/// order asked for: what near-me pages through.
fn circle(in_box: Vec<Candidate>, near: Near, ordering: Ordering) -> Vec<(Uuid, f64)> {
    let mut inside: Vec<(f64, Candidate)> = in_box
        .into_iter()
        .filter_map(|c| {
            let d = haversine_km(near.lat, near.lng, c.latitude?, c.longitude?);
            (d <= near.radius_km).then_some((d, c))
        })
        .collect();
    inside.sort_by(|(da, a), (db, b)| compare(ordering, (*da, a), (*db, b)));
    inside.into_iter().map(|(d, c)| (c.user_id, d)).collect()
}

/// The same orders in memory, for near-me; distance is nearest first.
fn compare(ordering: Ordering, (da, a): (f64, &Candidate), (db, b): (f64, &Candidate)) -> Cmp {
    let by_id_desc = || b.user_id.cmp(&a.user_id);
    match ordering {
        Ordering::Distance => da.total_cmp(&db).then_with(|| a.user_id.cmp(&b.user_id)),
        Ordering::Rating => b
            .rating_avg_centi
            .cmp(&a.rating_avg_centi)
            .then(b.rating_count.cmp(&a.rating_count))
            .then_with(by_id_desc),
        Ordering::Reviews => b.rating_count.cmp(&a.rating_count).then_with(by_id_desc),
        Ordering::Followers => b
            .followers_count
            .cmp(&a.followers_count)
            .then_with(by_id_desc),
        Ordering::Experience => b
            .years_of_experience
            .cmp(&a.years_of_experience)
            .then_with(by_id_desc),
        Ordering::PriceFrom => match (a.price_from, b.price_from) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => Cmp::Less,
            (None, Some(_)) => Cmp::Greater,
            (None, None) => Cmp::Equal,
        }
        .then(a.user_id.cmp(&b.user_id)),
        Ordering::Newest => b.created_at.cmp(&a.created_at).then_with(by_id_desc),
    }
}

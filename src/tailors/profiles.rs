//! Tailor profiles: opening one, the owner's view and edits, the public view,
//! staff verification.
//!
//! The profile's key is its tailor's user id: "tailor id", "profile id" and
//! "user id" name the same thing everywhere in the API.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, OnConflict, Order, Query, SimpleExpr};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult,
    PaginatorTrait, QueryFilter, StatementBuilder, TransactionTrait,
};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::profile_input::{ProfileFields, ProfileInput, json_list, skills_of};
use super::{TailorError, TailorService};
use crate::storage::entities::{
    follow, media, order, portfolio_image, portfolio_item, tailor_profile, user,
};
use crate::storage::subquery;
use crate::store::RatingSummary;
use crate::validation::{FieldErrors, REQUIRED};

/// Portfolio items shown on the public profile.
const PREVIEW_ITEMS: u64 = 4;

/// Gives `user` an empty profile (no business name: out of the directory
/// until named), unless they have one. Runs in the caller's transaction, so
/// a user never has the role `tailor` without a profile.
pub async fn insert_empty_profile(
    conn: &impl ConnectionTrait,
    user: Uuid,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let row = tailor_profile::ActiveModel {
        user_id: Set(user),
        business_name: Set(None),
        bio: Set(String::new()),
        skills: Set(",".into()),
        specialties: Set("[]".into()),
        search_text: Set(String::new()),
        years_of_experience: Set(0),
        city: Set(String::new()),
        state: Set(String::new()),
        country: Set("NG".into()),
        latitude: Set(None),
        longitude: Set(None),
        in_shop_fittings: Set(false),
        home_visits: Set(false),
        home_visit_radius_km: Set(None),
        ships_nationwide: Set(false),
        price_from: Set(None),
        turnaround_days: Set(None),
        languages: Set("[]".into()),
        contact_phone: Set(String::new()),
        is_verified_tailor: Set(false),
        rating_avg_centi: Set(0),
        rating_count: Set(0),
        followers_count: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
    };
    tailor_profile::Entity::insert(row)
        .on_conflict(
            OnConflict::column(tailor_profile::Column::UserId)
                .do_nothing()
                .to_owned(),
        )
        .do_nothing()
        .exec(conn)
        .await?;
    Ok(())
}

/// The whole profile, as its owner sees it (exact coordinates, phone).
#[derive(Debug, Serialize, ToSchema)]
pub struct OwnProfileView {
    /// The tailor's user id (a profile's id is its user's id).
    pub id: Uuid,
    pub user_id: Uuid,
    pub username: String,
    /// URL of the avatar (`/media/...`); null without one.
    pub avatar: Option<String>,
    #[serde(flatten)]
    pub fields: FieldsView,
    pub contact_phone: String,
    pub is_verified_tailor: bool,
    pub rating: RatingSummary,
    pub followers_count: i64,
    /// Whether the directory lists the profile: it has a business name and
    /// the account's email is verified.
    pub listed: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A profile as anyone sees it: coordinates rounded to 2 decimals (about
/// 1 km), no phone.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicProfileView {
    /// The tailor's user id (a profile's id is its user's id).
    pub id: Uuid,
    pub user_id: Uuid,
    pub username: String,
    /// URL of the avatar (`/media/...`); null without one.
    pub avatar: Option<String>,
    #[serde(flatten)]
    pub fields: FieldsView,
    pub is_verified_tailor: bool,
    pub rating: RatingSummary,
    pub followers_count: i64,
    /// Orders of this tailor that were delivered or completed.
    pub completed_orders_count: u64,
    /// The first (up to 4) portfolio items, in the tailor's order.
    pub portfolio_preview: Vec<PortfolioPreview>,
    pub created_at: DateTime<Utc>,
}

/// The fields the tailor writes (but the phone).
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldsView {
    pub business_name: Option<String>,
    pub bio: String,
    #[schema(value_type = Vec<super::profile_input::Skill>)]
    pub skills: Vec<String>,
    pub specialties: Vec<String>,
    pub years_of_experience: i32,
    pub city: String,
    pub state: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub in_shop_fittings: bool,
    pub home_visits: bool,
    pub home_visit_radius_km: Option<i32>,
    pub ships_nationwide: bool,
    /// Kobo.
    pub price_from: Option<i64>,
    pub turnaround_days: Option<i32>,
    pub languages: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PortfolioPreview {
    pub id: Uuid,
    pub title: String,
    /// URL of the item's first image; null without images.
    pub image: Option<String>,
}

#[derive(FromQueryResult)]
struct PreviewRow {
    id: Uuid,
    title: String,
    image_name: Option<String>,
}

/// The answer to a verification change.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerificationView {
    /// The tailor's user id.
    pub id: Uuid,
    pub is_verified_tailor: bool,
}

fn fields_view(row: &tailor_profile::Model, round: bool) -> FieldsView {
    // Two decimals of a degree: about 1.1 km, enough to find the area and
    // not the door.
    let shown = |x: Option<f64>| {
        if round {
            x.map(|x| (x * 100.0).round() / 100.0)
        } else {
            x
        }
    };
    FieldsView {
        business_name: row.business_name.clone(),
        bio: row.bio.clone(),
        skills: skills_of(&row.skills),
        specialties: json_list(&row.specialties),
        years_of_experience: row.years_of_experience,
        city: row.city.clone(),
        state: row.state.clone(),
        country: row.country.clone(),
        latitude: shown(row.latitude),
        longitude: shown(row.longitude),
        in_shop_fittings: row.in_shop_fittings,
        home_visits: row.home_visits,
        home_visit_radius_km: row.home_visit_radius_km,
        ships_nationwide: row.ships_nationwide,
        price_from: row.price_from,
        turnaround_days: row.turnaround_days,
        languages: json_list(&row.languages),
    }
}

pub fn rating_of(avg_centi: i64, count: i64) -> RatingSummary {
    RatingSummary {
        average: avg_centi as f64 / 100.0,
        count,
    }
}

/// Whether the directory shows this user's profile (with a business name).
pub fn is_listed_user(user: &user::Model) -> bool {
    user.is_verified && user.is_active && user.deleted_at.is_none()
}

impl TailorService {
    /// A customer opens their tailor profile: their role becomes `tailor`
    /// (their orders and purchases stay theirs: nothing else changes hands).
    pub async fn open_profile(
        &self,
        customer: &user::Model,
        input: ProfileInput,
    ) -> Result<OwnProfileView, TailorError> {
        if customer.role == "tailor" {
            return Err(already_tailor());
        }
        let mut fields = ProfileFields::of(&empty_row(customer.id));
        let named = input.business_name.as_ref().is_some_and(|v| !v.is_null());
        let mut errors = fields.apply(input).err().unwrap_or_default();
        if !named && !errors.has("business_name") {
            errors.add("business_name", REQUIRED);
        }
        errors.into_result()?;

        let now = Utc::now();
        let txn = self.db.begin().await?;
        // The role changes only from `customer`: of two concurrent opens one
        // wins, the other sees no row to change.
        let changed = user::Entity::update_many()
            .col_expr(user::Column::Role, Expr::value("tailor"))
            .filter(user::Column::Id.eq(customer.id))
            .filter(user::Column::Role.eq("customer"))
            .filter(user::Column::DeletedAt.is_null())
            .exec(&txn)
            .await?;
        if changed.rows_affected != 1 {
            return Err(already_tailor());
        }
        insert_empty_profile(&txn, customer.id, now).await?;
        write_fields(&txn, customer.id, &fields, now).await?;
        // Follows (and, in principle, reviews) may predate the profile: the
        // summaries start from what the tables say. A follow or unfollow
        // changing the count takes this user's row first (see
        // `follows::move_followers_count`), which the role change above
        // holds: it either committed before this count, or waits and then
        // moves the count of the profile committed here.
        refresh_followers(&txn, customer.id).await?;
        super::reviews::refresh_rating(&txn, customer.id).await?;
        txn.commit().await?;
        // The role is part of the cached row every request is checked with.
        self.users.forget(customer.id);
        self.directory_changed();
        tracing::info!(user_id = %customer.id, "tailor profile opened");
        let mut owner = customer.clone();
        owner.role = "tailor".into();
        self.own_view(&owner).await?.ok_or(TailorError::NotFound)
    }

    /// The caller's own profile; `None` when they have none (not a tailor).
    pub async fn own_profile(
        &self,
        owner: &user::Model,
    ) -> Result<Option<OwnProfileView>, TailorError> {
        self.own_view(owner).await
    }

    /// Edits the caller's own profile; `None` when they have none.
    pub async fn update_own_profile(
        &self,
        owner: &user::Model,
        input: ProfileInput,
    ) -> Result<Option<OwnProfileView>, TailorError> {
        let txn = self.db.begin().await?;
        // Take the row first: two edits of different fields then apply one
        // after the other instead of the second undoing the first.
        let locked = tailor_profile::Entity::update_many()
            .col_expr(
                tailor_profile::Column::UpdatedAt,
                Expr::col(tailor_profile::Column::UpdatedAt).into(),
            )
            .filter(tailor_profile::Column::UserId.eq(owner.id))
            .exec(&txn)
            .await?;
        if locked.rows_affected != 1 {
            return Ok(None);
        }
        let row = tailor_profile::Entity::find_by_id(owner.id)
            .one(&txn)
            .await?
            .ok_or(TailorError::NotFound)?;
        let mut fields = ProfileFields::of(&row);
        fields.apply(input)?;
        write_fields(&txn, owner.id, &fields, Utc::now()).await?;
        txn.commit().await?;
        self.directory_changed();
        self.own_view(owner).await
    }

    /// The old `PATCH /tailor/api/update/<id>/`: only the profile's owner.
    pub async fn update_profile_of(
        &self,
        caller: &user::Model,
        tailor_id: Uuid,
        input: ProfileInput,
    ) -> Result<OwnProfileView, TailorError> {
        let exists = tailor_profile::Entity::find_by_id(tailor_id)
            .count(&self.db)
            .await?
            > 0;
        if !exists {
            return Err(TailorError::NotFound);
        }
        if tailor_id != caller.id {
            return Err(TailorError::Forbidden(
                "Only the tailor can edit their profile.",
            ));
        }
        self.update_own_profile(caller, input)
            .await?
            .ok_or(TailorError::NotFound)
    }

    /// The public view of a listed profile (named, verified email, live
    /// account); any other id is not found.
    pub async fn public_profile(&self, tailor_id: Uuid) -> Result<PublicProfileView, TailorError> {
        let Some(row) = tailor_profile::Entity::find_by_id(tailor_id)
            .filter(tailor_profile::Column::BusinessName.is_not_null())
            .one(&self.db)
            .await?
        else {
            return Err(TailorError::NotFound);
        };
        let Some(owner) = user::Entity::find_by_id(tailor_id).one(&self.db).await? else {
            return Err(TailorError::NotFound);
        };
        if !is_listed_user(&owner) {
            return Err(TailorError::NotFound);
        }
        let completed_orders_count = order::Entity::find()
            .filter(order::Column::TailorId.eq(tailor_id))
            .filter(order::Column::Status.is_in(["delivered", "completed"]))
            .count(&self.db)
            .await?;
        let portfolio_preview = portfolio_preview(&self.db, tailor_id).await?;
        let avatar = crate::media::avatar_url(&self.db, &owner).await?;
        Ok(PublicProfileView {
            id: row.user_id,
            user_id: row.user_id,
            username: owner.username.clone(),
            avatar,
            fields: fields_view(&row, true),
            is_verified_tailor: row.is_verified_tailor,
            rating: rating_of(row.rating_avg_centi, row.rating_count),
            followers_count: row.followers_count,
            completed_orders_count,
            portfolio_preview,
            created_at: row.created_at,
        })
    }

    /// Staff mark a tailor verified (or not).
    pub async fn set_verified(
        &self,
        staff: &user::Model,
        tailor_id: Uuid,
        value: Option<Value>,
    ) -> Result<VerificationView, TailorError> {
        if !staff.is_staff {
            return Err(TailorError::Forbidden("Only staff can verify tailors."));
        }
        let verified = match value {
            Some(Value::Bool(b)) => b,
            None | Some(Value::Null) => {
                return Err(FieldErrors::single("is_verified_tailor", REQUIRED).into());
            }
            Some(_) => {
                return Err(
                    FieldErrors::single("is_verified_tailor", "Must be a valid boolean.").into(),
                );
            }
        };
        let changed = tailor_profile::Entity::update_many()
            .col_expr(
                tailor_profile::Column::IsVerifiedTailor,
                Expr::value(verified),
            )
            .col_expr(tailor_profile::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(tailor_profile::Column::UserId.eq(tailor_id))
            .exec(&self.db)
            .await?;
        if changed.rows_affected != 1 {
            return Err(TailorError::NotFound);
        }
        self.directory_changed();
        tracing::info!(tailor_id = %tailor_id, staff_id = %staff.id, verified, "tailor verification set");
        Ok(VerificationView {
            id: tailor_id,
            is_verified_tailor: verified,
        })
    }

    async fn own_view(&self, owner: &user::Model) -> Result<Option<OwnProfileView>, TailorError> {
        let Some(row) = tailor_profile::Entity::find_by_id(owner.id)
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let avatar = crate::media::avatar_url(&self.db, owner).await?;
        Ok(Some(OwnProfileView {
            id: row.user_id,
            user_id: row.user_id,
            username: owner.username.clone(),
            avatar,
            fields: fields_view(&row, false),
            contact_phone: row.contact_phone.clone(),
            is_verified_tailor: row.is_verified_tailor,
            rating: rating_of(row.rating_avg_centi, row.rating_count),
            followers_count: row.followers_count,
            listed: row.business_name.is_some() && is_listed_user(owner),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }))
    }
}

fn already_tailor() -> TailorError {
    TailorError::Conflict(
        "already_tailor",
        "You already have a tailor profile: edit it with PATCH /tailor/api/me/.".into(),
    )
}

fn empty_row(user_id: Uuid) -> tailor_profile::Model {
    let now = Utc::now();
    tailor_profile::Model {
        user_id,
        business_name: None,
        bio: String::new(),
        skills: ",".into(),
        specialties: "[]".into(),
        search_text: String::new(),
        years_of_experience: 0,
        city: String::new(),
        state: String::new(),
        country: "NG".into(),
        latitude: None,
        longitude: None,
        in_shop_fittings: false,
        home_visits: false,
        home_visit_radius_km: None,
        ships_nationwide: false,
        price_from: None,
        turnaround_days: None,
        languages: "[]".into(),
        contact_phone: String::new(),
        is_verified_tailor: false,
        rating_avg_centi: 0,
        rating_count: 0,
        followers_count: 0,
        created_at: now,
        updated_at: now,
    }
}

/// Writes the owner's columns, with `search_text` and `skills` derived from
/// them in the same statement; the rating and follower summaries are not
/// touched (their writers keep them).
async fn write_fields(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    f: &ProfileFields,
    now: DateTime<Utc>,
) -> Result<(), TailorError> {
    use tailor_profile::Column as C;
    let json = |list: &Vec<String>| serde_json::to_string(list).unwrap_or_else(|_| "[]".into());
    tailor_profile::Entity::update_many()
        .col_expr(C::BusinessName, Expr::value(f.business_name.clone()))
        .col_expr(C::Bio, Expr::value(f.bio.clone()))
        .col_expr(C::Skills, Expr::value(f.skills_column()))
        .col_expr(C::Specialties, Expr::value(json(&f.specialties)))
        .col_expr(C::SearchText, Expr::value(f.search_text()))
        .col_expr(C::YearsOfExperience, Expr::value(f.years_of_experience))
        .col_expr(C::City, Expr::value(f.city.clone()))
        .col_expr(C::State, Expr::value(f.state.clone()))
        .col_expr(C::Country, Expr::value(f.country.clone()))
        .col_expr(C::Latitude, Expr::value(f.latitude))
        .col_expr(C::Longitude, Expr::value(f.longitude))
        .col_expr(C::InShopFittings, Expr::value(f.in_shop_fittings))
        .col_expr(C::HomeVisits, Expr::value(f.home_visits))
        .col_expr(C::HomeVisitRadiusKm, Expr::value(f.home_visit_radius_km))
        .col_expr(C::ShipsNationwide, Expr::value(f.ships_nationwide))
        .col_expr(C::PriceFrom, Expr::value(f.price_from))
        .col_expr(C::TurnaroundDays, Expr::value(f.turnaround_days))
        .col_expr(C::Languages, Expr::value(json(&f.languages)))
        .col_expr(C::ContactPhone, Expr::value(f.contact_phone.clone()))
        .col_expr(C::UpdatedAt, Expr::value(now))
        .filter(C::UserId.eq(user_id))
        .exec(conn)
        .await?;
    Ok(())
}

/// `followers_count` from the follows themselves, in one statement.
async fn refresh_followers(conn: &impl ConnectionTrait, tailor: Uuid) -> Result<(), TailorError> {
    let count = Query::select()
        .expr(Expr::col(follow::Column::FollowerId).count())
        .from(follow::Entity)
        .and_where(Expr::col(follow::Column::FolloweeId).eq(tailor))
        .to_owned();
    tailor_profile::Entity::update_many()
        .col_expr(tailor_profile::Column::FollowersCount, subquery(count))
        .filter(tailor_profile::Column::UserId.eq(tailor))
        .exec(conn)
        .await?;
    Ok(())
}

/// The stored name of a portfolio item's first image, as a scalar subquery
/// on `portfolio_items`.
pub fn first_item_image() -> SimpleExpr {
    let (image, media) = (portfolio_image::Entity, media::Entity);
    let first = Query::select()
        .column((media, media::Column::Name))
        .from(image)
        .inner_join(
            media,
            Expr::col((media, media::Column::Id)).equals((image, portfolio_image::Column::MediaId)),
        )
        .and_where(
            Expr::col((image, portfolio_image::Column::ItemId))
                .equals((portfolio_item::Entity, portfolio_item::Column::Id)),
        )
        .order_by((image, portfolio_image::Column::Position), Order::Asc)
        .limit(1)
        .to_owned();
    subquery(first)
}

/// The first items of the portfolio with their first image: one statement.
async fn portfolio_preview(
    conn: &impl ConnectionTrait,
    tailor: Uuid,
) -> Result<Vec<PortfolioPreview>, TailorError> {
    let items = Query::select()
        .column((portfolio_item::Entity, portfolio_item::Column::Id))
        .column((portfolio_item::Entity, portfolio_item::Column::Title))
        .expr_as(first_item_image(), Alias::new("image_name"))
        .from(portfolio_item::Entity)
        .and_where(Expr::col((portfolio_item::Entity, portfolio_item::Column::TailorId)).eq(tailor))
        .order_by(
            (portfolio_item::Entity, portfolio_item::Column::Position),
            Order::Asc,
        )
        .order_by(
            (portfolio_item::Entity, portfolio_item::Column::Id),
            Order::Asc,
        )
        .limit(PREVIEW_ITEMS)
        .to_owned();
    let statement = StatementBuilder::build(&items, &conn.get_database_backend());
    let rows = PreviewRow::find_by_statement(statement).all(conn).await?;
    Ok(rows
        .into_iter()
        .map(|row| PortfolioPreview {
            id: row.id,
            title: row.title,
            image: row.image_name.as_deref().map(crate::media::url_of),
        })
        .collect())
}

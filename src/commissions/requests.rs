//! A customer's request: what to make, from what, to which measurements,
//! by when and how it reaches them. It opens (or reuses) the pair's chat
//! conversation, which then shows the commission.

use chrono::{NaiveDate, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, TransactionTrait};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::machine::{Actor, Status};
use super::{CommissionError, CommissionService, Event, ids_json, status_of};
use crate::storage::entities::{
    commission, measurement_profile, measurement_version, product, product_variant, user,
};
use crate::tailors::uploads::own_uploads as uploads_owned_by;
use crate::validation::{FieldErrors, REQUIRED};

pub const FABRIC_SOURCES: [&str; 3] = ["customer_supplies", "tailor_supplies", "shop_fabric"];
pub const FULFILMENTS: [&str; 2] = ["pickup", "delivery"];
const GARMENT_MAX: usize = 100;
const DESCRIPTION_MAX: usize = 5000;
const ADDRESS_MAX: usize = 500;
const MAX_IMAGES: usize = 10;
/// Kobo: a hundred million naira, far above any garment.
pub const MAX_KOBO: i64 = 10_000_000_000;

/// What a customer asks a tailor to make.
#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct CommissionRequest {
    /// The tailor's user id.
    #[schema(value_type = Uuid, required = true)]
    pub tailor_id: Option<String>,
    #[schema(value_type = String, required = true, max_length = 100, example = "Agbada")]
    pub garment_type: Option<String>,
    #[schema(value_type = String, required = true, max_length = 5000, example = "Three-piece agbada in royal blue, gold embroidery on the chest.")]
    pub description: Option<String>,
    /// Up to 10 ids of images you uploaded (`/media/api/upload/`), in order.
    #[schema(value_type = Vec<Uuid>, max_items = 10)]
    pub reference_image_ids: Option<Vec<String>>,
    /// One of your measurement profiles: the commission keeps the version
    /// in force now.
    #[schema(value_type = Uuid)]
    pub measurement_profile_id: Option<String>,
    /// `customer_supplies`, `tailor_supplies`, or `shop_fabric` (a variant
    /// of one of this tailor's products, with `fabric_yards`).
    #[schema(value_type = String, required = true, example = "tailor_supplies")]
    pub fabric: Option<String>,
    #[schema(value_type = Uuid)]
    pub fabric_variant_id: Option<String>,
    /// 0.5–100 yards, to a tenth; with `shop_fabric`.
    #[schema(value_type = f64, minimum = 0.5, maximum = 100)]
    pub fabric_yards: Option<f64>,
    /// `YYYY-MM-DD`, today or later.
    #[schema(value_type = String, format = Date, example = "2026-12-24")]
    pub desired_date: Option<String>,
    /// What you expect to pay, in kobo.
    #[schema(value_type = i64, minimum = 0)]
    pub budget_kobo: Option<i64>,
    /// `pickup` (default) or `delivery` (with `delivery_address`).
    #[schema(value_type = String, example = "pickup")]
    pub fulfilment: Option<String>,
    #[schema(value_type = String, max_length = 500)]
    pub delivery_address: Option<String>,
}

struct Checked {
    tailor_id: Uuid,
    garment_type: String,
    description: String,
    images: Vec<Uuid>,
    measurements: Option<(Uuid, Uuid)>,
    fabric: String,
    fabric_variant_id: Option<Uuid>,
    fabric_yards_tenths: Option<i32>,
    desired_date: Option<NaiveDate>,
    budget_kobo: Option<i64>,
    fulfilment: String,
    delivery_address: Option<String>,
}

fn uuid_field(errors: &mut FieldErrors, field: &str, raw: &Option<String>) -> Option<Uuid> {
    let raw = raw.as_deref()?;
    match Uuid::parse_str(raw.trim()) {
        Ok(id) => Some(id),
        Err(_) => {
            errors.add(field, "Must be a valid UUID.");
            None
        }
    }
}

fn text_field(errors: &mut FieldErrors, field: &str, raw: &Option<String>, max: usize) -> String {
    let Some(value) = errors.required(field, raw).map(str::trim) else {
        return String::new();
    };
    if value.is_empty() {
        errors.add(field, "This field may not be blank.");
    }
    errors.max_len(field, value, max);
    value.to_string()
}

fn one_of(errors: &mut FieldErrors, field: &str, raw: Option<&str>, allowed: &[&str]) -> String {
    let value = raw.map(str::trim).unwrap_or(allowed[0]);
    if !allowed.contains(&value) {
        errors.add(field, format!("Choose one of: {}.", allowed.join(", ")));
    }
    value.to_string()
}

impl CommissionService {
    /// Opens a commission from `customer` to a tailor, in `requested`.
    pub async fn request(
        &self,
        customer: &user::Model,
        input: CommissionRequest,
    ) -> Result<super::CommissionDetail, CommissionError> {
        let checked = self.check_request(customer, input).await?;
        let id = Uuid::now_v7();
        let conversation = self
            .chat
            .open_for_commission(customer.id, checked.tailor_id, id)
            .await?;
        let now = Utc::now();
        let row = commission::Model {
            id,
            customer_id: customer.id,
            tailor_id: checked.tailor_id,
            status: Status::Requested.as_str().into(),
            stage: None,
            garment_type: checked.garment_type,
            description: checked.description,
            reference_image_ids: ids_json(&checked.images),
            measurement_profile_id: checked.measurements.map(|m| m.0),
            measurement_version_id: checked.measurements.map(|m| m.1),
            fabric_source: checked.fabric,
            fabric_variant_id: checked.fabric_variant_id,
            fabric_yards_tenths: checked.fabric_yards_tenths,
            desired_date: checked.desired_date,
            budget_kobo: checked.budget_kobo,
            fulfilment: checked.fulfilment,
            delivery_address: checked.delivery_address,
            conversation_id: Some(conversation),
            price_kobo: None,
            deposit_kobo: 0,
            due_at: None,
            balance_on_collection: false,
            paid_kobo: 0,
            refunded_kobo: 0,
            work_started_at: None,
            delivered_at: None,
            reminded24h_at: None,
            reminded12h_at: None,
            reminded6h_at: None,
            created_at: now,
            updated_at: now,
        };
        let txn = self.db.begin().await?;
        commission::Entity::insert(commission::ActiveModel::from(row.clone()))
            .exec_without_returning(&txn)
            .await?;
        Event::new(&row, Actor::Customer, Some(customer.id), "requested")
            .record(&txn)
            .await?;
        txn.commit().await?;
        self.detail_of(row, Actor::Customer).await
    }

    async fn check_request(
        &self,
        customer: &user::Model,
        input: CommissionRequest,
    ) -> Result<Checked, CommissionError> {
        let mut errors = FieldErrors::new();
        let tailor_id = match errors.required("tailor_id", &input.tailor_id) {
            Some(_) => uuid_field(&mut errors, "tailor_id", &input.tailor_id),
            None => None,
        };
        if tailor_id == Some(customer.id) {
            errors.add("tailor_id", "You cannot commission yourself.");
        } else if let Some(id) = tailor_id
            && !crate::tailors::is_live_tailor(&self.db, id).await?
        {
            errors.add("tailor_id", "No such tailor.");
        }
        let garment_type = text_field(
            &mut errors,
            "garment_type",
            &input.garment_type,
            GARMENT_MAX,
        );
        let description = text_field(
            &mut errors,
            "description",
            &input.description,
            DESCRIPTION_MAX,
        );
        let images = uploads_owned_by(
            &self.db,
            customer.id,
            input.reference_image_ids.as_deref().unwrap_or_default(),
            (0, MAX_IMAGES),
            "reference_image_ids",
            &mut errors,
        )
        .await?;
        let profile = uuid_field(
            &mut errors,
            "measurement_profile_id",
            &input.measurement_profile_id,
        );
        let measurements = match profile {
            Some(id) => {
                let found = current_version(&self.db, customer.id, id).await?;
                if found.is_none() {
                    errors.add(
                        "measurement_profile_id",
                        "No such measurement profile of yours.",
                    );
                }
                found
            }
            None => None,
        };
        let fabric = one_of(
            &mut errors,
            "fabric",
            input.fabric.as_deref(),
            &FABRIC_SOURCES,
        );
        let (fabric_variant_id, fabric_yards_tenths) = self
            .check_fabric(&mut errors, &fabric, tailor_id, &input)
            .await?;
        let desired_date = match input.desired_date.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
                Ok(date) if date >= Utc::now().date_naive() => Some(date),
                Ok(_) => {
                    errors.add("desired_date", "Choose today or a later date.");
                    None
                }
                Err(_) => {
                    errors.add("desired_date", "Use the format YYYY-MM-DD.");
                    None
                }
            },
        };
        if input
            .budget_kobo
            .is_some_and(|b| !(0..=MAX_KOBO).contains(&b))
        {
            errors.add("budget_kobo", format!("Must be between 0 and {MAX_KOBO}."));
        }
        let fulfilment = one_of(
            &mut errors,
            "fulfilment",
            input.fulfilment.as_deref(),
            &FULFILMENTS,
        );
        let address = input
            .delivery_address
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_string);
        if let Some(address) = &address {
            errors.max_len("delivery_address", address, ADDRESS_MAX);
        }
        if fulfilment == "delivery" && address.is_none() {
            errors.add("delivery_address", "Give the address to deliver to.");
        }
        errors.into_result()?;
        Ok(Checked {
            tailor_id: tailor_id.ok_or_else(|| FieldErrors::single("tailor_id", REQUIRED))?,
            garment_type,
            description,
            images,
            measurements,
            fabric,
            fabric_variant_id,
            fabric_yards_tenths,
            desired_date,
            budget_kobo: input.budget_kobo,
            fulfilment,
            delivery_address: address,
        })
    }

    /// With `shop_fabric`: a variant of one of this tailor's products on
    /// sale, and how many yards (to a tenth).
    async fn check_fabric(
        &self,
        errors: &mut FieldErrors,
        fabric: &str,
        tailor: Option<Uuid>,
        input: &CommissionRequest,
    ) -> Result<(Option<Uuid>, Option<i32>), CommissionError> {
        if fabric != "shop_fabric" {
            if input.fabric_variant_id.is_some() || input.fabric_yards.is_some() {
                errors.add("fabric_variant_id", "Only with `shop_fabric`.");
            }
            return Ok((None, None));
        }
        let variant = match errors.required("fabric_variant_id", &input.fabric_variant_id) {
            Some(_) => uuid_field(errors, "fabric_variant_id", &input.fabric_variant_id),
            None => None,
        };
        if let (Some(variant), Some(tailor)) = (variant, tailor)
            && !sells_variant(&self.db, tailor, variant).await?
        {
            errors.add("fabric_variant_id", "This tailor sells no such fabric.");
        }
        let tenths = match input.fabric_yards {
            Some(yards) if yards.is_finite() && (0.5..=100.0).contains(&yards) => {
                Some((yards * 10.0).round() as i32)
            }
            Some(_) => {
                errors.add("fabric_yards", "Between 0.5 and 100 yards.");
                None
            }
            None => {
                errors.add("fabric_yards", REQUIRED);
                None
            }
        };
        Ok((variant, tenths))
    }

    /// Points the commission at the current version of one of the
    /// customer's measurement profiles; only before work starts.
    pub async fn attach_measurements(
        &self,
        me: &user::Model,
        id: Uuid,
        profile: Option<String>,
    ) -> Result<super::CommissionDetail, CommissionError> {
        let (row, actor) = self.as_party(me, id).await?;
        if actor != Actor::Customer {
            return Err(CommissionError::Forbidden(
                "Only the customer chooses the measurements.",
            ));
        }
        let mut errors = FieldErrors::new();
        let profile_id = match errors.required("measurement_profile_id", &profile) {
            Some(_) => uuid_field(&mut errors, "measurement_profile_id", &profile),
            None => None,
        };
        errors.into_result()?;
        let profile_id = profile_id.ok_or(CommissionError::NotFound)?;
        let (profile_id, version_id) = current_version(&self.db, me.id, profile_id)
            .await?
            .ok_or_else(|| {
                FieldErrors::single(
                    "measurement_profile_id",
                    "No such measurement profile of yours.",
                )
            })?;
        let current = status_of(&row);
        let before_work = matches!(
            current,
            Status::Requested | Status::Quoted | Status::Countered | Status::AwaitingDeposit
        ) || (current == Status::InProgress && row.work_started_at.is_none());
        if !before_work {
            return Err(CommissionError::wrong_state(
                current,
                "change the measurements after work started",
            ));
        }
        let txn = self.db.begin().await?;
        let attached = super::update_from(row.id, current, current)
            .col_expr(commission::Column::MeasurementProfileId, profile_id.into())
            .col_expr(commission::Column::MeasurementVersionId, version_id.into())
            .filter(commission::Column::WorkStartedAt.is_null())
            .exec(&txn)
            .await?;
        if attached.rows_affected != 1 {
            txn.rollback().await?;
            return Err(self.lost_race(id, "change the measurements").await);
        }
        Event::new(&row, Actor::Customer, Some(me.id), "measurements_attached")
            .record(&txn)
            .await?;
        txn.commit().await?;
        self.detail(me, id).await
    }

    /// The 409 for a move that lost to another: what the commission is now.
    pub(super) async fn lost_race(&self, id: Uuid, what: &str) -> CommissionError {
        match commission::Entity::find_by_id(id).one(&self.db).await {
            Ok(Some(now)) => CommissionError::wrong_state(status_of(&now), what),
            Ok(None) => CommissionError::NotFound,
            Err(e) => e.into(),
        }
    }
}

/// The profile and the id of its version in force, if the profile is
/// `owner`'s.
async fn current_version(
    conn: &impl ConnectionTrait,
    owner: Uuid,
    profile: Uuid,
) -> Result<Option<(Uuid, Uuid)>, CommissionError> {
    let Some(row) = measurement_profile::Entity::find_by_id(profile)
        .filter(measurement_profile::Column::OwnerId.eq(owner))
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let version = measurement_version::Entity::find()
        .filter(measurement_version::Column::ProfileId.eq(row.id))
        .filter(measurement_version::Column::Version.eq(row.version))
        .one(conn)
        .await?;
    Ok(version.map(|v| (row.id, v.id)))
}

async fn sells_variant(
    conn: &impl ConnectionTrait,
    tailor: Uuid,
    variant: Uuid,
) -> Result<bool, CommissionError> {
    let Some(variant) = product_variant::Entity::find_by_id(variant)
        .one(conn)
        .await?
    else {
        return Ok(false);
    };
    let product = product::Entity::find_by_id(variant.product_id)
        .filter(product::Column::TailorId.eq(tailor))
        .filter(product::Column::DeletedAt.is_null())
        .one(conn)
        .await?;
    Ok(product.is_some())
}

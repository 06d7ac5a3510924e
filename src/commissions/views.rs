//! What the two parties (and staff, for disputes) see of a commission.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::machine::{Actor, Status};
use super::payments::CommissionPaymentView;
use super::{CommissionError, CommissionService, ids_from_json, status_of};
use crate::storage::entities::{
    commission, commission_dispute, commission_event, commission_offer, fitting_booking,
    measurement_version, user,
};
use crate::tailors::measurements::{MeasurementVersionView, version_view};
use crate::tailors::uploads::urls;

#[derive(Debug, Serialize, ToSchema)]
pub struct CommissionView {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub tailor_id: Uuid,
    /// `requested`, `quoted`, `countered`, `awaiting_deposit`,
    /// `in_progress`, `ready`, `delivered`, `completed`, `declined`,
    /// `cancelled`, `disputed` or `refunded`.
    pub status: String,
    /// The tailor's last reported stage.
    pub stage: Option<String>,
    /// Past its due date and not yet ready.
    pub overdue: bool,
    pub garment_type: String,
    pub description: String,
    /// URLs of the customer's reference images, in order.
    pub reference_images: Vec<String>,
    pub measurement_profile_id: Option<Uuid>,
    /// The exact version of the measurements the tailor works to.
    pub measurement_version_id: Option<Uuid>,
    /// `customer_supplies`, `tailor_supplies` or `shop_fabric`.
    pub fabric: String,
    pub fabric_variant_id: Option<Uuid>,
    pub fabric_yards: Option<f64>,
    #[schema(value_type = Option<String>, format = Date)]
    pub desired_date: Option<NaiveDate>,
    pub budget_kobo: Option<i64>,
    /// `pickup` or `delivery`.
    pub fulfilment: String,
    pub delivery_address: Option<String>,
    /// The pair's chat conversation.
    pub conversation_id: Option<Uuid>,
    /// The quoted (then agreed) price, kobo.
    pub price_kobo: Option<i64>,
    pub deposit_kobo: i64,
    /// Price minus deposit.
    pub balance_kobo: i64,
    /// The tailor takes the balance in person on collection.
    pub balance_on_collection: bool,
    pub paid_kobo: i64,
    pub refunded_kobo: i64,
    pub due_at: Option<DateTime<Utc>>,
    pub work_started_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OfferView {
    pub id: Uuid,
    /// `tailor` (a quote) or `customer` (a counter-offer).
    pub author: String,
    pub price_kobo: i64,
    pub deposit_percent: Option<i32>,
    pub due_at: Option<DateTime<Utc>>,
    pub notes: String,
    pub valid_until: Option<DateTime<Utc>>,
    pub balance_on_collection: bool,
    /// `open`, `accepted`, `declined`, `countered` or `superseded`.
    pub status: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub id: Uuid,
    /// `customer`, `tailor`, `staff` or `system`.
    pub actor: String,
    /// `requested`, `quoted`, `countered`, `declined`, `accepted`,
    /// `deposit_paid`, `progress`, `balance_paid`, `delivered`, `completed`,
    /// `alterations_requested`, `cancelled`, `dispute_opened`,
    /// `dispute_released`, `dispute_refunded`, `refund_queued`,
    /// `measurements_attached`, `reminder`.
    pub kind: String,
    /// The commission's status after it.
    pub status: String,
    pub stage: Option<String>,
    pub note: String,
    pub images: Vec<String>,
    pub offer_id: Option<Uuid>,
    pub amount_kobo: Option<i64>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DisputeView {
    pub id: Uuid,
    pub commission_id: Uuid,
    pub customer_id: Uuid,
    pub tailor_id: Uuid,
    pub reason: String,
    pub images: Vec<String>,
    /// `open` or `resolved`.
    pub status: String,
    /// `release` or `refund`, once resolved.
    pub resolution: Option<String>,
    pub refund_kobo: i64,
    pub resolution_note: String,
    /// What the customer paid and what was refunded before.
    pub paid_kobo: i64,
    pub refunded_kobo: i64,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// A commission with everything that happened to it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommissionDetail {
    #[serde(flatten)]
    pub commission: CommissionView,
    /// Which side the caller is on: `customer` or `tailor`.
    pub role: String,
    /// The measurements the tailor works to (the version kept at the
    /// request, or re-attached before work started).
    pub measurements: Option<MeasurementVersionView>,
    /// Every quote and counter-offer, oldest first.
    pub offers: Vec<OfferView>,
    /// Oldest first.
    pub timeline: Vec<EventView>,
    pub payments: Vec<CommissionPaymentView>,
    /// Fittings booked for this commission, earliest first.
    pub fittings: Vec<CommissionFitting>,
    pub dispute: Option<DisputeView>,
}

/// A fitting booked for the commission (details at `/tailor/api/bookings/`).
#[derive(Debug, Serialize, ToSchema)]
pub struct CommissionFitting {
    pub id: Uuid,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// `in_shop` or `home_visit`.
    pub kind: String,
    /// `requested`, `confirmed`, `declined` or `cancelled`.
    pub status: String,
}

/// The parties' side of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Customer,
    Tailor,
}

/// Filters of a list.
pub struct ListFilter {
    pub status: Option<Status>,
    pub due_before: Option<DateTime<Utc>>,
    pub page: u64,
    pub page_size: u64,
}

fn overdue(row: &commission::Model, now: DateTime<Utc>) -> bool {
    matches!(status_of(row), Status::AwaitingDeposit | Status::InProgress)
        && row.due_at.is_some_and(|due| due < now)
}

pub(super) async fn summary(
    db: &impl sea_orm::ConnectionTrait,
    rows: Vec<commission::Model>,
) -> Result<Vec<CommissionView>, CommissionError> {
    let images = urls(
        db,
        rows.iter()
            .flat_map(|r| ids_from_json(&r.reference_image_ids)),
    )
    .await?;
    let now = Utc::now();
    Ok(rows
        .into_iter()
        .map(|row| {
            let reference_images = ids_from_json(&row.reference_image_ids)
                .iter()
                .filter_map(|id| images.get(id).cloned())
                .collect();
            let price = row.price_kobo.unwrap_or(0);
            CommissionView {
                overdue: overdue(&row, now),
                balance_kobo: (price - row.deposit_kobo).max(0),
                reference_images,
                fabric_yards: row.fabric_yards_tenths.map(|t| f64::from(t) / 10.0),
                id: row.id,
                customer_id: row.customer_id,
                tailor_id: row.tailor_id,
                status: row.status,
                stage: row.stage,
                garment_type: row.garment_type,
                description: row.description,
                measurement_profile_id: row.measurement_profile_id,
                measurement_version_id: row.measurement_version_id,
                fabric: row.fabric_source,
                fabric_variant_id: row.fabric_variant_id,
                desired_date: row.desired_date,
                budget_kobo: row.budget_kobo,
                fulfilment: row.fulfilment,
                delivery_address: row.delivery_address,
                conversation_id: row.conversation_id,
                price_kobo: row.price_kobo,
                deposit_kobo: row.deposit_kobo,
                balance_on_collection: row.balance_on_collection,
                paid_kobo: row.paid_kobo,
                refunded_kobo: row.refunded_kobo,
                due_at: row.due_at,
                work_started_at: row.work_started_at,
                delivered_at: row.delivered_at,
                created_at: row.created_at,
                updated_at: row.updated_at,
            }
        })
        .collect())
}

impl CommissionService {
    /// One commission with its timeline, for one of its two parties.
    pub async fn detail(
        &self,
        me: &user::Model,
        id: Uuid,
    ) -> Result<CommissionDetail, CommissionError> {
        let (row, actor) = self.as_party(me, id).await?;
        self.detail_of(row, actor).await
    }

    pub(super) async fn detail_of(
        &self,
        row: commission::Model,
        actor: Actor,
    ) -> Result<CommissionDetail, CommissionError> {
        let measurements = match row.measurement_version_id {
            Some(version) => measurement_version::Entity::find_by_id(version)
                .one(&self.db)
                .await?
                .map(version_view),
            None => None,
        };
        let offers = commission_offer::Entity::find()
            .filter(commission_offer::Column::CommissionId.eq(row.id))
            .order_by_asc(commission_offer::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(offer_view)
            .collect();
        let events = commission_event::Entity::find()
            .filter(commission_event::Column::CommissionId.eq(row.id))
            .order_by_asc(commission_event::Column::Id)
            .all(&self.db)
            .await?;
        let images = urls(
            &self.db,
            events.iter().flat_map(|e| ids_from_json(&e.image_ids)),
        )
        .await?;
        let timeline = events
            .into_iter()
            .map(|e| EventView {
                images: ids_from_json(&e.image_ids)
                    .iter()
                    .filter_map(|id| images.get(id).cloned())
                    .collect(),
                id: e.id,
                actor: e.actor,
                kind: e.kind,
                status: e.status,
                stage: e.stage,
                note: e.note,
                offer_id: e.offer_id,
                amount_kobo: e.amount_kobo,
                created_at: e.created_at,
            })
            .collect();
        // A payment page is shown only while the customer owes it.
        let paying = matches!(status_of(&row), Status::AwaitingDeposit | Status::Ready);
        let payments = self
            .payments_of(row.id, actor == Actor::Customer && paying)
            .await?;
        let fittings = fitting_booking::Entity::find()
            .filter(fitting_booking::Column::CommissionId.eq(row.id))
            .order_by_asc(fitting_booking::Column::StartAt)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|f| CommissionFitting {
                id: f.id,
                start: f.start_at,
                end: f.end_at,
                kind: f.kind,
                status: f.status,
            })
            .collect();
        let dispute = match commission_dispute::Entity::find()
            .filter(commission_dispute::Column::CommissionId.eq(row.id))
            .one(&self.db)
            .await?
        {
            Some(d) => Some(self.dispute_view_with(d, &row).await?),
            None => None,
        };
        let commission = summary(&self.db, vec![row])
            .await?
            .pop()
            .ok_or(CommissionError::NotFound)?;
        Ok(CommissionDetail {
            commission,
            role: actor.as_str().into(),
            measurements,
            offers,
            timeline,
            payments,
            fittings,
            dispute,
        })
    }

    /// The caller's commissions as customer or as tailor, newest first.
    pub async fn list(
        &self,
        me: &user::Model,
        side: Side,
        filter: ListFilter,
    ) -> Result<(u64, Vec<CommissionView>), CommissionError> {
        let mut query = commission::Entity::find();
        query = match side {
            Side::Customer => query.filter(commission::Column::CustomerId.eq(me.id)),
            Side::Tailor => query.filter(commission::Column::TailorId.eq(me.id)),
        };
        if let Some(status) = filter.status {
            query = query.filter(commission::Column::Status.eq(status.as_str()));
        }
        if let Some(before) = filter.due_before {
            query = query.filter(
                Condition::all()
                    .add(commission::Column::DueAt.is_not_null())
                    .add(commission::Column::DueAt.lt(before)),
            );
        }
        let count = query.clone().count(&self.db).await?;
        // Past the last page (or too far to address): an empty page, 404.
        let Some(offset) = crate::storage::page_offset(filter.page, filter.page_size, count) else {
            return Ok((count, Vec::new()));
        };
        let rows = query
            .order_by_desc(commission::Column::Id)
            .offset(offset)
            .limit(filter.page_size)
            .all(&self.db)
            .await?;
        Ok((count, summary(&self.db, rows).await?))
    }

    pub(super) async fn dispute_view(
        &self,
        row: commission_dispute::Model,
    ) -> Result<DisputeView, CommissionError> {
        let commission = commission::Entity::find_by_id(row.commission_id)
            .one(&self.db)
            .await?
            .ok_or(CommissionError::NotFound)?;
        self.dispute_view_with(row, &commission).await
    }

    async fn dispute_view_with(
        &self,
        row: commission_dispute::Model,
        commission: &commission::Model,
    ) -> Result<DisputeView, CommissionError> {
        let ids = ids_from_json(&row.image_ids);
        let images = urls(&self.db, ids.iter().copied()).await?;
        Ok(DisputeView {
            images: ids
                .iter()
                .filter_map(|id| images.get(id).cloned())
                .collect(),
            id: row.id,
            commission_id: row.commission_id,
            customer_id: commission.customer_id,
            tailor_id: commission.tailor_id,
            reason: row.reason,
            status: row.status,
            resolution: row.resolution,
            refund_kobo: row.refund_kobo,
            resolution_note: row.resolution_note,
            paid_kobo: commission.paid_kobo,
            refunded_kobo: commission.refunded_kobo,
            created_at: row.created_at,
            resolved_at: row.resolved_at,
        })
    }
}

fn offer_view(o: commission_offer::Model) -> OfferView {
    OfferView {
        id: o.id,
        author: o.author,
        price_kobo: o.price_kobo,
        deposit_percent: o.deposit_percent,
        due_at: o.due_at,
        notes: o.notes,
        valid_until: o.valid_until,
        balance_on_collection: o.balance_on_collection,
        status: o.status,
        created_at: o.created_at,
    }
}

//! The fittings part of a user's data export, and what an account's
//! deletion does to its fittings.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::storage::entities::{calendar_feed, fitting_availability, fitting_booking};

#[derive(Debug, Serialize, ToSchema)]
pub struct FittingsExport {
    /// The user's availability as a tailor, as stored (null if none).
    #[schema(value_type = Option<Object>)]
    pub availability: Option<serde_json::Value>,
    /// Fittings the user booked or was booked for, oldest first.
    pub bookings: Vec<ExportBooking>,
    /// Whether the user has a calendar feed (its secret is not stored).
    pub calendar_feed: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportBooking {
    pub id: Uuid,
    pub tailor_id: Uuid,
    pub customer_id: Uuid,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub kind: String,
    pub status: String,
    pub commission_id: Option<Uuid>,
    pub note: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub cancelled_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

fn of_user(me: Uuid) -> Condition {
    Condition::any()
        .add(fitting_booking::Column::TailorId.eq(me))
        .add(fitting_booking::Column::CustomerId.eq(me))
}

/// Read inside the export's snapshot transaction.
pub async fn export(db: &impl ConnectionTrait, me: Uuid) -> Result<FittingsExport, DbErr> {
    let availability = fitting_availability::Entity::find_by_id(me).one(db).await?;
    let bookings = fitting_booking::Entity::find()
        .filter(of_user(me))
        .order_by_asc(fitting_booking::Column::StartAt)
        .all(db)
        .await?;
    Ok(FittingsExport {
        availability: availability.map(|a| {
            serde_json::json!({
                "time_zone": a.time_zone,
                "weekly_hours": serde_json::from_str::<serde_json::Value>(&a.weekly_hours).unwrap_or_default(),
                "slot_minutes": a.slot_minutes,
                "buffer_minutes": a.buffer_minutes,
                "days_off": serde_json::from_str::<serde_json::Value>(&a.days_off).unwrap_or_default(),
                "exceptions": serde_json::from_str::<serde_json::Value>(&a.exceptions).unwrap_or_default(),
                "horizon_days": a.horizon_days,
                "min_notice_minutes": a.min_notice_minutes,
                "requires_approval": a.requires_approval,
                "updated_at": a.updated_at,
            })
        }),
        bookings: bookings
            .into_iter()
            .map(|b| ExportBooking {
                id: b.id,
                tailor_id: b.tailor_id,
                customer_id: b.customer_id,
                start: b.start_at,
                end: b.end_at,
                kind: b.kind,
                status: b.status,
                commission_id: b.commission_id,
                note: b.note,
                latitude: b.latitude,
                longitude: b.longitude,
                cancelled_by: b.cancelled_by,
                created_at: b.created_at,
            })
            .collect(),
        calendar_feed: calendar_feed::Entity::find_by_id(me).one(db).await?.is_some(),
    })
}

/// See `forget_fittings_side`.
pub(super) async fn forget(conn: &impl ConnectionTrait, account: Uuid) -> Result<(), DbErr> {
    let now = Utc::now();
    // Their tailors' cached booking lists must learn of the cancellations.
    let tailors = Query::select()
        .column(fitting_booking::Column::TailorId)
        .from(fitting_booking::Entity)
        .and_where(Expr::col(fitting_booking::Column::CustomerId).eq(account))
        .and_where(Expr::col(fitting_booking::Column::Status).is_in(["requested", "confirmed"]))
        .to_owned();
    fitting_availability::Entity::update_many()
        .col_expr(
            fitting_availability::Column::BookingsVersion,
            Expr::col(fitting_availability::Column::BookingsVersion).add(1),
        )
        .filter(fitting_availability::Column::TailorId.in_subquery(tailors))
        .exec(conn)
        .await?;
    fitting_booking::Entity::update_many()
        .col_expr(fitting_booking::Column::Status, Expr::value("cancelled"))
        .col_expr(fitting_booking::Column::CancelledBy, Expr::value("system"))
        .col_expr(fitting_booking::Column::UpdatedAt, Expr::value(now))
        .filter(of_user(account))
        .filter(fitting_booking::Column::Status.is_in(["requested", "confirmed"]))
        .filter(fitting_booking::Column::StartAt.gt(now))
        .exec(conn)
        .await?;
    let none: Option<f64> = None;
    fitting_booking::Entity::update_many()
        .col_expr(fitting_booking::Column::Note, Expr::value(""))
        .col_expr(fitting_booking::Column::Latitude, Expr::value(none))
        .col_expr(fitting_booking::Column::Longitude, Expr::value(none))
        .filter(fitting_booking::Column::CustomerId.eq(account))
        .exec(conn)
        .await?;
    fitting_availability::Entity::delete_by_id(account)
        .exec(conn)
        .await?;
    calendar_feed::Entity::delete_by_id(account)
        .exec(conn)
        .await?;
    Ok(())
}

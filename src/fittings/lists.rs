//! Each side's list of bookings, and a tailor's fittings of the day.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::bookings::BookingView;
use super::machine::Status;
use super::{FittingError, FittingService};
use crate::storage::entities::{fitting_availability, fitting_booking, user};
use crate::validation::FieldErrors;

/// Which side's bookings a list shows.
#[derive(Debug, Clone, Copy)]
pub enum Side {
    Tailor,
    Customer,
}

/// Filters of a booking list, as sent.
#[derive(Debug, Default)]
pub struct BookingFilters {
    pub status: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

pub struct BookingPage {
    pub count: u64,
    pub bookings: Vec<BookingView>,
}

fn instant_filter(
    errors: &mut FieldErrors,
    field: &str,
    raw: Option<&str>,
) -> Option<DateTime<Utc>> {
    let raw = raw.map(str::trim).filter(|r| !r.is_empty())?;
    if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
        return Some(at.with_timezone(&Utc));
    }
    match chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        Ok(day) if raw.len() == 10 => Some(day.and_time(chrono::NaiveTime::MIN).and_utc()),
        _ => {
            errors.add(
                field,
                "Must be a date (YYYY-MM-DD) or an RFC 3339 date-time.",
            );
            None
        }
    }
}

impl FittingService {
    /// One page of `me`'s bookings as tailor or customer, soonest first;
    /// `None` past the last page.
    pub async fn list(
        &self,
        me: &user::Model,
        side: Side,
        filters: BookingFilters,
        page: u64,
        page_size: u64,
    ) -> Result<Option<BookingPage>, FittingError> {
        let mut errors = FieldErrors::new();
        let status = match filters
            .status
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(raw) => match Status::parse(raw) {
                Some(s) => Some(s),
                None => {
                    errors.add(
                        "status",
                        "Must be requested, confirmed, declined or cancelled.",
                    );
                    None
                }
            },
        };
        let from = instant_filter(&mut errors, "from", filters.from.as_deref());
        let to = instant_filter(&mut errors, "to", filters.to.as_deref());
        errors.into_result()?;
        let owner = match side {
            Side::Tailor => fitting_booking::Column::TailorId,
            Side::Customer => fitting_booking::Column::CustomerId,
        };
        let mut select = fitting_booking::Entity::find().filter(owner.eq(me.id));
        if let Some(status) = status {
            select = select.filter(fitting_booking::Column::Status.eq(status.as_str()));
        }
        if let Some(from) = from {
            select = select.filter(fitting_booking::Column::StartAt.gte(from));
        }
        if let Some(to) = to {
            select = select.filter(fitting_booking::Column::StartAt.lt(to));
        }
        let count = select.clone().count(&self.db).await?;
        let Some(offset) = crate::storage::page_offset(page, page_size, count) else {
            return Ok(None);
        };
        let rows = select
            .order_by_asc(fitting_booking::Column::StartAt)
            .order_by_asc(fitting_booking::Column::Id)
            .offset(offset)
            .limit(page_size)
            .all(&self.db)
            .await?;
        let zones: HashMap<Uuid, String> = fitting_availability::Entity::find()
            .select_only()
            .column(fitting_availability::Column::TailorId)
            .column(fitting_availability::Column::TimeZone)
            .filter(fitting_availability::Column::TailorId.is_in(rows.iter().map(|r| r.tailor_id)))
            .into_tuple::<(Uuid, String)>()
            .all(&self.db)
            .await?
            .into_iter()
            .collect();
        let bookings = rows
            .into_iter()
            .map(|row| {
                let zone = zones
                    .get(&row.tailor_id)
                    .and_then(|z| z.parse().ok())
                    .unwrap_or(chrono_tz::Africa::Lagos);
                BookingView::of(row, zone)
            })
            .collect();
        Ok(Some(BookingPage { count, bookings }))
    }

    /// A tailor's live fittings (requested or confirmed) on today's date in
    /// their zone, soonest first: for the tailor's dashboard.
    pub async fn todays_fittings(
        &self,
        tailor: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Vec<BookingView>, FittingError> {
        let zone = self.zone_of(tailor).await;
        let today = now.with_timezone(&zone).date_naive();
        let midnight = |d: chrono::NaiveDate| {
            d.and_time(chrono::NaiveTime::MIN)
                .and_local_timezone(zone)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
        };
        let (Some(start), Some(end)) = (midnight(today), today.succ_opt().and_then(midnight))
        else {
            return Ok(Vec::new());
        };
        let rows = fitting_booking::Entity::find()
            .filter(fitting_booking::Column::TailorId.eq(tailor))
            .filter(fitting_booking::Column::StartAt.gte(start))
            .filter(fitting_booking::Column::StartAt.lt(end))
            .filter(fitting_booking::Column::Status.is_in(["requested", "confirmed"]))
            .order_by_asc(fitting_booking::Column::StartAt)
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(|r| BookingView::of(r, zone)).collect())
    }
}

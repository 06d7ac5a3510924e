//! Reading and replacing a tailor's availability.

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, EntityTrait};

use super::availability::{AvailabilityInput, AvailabilityView};
use super::{FittingError, FittingService};
use crate::storage::entities::{fitting_availability, tailor_profile, user};

impl FittingService {
    fn require_tailor(me: &user::Model) -> Result<(), FittingError> {
        if me.role != "tailor" {
            return Err(FittingError::Forbidden(
                "Only tailors have fitting availability.",
            ));
        }
        Ok(())
    }

    /// `me`'s availability (the defaults, unpublished, before the first save).
    pub async fn availability(&self, me: &user::Model) -> Result<AvailabilityView, FittingError> {
        Self::require_tailor(me)?;
        let row = fitting_availability::Entity::find_by_id(me.id)
            .one(&self.db)
            .await?;
        Ok(AvailabilityView::of(row.as_ref()))
    }

    /// Replaces `me`'s availability. Bookings already made stay as they are,
    /// even where the new hours no longer have their slot.
    pub async fn set_availability(
        &self,
        me: &user::Model,
        input: AvailabilityInput,
    ) -> Result<AvailabilityView, FittingError> {
        Self::require_tailor(me)?;
        let valid = input.validate()?;
        if tailor_profile::Entity::find_by_id(me.id)
            .one(&self.db)
            .await?
            .is_none()
        {
            return Err(FittingError::Conflict(
                "no_profile",
                "Create your tailor profile first (POST /tailor/api/create/).".into(),
            ));
        }
        let columns = valid.columns();
        let now = Utc::now();
        let row = fitting_availability::ActiveModel {
            tailor_id: Set(me.id),
            time_zone: Set(valid.time_zone),
            weekly_hours: Set(columns.weekly_hours),
            slot_minutes: Set(valid.slot_minutes),
            buffer_minutes: Set(valid.buffer_minutes),
            days_off: Set(columns.days_off),
            exceptions: Set(columns.exceptions),
            horizon_days: Set(valid.horizon_days),
            min_notice_minutes: Set(valid.min_notice_minutes),
            requires_approval: Set(valid.requires_approval),
            bookings_version: Set(0),
            created_at: Set(now),
            updated_at: Set(now),
        };
        use fitting_availability::Column as C;
        // One upsert: concurrent saves cannot interleave field by field.
        fitting_availability::Entity::insert(row)
            .on_conflict(
                OnConflict::column(C::TailorId)
                    .update_columns([
                        C::TimeZone,
                        C::WeeklyHours,
                        C::SlotMinutes,
                        C::BufferMinutes,
                        C::DaysOff,
                        C::Exceptions,
                        C::HorizonDays,
                        C::MinNoticeMinutes,
                        C::RequiresApproval,
                        C::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await?;
        let row = fitting_availability::Entity::find_by_id(me.id)
            .one(&self.db)
            .await?;
        Ok(AvailabilityView::of(row.as_ref()))
    }
}

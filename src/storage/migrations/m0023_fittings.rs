//! Fittings (the old `Booking`): a tailor's published availability, the
//! bookings against it, and each user's private calendar feed.
//!
//! A tailor's live fittings (requested or confirmed) never overlap: booking
//! locks the tailor's availability row and checks for overlap in the same
//! transaction; the partial unique index on `(tailor_id, start_at)` for live
//! rows is the last line should that ever be bypassed.

use sea_orm_migration::prelude::*;

use super::columns::{cascade, flag, text, timestamp, uuid_key};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum FittingAvailability {
    Table,
    TailorId,
    TimeZone,
    WeeklyHours,
    SlotMinutes,
    BufferMinutes,
    DaysOff,
    Exceptions,
    HorizonDays,
    MinNoticeMinutes,
    RequiresApproval,
    BookingsVersion,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum FittingBookings {
    Table,
    Id,
    TailorId,
    CustomerId,
    StartAt,
    EndAt,
    Kind,
    Status,
    CommissionId,
    Note,
    Latitude,
    Longitude,
    CancelledBy,
    #[sea_orm(iden = "reminded_24h_at")]
    Reminded24hAt,
    #[sea_orm(iden = "reminded_1h_at")]
    Reminded1hAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CalendarFeeds {
    Table,
    UserId,
    Nonce,
    SecretHash,
    CreatedAt,
}

/// Live bookings: the ones that hold a slot. Written the same way in the
/// queries that must use the index (SQLite matches partial indexes term by term).
pub const LIVE_CONDITION: &str = "status IN ('requested', 'confirmed')";
const LIVE_START_INDEX: &str = "idx_fitting_bookings_live_start";

fn int(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).integer().not_null().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use FittingAvailability as A;
        use FittingBookings as B;
        manager
            .create_table(
                Table::create()
                    .table(A::Table)
                    .col(uuid_key(A::TailorId))
                    .col(text(A::TimeZone))
                    .col(text(A::WeeklyHours))
                    .col(int(A::SlotMinutes))
                    .col(int(A::BufferMinutes))
                    .col(text(A::DaysOff))
                    .col(text(A::Exceptions))
                    .col(int(A::HorizonDays))
                    .col(int(A::MinNoticeMinutes))
                    .col(flag(A::RequiresApproval, true))
                    .col(
                        ColumnDef::new(A::BookingsVersion)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(timestamp(A::CreatedAt))
                    .col(timestamp(A::UpdatedAt))
                    .foreign_key(&mut cascade(
                        (A::Table, A::TailorId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(B::Table)
                    .col(uuid_key(B::Id))
                    .col(ColumnDef::new(B::TailorId).uuid().not_null())
                    .col(ColumnDef::new(B::CustomerId).uuid().not_null())
                    .col(timestamp(B::StartAt))
                    .col(timestamp(B::EndAt))
                    .col(text(B::Kind))
                    .col(text(B::Status))
                    .col(ColumnDef::new(B::CommissionId).uuid().null())
                    .col(text(B::Note))
                    .col(ColumnDef::new(B::Latitude).double().null())
                    .col(ColumnDef::new(B::Longitude).double().null())
                    .col(ColumnDef::new(B::CancelledBy).string().null())
                    .col(
                        ColumnDef::new(B::Reminded24hAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(B::Reminded1hAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(timestamp(B::CreatedAt))
                    .col(timestamp(B::UpdatedAt))
                    .foreign_key(&mut cascade(
                        (B::Table, B::TailorId),
                        (Users::Table, Users::Id),
                    ))
                    .foreign_key(&mut cascade(
                        (B::Table, B::CustomerId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        // The day's bookings of one tailor (slots, overlap check) and a
        // customer's list, each one indexed range read.
        for (name, first) in [
            ("idx_fitting_bookings_tailor_start", B::TailorId),
            ("idx_fitting_bookings_customer_start", B::CustomerId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(B::Table)
                        .col(first)
                        .col(B::StartAt)
                        .to_owned(),
                )
                .await?;
        }
        // Reminders look for confirmed fittings starting soon.
        manager
            .create_index(
                Index::create()
                    .name("idx_fitting_bookings_status_start")
                    .table(B::Table)
                    .col(B::Status)
                    .col(B::StartAt)
                    .to_owned(),
            )
            .await?;
        // Partial indexes read the same in SQLite and PostgreSQL; the schema
        // builder cannot express the condition.
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "CREATE UNIQUE INDEX {LIVE_START_INDEX} ON fitting_bookings (tailor_id, start_at) WHERE {LIVE_CONDITION}"
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CalendarFeeds::Table)
                    .col(uuid_key(CalendarFeeds::UserId))
                    .col(text(CalendarFeeds::Nonce))
                    .col(text(CalendarFeeds::SecretHash).unique_key())
                    .col(timestamp(CalendarFeeds::CreatedAt))
                    .foreign_key(&mut cascade(
                        (CalendarFeeds::Table, CalendarFeeds::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CalendarFeeds::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(FittingBookings::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(FittingAvailability::Table).to_owned())
            .await?;
        Ok(())
    }
}

//! One durable job queue for all background work, and notifications: the
//! in-app feed, the phones that receive pushes, and what each user wants.
//!
//! A job is claimed by a conditional update that sets a lease (`lease_until`)
//! and a claim token (`claimed_by`); a worker that dies stops extending its
//! lease and another takes the job when it lapses. `dedup_key` is unique, so
//! an event enqueued twice (a replayed webhook, two instances ticking the
//! same schedule) becomes one job.

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
enum Jobs {
    Table,
    Id,
    Kind,
    Payload,
    DedupKey,
    Status,
    Attempts,
    MaxAttempts,
    RunAt,
    LeaseUntil,
    ClaimedBy,
    LastError,
    CreatedAt,
    UpdatedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    UserId,
    Kind,
    Title,
    Body,
    Link,
    ObjectId,
    CollapseKey,
    DedupKey,
    ReadAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum NotificationDevices {
    Table,
    Id,
    UserId,
    Token,
    Platform,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum NotificationPreferences {
    Table,
    UserId,
    Kind,
    Push,
    Email,
}

#[derive(DeriveIden)]
enum NotificationSettings {
    Table,
    UserId,
    TimeZone,
    QuietStartMinute,
    QuietEndMinute,
    DigestSentAt,
    UpdatedAt,
}

fn int(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).integer().not_null().to_owned()
}

fn optional_time(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .null()
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_jobs(manager).await?;
        create_notifications(manager).await?;
        create_devices(manager).await?;
        create_preferences(manager).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            NotificationSettings::Table.into_iden(),
            NotificationPreferences::Table.into_iden(),
            NotificationDevices::Table.into_iden(),
            Notifications::Table.into_iden(),
            Jobs::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

async fn create_jobs(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    use Jobs as J;
    manager
        .create_table(
            Table::create()
                .table(J::Table)
                .col(uuid_key(J::Id))
                .col(text(J::Kind))
                .col(ColumnDef::new(J::Payload).text().not_null())
                .col(ColumnDef::new(J::DedupKey).string().null().unique_key())
                .col(text(J::Status))
                .col(int(J::Attempts))
                .col(int(J::MaxAttempts))
                .col(timestamp(J::RunAt))
                .col(optional_time(J::LeaseUntil))
                .col(ColumnDef::new(J::ClaimedBy).uuid().null())
                .col(ColumnDef::new(J::LastError).text().null())
                .col(timestamp(J::CreatedAt))
                .col(timestamp(J::UpdatedAt))
                .col(optional_time(J::FinishedAt))
                .to_owned(),
        )
        .await?;
    // Workers look for queued jobs that are due and running ones whose lease
    // lapsed; staff list the dead ones.
    for (name, second) in [
        ("idx_jobs_status_run_at", J::RunAt),
        ("idx_jobs_status_lease", J::LeaseUntil),
    ] {
        manager
            .create_index(
                Index::create()
                    .name(name)
                    .table(J::Table)
                    .col(J::Status)
                    .col(second)
                    .to_owned(),
            )
            .await?;
    }
    Ok(())
}

async fn create_notifications(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    use Notifications as N;
    manager
        .create_table(
            Table::create()
                .table(N::Table)
                .col(uuid_key(N::Id))
                .col(ColumnDef::new(N::UserId).uuid().not_null())
                .col(text(N::Kind))
                .col(text(N::Title))
                .col(ColumnDef::new(N::Body).text().not_null())
                .col(text(N::Link))
                .col(ColumnDef::new(N::ObjectId).string().null())
                .col(ColumnDef::new(N::CollapseKey).string().null())
                .col(ColumnDef::new(N::DedupKey).string().null().unique_key())
                .col(optional_time(N::ReadAt))
                .col(timestamp(N::CreatedAt))
                .foreign_key(&mut cascade(
                    (N::Table, N::UserId),
                    (Users::Table, Users::Id),
                ))
                .to_owned(),
        )
        .await?;
    // The feed (newest first by id) and the unread count, each one range.
    for (name, second) in [
        ("idx_notifications_user_id", N::Id),
        ("idx_notifications_user_read", N::ReadAt),
    ] {
        manager
            .create_index(
                Index::create()
                    .name(name)
                    .table(N::Table)
                    .col(N::UserId)
                    .col(second)
                    .to_owned(),
            )
            .await?;
    }
    Ok(())
}

async fn create_devices(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    use NotificationDevices as D;
    manager
        .create_table(
            Table::create()
                .table(D::Table)
                .col(uuid_key(D::Id))
                .col(ColumnDef::new(D::UserId).uuid().not_null())
                // A registration token names one app install: if another
                // account signs in on that phone, the token moves to it.
                .col(text(D::Token).unique_key())
                .col(text(D::Platform))
                .col(timestamp(D::CreatedAt))
                .col(timestamp(D::UpdatedAt))
                .foreign_key(&mut cascade(
                    (D::Table, D::UserId),
                    (Users::Table, Users::Id),
                ))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("idx_notification_devices_user")
                .table(D::Table)
                .col(D::UserId)
                .to_owned(),
        )
        .await
}

async fn create_preferences(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    use NotificationPreferences as P;
    use NotificationSettings as S;
    manager
        .create_table(
            Table::create()
                .table(P::Table)
                .col(ColumnDef::new(P::UserId).uuid().not_null())
                .col(text(P::Kind))
                .col(flag(P::Push, true))
                .col(flag(P::Email, true))
                .primary_key(Index::create().col(P::UserId).col(P::Kind))
                .foreign_key(&mut cascade(
                    (P::Table, P::UserId),
                    (Users::Table, Users::Id),
                ))
                .to_owned(),
        )
        .await?;
    manager
        .create_table(
            Table::create()
                .table(S::Table)
                .col(uuid_key(S::UserId))
                .col(text(S::TimeZone))
                .col(ColumnDef::new(S::QuietStartMinute).integer().null())
                .col(ColumnDef::new(S::QuietEndMinute).integer().null())
                .col(optional_time(S::DigestSentAt))
                .col(timestamp(S::UpdatedAt))
                .foreign_key(&mut cascade(
                    (S::Table, S::UserId),
                    (Users::Table, Users::Id),
                ))
                .to_owned(),
        )
        .await
}

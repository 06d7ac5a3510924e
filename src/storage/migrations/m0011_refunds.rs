use sea_orm_migration::prelude::*;

use super::columns::{counter, restrict, text, timestamp, uuid_key};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Payments {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Refunds {
    Table,
    Id,
    OrderId,
    PaymentId,
    Reference,
    AmountKobo,
    Currency,
    Status,
    Attempts,
    NextAttemptAt,
    ProviderId,
    LastError,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Refunds::Table)
                    .col(uuid_key(Refunds::Id))
                    // One refund per order: recording it twice is impossible.
                    .col(
                        ColumnDef::new(Refunds::OrderId)
                            .uuid()
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Refunds::PaymentId).uuid().not_null())
                    .col(text(Refunds::Reference))
                    .col(counter(Refunds::AmountKobo))
                    .col(text(Refunds::Currency))
                    .col(text(Refunds::Status))
                    .col(counter(Refunds::Attempts))
                    .col(timestamp(Refunds::NextAttemptAt))
                    .col(ColumnDef::new(Refunds::ProviderId).string().null())
                    .col(ColumnDef::new(Refunds::LastError).string().null())
                    .col(timestamp(Refunds::CreatedAt))
                    .col(timestamp(Refunds::UpdatedAt))
                    // Money still owed must not vanish with a deleted order or payment.
                    .foreign_key(&mut restrict(
                        (Refunds::Table, Refunds::OrderId),
                        (Orders::Table, Orders::Id),
                    ))
                    .foreign_key(&mut restrict(
                        (Refunds::Table, Refunds::PaymentId),
                        (Payments::Table, Payments::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_refunds_due")
                    .table(Refunds::Table)
                    .col(Refunds::Status)
                    .col(Refunds::NextAttemptAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Refunds::Table).to_owned())
            .await
    }
}

use sea_orm_migration::prelude::*;

use super::columns::{cascade, counter, text, timestamp, uuid_key};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    PaymentId,
}

#[derive(DeriveIden)]
enum Payments {
    Table,
    Id,
    Reference,
    CustomerId,
    Provider,
    AmountKobo,
    Currency,
    Status,
    AuthorizationUrl,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Payments::Table)
                    .col(uuid_key(Payments::Id))
                    .col(text(Payments::Reference).unique_key().to_owned())
                    .col(ColumnDef::new(Payments::CustomerId).uuid().not_null())
                    .col(text(Payments::Provider))
                    .col(counter(Payments::AmountKobo))
                    .col(text(Payments::Currency))
                    .col(text(Payments::Status))
                    .col(text(Payments::AuthorizationUrl))
                    .col(timestamp(Payments::CreatedAt))
                    .col(timestamp(Payments::UpdatedAt))
                    .foreign_key(&mut cascade(
                        (Payments::Table, Payments::CustomerId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Orders::Table)
                    .add_column(ColumnDef::new(Orders::PaymentId).uuid().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_orders_payment")
                    .table(Orders::Table)
                    .col(Orders::PaymentId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_orders_payment")
                    .table(Orders::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Orders::Table)
                    .drop_column(Orders::PaymentId)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(Payments::Table).to_owned())
            .await
    }
}

use sea_orm_migration::prelude::*;

use super::columns::{cascade, timestamp};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum CheckoutClaims {
    Table,
    UserId,
    Token,
    ExpiresAt,
}

/// One row per customer whose checkout is running: a second checkout of the
/// same cart (another key, another device) sees it and stops before it asks
/// the payment provider for anything.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CheckoutClaims::Table)
                    .col(
                        ColumnDef::new(CheckoutClaims::UserId)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(CheckoutClaims::Token).uuid().not_null())
                    .col(timestamp(CheckoutClaims::ExpiresAt))
                    .foreign_key(&mut cascade(
                        (CheckoutClaims::Table, CheckoutClaims::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CheckoutClaims::Table).to_owned())
            .await
    }
}

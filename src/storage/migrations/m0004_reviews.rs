use sea_orm_migration::prelude::*;

use super::columns::{cascade, text, timestamp, uuid_key};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Products {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Reviews {
    Table,
    Id,
    ProductId,
    CustomerId,
    Rating,
    Text,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Reviews::Table)
                    .col(uuid_key(Reviews::Id))
                    .col(ColumnDef::new(Reviews::ProductId).uuid().not_null())
                    .col(ColumnDef::new(Reviews::CustomerId).uuid().not_null())
                    .col(ColumnDef::new(Reviews::Rating).integer().not_null())
                    .col(text(Reviews::Text))
                    .col(timestamp(Reviews::CreatedAt))
                    .col(timestamp(Reviews::UpdatedAt))
                    .foreign_key(&mut cascade(
                        (Reviews::Table, Reviews::ProductId),
                        (Products::Table, Products::Id),
                    ))
                    .foreign_key(&mut cascade(
                        (Reviews::Table, Reviews::CustomerId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_reviews_product_customer")
                    .table(Reviews::Table)
                    .col(Reviews::ProductId)
                    .col(Reviews::CustomerId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Reviews::Table).to_owned())
            .await
    }
}

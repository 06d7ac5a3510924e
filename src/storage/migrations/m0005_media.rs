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
enum Products {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Media {
    Table,
    Id,
    OwnerId,
    Name,
    ContentType,
    SizeBytes,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ProductImages {
    Table,
    ProductId,
    MediaId,
    Position,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Media::Table)
                    .col(uuid_key(Media::Id))
                    .col(ColumnDef::new(Media::OwnerId).uuid().not_null())
                    .col(text(Media::Name).unique_key().to_owned())
                    .col(text(Media::ContentType))
                    .col(counter(Media::SizeBytes))
                    .col(timestamp(Media::CreatedAt))
                    .foreign_key(&mut cascade(
                        (Media::Table, Media::OwnerId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ProductImages::Table)
                    .col(ColumnDef::new(ProductImages::ProductId).uuid().not_null())
                    .col(ColumnDef::new(ProductImages::MediaId).uuid().not_null())
                    .col(ColumnDef::new(ProductImages::Position).integer().not_null())
                    .primary_key(
                        Index::create()
                            .col(ProductImages::ProductId)
                            .col(ProductImages::Position),
                    )
                    .foreign_key(&mut cascade(
                        (ProductImages::Table, ProductImages::ProductId),
                        (Products::Table, Products::Id),
                    ))
                    .foreign_key(&mut cascade(
                        (ProductImages::Table, ProductImages::MediaId),
                        (Media::Table, Media::Id),
                    ))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [ProductImages::Table.into_iden(), Media::Table.into_iden()] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

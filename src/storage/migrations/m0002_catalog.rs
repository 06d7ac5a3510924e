use sea_orm_migration::prelude::*;

use super::columns::{cascade, counter, text, timestamp};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Categories {
    Table,
    Id,
    Name,
    Slug,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Products {
    Table,
    Id,
    TailorId,
    CategoryId,
    Name,
    Description,
    Kind,
    Material,
    Colors,
    PriceKobo,
    Currency,
    DiscountPercent,
    EffectivePriceKobo,
    IsActive,
    RatingAvgCenti,
    RatingCount,
    FavoritesCount,
    DeletedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ProductVariants {
    Table,
    Id,
    ProductId,
    Size,
    Color,
    Stock,
    PriceDeltaKobo,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Favorites {
    Table,
    UserId,
    ProductId,
    CreatedAt,
}

fn index(
    name: &str,
    table: impl IntoIden + 'static,
    cols: &[&'static str],
) -> IndexCreateStatement {
    let mut index = Index::create().name(name).table(table).to_owned();
    for col in cols {
        index.col(Alias::new(*col));
    }
    index
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Categories::Table)
                    .col(
                        ColumnDef::new(Categories::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(text(Categories::Name))
                    .col(text(Categories::Slug).unique_key().to_owned())
                    .col(timestamp(Categories::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Products::Table)
                    .col(ColumnDef::new(Products::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Products::TailorId).uuid().not_null())
                    .col(ColumnDef::new(Products::CategoryId).uuid().null())
                    .col(text(Products::Name))
                    .col(text(Products::Description))
                    .col(text(Products::Kind))
                    .col(text(Products::Material))
                    .col(text(Products::Colors))
                    .col(ColumnDef::new(Products::PriceKobo).big_integer().not_null())
                    .col(text(Products::Currency))
                    .col(
                        ColumnDef::new(Products::DiscountPercent)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(Products::EffectivePriceKobo)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Products::IsActive)
                            .boolean()
                            .not_null()
                            .default(true),
                    )
                    .col(counter(Products::RatingAvgCenti))
                    .col(counter(Products::RatingCount))
                    .col(counter(Products::FavoritesCount))
                    .col(
                        ColumnDef::new(Products::DeletedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(timestamp(Products::CreatedAt))
                    .col(timestamp(Products::UpdatedAt))
                    .foreign_key(&mut cascade(
                        (Products::Table, Products::TailorId),
                        (Users::Table, Users::Id),
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Products::Table, Products::CategoryId)
                            .to(Categories::Table, Categories::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ProductVariants::Table)
                    .col(
                        ColumnDef::new(ProductVariants::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(ProductVariants::ProductId).uuid().not_null())
                    .col(text(ProductVariants::Size))
                    .col(text(ProductVariants::Color))
                    .col(
                        ColumnDef::new(ProductVariants::Stock)
                            .big_integer()
                            .not_null(),
                    )
                    .col(counter(ProductVariants::PriceDeltaKobo))
                    .col(timestamp(ProductVariants::CreatedAt))
                    .foreign_key(&mut cascade(
                        (ProductVariants::Table, ProductVariants::ProductId),
                        (Products::Table, Products::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Favorites::Table)
                    .col(ColumnDef::new(Favorites::UserId).uuid().not_null())
                    .col(ColumnDef::new(Favorites::ProductId).uuid().not_null())
                    .col(timestamp(Favorites::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(Favorites::UserId)
                            .col(Favorites::ProductId),
                    )
                    .foreign_key(&mut cascade(
                        (Favorites::Table, Favorites::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .foreign_key(&mut cascade(
                        (Favorites::Table, Favorites::ProductId),
                        (Products::Table, Products::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        for statement in [
            index("idx_products_tailor", Products::Table, &["tailor_id"]),
            index("idx_products_category", Products::Table, &["category_id"]),
            index(
                "idx_products_effective_price",
                Products::Table,
                &["effective_price_kobo"],
            ),
            index(
                "idx_variants_product",
                ProductVariants::Table,
                &["product_id"],
            ),
        ] {
            manager.create_index(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Favorites::Table.into_iden(),
            ProductVariants::Table.into_iden(),
            Products::Table.into_iden(),
            Categories::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

//! Indexes that serve each catalog ordering without a sort: the ordering key
//! then the id, scanned in one direction (see `store::browse::ordered`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: &[(&str, &[&str])] = &[
    (
        "idx_products_visible_price_id",
        &["is_active", "deleted_at", "effective_price_kobo", "id"],
    ),
    (
        "idx_products_visible_rating_id",
        &[
            "is_active",
            "deleted_at",
            "rating_avg_centi",
            "rating_count",
            "id",
        ],
    ),
    (
        "idx_products_visible_popularity_id",
        &["is_active", "deleted_at", "favorites_count", "id"],
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_products_visible_price")
                    .table(Alias::new("products"))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in INDEXES {
            let mut index = Index::create()
                .name(*name)
                .table(Alias::new("products"))
                .to_owned();
            for col in *cols {
                index.col(Alias::new(*col));
            }
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, _) in INDEXES {
            manager
                .drop_index(
                    Index::drop()
                        .name(*name)
                        .table(Alias::new("products"))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_products_visible_price")
                    .table(Alias::new("products"))
                    .col(Alias::new("is_active"))
                    .col(Alias::new("deleted_at"))
                    .col(Alias::new("effective_price_kobo"))
                    .to_owned(),
            )
            .await
    }
}

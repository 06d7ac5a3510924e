//! Indexes for the catalog's filters, found with the shop benchmark: the
//! listing scans visible products in id or price order, and variant filters
//! probe a product's variants by colour, size or stock.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: &[(&str, &str, &[&str])] = &[
    (
        "idx_products_visible_id",
        "products",
        &["is_active", "deleted_at", "id"],
    ),
    (
        "idx_products_visible_price",
        "products",
        &["is_active", "deleted_at", "effective_price_kobo"],
    ),
    (
        "idx_variants_product_color",
        "product_variants",
        &["product_id", "color"],
    ),
    (
        "idx_variants_product_size",
        "product_variants",
        &["product_id", "size"],
    ),
    (
        "idx_variants_product_stock",
        "product_variants",
        &["product_id", "stock"],
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, cols) in INDEXES {
            let mut index = Index::create()
                .name(*name)
                .table(Alias::new(*table))
                .to_owned();
            for col in *cols {
                index.col(Alias::new(*col));
            }
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, _) in INDEXES {
            manager
                .drop_index(
                    Index::drop()
                        .name(*name)
                        .table(Alias::new(*table))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PortfolioItems {
    Table,
    TailorId,
    Position,
}

const PLAIN: &str = "idx_portfolio_items_tailor_position";
const UNIQUE: &str = "uq_portfolio_items_tailor_position";

/// A tailor's portfolio positions are unique: the database itself refuses two
/// items in one place, whatever a writer does (writers also queue on the
/// tailor's profile row, so that a new item's `max + 1` never collides). The
/// unique index serves the same reads as the plain one it replaces.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(PLAIN)
                    .table(PortfolioItems::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(UNIQUE)
                    .table(PortfolioItems::Table)
                    .col(PortfolioItems::TailorId)
                    .col(PortfolioItems::Position)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(UNIQUE)
                    .table(PortfolioItems::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(PLAIN)
                    .table(PortfolioItems::Table)
                    .col(PortfolioItems::TailorId)
                    .col(PortfolioItems::Position)
                    .to_owned(),
            )
            .await
    }
}

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum TokenFamilies {
    Table,
    RevokedAt,
}

const INDEX: &str = "idx_token_families_revoked_at";

/// Every instance reads the logins ended since its last look, several times
/// a second: by this index, not by a scan of every login.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(TokenFamilies::Table)
                    .col(TokenFamilies::RevokedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(INDEX)
                    .table(TokenFamilies::Table)
                    .to_owned(),
            )
            .await
    }
}

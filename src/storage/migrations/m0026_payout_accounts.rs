//! Tailors' payout bank accounts: where withdrawals are sent. A change adds
//! a row and marks the previous one replaced, so that the account each past
//! payout went to stays on record; a tailor has at most one current account.

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
enum PayoutAccounts {
    Table,
    Id,
    TailorId,
    BankCode,
    BankName,
    AccountName,
    AccountLast4,
    RecipientCode,
    UsableFrom,
    ReplacedAt,
    CreatedAt,
}

/// The current account.
const CURRENT_CONDITION: &str = "replaced_at IS NULL";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use PayoutAccounts as P;
        manager
            .create_table(
                Table::create()
                    .table(P::Table)
                    .col(uuid_key(P::Id))
                    .col(ColumnDef::new(P::TailorId).uuid().not_null())
                    .col(text(P::BankCode))
                    .col(text(P::BankName))
                    .col(text(P::AccountName))
                    .col(text(P::AccountLast4))
                    .col(text(P::RecipientCode))
                    .col(timestamp(P::UsableFrom))
                    .col(
                        ColumnDef::new(P::ReplacedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(timestamp(P::CreatedAt))
                    .foreign_key(&mut cascade(
                        (P::Table, P::TailorId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        // Partial indexes read the same in SQLite and PostgreSQL. This one
        // is what makes "first account only" hold under concurrent adds.
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "CREATE UNIQUE INDEX idx_payout_accounts_current ON payout_accounts (tailor_id) WHERE {CURRENT_CONDITION}"
            ))
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_payout_accounts_tailor_created")
                    .table(P::Table)
                    .col(P::TailorId)
                    .col(P::CreatedAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PayoutAccounts::Table).to_owned())
            .await
    }
}

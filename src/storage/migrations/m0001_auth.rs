use sea_orm_migration::prelude::*;

use super::columns::{cascade, flag, text, timestamp, uuid_key};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    EmailLower,
    Username,
    UsernameLower,
    PasswordHash,
    FirstName,
    LastName,
    PhoneNumber,
    Role,
    Avatar,
    IsVerified,
    IsActive,
    IsStaff,
    IsSuperuser,
    TokenVersion,
    DateJoined,
}

#[derive(DeriveIden)]
enum TokenFamilies {
    Table,
    Id,
    UserId,
    CreatedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    Jti,
    FamilyId,
    UserId,
    ExpiresAt,
    UsedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OneTimeCodes {
    Table,
    Id,
    Purpose,
    Identifier,
    CodeHash,
    Attempts,
    ExpiresAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Throttles {
    Table,
    Key,
    Hits,
    WindowStartedAt,
}

fn user_ref(
    col: impl IntoIden,
    table: impl IntoIden + 'static,
) -> (ColumnDef, ForeignKeyCreateStatement) {
    let col = col.into_iden();
    let fk = ForeignKey::create()
        .from(table, col.clone())
        .to(Users::Table, Users::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned();
    (ColumnDef::new(col).uuid().not_null().to_owned(), fk)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(uuid_key(Users::Id))
                    .col(text(Users::Email))
                    .col(text(Users::EmailLower).unique_key().to_owned())
                    .col(text(Users::Username))
                    .col(text(Users::UsernameLower).unique_key().to_owned())
                    .col(text(Users::PasswordHash))
                    .col(text(Users::FirstName))
                    .col(text(Users::LastName))
                    .col(text(Users::PhoneNumber))
                    .col(text(Users::Role))
                    .col(ColumnDef::new(Users::Avatar).string().null())
                    .col(flag(Users::IsVerified, false))
                    .col(flag(Users::IsActive, true))
                    .col(flag(Users::IsStaff, false))
                    .col(flag(Users::IsSuperuser, false))
                    .col(
                        ColumnDef::new(Users::TokenVersion)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(timestamp(Users::DateJoined))
                    .to_owned(),
            )
            .await?;

        let (family_user, family_fk) = user_ref(TokenFamilies::UserId, TokenFamilies::Table);
        manager
            .create_table(
                Table::create()
                    .table(TokenFamilies::Table)
                    .col(uuid_key(TokenFamilies::Id))
                    .col(family_user)
                    .col(timestamp(TokenFamilies::CreatedAt))
                    .col(
                        ColumnDef::new(TokenFamilies::RevokedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(&mut family_fk.to_owned())
                    .to_owned(),
            )
            .await?;

        let (token_user, token_fk) = user_ref(RefreshTokens::UserId, RefreshTokens::Table);
        manager
            .create_table(
                Table::create()
                    .table(RefreshTokens::Table)
                    .col(uuid_key(RefreshTokens::Jti))
                    .col(ColumnDef::new(RefreshTokens::FamilyId).uuid().not_null())
                    .col(token_user)
                    .col(timestamp(RefreshTokens::ExpiresAt))
                    .col(
                        ColumnDef::new(RefreshTokens::UsedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(timestamp(RefreshTokens::CreatedAt))
                    .foreign_key(&mut token_fk.to_owned())
                    .foreign_key(&mut cascade(
                        (RefreshTokens::Table, RefreshTokens::FamilyId),
                        (TokenFamilies::Table, TokenFamilies::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_refresh_tokens_family")
                    .table(RefreshTokens::Table)
                    .col(RefreshTokens::FamilyId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_token_families_user")
                    .table(TokenFamilies::Table)
                    .col(TokenFamilies::UserId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(OneTimeCodes::Table)
                    .col(uuid_key(OneTimeCodes::Id))
                    .col(text(OneTimeCodes::Purpose))
                    .col(text(OneTimeCodes::Identifier))
                    .col(text(OneTimeCodes::CodeHash))
                    .col(
                        ColumnDef::new(OneTimeCodes::Attempts)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(timestamp(OneTimeCodes::ExpiresAt))
                    .col(timestamp(OneTimeCodes::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_one_time_codes_purpose_identifier")
                    .table(OneTimeCodes::Table)
                    .col(OneTimeCodes::Purpose)
                    .col(OneTimeCodes::Identifier)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Throttles::Table)
                    .col(text(Throttles::Key).primary_key().to_owned())
                    .col(ColumnDef::new(Throttles::Hits).integer().not_null())
                    .col(timestamp(Throttles::WindowStartedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Throttles::Table.into_iden(),
            OneTimeCodes::Table.into_iden(),
            RefreshTokens::Table.into_iden(),
            TokenFamilies::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

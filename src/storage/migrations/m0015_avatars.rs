//! A user's avatar becomes a reference to an uploaded image (`avatar_id` →
//! media) instead of a free string nothing could set.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Avatar,
    AvatarId,
}

/// The foreign key is written inline with the column: SQLite cannot add a
/// constraint to an existing table, but accepts a `REFERENCES` clause on an
/// added column (its default being NULL), and PostgreSQL reads the same SQL.
/// Deleting the image clears the avatar rather than the user.
const REFERENCES_MEDIA: &str = "REFERENCES \"media\" (\"id\") ON DELETE SET NULL";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(
                        ColumnDef::new(Users::AvatarId)
                            .uuid()
                            .null()
                            .extra(REFERENCES_MEDIA),
                    )
                    .to_owned(),
            )
            .await?;
        // The old column was never settable through the API, so it holds
        // nothing worth carrying over.
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(Users::Avatar)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(ColumnDef::new(Users::Avatar).string().null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(Users::AvatarId)
                    .to_owned(),
            )
            .await
    }
}

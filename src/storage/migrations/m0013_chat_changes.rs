//! Chat change sequence: every send, edit, deletion and read-position move in
//! a conversation takes the next `change_seq` of that conversation, so a
//! device coming back can ask for "every change after N", not only new
//! messages. Messages and members remember the change_seq of their last change.

use sea_orm_migration::prelude::*;

use super::columns::counter;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Conversations {
    Table,
    ChangeSeq,
}

#[derive(DeriveIden)]
enum ConversationMembers {
    Table,
    ReadChangeSeq,
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    ConversationId,
    ChangeSeq,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per ALTER: SQLite adds a single column per statement.
        manager
            .alter_table(
                Table::alter()
                    .table(Conversations::Table)
                    .add_column(counter(Conversations::ChangeSeq))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ConversationMembers::Table)
                    .add_column(counter(ConversationMembers::ReadChangeSeq))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Messages::Table)
                    .add_column(counter(Messages::ChangeSeq))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_messages_conversation_change")
                    .table(Messages::Table)
                    .col(Messages::ConversationId)
                    .col(Messages::ChangeSeq)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_messages_conversation_change")
                    .table(Messages::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Messages::Table)
                    .drop_column(Messages::ChangeSeq)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ConversationMembers::Table)
                    .drop_column(ConversationMembers::ReadChangeSeq)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Conversations::Table)
                    .drop_column(Conversations::ChangeSeq)
                    .to_owned(),
            )
            .await
    }
}

//! Chat: conversations and their members (with each member's read position),
//! messages numbered per conversation, blocks, reports and last-seen times.

use sea_orm_migration::prelude::*;

use super::columns::{cascade, counter, flag, text, timestamp, uuid_key};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Conversations {
    Table,
    Id,
    PairKey,
    OrderId,
    LastSeq,
    ActivityAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ConversationMembers {
    Table,
    ConversationId,
    UserId,
    LastReadSeq,
    JoinedAt,
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    Id,
    ConversationId,
    SenderId,
    Seq,
    ClientId,
    Kind,
    Text,
    Attachments,
    CreatedAt,
    EditedAt,
    Deleted,
}

#[derive(DeriveIden)]
enum UserBlocks {
    Table,
    BlockerId,
    BlockedId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum MessageReports {
    Table,
    Id,
    MessageId,
    ReporterId,
    Reason,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ChatPresence {
    Table,
    UserId,
    LastSeenAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Conversations::Table)
                    .col(uuid_key(Conversations::Id))
                    // "<smaller user id>:<larger user id>" for a two-person
                    // conversation, so each pair has at most one; null for groups.
                    .col(ColumnDef::new(Conversations::PairKey).string().unique_key())
                    .col(ColumnDef::new(Conversations::OrderId).uuid())
                    .col(counter(Conversations::LastSeq))
                    .col(timestamp(Conversations::ActivityAt))
                    .col(timestamp(Conversations::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ConversationMembers::Table)
                    .col(
                        ColumnDef::new(ConversationMembers::ConversationId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ConversationMembers::UserId)
                            .uuid()
                            .not_null(),
                    )
                    .col(counter(ConversationMembers::LastReadSeq))
                    .col(timestamp(ConversationMembers::JoinedAt))
                    .primary_key(
                        Index::create()
                            .col(ConversationMembers::ConversationId)
                            .col(ConversationMembers::UserId),
                    )
                    .foreign_key(&mut cascade(
                        (
                            ConversationMembers::Table,
                            ConversationMembers::ConversationId,
                        ),
                        (Conversations::Table, Conversations::Id),
                    ))
                    .foreign_key(&mut cascade(
                        (ConversationMembers::Table, ConversationMembers::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_conversation_members_user")
                    .table(ConversationMembers::Table)
                    .col(ConversationMembers::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_conversations_activity")
                    .table(Conversations::Table)
                    .col(Conversations::ActivityAt)
                    .col(Conversations::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Messages::Table)
                    .col(uuid_key(Messages::Id))
                    .col(ColumnDef::new(Messages::ConversationId).uuid().not_null())
                    .col(ColumnDef::new(Messages::SenderId).uuid().not_null())
                    .col(ColumnDef::new(Messages::Seq).big_integer().not_null())
                    .col(text(Messages::ClientId))
                    .col(text(Messages::Kind))
                    .col(ColumnDef::new(Messages::Text).text().not_null())
                    .col(ColumnDef::new(Messages::Attachments).text().not_null())
                    .col(timestamp(Messages::CreatedAt))
                    .col(ColumnDef::new(Messages::EditedAt).timestamp_with_time_zone())
                    .col(flag(Messages::Deleted, false))
                    .foreign_key(&mut cascade(
                        (Messages::Table, Messages::ConversationId),
                        (Conversations::Table, Conversations::Id),
                    ))
                    .foreign_key(&mut cascade(
                        (Messages::Table, Messages::SenderId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            (
                "uq_messages_conversation_seq",
                [Messages::ConversationId, Messages::Seq],
            ),
            (
                "uq_messages_sender_client_id",
                [Messages::SenderId, Messages::ClientId],
            ),
        ] {
            let mut index = Index::create()
                .name(name)
                .table(Messages::Table)
                .unique()
                .to_owned();
            for col in cols {
                index.col(col);
            }
            manager.create_index(index).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(UserBlocks::Table)
                    .col(ColumnDef::new(UserBlocks::BlockerId).uuid().not_null())
                    .col(ColumnDef::new(UserBlocks::BlockedId).uuid().not_null())
                    .col(timestamp(UserBlocks::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(UserBlocks::BlockerId)
                            .col(UserBlocks::BlockedId),
                    )
                    .foreign_key(&mut cascade(
                        (UserBlocks::Table, UserBlocks::BlockerId),
                        (Users::Table, Users::Id),
                    ))
                    .foreign_key(&mut cascade(
                        (UserBlocks::Table, UserBlocks::BlockedId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MessageReports::Table)
                    .col(uuid_key(MessageReports::Id))
                    .col(ColumnDef::new(MessageReports::MessageId).uuid().not_null())
                    .col(ColumnDef::new(MessageReports::ReporterId).uuid().not_null())
                    .col(ColumnDef::new(MessageReports::Reason).text().not_null())
                    .col(timestamp(MessageReports::CreatedAt))
                    .index(
                        Index::create()
                            .name("uq_message_reports_reporter")
                            .unique()
                            .col(MessageReports::MessageId)
                            .col(MessageReports::ReporterId),
                    )
                    .foreign_key(&mut cascade(
                        (MessageReports::Table, MessageReports::MessageId),
                        (Messages::Table, Messages::Id),
                    ))
                    .foreign_key(&mut cascade(
                        (MessageReports::Table, MessageReports::ReporterId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ChatPresence::Table)
                    .col(uuid_key(ChatPresence::UserId))
                    .col(timestamp(ChatPresence::LastSeenAt))
                    .foreign_key(&mut cascade(
                        (ChatPresence::Table, ChatPresence::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ChatPresence::Table.into_iden(),
            MessageReports::Table.into_iden(),
            UserBlocks::Table.into_iden(),
            Messages::Table.into_iden(),
            ConversationMembers::Table.into_iden(),
            Conversations::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

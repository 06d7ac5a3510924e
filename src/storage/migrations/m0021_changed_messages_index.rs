//! The index a resume reads changed messages by now covers only the messages
//! that were edited or deleted, instead of every message: each send had paid
//! for one more index entry (about a tenth of a send's transaction) that no
//! query read, since a sent, untouched message is never a "change".

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const OLD_INDEX: &str = "idx_messages_conversation_change";
const INDEX: &str = "idx_messages_changed";

/// The rows in the index, written the same way in the query that reads it
/// (`ChatService::changed_after`): SQLite uses a partial index only for a
/// query whose WHERE contains the index's condition term for term.
pub const CONDITION: &str = "(edited_at IS NOT NULL OR deleted)";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(&format!("DROP INDEX IF EXISTS {OLD_INDEX}"))
            .await?;
        // Partial indexes read the same in SQLite and PostgreSQL; the schema
        // builder cannot express the condition.
        db.execute_unprepared(&format!(
            "CREATE INDEX {INDEX} ON messages (conversation_id, change_seq) WHERE {CONDITION}"
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(&format!("DROP INDEX IF EXISTS {INDEX}"))
            .await?;
        db.execute_unprepared(&format!(
            "CREATE INDEX {OLD_INDEX} ON messages (conversation_id, change_seq)"
        ))
        .await?;
        Ok(())
    }
}

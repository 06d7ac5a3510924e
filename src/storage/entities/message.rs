use sea_orm::entity::prelude::*;

/// A chat message. `attachments` holds the attached images as a JSON array
/// (the same text on both backends); a deleted message keeps its row and seq
/// with text and attachments emptied.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "messages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub sender_id: Uuid,
    pub seq: i64,
    pub client_id: String,
    pub kind: String,
    #[sea_orm(column_type = "Text")]
    pub text: String,
    #[sea_orm(column_type = "Text")]
    pub attachments: String,
    pub created_at: DateTimeUtc,
    pub edited_at: Option<DateTimeUtc>,
    pub deleted: bool,
    /// The conversation's change_seq of this message's last change (its send, edit or deletion).
    pub change_seq: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

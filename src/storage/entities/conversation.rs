use sea_orm::entity::prelude::*;

/// A conversation. `last_seq` is the seq of its newest message (0 when it has
/// none); it is bumped in the transaction that inserts the message.
/// `change_seq` counts every change (it moves with each send too).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "conversations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub pair_key: Option<String>,
    pub order_id: Option<Uuid>,
    /// The commission the pair last talked about (the newest request).
    pub commission_id: Option<Uuid>,
    pub last_seq: i64,
    /// The last change (send, edit, deletion, read move) in this conversation.
    pub change_seq: i64,
    pub activity_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

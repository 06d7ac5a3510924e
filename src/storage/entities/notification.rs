use sea_orm::entity::prelude::*;

/// One line of a user's in-app feed.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    /// e.g. `chat_message`, `order_status`, `commission_ready`.
    pub kind: String,
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub body: String,
    /// Where the app goes when it is tapped, e.g. `atelier://orders/<id>`.
    pub link: String,
    /// The order, commission, conversation ... it is about.
    pub object_id: Option<String>,
    /// Pushes with the same key replace each other on the phone.
    pub collapse_key: Option<String>,
    /// One event makes one notification however often it is reported.
    #[sea_orm(unique)]
    pub dedup_key: Option<String>,
    pub read_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

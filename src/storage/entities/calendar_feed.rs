use sea_orm::entity::prelude::*;

/// A user's private calendar feed. The secret in the feed's URL is derived
/// from `nonce` with the server's key and only its hash is stored, so the
/// table alone does not open anyone's feed.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "calendar_feeds")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    /// Random; replaced when the user rotates the feed's URL.
    pub nonce: String,
    /// Hex SHA-256 of the URL's secret.
    #[sea_orm(unique)]
    pub secret_hash: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

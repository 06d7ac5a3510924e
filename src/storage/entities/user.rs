use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub email: String,
    /// Lower-cased email: the unique, case-insensitive key.
    #[sea_orm(unique)]
    pub email_lower: String,
    pub username: String,
    #[sea_orm(unique)]
    pub username_lower: String,
    pub password_hash: String,
    pub first_name: String,
    pub last_name: String,
    pub phone_number: String,
    pub role: String,
    /// The uploaded image (a `media` row of this user) shown as the avatar.
    pub avatar_id: Option<Uuid>,
    pub is_verified: bool,
    pub is_active: bool,
    pub is_staff: bool,
    pub is_superuser: bool,
    /// Bumped by a password change or reset: every token carrying an older
    /// version is dead.
    pub token_version: i32,
    pub date_joined: DateTimeUtc,
    /// Set when the account was deleted: the row stays as an anonymous
    /// tombstone ("Deleted user") for the orders, reviews and messages that
    /// point at it.
    pub deleted_at: Option<DateTimeUtc>,
}

// Written by hand so that the password hash can never reach a log line.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

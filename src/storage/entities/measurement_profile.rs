use sea_orm::entity::prelude::*;

/// A named set of body measurements a user keeps ("Me", "My son Tobi").
/// Its current values are also its latest `measurement_version`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "measurement_profiles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub owner_id: Uuid,
    pub name: String,
    pub note: String,
    /// Display unit: `cm` or `in`.
    pub unit: String,
    /// JSON object: measurement name → integer millimetres.
    pub values_mm: String,
    /// The number of the version these values are.
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

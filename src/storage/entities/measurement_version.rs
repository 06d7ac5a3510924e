use sea_orm::entity::prelude::*;

/// One version of a measurement profile, never changed once written. It
/// outlives its profile (`profile_id` becomes null) for whatever points at it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "measurement_versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub profile_id: Option<Uuid>,
    pub owner_id: Uuid,
    pub version: i32,
    pub name: String,
    pub note: String,
    pub unit: String,
    pub values_mm: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

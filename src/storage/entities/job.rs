use sea_orm::entity::prelude::*;

/// One piece of background work (see `crate::jobs`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Which handler runs it, e.g. `email.send`.
    pub kind: String,
    /// The handler's input, as JSON text.
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    /// Enqueuing a second job with the same key does nothing.
    #[sea_orm(unique)]
    pub dedup_key: Option<String>,
    /// `queued`, `running`, `done` or `dead`.
    pub status: String,
    /// Runs started so far (a claim counts one).
    pub attempts: i32,
    pub max_attempts: i32,
    /// Not run before this time.
    pub run_at: DateTimeUtc,
    /// A running job whose lease lapsed is taken by another worker.
    pub lease_until: Option<DateTimeUtc>,
    /// The claim that runs it now: only that claim may finish it.
    pub claimed_by: Option<Uuid>,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

//! Indexes for the tailor directory's orderings, so that a page of the
//! directory is read along an index and stops after the page instead of
//! sorting every listed profile (see `atelier-bench tailors`), and for the
//! completed-orders figure on a public profile.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (name, table, columns). The user id closes each key, as the directory's
/// tie-break does.
const INDEXES: [(&str, &str, &[&str]); 6] = [
    (
        "idx_tailor_profiles_rating",
        "tailor_profiles",
        &["rating_avg_centi", "rating_count", "user_id"],
    ),
    (
        "idx_tailor_profiles_reviews",
        "tailor_profiles",
        &["rating_count", "user_id"],
    ),
    (
        "idx_tailor_profiles_followers",
        "tailor_profiles",
        &["followers_count", "user_id"],
    ),
    (
        "idx_tailor_profiles_experience",
        "tailor_profiles",
        &["years_of_experience", "user_id"],
    ),
    (
        "idx_tailor_profiles_created",
        "tailor_profiles",
        &["created_at", "user_id"],
    ),
    (
        "idx_orders_tailor_status",
        "orders",
        &["tailor_id", "status"],
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, cols) in INDEXES {
            let mut index = Index::create()
                .name(name)
                .table(Alias::new(table))
                .to_owned();
            for col in cols {
                index.col(Alias::new(*col));
            }
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, _) in INDEXES {
            manager
                .drop_index(Index::drop().name(name).table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}

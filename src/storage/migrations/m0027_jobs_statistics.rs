//! PostgreSQL re-reads the statistics of `jobs` after every thousand changed
//! rows instead of after a tenth of the table. The queue's table is mostly
//! `done` rows; with the default, a burst of ten thousand queued jobs went
//! unnoticed by the planner, which kept estimating a handful of due rows and
//! sorted the whole backlog on every claim. SQLite has no autovacuum and its
//! planner does not use such statistics unless asked, so this is PostgreSQL's
//! alone.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        manager
            .get_connection()
            .execute_unprepared(
                "ALTER TABLE jobs SET (
                    autovacuum_analyze_scale_factor = 0,
                    autovacuum_analyze_threshold = 1000,
                    autovacuum_vacuum_scale_factor = 0,
                    autovacuum_vacuum_threshold = 2000
                )",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        manager
            .get_connection()
            .execute_unprepared(
                "ALTER TABLE jobs RESET (
                    autovacuum_analyze_scale_factor,
                    autovacuum_analyze_threshold,
                    autovacuum_vacuum_scale_factor,
                    autovacuum_vacuum_threshold
                )",
            )
            .await?;
        Ok(())
    }
}

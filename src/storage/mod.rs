//! Storage: the connection, the entities and the migrations, one set for
//! SQLite and PostgreSQL.

pub mod entities;
pub mod group_commit;
pub mod migrations;
mod queries;

use std::str::FromStr;
use std::time::Duration;

use sea_orm::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sea_orm::sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbErr, RuntimeErr, SqlErr, SqlxPostgresConnector,
    SqlxSqliteConnector,
};
use sea_orm_migration::MigratorTrait;

pub use migrations::Migrator;
pub use queries::{rating_summary, subquery};

/// What the domain layer needs to know about a storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database cannot be reached right now; the request may be retried.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A unique index refused the row.
    #[error("unique constraint violated: {0}")]
    UniqueViolation(String),
    #[error("database error: {0}")]
    Other(String),
}

impl From<DbErr> for StorageError {
    fn from(err: DbErr) -> Self {
        if let Some(SqlErr::UniqueConstraintViolation(msg)) = err.sql_err() {
            return StorageError::UniqueViolation(msg);
        }
        if is_unavailable(&err) {
            return StorageError::Unavailable(err.to_string());
        }
        StorageError::Other(err.to_string())
    }
}

fn is_unavailable(err: &DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    let sqlx_err = match err {
        DbErr::ConnectionAcquire(_) => return true,
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => e,
        DbErr::Conn(_) => return true,
        _ => return false,
    };
    match sqlx_err {
        Sqlx::Io(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed | Sqlx::WorkerCrashed => true,
        Sqlx::Protocol(_) | Sqlx::Tls(_) => true,
        // PostgreSQL: connection trouble (08), too many connections or out of
        // resources (53), shutting down (57P). SQLite: still busy or locked
        // after the busy timeout (5, 6 and their extended codes).
        Sqlx::Database(db) => db.code().is_some_and(|c| {
            c.starts_with("08")
                || c.starts_with("53")
                || c.starts_with("57P")
                || matches!(c.as_ref(), "5" | "6" | "261" | "262" | "517")
        }),
        _ => false,
    }
}

pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            anyhow::bail!("DATABASE_URL must start with sqlite:// or postgres://")
        }
    }
}

/// Opens the pool. This is the one place where the backends differ: SQLite
/// needs WAL, a busy timeout and foreign keys switched on per connection.
pub async fn connect(
    url: &str,
    max_connections: u32,
    acquire_timeout: Duration,
) -> anyhow::Result<DatabaseConnection> {
    match Backend::of_url(url)? {
        Backend::Sqlite => {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|e| anyhow::anyhow!("bad DATABASE_URL: {e}"))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true);
            if let Some(parent) = options.get_filename().parent()
                && !parent.as_os_str().is_empty()
            {
                std::fs::create_dir_all(parent)?;
            }
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            let pool = SqlitePoolOptions::new()
                .max_connections(if in_memory { 1 } else { max_connections })
                .acquire_timeout(acquire_timeout)
                .connect_with(options)
                .await
                .map_err(|e| anyhow::anyhow!("cannot open the SQLite database: {e}"))?;
            Ok(SqlxSqliteConnector::from_sqlx_sqlite_pool(pool))
        }
        Backend::Postgres => {
            // Our queries are short; JIT compilation only pays off for long
            // analytical ones, and a misestimated plan can cost hundreds of
            // milliseconds of compiling on every run.
            let options = PgConnectOptions::from_str(url)
                .map_err(|e| anyhow::anyhow!("bad DATABASE_URL: {e}"))?
                .options([("jit", "off")]);
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(acquire_timeout)
                .connect_with(options)
                .await
                .map_err(|e| anyhow::anyhow!("cannot connect to PostgreSQL: {e}"))?;
            Ok(SqlxPostgresConnector::from_sqlx_postgres_pool(pool))
        }
    }
}

pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None)
        .await
        .map_err(|e| anyhow::anyhow!("migrations failed: {e}"))
}

/// The row offset of a 1-based page, or `None` when the page lies past the
/// last one (page 1 always exists, even when empty) or cannot be addressed.
pub fn page_offset(page: u64, page_size: u64, count: u64) -> Option<u64> {
    page.checked_sub(1)?
        .checked_mul(page_size)
        .filter(|offset| *offset < count || page == 1)
}

/// SQLite lets one connection write at a time; the others sleep and retry in
/// its busy handler, which under load costs far more than waiting in line.
/// Hot write paths pass through this gate: a queue on SQLite, nothing on
/// PostgreSQL (whose row locks already order the writers that clash).
#[derive(Clone, Default)]
pub struct WriteGate(Option<std::sync::Arc<tokio::sync::Mutex<()>>>);

impl WriteGate {
    pub fn for_db(db: &DatabaseConnection) -> Self {
        match db.get_database_backend() {
            sea_orm::DbBackend::Sqlite => Self(Some(Default::default())),
            _ => Self(None),
        }
    }

    pub async fn enter(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.0 {
            Some(gate) => Some(gate.lock().await),
            None => None,
        }
    }
}

/// Readiness: can the database answer a trivial query?
pub async fn ping(db: &DatabaseConnection) -> Result<(), StorageError> {
    db.execute_unprepared("SELECT 1").await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::page_offset;

    #[test]
    fn pages_past_the_end_or_out_of_range_have_no_offset() {
        assert_eq!(page_offset(1, 20, 0), Some(0));
        assert_eq!(page_offset(2, 20, 25), Some(20));
        assert_eq!(page_offset(3, 20, 40), None);
        assert_eq!(page_offset(0, 20, 40), None);
        assert_eq!(page_offset(u64::MAX, 100, 40), None);
    }
}

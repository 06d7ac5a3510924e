//! The money ledger: double-entry and append-only.
//!
//! `ledger_transactions` is one business event (a payment credited, a
//! release from escrow, a refund ...) and `ledger_entries` its signed lines
//! over accounts, summing to zero. Neither table ever changes once written:
//! triggers refuse UPDATE and DELETE (a correction is a new transaction), and
//! the unique `dedup_key` makes an event posted twice one transaction.
//!
//! `wallet_balances` (per tailor) and `wallet_escrows` (per order or
//! commission held in escrow) are caches of sums of entries, written in the
//! posting's transaction; their CHECKs are the database's last word on
//! "never negative" (the posting's conditional update is the first).

use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;

use super::columns::{counter, text, timestamp, uuid_key};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LedgerTransactions {
    Table,
    Id,
    Kind,
    DedupKey,
    TailorId,
    SourceKind,
    SourceId,
    Memo,
    CreatedAt,
}

#[derive(DeriveIden)]
enum LedgerEntries {
    Table,
    Id,
    TransactionId,
    TailorId,
    Account,
    AmountKobo,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum WalletBalances {
    Table,
    TailorId,
    Pending,
    Available,
    Withdrawing,
    PaidOut,
    Owed,
    Earned,
    Fees,
    Lines,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum WalletEscrows {
    Table,
    SourceId,
    SourceKind,
    TailorId,
    HeldKobo,
    ReleaseAt,
    UpdatedAt,
}

const LEDGER_TABLES: [&str; 2] = ["ledger_transactions", "ledger_entries"];

/// A cached balance that the database keeps at or above zero.
fn non_negative(col: impl IntoIden + Copy + 'static) -> ColumnDef {
    counter(col).check(Expr::col(col).gte(0)).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_ledger(manager).await?;
        create_caches(manager).await?;
        let db = manager.get_connection();
        for statement in immutability(manager.get_database_backend()) {
            db.execute_unprepared(&statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            WalletEscrows::Table.into_iden(),
            WalletBalances::Table.into_iden(),
            LedgerEntries::Table.into_iden(),
            LedgerTransactions::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("DROP FUNCTION IF EXISTS ledger_refuse_change()")
                .await?;
        }
        Ok(())
    }
}

/// The one place the backends differ: both refuse changes to ledger rows
/// with a trigger, but SQLite's trigger body is SQL (`RAISE(ABORT)`) while
/// PostgreSQL's triggers call a PL/pgSQL function, and only PostgreSQL has
/// TRUNCATE to refuse as well.
fn immutability(backend: DbBackend) -> Vec<String> {
    const WHY: &str = "ledger rows never change: post a correcting transaction";
    match backend {
        DbBackend::Postgres => {
            let mut statements = vec![format!(
                "CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger \
                 LANGUAGE plpgsql AS $$ BEGIN \
                 RAISE EXCEPTION '{WHY}' USING ERRCODE = 'restrict_violation'; END $$"
            )];
            for table in LEDGER_TABLES {
                statements.push(format!(
                    "CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} \
                     FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()"
                ));
                statements.push(format!(
                    "CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} \
                     FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()"
                ));
            }
            statements
        }
        _ => LEDGER_TABLES
            .iter()
            .flat_map(|table| {
                ["UPDATE", "DELETE"].map(|op| {
                    format!(
                        "CREATE TRIGGER {table}_no_{} BEFORE {op} ON {table} \
                         BEGIN SELECT RAISE(ABORT, '{WHY}'); END",
                        op.to_lowercase()
                    )
                })
            })
            .collect(),
    }
}

async fn create_ledger(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    use LedgerEntries as E;
    use LedgerTransactions as T;
    manager
        .create_table(
            Table::create()
                .table(T::Table)
                .col(uuid_key(T::Id))
                .col(text(T::Kind))
                .col(text(T::DedupKey).unique_key())
                .col(ColumnDef::new(T::TailorId).uuid().null())
                .col(text(T::SourceKind))
                .col(ColumnDef::new(T::SourceId).uuid().not_null())
                .col(ColumnDef::new(T::Memo).text().not_null())
                .col(timestamp(T::CreatedAt))
                .to_owned(),
        )
        .await?;
    // A tailor's statement, newest first, by date range, and by kind: each
    // one index range read whatever the number of lines.
    for (name, kind) in [
        ("idx_ledger_transactions_statement", false),
        ("idx_ledger_transactions_statement_kind", true),
    ] {
        let mut index = Index::create()
            .name(name)
            .table(T::Table)
            .col(T::TailorId)
            .to_owned();
        if kind {
            index.col(T::Kind);
        }
        manager
            .create_index(index.col(T::CreatedAt).col(T::Id).to_owned())
            .await?;
    }
    // What the ledger says about one order, commission or payout.
    manager
        .create_index(
            Index::create()
                .name("idx_ledger_transactions_source")
                .table(T::Table)
                .col(T::SourceId)
                .to_owned(),
        )
        .await?;
    manager
        .create_table(
            Table::create()
                .table(E::Table)
                .col(uuid_key(E::Id))
                .col(ColumnDef::new(E::TransactionId).uuid().not_null())
                .col(ColumnDef::new(E::TailorId).uuid().null())
                .col(text(E::Account))
                .col(ColumnDef::new(E::AmountKobo).big_integer().not_null())
                .col(timestamp(E::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(E::Table, E::TransactionId)
                        .to(T::Table, T::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;
    for (name, cols) in [
        ("idx_ledger_entries_transaction", vec![E::TransactionId]),
        ("idx_ledger_entries_account", vec![E::TailorId, E::Account]),
    ] {
        let mut index = Index::create().name(name).table(E::Table).to_owned();
        for col in cols {
            index.col(col);
        }
        manager.create_index(index).await?;
    }
    Ok(())
}

async fn create_caches(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    use WalletBalances as B;
    use WalletEscrows as S;
    manager
        .create_table(
            Table::create()
                .table(B::Table)
                .col(uuid_key(B::TailorId))
                .col(non_negative(B::Pending))
                .col(non_negative(B::Available))
                .col(non_negative(B::Withdrawing))
                .col(non_negative(B::PaidOut))
                // What the tailor owes the platform: never above zero.
                .col(counter(B::Owed).check(Expr::col(B::Owed).lte(0)).to_owned())
                .col(counter(B::Earned))
                .col(counter(B::Fees))
                .col(non_negative(B::Lines))
                .col(timestamp(B::UpdatedAt))
                .to_owned(),
        )
        .await?;
    manager
        .create_table(
            Table::create()
                .table(S::Table)
                .col(uuid_key(S::SourceId))
                .col(text(S::SourceKind))
                .col(ColumnDef::new(S::TailorId).uuid().not_null())
                .col(non_negative(S::HeldKobo))
                .col(
                    ColumnDef::new(S::ReleaseAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .col(timestamp(S::UpdatedAt))
                .to_owned(),
        )
        .await?;
    // A tailor's money in escrow (the wallet's next releases), and the
    // releases that are due (set only while something is held).
    for (name, cols) in [
        ("idx_wallet_escrows_tailor", vec![S::TailorId, S::HeldKobo]),
        ("idx_wallet_escrows_release_at", vec![S::ReleaseAt]),
    ] {
        let mut index = Index::create().name(name).table(S::Table).to_owned();
        for col in cols {
            index.col(col);
        }
        manager.create_index(index).await?;
    }
    Ok(())
}

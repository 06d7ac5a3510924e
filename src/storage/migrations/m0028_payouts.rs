//! Withdrawals to tailors' banks (`payouts`) and the log of what staff did
//! (`staff_actions`). A payout's money moves in the ledger (m0025); this row
//! follows the transfer at Paystack: `pending` (money held, waiting its
//! turn) → `processing` (sent to Paystack) → `paid`, `failed` or `reversed`,
//! with `unconfirmed` when nobody can tell whether it went through (staff
//! settle it). One transfer in flight per tailor is a unique partial index
//! over the sent, unsettled statuses: withdrawals asked for at once each hold
//! their money (the ledger refuses what the balance does not cover) and are
//! sent one after another.

use sea_orm_migration::prelude::*;

use super::columns::{restrict, text, timestamp, uuid_key};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Payouts {
    Table,
    Id,
    TailorId,
    AmountKobo,
    Currency,
    Status,
    Reference,
    PayoutAccountId,
    RecipientCode,
    TransferCode,
    FailureReason,
    StaffNote,
    CreatedAt,
    UpdatedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum StaffActions {
    Table,
    Id,
    StaffId,
    Action,
    SubjectKind,
    SubjectId,
    Note,
    Details,
    CreatedAt,
}

/// The statuses of a payout sent to Paystack and not settled; written the
/// same way in the queries that rely on the index.
pub const IN_FLIGHT_CONDITION: &str = "status IN ('processing', 'unconfirmed')";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use Payouts as P;
        manager
            .create_table(
                Table::create()
                    .table(P::Table)
                    .col(uuid_key(P::Id))
                    .col(ColumnDef::new(P::TailorId).uuid().not_null())
                    .col(ColumnDef::new(P::AmountKobo).big_integer().not_null())
                    .col(text(P::Currency))
                    .col(text(P::Status))
                    .col(text(P::Reference).unique_key())
                    .col(ColumnDef::new(P::PayoutAccountId).uuid().not_null())
                    .col(text(P::RecipientCode))
                    .col(ColumnDef::new(P::TransferCode).string().null())
                    .col(ColumnDef::new(P::FailureReason).text().null())
                    .col(ColumnDef::new(P::StaffNote).text().null())
                    .col(timestamp(P::CreatedAt))
                    .col(timestamp(P::UpdatedAt))
                    .col(
                        ColumnDef::new(P::FinishedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(&mut restrict(
                        (P::Table, P::TailorId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        // Partial indexes read the same in SQLite and PostgreSQL.
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "CREATE UNIQUE INDEX idx_payouts_one_in_flight ON payouts (tailor_id) WHERE {IN_FLIGHT_CONDITION}"
            ))
            .await?;
        for (name, cols) in [
            ("idx_payouts_tailor_created", [P::TailorId, P::CreatedAt]),
            ("idx_payouts_status_created", [P::Status, P::CreatedAt]),
        ] {
            let mut index = Index::create();
            index.name(name).table(P::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }

        use StaffActions as S;
        manager
            .create_table(
                Table::create()
                    .table(S::Table)
                    .col(uuid_key(S::Id))
                    .col(ColumnDef::new(S::StaffId).uuid().not_null())
                    .col(text(S::Action))
                    .col(text(S::SubjectKind))
                    .col(ColumnDef::new(S::SubjectId).uuid().not_null())
                    .col(text(S::Note))
                    .col(text(S::Details))
                    .col(timestamp(S::CreatedAt))
                    .foreign_key(&mut restrict(
                        (S::Table, S::StaffId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("idx_staff_actions_created", vec![S::CreatedAt]),
            (
                "idx_staff_actions_subject",
                vec![S::SubjectKind, S::SubjectId, S::CreatedAt],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(S::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(StaffActions::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Payouts::Table).to_owned())
            .await
    }
}

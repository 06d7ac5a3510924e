//! Made-to-measure commissions: the commission, its offers (quotes and
//! counter-offers), its timeline, the payments that belong to it and its
//! dispute. Payments gain a purpose so that a provider's event reaches the
//! area that owns the payment; refunds may now be owed for a commission as
//! well as for an order; a conversation shows the commission it is about.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::TransactionTrait;

use super::columns::{counter, flag, restrict, text, timestamp, uuid_key};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Commissions {
    Table,
    Id,
    CustomerId,
    TailorId,
    Status,
    Stage,
    GarmentType,
    Description,
    ReferenceImageIds,
    MeasurementProfileId,
    MeasurementVersionId,
    FabricSource,
    FabricVariantId,
    FabricYardsTenths,
    DesiredDate,
    BudgetKobo,
    Fulfilment,
    DeliveryAddress,
    ConversationId,
    PriceKobo,
    DepositKobo,
    DueAt,
    BalanceOnCollection,
    PaidKobo,
    RefundedKobo,
    WorkStartedAt,
    DeliveredAt,
    Reminded24hAt,
    Reminded12hAt,
    Reminded6hAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CommissionOffers {
    Table,
    Id,
    CommissionId,
    Author,
    PriceKobo,
    DepositPercent,
    DueAt,
    Notes,
    ValidUntil,
    BalanceOnCollection,
    Status,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CommissionEvents {
    Table,
    Id,
    CommissionId,
    ActorId,
    Actor,
    Kind,
    Status,
    Stage,
    Note,
    ImageIds,
    OfferId,
    AmountKobo,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CommissionPayments {
    Table,
    PaymentId,
    CommissionId,
    Purpose,
}

#[derive(DeriveIden)]
enum CommissionDisputes {
    Table,
    Id,
    CommissionId,
    OpenedBy,
    Reason,
    ImageIds,
    Status,
    Resolution,
    RefundKobo,
    ResolvedBy,
    ResolutionNote,
    CreatedAt,
    ResolvedAt,
}

#[derive(DeriveIden)]
enum Payments {
    Table,
    Id,
    Purpose,
}

#[derive(DeriveIden)]
enum Conversations {
    Table,
    CommissionId,
}

#[derive(DeriveIden, Clone, Copy)]
enum Refunds {
    Table,
    Id,
    OrderId,
    CommissionId,
    PaymentId,
    Reference,
    AmountKobo,
    Currency,
    Status,
    Attempts,
    NextAttemptAt,
    ProviderId,
    LastError,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RefundsNext {
    Table,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
}

fn uuid_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).uuid().null().to_owned()
}

fn text_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).string().null().to_owned()
}

fn time_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .null()
        .to_owned()
}

fn money_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).big_integer().null().to_owned()
}

fn commissions() -> TableCreateStatement {
    Table::create()
        .table(Commissions::Table)
        .col(uuid_key(Commissions::Id))
        .col(ColumnDef::new(Commissions::CustomerId).uuid().not_null())
        .col(ColumnDef::new(Commissions::TailorId).uuid().not_null())
        .col(text(Commissions::Status))
        .col(text_null(Commissions::Stage))
        .col(text(Commissions::GarmentType))
        .col(text(Commissions::Description))
        .col(text(Commissions::ReferenceImageIds))
        .col(uuid_null(Commissions::MeasurementProfileId))
        .col(uuid_null(Commissions::MeasurementVersionId))
        .col(text(Commissions::FabricSource))
        .col(uuid_null(Commissions::FabricVariantId))
        .col(
            ColumnDef::new(Commissions::FabricYardsTenths)
                .integer()
                .null(),
        )
        .col(ColumnDef::new(Commissions::DesiredDate).date().null())
        .col(money_null(Commissions::BudgetKobo))
        .col(text(Commissions::Fulfilment))
        .col(text_null(Commissions::DeliveryAddress))
        .col(uuid_null(Commissions::ConversationId))
        .col(money_null(Commissions::PriceKobo))
        .col(counter(Commissions::DepositKobo))
        .col(time_null(Commissions::DueAt))
        .col(flag(Commissions::BalanceOnCollection, false))
        .col(counter(Commissions::PaidKobo))
        .col(counter(Commissions::RefundedKobo))
        .col(time_null(Commissions::WorkStartedAt))
        .col(time_null(Commissions::DeliveredAt))
        .col(time_null(Commissions::Reminded24hAt))
        .col(time_null(Commissions::Reminded12hAt))
        .col(time_null(Commissions::Reminded6hAt))
        .col(timestamp(Commissions::CreatedAt))
        .col(timestamp(Commissions::UpdatedAt))
        .to_owned()
}

fn offers() -> TableCreateStatement {
    Table::create()
        .table(CommissionOffers::Table)
        .col(uuid_key(CommissionOffers::Id))
        .col(
            ColumnDef::new(CommissionOffers::CommissionId)
                .uuid()
                .not_null(),
        )
        .col(text(CommissionOffers::Author))
        .col(
            ColumnDef::new(CommissionOffers::PriceKobo)
                .big_integer()
                .not_null(),
        )
        .col(
            ColumnDef::new(CommissionOffers::DepositPercent)
                .integer()
                .null(),
        )
        .col(time_null(CommissionOffers::DueAt))
        .col(text(CommissionOffers::Notes))
        .col(time_null(CommissionOffers::ValidUntil))
        .col(flag(CommissionOffers::BalanceOnCollection, false))
        .col(text(CommissionOffers::Status))
        .col(timestamp(CommissionOffers::CreatedAt))
        .foreign_key(&mut restrict(
            (CommissionOffers::Table, CommissionOffers::CommissionId),
            (Commissions::Table, Commissions::Id),
        ))
        .to_owned()
}

fn events() -> TableCreateStatement {
    Table::create()
        .table(CommissionEvents::Table)
        .col(uuid_key(CommissionEvents::Id))
        .col(
            ColumnDef::new(CommissionEvents::CommissionId)
                .uuid()
                .not_null(),
        )
        .col(uuid_null(CommissionEvents::ActorId))
        .col(text(CommissionEvents::Actor))
        .col(text(CommissionEvents::Kind))
        .col(text(CommissionEvents::Status))
        .col(text_null(CommissionEvents::Stage))
        .col(text(CommissionEvents::Note))
        .col(text(CommissionEvents::ImageIds))
        .col(uuid_null(CommissionEvents::OfferId))
        .col(money_null(CommissionEvents::AmountKobo))
        .col(timestamp(CommissionEvents::CreatedAt))
        .foreign_key(&mut restrict(
            (CommissionEvents::Table, CommissionEvents::CommissionId),
            (Commissions::Table, Commissions::Id),
        ))
        .to_owned()
}

fn commission_payments() -> TableCreateStatement {
    Table::create()
        .table(CommissionPayments::Table)
        .col(uuid_key(CommissionPayments::PaymentId))
        .col(
            ColumnDef::new(CommissionPayments::CommissionId)
                .uuid()
                .not_null(),
        )
        .col(text(CommissionPayments::Purpose))
        .foreign_key(&mut restrict(
            (CommissionPayments::Table, CommissionPayments::PaymentId),
            (Payments::Table, Payments::Id),
        ))
        .foreign_key(&mut restrict(
            (CommissionPayments::Table, CommissionPayments::CommissionId),
            (Commissions::Table, Commissions::Id),
        ))
        .to_owned()
}

fn disputes() -> TableCreateStatement {
    Table::create()
        .table(CommissionDisputes::Table)
        .col(uuid_key(CommissionDisputes::Id))
        // One dispute per commission: resolving it ends the commission.
        .col(
            ColumnDef::new(CommissionDisputes::CommissionId)
                .uuid()
                .not_null()
                .unique_key(),
        )
        .col(
            ColumnDef::new(CommissionDisputes::OpenedBy)
                .uuid()
                .not_null(),
        )
        .col(text(CommissionDisputes::Reason))
        .col(text(CommissionDisputes::ImageIds))
        .col(text(CommissionDisputes::Status))
        .col(text_null(CommissionDisputes::Resolution))
        .col(counter(CommissionDisputes::RefundKobo))
        .col(uuid_null(CommissionDisputes::ResolvedBy))
        .col(text(CommissionDisputes::ResolutionNote))
        .col(timestamp(CommissionDisputes::CreatedAt))
        .col(time_null(CommissionDisputes::ResolvedAt))
        .foreign_key(&mut restrict(
            (CommissionDisputes::Table, CommissionDisputes::CommissionId),
            (Commissions::Table, Commissions::Id),
        ))
        .to_owned()
}

/// The refunds table as m0011 made it, except that a refund is owed for an
/// order or for a commission (one of the two is set). SQLite cannot drop a
/// NOT NULL, so the table is rebuilt, the same way on both backends.
fn refunds_next() -> TableCreateStatement {
    Table::create()
        .table(RefundsNext::Table)
        .col(uuid_key(Refunds::Id))
        // One refund per order, as before; commissions may have several
        // (one per payment, and a dispute's partial refund).
        .col(uuid_null(Refunds::OrderId).unique_key().to_owned())
        .col(uuid_null(Refunds::CommissionId))
        .col(ColumnDef::new(Refunds::PaymentId).uuid().not_null())
        .col(text(Refunds::Reference))
        .col(counter(Refunds::AmountKobo))
        .col(text(Refunds::Currency))
        .col(text(Refunds::Status))
        .col(counter(Refunds::Attempts))
        .col(timestamp(Refunds::NextAttemptAt))
        .col(text_null(Refunds::ProviderId))
        .col(text_null(Refunds::LastError))
        .col(timestamp(Refunds::CreatedAt))
        .col(timestamp(Refunds::UpdatedAt))
        .foreign_key(&mut restrict(
            (RefundsNext::Table, Refunds::OrderId),
            (Orders::Table, Orders::Id),
        ))
        .foreign_key(&mut restrict(
            (RefundsNext::Table, Refunds::PaymentId),
            (Payments::Table, Payments::Id),
        ))
        .to_owned()
}

/// In one transaction: on SQLite the migrator runs statements on whichever
/// pooled connection is free, and a connection that has not seen the drop
/// refuses the rename (or the index) as already existing.
async fn rebuild_refunds(outer: &SchemaManager<'_>) -> Result<(), DbErr> {
    let txn = outer.get_connection().begin().await?;
    let manager = &SchemaManager::new(&txn);
    manager.create_table(refunds_next()).await?;
    let kept = vec![
        Refunds::Id,
        Refunds::OrderId,
        Refunds::PaymentId,
        Refunds::Reference,
        Refunds::AmountKobo,
        Refunds::Currency,
        Refunds::Status,
        Refunds::Attempts,
        Refunds::NextAttemptAt,
        Refunds::ProviderId,
        Refunds::LastError,
        Refunds::CreatedAt,
        Refunds::UpdatedAt,
    ];
    let copy = Query::insert()
        .into_table(RefundsNext::Table)
        .columns(kept.clone())
        .select_from(
            Query::select()
                .columns(kept)
                .from(Refunds::Table)
                .to_owned(),
        )
        .map_err(|e| DbErr::Migration(e.to_string()))?
        .to_owned();
    manager.exec_stmt(copy).await?;
    manager
        .drop_table(Table::drop().table(Refunds::Table).to_owned())
        .await?;
    manager
        .rename_table(
            Table::rename()
                .table(RefundsNext::Table, Refunds::Table)
                .to_owned(),
        )
        .await?;
    index(
        manager,
        "idx_refunds_due",
        Refunds::Table,
        [Refunds::Status, Refunds::NextAttemptAt],
    )
    .await?;
    index(
        manager,
        "idx_refunds_commission",
        Refunds::Table,
        [Refunds::CommissionId],
    )
    .await?;
    txn.commit().await
}

async fn index<const N: usize>(
    manager: &SchemaManager<'_>,
    name: &str,
    table: impl IntoIden + 'static,
    cols: [impl IntoIden + 'static; N],
) -> Result<(), DbErr> {
    let mut statement = Index::create();
    statement.name(name).table(table);
    for col in cols {
        statement.col(col);
    }
    manager.create_index(statement.to_owned()).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(commissions()).await?;
        index(
            manager,
            "idx_commissions_customer",
            Commissions::Table,
            [Commissions::CustomerId, Commissions::Id],
        )
        .await?;
        index(
            manager,
            "idx_commissions_tailor",
            Commissions::Table,
            [Commissions::TailorId, Commissions::Id],
        )
        .await?;
        // The background work: reminders before the due date, and
        // completion of delivered commissions nobody disputed.
        index(
            manager,
            "idx_commissions_due",
            Commissions::Table,
            [Commissions::Status, Commissions::DueAt],
        )
        .await?;
        index(
            manager,
            "idx_commissions_delivered",
            Commissions::Table,
            [Commissions::Status, Commissions::DeliveredAt],
        )
        .await?;
        manager.create_table(offers()).await?;
        index(
            manager,
            "idx_commission_offers_commission",
            CommissionOffers::Table,
            [CommissionOffers::CommissionId],
        )
        .await?;
        manager.create_table(events()).await?;
        index(
            manager,
            "idx_commission_events_commission",
            CommissionEvents::Table,
            [CommissionEvents::CommissionId, CommissionEvents::Id],
        )
        .await?;
        manager.create_table(commission_payments()).await?;
        index(
            manager,
            "idx_commission_payments_commission",
            CommissionPayments::Table,
            [CommissionPayments::CommissionId],
        )
        .await?;
        manager.create_table(disputes()).await?;
        index(
            manager,
            "idx_commission_disputes_status",
            CommissionDisputes::Table,
            [CommissionDisputes::Status, CommissionDisputes::Id],
        )
        .await?;
        // Every payment so far paid for a checkout's orders.
        manager
            .alter_table(
                Table::alter()
                    .table(Payments::Table)
                    .add_column(
                        ColumnDef::new(Payments::Purpose)
                            .string()
                            .not_null()
                            .default("order"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Conversations::Table)
                    .add_column(uuid_null(Conversations::CommissionId))
                    .to_owned(),
            )
            .await?;
        rebuild_refunds(manager).await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "m0022 rebuilt the refunds table; restore a backup to go back".into(),
        ))
    }
}

use sea_orm_migration::prelude::*;

use super::columns::{cascade, counter, text, timestamp, uuid_key};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ProductVariants {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum CartItems {
    Table,
    Id,
    UserId,
    VariantId,
    Quantity,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
    CustomerId,
    TailorId,
    Status,
    PaymentMethod,
    SubtotalKobo,
    TotalKobo,
    RefundKobo,
    Currency,
    DeliveryAddress,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum OrderItems {
    Table,
    Id,
    OrderId,
    ProductId,
    VariantId,
    ProductName,
    Size,
    Color,
    UnitPriceKobo,
    Quantity,
    LineTotalKobo,
}

#[derive(DeriveIden)]
enum OrderEvents {
    Table,
    Id,
    OrderId,
    Status,
    ActorId,
    Note,
    CreatedAt,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Key,
    RequestHash,
    ResponseStatus,
    ResponseBody,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CartItems::Table)
                    .col(uuid_key(CartItems::Id))
                    .col(ColumnDef::new(CartItems::UserId).uuid().not_null())
                    .col(ColumnDef::new(CartItems::VariantId).uuid().not_null())
                    .col(ColumnDef::new(CartItems::Quantity).big_integer().not_null())
                    .col(timestamp(CartItems::CreatedAt))
                    .foreign_key(&mut cascade(
                        (CartItems::Table, CartItems::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .foreign_key(&mut cascade(
                        (CartItems::Table, CartItems::VariantId),
                        (ProductVariants::Table, ProductVariants::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_cart_items_user_variant")
                    .table(CartItems::Table)
                    .col(CartItems::UserId)
                    .col(CartItems::VariantId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Orders::Table)
                    .col(uuid_key(Orders::Id))
                    .col(ColumnDef::new(Orders::CustomerId).uuid().not_null())
                    .col(ColumnDef::new(Orders::TailorId).uuid().not_null())
                    .col(text(Orders::Status))
                    .col(text(Orders::PaymentMethod))
                    .col(counter(Orders::SubtotalKobo))
                    .col(counter(Orders::TotalKobo))
                    .col(counter(Orders::RefundKobo))
                    .col(text(Orders::Currency))
                    .col(text(Orders::DeliveryAddress))
                    .col(timestamp(Orders::CreatedAt))
                    .col(timestamp(Orders::UpdatedAt))
                    .foreign_key(&mut cascade(
                        (Orders::Table, Orders::CustomerId),
                        (Users::Table, Users::Id),
                    ))
                    .foreign_key(&mut cascade(
                        (Orders::Table, Orders::TailorId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OrderItems::Table)
                    .col(uuid_key(OrderItems::Id))
                    .col(ColumnDef::new(OrderItems::OrderId).uuid().not_null())
                    .col(ColumnDef::new(OrderItems::ProductId).uuid().not_null())
                    .col(ColumnDef::new(OrderItems::VariantId).uuid().not_null())
                    .col(text(OrderItems::ProductName))
                    .col(text(OrderItems::Size))
                    .col(text(OrderItems::Color))
                    .col(counter(OrderItems::UnitPriceKobo))
                    .col(counter(OrderItems::Quantity))
                    .col(counter(OrderItems::LineTotalKobo))
                    .foreign_key(&mut cascade(
                        (OrderItems::Table, OrderItems::OrderId),
                        (Orders::Table, Orders::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OrderEvents::Table)
                    .col(uuid_key(OrderEvents::Id))
                    .col(ColumnDef::new(OrderEvents::OrderId).uuid().not_null())
                    .col(text(OrderEvents::Status))
                    .col(ColumnDef::new(OrderEvents::ActorId).uuid().null())
                    .col(text(OrderEvents::Note))
                    .col(timestamp(OrderEvents::CreatedAt))
                    .foreign_key(&mut cascade(
                        (OrderEvents::Table, OrderEvents::OrderId),
                        (Orders::Table, Orders::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .col(text(IdempotencyKeys::Key).primary_key().to_owned())
                    .col(text(IdempotencyKeys::RequestHash))
                    .col(
                        ColumnDef::new(IdempotencyKeys::ResponseStatus)
                            .integer()
                            .null(),
                    )
                    .col(ColumnDef::new(IdempotencyKeys::ResponseBody).text().null())
                    .col(timestamp(IdempotencyKeys::CreatedAt))
                    .to_owned(),
            )
            .await?;
        for (name, table, col) in [
            (
                "idx_orders_customer",
                Orders::Table.into_iden(),
                Orders::CustomerId.into_iden(),
            ),
            (
                "idx_orders_tailor",
                Orders::Table.into_iden(),
                Orders::TailorId.into_iden(),
            ),
            (
                "idx_order_items_order",
                OrderItems::Table.into_iden(),
                OrderItems::OrderId.into_iden(),
            ),
            (
                "idx_order_events_order",
                OrderEvents::Table.into_iden(),
                OrderEvents::OrderId.into_iden(),
            ),
        ] {
            manager
                .create_index(Index::create().name(name).table(table).col(col).to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            IdempotencyKeys::Table.into_iden(),
            OrderEvents::Table.into_iden(),
            OrderItems::Table.into_iden(),
            Orders::Table.into_iden(),
            CartItems::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

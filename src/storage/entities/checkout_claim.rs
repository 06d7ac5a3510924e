use sea_orm::entity::prelude::*;

/// A customer's checkout in progress. Taken before the payment provider is
/// asked, deleted in the transaction that consumes the cart (or when the
/// checkout fails); a claim past `expires_at` belongs to a request that died
/// and may be taken over.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "checkout_claims")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    /// Which request holds it, so that only that request releases it.
    pub token: Uuid,
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

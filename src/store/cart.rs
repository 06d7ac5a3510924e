//! The server-side cart: current prices, computed by the server.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::sea_query::{Alias, Expr, InsertStatement, OnConflict, Query, SimpleExpr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{CURRENCY, StoreError, StoreService};
use crate::storage::StorageError;
use crate::storage::entities::{cart_item, product, product_variant, user};
use crate::storage::group_commit::Batch;
use crate::validation::FieldErrors;

const MAX_QUANTITY: i64 = 10_000;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CartLine {
    pub id: Uuid,
    pub variant_id: Uuid,
    pub product_id: Uuid,
    pub tailor_id: Uuid,
    pub product_name: String,
    pub size: String,
    pub color: String,
    /// Current price of one unit (or yard), in kobo.
    pub unit_price: i64,
    pub quantity: i64,
    pub line_total: i64,
    /// Stock left now.
    pub available: i64,
    /// False when the product was removed or hidden since it was added.
    pub purchasable: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CartView {
    pub items: Vec<CartLine>,
    pub subtotal: i64,
    pub currency: String,
}

impl StoreService {
    pub async fn cart(&self, user: &user::Model) -> Result<CartView, StoreError> {
        let items = self.cart_lines(user.id).await?;
        let subtotal = items
            .iter()
            .filter(|l| l.purchasable)
            .map(|l| l.line_total)
            .sum();
        Ok(CartView {
            items,
            subtotal,
            currency: CURRENCY.into(),
        })
    }

    pub(super) async fn cart_lines(&self, user_id: Uuid) -> Result<Vec<CartLine>, StoreError> {
        let rows = cart_item::Entity::find()
            .filter(cart_item::Column::UserId.eq(user_id))
            .order_by_asc(cart_item::Column::Id)
            .all(&self.db)
            .await?;
        let variants: HashMap<Uuid, product_variant::Model> = product_variant::Entity::find()
            .filter(product_variant::Column::Id.is_in(rows.iter().map(|r| r.variant_id)))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|v| (v.id, v))
            .collect();
        let products: HashMap<Uuid, product::Model> = product::Entity::find()
            .filter(product::Column::Id.is_in(variants.values().map(|v| v.product_id)))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        Ok(rows
            .iter()
            .filter_map(|row| {
                let variant = variants.get(&row.variant_id)?;
                let product = products.get(&variant.product_id)?;
                let unit_price = (product.effective_price_kobo + variant.price_delta_kobo).max(0);
                Some(CartLine {
                    id: row.id,
                    variant_id: variant.id,
                    product_id: product.id,
                    tailor_id: product.tailor_id,
                    product_name: product.name.clone(),
                    size: variant.size.clone(),
                    color: variant.color.clone(),
                    unit_price,
                    quantity: row.quantity,
                    line_total: unit_price.saturating_mul(row.quantity),
                    available: variant.stock,
                    purchasable: product.is_active && product.deleted_at.is_none(),
                })
            })
            .collect())
    }

    /// Adds `quantity` of a variant (to what is already in the cart).
    pub async fn add_to_cart(
        &self,
        user: &user::Model,
        variant_id: Option<String>,
        quantity: Option<i64>,
    ) -> Result<CartView, StoreError> {
        let mut errors = FieldErrors::new();
        let raw = errors
            .required("variant_id", &variant_id)
            .unwrap_or_default()
            .to_string();
        let quantity = check_quantity(&mut errors, quantity);
        errors.into_result()?;
        let variant = self.purchasable_variant(&raw).await?;
        let added = self
            .cart_adds
            .run(CartAdd {
                user_id: user.id,
                variant_id: variant.id,
                quantity,
            })
            .await?;
        if !added {
            return Err(self.not_enough(variant.id).await);
        }
        self.cart(user).await
    }

    pub async fn set_cart_quantity(
        &self,
        user: &user::Model,
        item_id: Uuid,
        quantity: Option<i64>,
    ) -> Result<CartView, StoreError> {
        let mut errors = FieldErrors::new();
        let quantity = check_quantity(&mut errors, quantity);
        errors.into_result()?;
        let row = self.own_cart_item(user, item_id).await?;
        // Checked against stock in the statement that writes it.
        let set = cart_item::Entity::update_many()
            .col_expr(cart_item::Column::Quantity, Expr::value(quantity))
            .filter(cart_item::Column::Id.eq(row.id))
            .filter(cart_item::Column::UserId.eq(user.id))
            .filter(Expr::val(quantity).lte(stock_of_variant(Expr::col((
                cart_item::Entity,
                cart_item::Column::VariantId,
            )))))
            .exec(&self.db)
            .await?;
        if set.rows_affected != 1 {
            // Removed meanwhile (404), or more than is in stock.
            self.own_cart_item(user, item_id).await?;
            return Err(self.not_enough(row.variant_id).await);
        }
        self.cart(user).await
    }

    /// The usual refusal of a quantity above the variant's stock.
    async fn not_enough(&self, variant_id: Uuid) -> StoreError {
        let stock = match product_variant::Entity::find_by_id(variant_id)
            .one(&self.db)
            .await
        {
            Ok(variant) => variant.map_or(0, |v| v.stock),
            Err(err) => return err.into(),
        };
        let left = stock.max(0);
        FieldErrors::single("quantity", format!("Only {left} available.")).into()
    }

    pub async fn remove_from_cart(
        &self,
        user: &user::Model,
        item_id: Uuid,
    ) -> Result<(), StoreError> {
        let row = self.own_cart_item(user, item_id).await?;
        cart_item::Entity::delete_by_id(row.id)
            .exec(&self.db)
            .await?;
        Ok(())
    }

    async fn own_cart_item(
        &self,
        user: &user::Model,
        item_id: Uuid,
    ) -> Result<cart_item::Model, StoreError> {
        cart_item::Entity::find_by_id(item_id)
            .filter(cart_item::Column::UserId.eq(user.id))
            .one(&self.db)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// A variant of a product that is in the catalog; a field error otherwise.
    async fn purchasable_variant(
        &self,
        raw_id: &str,
    ) -> Result<product_variant::Model, StoreError> {
        let not_found = || {
            FieldErrors::single(
                "variant_id",
                format!("Invalid pk \"{raw_id}\" - object does not exist."),
            )
        };
        let id = Uuid::parse_str(raw_id).map_err(|_| not_found())?;
        let variant = product_variant::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or_else(not_found)?;
        let live = self
            .live_product(variant.product_id)
            .await?
            .is_some_and(|p| p.is_active);
        if !live {
            return Err(not_found().into());
        }
        Ok(variant)
    }
}

fn check_quantity(errors: &mut FieldErrors, quantity: Option<i64>) -> i64 {
    match quantity {
        None => {
            errors.add("quantity", crate::validation::REQUIRED);
            0
        }
        Some(q) if !(1..=MAX_QUANTITY).contains(&q) => {
            errors.add(
                "quantity",
                format!("Enter a whole number from 1 to {MAX_QUANTITY}."),
            );
            0
        }
        Some(q) => q,
    }
}

/// One statement that adds `quantity` of the variant to the user's cart
/// only while the new total stays within stock: an insert of a new line if
/// the stock covers it, or else an increment of the existing line, atomic on
/// both databases (concurrent adds all count, none exceeds stock, and a
/// duplicate line cannot be created). No row changed means not enough stock.
/// One add to a cart: concurrent adds share transactions (see
/// `storage::group_commit`); each is one statement that changes nothing
/// when the stock does not cover it.
pub(super) struct CartAdd {
    user_id: Uuid,
    variant_id: Uuid,
    quantity: i64,
}

pub(super) struct CartAdds;

impl Batch for CartAdds {
    const KIND: &'static str = "cart_add";
    type Job = CartAdd;
    /// False when the stock does not cover the cart's new quantity.
    type Output = bool;

    async fn one(&self, txn: &DatabaseTransaction, add: &CartAdd) -> Result<bool, StorageError> {
        let statement = add_within_stock(add.user_id, add.variant_id, add.quantity);
        let added = txn
            .execute(txn.get_database_backend().build(&statement))
            .await?;
        Ok(added.rows_affected() == 1)
    }
}

fn add_within_stock(user_id: Uuid, variant_id: Uuid, quantity: i64) -> InsertStatement {
    let new_line = Query::select()
        .exprs([
            Expr::value(Uuid::now_v7()),
            Expr::value(user_id),
            Expr::value(variant_id),
            Expr::value(quantity),
            Expr::value(Utc::now()),
        ])
        .from(product_variant::Entity)
        .and_where(product_variant::Column::Id.eq(variant_id))
        .and_where(product_variant::Column::Stock.gte(quantity))
        .to_owned();
    let in_cart = Expr::col((cart_item::Entity, cart_item::Column::Quantity));
    let added = Expr::col((Alias::new("excluded"), cart_item::Column::Quantity));
    Query::insert()
        .into_table(cart_item::Entity)
        .columns([
            cart_item::Column::Id,
            cart_item::Column::UserId,
            cart_item::Column::VariantId,
            cart_item::Column::Quantity,
            cart_item::Column::CreatedAt,
        ])
        .select_from(new_line)
        .expect("five columns, five values")
        .on_conflict(
            OnConflict::columns([cart_item::Column::UserId, cart_item::Column::VariantId])
                .value(
                    cart_item::Column::Quantity,
                    in_cart.clone().add(added.clone()),
                )
                .action_and_where(
                    Expr::expr(in_cart.add(added)).lte(stock_of_variant(Expr::value(variant_id))),
                )
                .to_owned(),
        )
        .to_owned()
}

/// `(SELECT stock FROM product_variants WHERE id = <variant>)`.
fn stock_of_variant(variant: impl Into<SimpleExpr>) -> SimpleExpr {
    let stock = Query::select()
        .column(product_variant::Column::Stock)
        .from(product_variant::Entity)
        .and_where(Expr::col((product_variant::Entity, product_variant::Column::Id)).eq(variant))
        .to_owned();
    SimpleExpr::SubQuery(None, Box::new(stock.into_sub_query_statement()))
}

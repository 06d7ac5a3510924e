//! Documentation-only types: the closed sets of values that the shop's
//! requests carry as strings, so that the spec (and clients generated from
//! it) name them. The handlers still read strings and answer an unknown value
//! with a field error.

use utoipa::openapi::schema::{AllOfBuilder, ArrayBuilder, ObjectBuilder, Schema};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::store::ProductInput;

/// What a product is.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum ProductKind {
    ReadyMade,
    /// Sold by the yard.
    Fabric,
    Accessory,
}

/// Catalog order: `price`, `-price`, `-created` (newest first, the default),
/// `-rating`, `-popularity`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub enum CatalogOrdering {
    #[schema(rename = "price")]
    Price,
    #[schema(rename = "-price")]
    PriceDescending,
    #[schema(rename = "-created")]
    Newest,
    #[schema(rename = "-rating")]
    Rating,
    #[schema(rename = "-popularity")]
    Popularity,
}

/// How an order is paid; `paystack` only when the server has a Paystack key.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum PaymentMethod {
    PayOnDelivery,
    Paystack,
}

/// Where an order is in its life cycle.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum OrderStatus {
    PendingPayment,
    Paid,
    Processing,
    Shipped,
    Delivered,
    Completed,
    Cancelled,
}

/// The statuses an order can be moved to.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum OrderMove {
    Processing,
    Shipped,
    Delivered,
    Completed,
    Cancelled,
}

/// `ProductInput` as `product/upload` wants it: `name`, `kind`, `price` and
/// at least one variant required (on update every field stays optional).
pub struct NewProduct;

impl utoipa::PartialSchema for NewProduct {
    fn schema() -> RefOr<Schema> {
        let required = ObjectBuilder::new()
            .required("name")
            .required("kind")
            .required("price")
            .required("variants")
            .property("variants", ArrayBuilder::new().min_items(Some(1)));
        AllOfBuilder::new()
            .item(Ref::from_schema_name(ProductInput::name()))
            .item(required)
            .description(Some(
                "A new product: `ProductInput` with `name`, `kind`, `price` and at least one variant.",
            ))
            .into()
    }
}

impl ToSchema for NewProduct {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((ProductInput::name().into(), ProductInput::schema()));
        ProductInput::schemas(schemas);
    }
}

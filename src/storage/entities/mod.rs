//! One file per table. Timestamps are UTC; ids are UUID v7 (sortable).

pub mod cart_item;
pub mod category;
pub mod chat_presence;
pub mod checkout_claim;
pub mod conversation;
pub mod conversation_member;
pub mod favorite;
pub mod idempotency_key;
pub mod media;
pub mod message;
pub mod message_report;
pub mod one_time_code;
pub mod order;
pub mod order_event;
pub mod order_item;
pub mod payment;
pub mod product;
pub mod product_image;
pub mod product_variant;
pub mod refresh_token;
pub mod refund;
pub mod review;
pub mod throttle;
pub mod token_family;
pub mod user;
pub mod user_block;

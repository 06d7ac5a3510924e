//! Shared HTTP pieces: extractors, pagination, middleware, health and metrics.

pub mod extract;
pub mod health;
pub mod idempotent;
pub mod ip_limit;
pub mod middleware;
pub mod pagination;
pub mod unread_body;

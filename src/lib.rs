//! Atelier: the API behind the tailoring marketplace's mobile app.
//!
//! Layers, outermost first: `http` (shared extractors, middleware, errors on the
//! wire), feature areas (`auth`, `store`, `media`, `chat`, each with its own `http`, services and
//! queries), and `storage` (connection, entities, migrations).

pub mod auth;
pub mod chat;
pub mod commissions;
pub mod config;
pub mod error;
pub mod fittings;
pub mod housekeeping;
pub mod http;
pub mod idempotency;
pub mod jobs;
pub mod mail;
pub mod media;
pub mod notifications;
pub mod openapi;
pub mod startup;
pub mod state;
pub mod storage;
pub mod store;
pub mod tailors;
pub mod telemetry;
pub mod throttle;
pub mod validation;
pub mod wallet;

//! One file per table. Timestamps are UTC; ids are UUID v7 (sortable).

pub mod one_time_code;
pub mod refresh_token;
pub mod throttle;
pub mod token_family;
pub mod user;

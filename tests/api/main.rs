//! End-to-end tests: the real server on a free port, real HTTP, real SMTP,
//! every scenario on SQLite and on PostgreSQL.

mod helpers;
mod smtp;
mod spec_check;

mod account_deletion;
mod avatar;
mod chat;
mod chat_cluster;
mod chat_presence;
mod chat_resume;
mod chat_support;
mod chat_ws;
mod commission_fittings;
mod commissions;
mod commissions_money;
mod concurrency;
mod errors;
mod export;
mod fittings;
mod fittings_concurrency;
mod follows;
mod housekeeping;
mod login;
mod measurements;
mod media;
mod media_s3;
mod openapi;
mod operations;
mod orders;
mod password;
mod payments;
mod paystack_mock;
mod portfolio;
mod process;
mod register;
mod resilience;
mod sessions;
mod shop;
mod strict_input;
mod tailor_dashboard;
mod tailor_directory;
mod tailor_profiles;
mod tailor_reviews;
mod tokens;
mod users;

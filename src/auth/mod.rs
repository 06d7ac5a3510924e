//! Accounts and sessions: registration with an emailed code, login with
//! rotating refresh tokens, password change and reset, the user directory,
//! account deletion.
//!
//! `service` and its siblings hold the rules and know nothing of HTTP;
//! `http` turns requests into calls and results into responses.

mod account;
mod codes;
mod deletion;
mod erasure;
mod error;
mod export;
pub mod http;
mod password;
mod recovery;
mod revoked;
mod rules;
mod service;
mod session;
mod step_up;
mod token_store;
mod tokens;
mod user_cache;
mod users_repo;

pub use account::{NewAccount, ProfileChanges, UserQuery};
pub use deletion::AccountDeletion;
pub use erasure::hold_live_account;
pub use error::AuthError;
pub use export::{DataExport, EXPORTS_PER_HOUR};
pub use password::Passwords;
pub use recovery::{PasswordChange, ResetConfirmation};
/// The phone rule, for other areas' phone fields (tailor profiles).
pub use rules::check_phone;
pub use service::{AuthService, SessionWatcher};
pub use session::{Credentials, TokenPair};
pub use step_up::{ConfirmationCode, SensitiveChange};
pub use user_cache::UserCache;

/// Roles a user can register with.
pub const ROLES: [&str; 2] = ["customer", "tailor"];

//! Account deletion, as both app stores require of apps with sign-up: with
//! the current password, refused while money is in motion, and final.

use uuid::Uuid;

use super::erasure::{self, Erasure};
use super::{AuthError, AuthService};
use crate::storage::entities::user;
use crate::validation::FieldErrors;

pub enum AccountDeletion {
    /// Personal data erased, every token and socket ended; the email and
    /// username are free again.
    Deleted,
    /// Nothing changed: these orders (as customer or tailor) are unpaid,
    /// paid but not delivered, or have a refund that is not settled; these
    /// commissions are paid for, being made, delivered or disputed.
    OpenOrders {
        orders: Vec<Uuid>,
        commissions: Vec<Uuid>,
    },
    /// Nothing changed: the tailor's wallet holds their money (kobo).
    MoneyHeld {
        pending: i64,
        available: i64,
        withdrawing: i64,
    },
}

impl AuthService {
    /// `password` is the current one, checked (and counted) like a password
    /// change's old password.
    pub async fn delete_account(
        &self,
        account: user::Model,
        password: Option<String>,
    ) -> Result<AccountDeletion, AuthError> {
        let mut errors = FieldErrors::new();
        let password = errors.required("password", &password);
        errors.into_result()?;
        let password = password.unwrap_or_default();

        // The same counter as a password change: both guess the same secret.
        let failures_key = format!("password:{}", account.id);
        self.count_attempt(&failures_key).await?;
        if !self
            .passwords
            .verify(password, Some(&account.password_hash))
            .await?
        {
            return Err(FieldErrors::single(
                "password",
                "Your password was entered incorrectly. Please enter it again.",
            )
            .into());
        }
        self.forget_attempts(&failures_key).await?;

        match erasure::erase_account(&self.db, &account).await? {
            Erasure::Erased => {}
            // Another request deleted it meanwhile: this token is dead.
            Erasure::AlreadyGone => return Err(AuthError::TokenInvalid),
            Erasure::OpenOrders {
                orders,
                commissions,
            } => {
                tracing::info!(user_id = %account.id, orders = orders.len(), commissions = commissions.len(),
                    "account deletion refused: open orders or commissions");
                return Ok(AccountDeletion::OpenOrders {
                    orders,
                    commissions,
                });
            }
            Erasure::MoneyHeld {
                pending,
                available,
                withdrawing,
            } => {
                tracing::info!(user_id = %account.id, pending, available, withdrawing,
                    "account deletion refused: the wallet holds money");
                return Ok(AccountDeletion::MoneyHeld {
                    pending,
                    available,
                    withdrawing,
                });
            }
        }
        self.sessions_ended(account.id);
        tracing::info!(user_id = %account.id, role = %account.role, "account deleted");
        Ok(AccountDeletion::Deleted)
    }
}

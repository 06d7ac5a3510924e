//! Setting the account up: resolve (nothing stored), add the first one,
//! change it with the password and an emailed code. Paystack is asked before
//! any transaction opens; the transaction then starts with its first write.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::TransactionTrait;

use super::records::{self, NewAccount};
use super::{
    PayoutAccountError, PayoutAccountService, PayoutAccountView, ResolvedView, ensure_tailor,
};
use crate::auth::SensitiveChange;
use crate::mail::Email;
use crate::storage::StorageError;
use crate::storage::entities::user;
use crate::validation::FieldErrors;
use crate::wallet::transfers::{Bank, ProviderFailure};

/// Account lookups at Paystack per tailor per window (resolve, add and
/// change each make one): enough to fix a few typos, not to probe accounts.
const RESOLVES_PER_WINDOW: u32 = 20;
const RESOLVE_WINDOW: Duration = Duration::from_secs(3600);

/// Not `Debug`: it holds an account number.
#[derive(Default)]
pub struct ResolveInput {
    pub bank_code: Option<String>,
    pub account_number: Option<String>,
}

/// Not `Debug`: it holds an account number.
#[derive(Default)]
pub struct AccountInput {
    pub bank_code: Option<String>,
    pub account_number: Option<String>,
    /// The name the tailor saw and confirmed (from resolve).
    pub account_name: Option<String>,
}

/// Not `Debug`: it holds a code and an account number.
#[derive(Default)]
pub struct ChangeInput {
    pub code: Option<String>,
    pub account: AccountInput,
}

/// Checked input: the account number is only ever passed on to Paystack.
struct Checked<'a> {
    bank_code: &'a str,
    account_number: &'a str,
    account_name: Option<&'a str>,
}

impl Checked<'_> {
    fn last4(&self) -> String {
        self.account_number[self.account_number.len() - 4..].to_string()
    }
}

fn check<'a>(
    errors: &mut FieldErrors,
    bank_code: &'a Option<String>,
    account_number: &'a Option<String>,
) -> (Option<&'a str>, Option<&'a str>) {
    let bank = errors.required("bank_code", bank_code).map(str::trim);
    if let Some(bank) = bank {
        errors.max_len("bank_code", bank, 20);
    }
    let number = errors
        .required("account_number", account_number)
        .map(str::trim);
    let number = number.filter(|n| {
        let ok = n.len() == 10 && n.bytes().all(|b| b.is_ascii_digit());
        if !ok {
            errors.add(
                "account_number",
                "Enter the 10-digit account number (NUBAN).",
            );
        }
        ok
    });
    (bank, number)
}

/// Records what is wrong in `errors`; `Some` when nothing was.
fn check_account<'a>(errors: &mut FieldErrors, input: &'a AccountInput) -> Option<Checked<'a>> {
    let (bank, number) = check(errors, &input.bank_code, &input.account_number);
    let name = errors
        .required("account_name", &input.account_name)
        .map(str::trim);
    if let Some(name) = name {
        errors.max_len("account_name", name, 200);
    }
    Some(Checked {
        bank_code: bank?,
        account_number: number?,
        account_name: Some(name?),
    })
    .filter(|_| errors.is_empty())
}

/// Names compared as a person would: case, spacing and punctuation aside.
fn same_name(a: &str, b: &str) -> bool {
    let words = |s: &str| -> Vec<String> {
        s.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_uppercase)
            .collect()
    };
    words(a) == words(b)
}

/// A recipient created at Paystack, not yet stored.
struct Registered {
    bank_name: String,
    account_name: String,
    recipient_code: String,
}

impl PayoutAccountService {
    /// Paystack's bank list (cached).
    pub async fn banks(&self, user: &user::Model) -> Result<Arc<Vec<Bank>>, PayoutAccountError> {
        ensure_tailor(user)?;
        self.banks.get(self.transfers()?).await
    }

    /// The bank's name for the account, for the tailor to confirm. Nothing is stored.
    pub async fn resolve(
        &self,
        user: &user::Model,
        input: ResolveInput,
    ) -> Result<ResolvedView, PayoutAccountError> {
        ensure_tailor(user)?;
        let mut errors = FieldErrors::new();
        let (bank, number) = check(&mut errors, &input.bank_code, &input.account_number);
        errors.into_result()?;
        let (Some(bank_code), Some(account_number)) = (bank, number) else {
            unreachable!("checked above");
        };
        let checked = Checked {
            bank_code,
            account_number,
            account_name: None,
        };
        let (bank, account_name) = self.look_up(user, &checked).await?;
        Ok(ResolvedView {
            bank_code: bank.code,
            bank_name: bank.name,
            account_name,
            account_last4: checked.last4(),
        })
    }

    /// Checks the bank code against the list, then asks Paystack for the
    /// account's name (counted against the tailor's lookups).
    async fn look_up(
        &self,
        user: &user::Model,
        checked: &Checked<'_>,
    ) -> Result<(Bank, String), PayoutAccountError> {
        let transfers = self.transfers()?;
        let banks = self.banks.get(transfers).await?;
        let bank = banks
            .iter()
            .find(|b| b.code == checked.bank_code)
            .cloned()
            .ok_or_else(|| {
                FieldErrors::single(
                    "bank_code",
                    "Unknown bank code: pick one from the bank list.",
                )
            })?;
        self.throttles
            .hit(
                &format!("payout-resolve:{}", user.id),
                RESOLVES_PER_WINDOW,
                RESOLVE_WINDOW,
            )
            .await?
            .map_err(PayoutAccountError::Throttled)?;
        let resolved = transfers
            .resolve_account(checked.account_number, checked.bank_code)
            .await
            .map_err(|failure| account_failure(failure, "resolve"))?;
        Ok((bank, resolved.account_name))
    }

    /// Resolves again, checks the confirmed name, creates the recipient.
    async fn register(
        &self,
        user: &user::Model,
        checked: &Checked<'_>,
    ) -> Result<Registered, PayoutAccountError> {
        let (bank, resolved_name) = self.look_up(user, checked).await?;
        if !checked
            .account_name
            .is_some_and(|name| same_name(name, &resolved_name))
        {
            return Err(FieldErrors::single(
                "account_name",
                format!(
                    "The bank's name for this account is \"{resolved_name}\". Check the account number, or confirm that name."
                ),
            )
            .into());
        }
        let recipient = self
            .transfers()?
            .create_transfer_recipient(&resolved_name, checked.account_number, checked.bank_code)
            .await
            .map_err(|failure| account_failure(failure, "create a recipient for"))?;
        let details = recipient.details.unwrap_or_default();
        Ok(Registered {
            bank_name: details.bank_name.unwrap_or(bank.name),
            account_name: details.account_name.unwrap_or(resolved_name),
            recipient_code: recipient.recipient_code,
        })
    }

    /// Adds the tailor's first account (409 once one exists).
    pub async fn add(
        &self,
        user: &user::Model,
        input: AccountInput,
    ) -> Result<PayoutAccountView, PayoutAccountError> {
        ensure_tailor(user)?;
        let mut errors = FieldErrors::new();
        let checked = check_account(&mut errors, &input);
        errors.into_result()?;
        let checked = checked.expect("checked above");
        if records::current(&self.db, user.id).await?.is_some() {
            return Err(account_exists());
        }
        let registered = self.register(user, &checked).await?;
        let now = Utc::now();
        let new = self.new_account(user, &checked, registered, now);
        let _gate = self.writes.enter().await;
        let txn = self.db.begin().await?;
        let row = match records::insert(&txn, new, now).await {
            Ok(row) => row,
            // A concurrent add won; its recipient is the one kept.
            Err(StorageError::UniqueViolation(_)) => return Err(account_exists()),
            Err(e) => return Err(e.into()),
        };
        self.outbox
            .enqueue(&txn, &notice(user, &row, false), None)
            .await?;
        txn.commit().await?;
        self.outbox.wake();
        tracing::info!(tailor = %user.id, account = %row.id, usable_from = %row.usable_from, "payout account added");
        Ok(records::view(row))
    }

    /// Step one of a change: the password, then a code by email.
    pub async fn request_change(
        &self,
        user: &user::Model,
        password: Option<String>,
    ) -> Result<(), PayoutAccountError> {
        ensure_tailor(user)?;
        if records::current(&self.db, user.id).await?.is_none() {
            return Err(PayoutAccountError::NoAccount);
        }
        self.auth
            .send_confirmation_code(user, password.as_deref(), SensitiveChange::PayoutAccount)
            .await?;
        Ok(())
    }

    /// Step two: with the emailed code, replaces the account. The new one
    /// waits out the cooldown like a first account.
    pub async fn change(
        &self,
        user: &user::Model,
        input: ChangeInput,
    ) -> Result<PayoutAccountView, PayoutAccountError> {
        ensure_tailor(user)?;
        let mut errors = FieldErrors::new();
        errors.required("code", &input.code);
        let checked = check_account(&mut errors, &input.account);
        errors.into_result()?;
        let checked = checked.expect("checked above");
        if records::current(&self.db, user.id).await?.is_none() {
            return Err(PayoutAccountError::NoAccount);
        }
        // The code first: without it nobody learns anything about the account.
        let code = self
            .auth
            .check_confirmation_code(user, input.code.as_deref(), SensitiveChange::PayoutAccount)
            .await?;
        let registered = self.register(user, &checked).await?;
        let now = Utc::now();
        let new = self.new_account(user, &checked, registered, now);
        let _gate = self.writes.enter().await;
        let txn = self.db.begin().await?;
        if !self.auth.consume_confirmation_code(&txn, &code).await? {
            return Err(crate::auth::AuthError::InvalidCode.into());
        }
        records::retire_current(&txn, user.id, now).await?;
        let row = records::insert(&txn, new, now).await?;
        self.outbox
            .enqueue(&txn, &notice(user, &row, true), None)
            .await?;
        txn.commit().await?;
        self.outbox.wake();
        self.auth.confirmation_done(&code).await?;
        tracing::warn!(tailor = %user.id, account = %row.id, usable_from = %row.usable_from, "payout account changed");
        Ok(records::view(row))
    }

    fn new_account(
        &self,
        user: &user::Model,
        checked: &Checked<'_>,
        registered: Registered,
        now: DateTime<Utc>,
    ) -> NewAccount {
        let cooldown = chrono::Duration::from_std(self.settings.cooldown)
            .unwrap_or(chrono::Duration::days(365));
        NewAccount {
            tailor_id: user.id,
            bank_code: checked.bank_code.to_string(),
            bank_name: registered.bank_name,
            account_name: registered.account_name,
            account_last4: checked.last4(),
            recipient_code: registered.recipient_code,
            usable_from: now + cooldown,
        }
    }
}

fn account_exists() -> PayoutAccountError {
    PayoutAccountError::Conflict(
        "payout_account_exists",
        "You have a payout account already. To change it, confirm with your password and the emailed code (POST /tailor/api/payout-account/change/, then PUT).".into(),
    )
}

/// Paystack's answer about an account, for the tailor: a refusal is about
/// the account; anything else (including our key being refused) is an outage.
fn account_failure(failure: ProviderFailure, what: &str) -> PayoutAccountError {
    match failure {
        ProviderFailure::Refused {
            status: 400 | 404 | 422,
            ..
        } => FieldErrors::single(
            "account_number",
            "The bank has no account with this number. Check the number and the bank.",
        )
        .into(),
        other => {
            tracing::error!(failure = %other, "Paystack could not {what} an account");
            PayoutAccountError::ProviderDown(other.to_string())
        }
    }
}

/// The security email after an add or a change.
fn notice(
    user: &user::Model,
    row: &crate::storage::entities::payout_account::Model,
    changed: bool,
) -> Email {
    let (subject, what) = if changed {
        ("Your Atelier payout account was changed", "changed")
    } else {
        (
            "A payout account was added to your Atelier account",
            "added",
        )
    };
    Email {
        to: user.email.clone(),
        subject: subject.into(),
        body: format!(
            "Hello {},\n\nThe bank account your Atelier earnings are paid to was {what}: {} account ending {} ({}).\n\
             Payouts can go to it from {} (UTC).\n\n\
             If you did not do this, change your password now and contact us before then: no payout goes to the new account until that time.\n",
            user.username,
            row.bank_name,
            row.account_last4,
            row.account_name,
            row.usable_from.format("%Y-%m-%d %H:%M"),
        ),
        html: None,
    }
}

#[cfg(test)]
mod tests {
    use super::same_name;

    #[test]
    fn names_match_as_a_person_reads_them() {
        assert!(same_name("ADA  OBI-EZE", "ada obi eze"));
        assert!(same_name("Obi, Ada", "OBI ADA"));
        assert!(!same_name("ADA OBI", "OBI ADA"));
        assert!(!same_name("ADA OBI", "ADA OBIE"));
    }
}

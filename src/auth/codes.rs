//! Six-digit emailed codes: drawn from the OS CSPRNG, stored as a keyed hash
//! (HMAC-SHA256 with a key derived from the secret key), single use,
//! expiring, and dead after too many wrong tries.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use chrono::Utc;
use hmac::{Hmac, Mac};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::{AuthError, AuthService};
use crate::mail::Email;
use crate::storage::entities::one_time_code::{self, Column, Entity as Code};
use crate::storage::entities::user;

#[derive(Debug, Clone, Copy)]
pub enum CodePurpose {
    VerifyEmail,
    ResetPassword,
    /// A sensitive change to the account (see `step_up`), keyed by user id.
    ChangePayoutAccount,
}

impl CodePurpose {
    fn as_str(self) -> &'static str {
        match self {
            CodePurpose::VerifyEmail => "verify_email",
            CodePurpose::ResetPassword => "reset_password",
            CodePurpose::ChangePayoutAccount => "change_payout_account",
        }
    }
}

const LOWEST: u32 = 100_000;
const SPAN: u32 = 900_000;

/// A uniform code in 100000–999999 (rejection sampling, no modulo bias).
pub fn generate_code() -> String {
    let zone = u32::MAX - u32::MAX % SPAN;
    loop {
        let n = OsRng.next_u32();
        if n < zone {
            return (LOWEST + n % SPAN).to_string();
        }
    }
}

pub fn is_well_formed(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) && !code.starts_with('0')
}

/// A code that matched, to be consumed inside the transaction that acts on it.
pub struct MatchedCode {
    id: Uuid,
    code_hash: String,
}

impl AuthService {
    fn code_hash(&self, purpose: CodePurpose, identifier: &str, code: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.code_key).expect("any key length");
        for part in [purpose.as_str(), identifier, code] {
            mac.update(part.as_bytes());
            mac.update(&[0]);
        }
        hex(&mac.finalize().into_bytes())
    }

    /// Creates a fresh code for the address, replacing any earlier one.
    pub(super) async fn issue_code(
        &self,
        purpose: CodePurpose,
        identifier: &str,
    ) -> Result<String, AuthError> {
        let code = generate_code();
        let now = Utc::now();
        let row = one_time_code::ActiveModel {
            id: Set(Uuid::now_v7()),
            purpose: Set(purpose.as_str().into()),
            identifier: Set(identifier.into()),
            code_hash: Set(self.code_hash(purpose, identifier, &code)),
            attempts: Set(0),
            expires_at: Set(now + self.settings.code_ttl),
            created_at: Set(now),
        };
        Code::insert(row)
            .on_conflict(
                OnConflict::columns([Column::Purpose, Column::Identifier])
                    .update_columns([
                        Column::CodeHash,
                        Column::Attempts,
                        Column::ExpiresAt,
                        Column::CreatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await?;
        Ok(code)
    }

    /// Issues a fresh code for the user's address and emails it.
    pub(super) async fn email_code(
        &self,
        user: &user::Model,
        purpose: CodePurpose,
    ) -> Result<(), AuthError> {
        self.email_code_for(user, purpose, &user.email_lower).await
    }

    /// As `email_code`, with the code kept under `identifier`.
    pub(super) async fn email_code_for(
        &self,
        user: &user::Model,
        purpose: CodePurpose,
        identifier: &str,
    ) -> Result<(), AuthError> {
        let code = self.issue_code(purpose, identifier).await?;
        let minutes = self.settings.code_ttl.as_secs().div_ceil(60);
        let (subject, what, otherwise) = match purpose {
            CodePurpose::VerifyEmail => (
                "Your Atelier verification code",
                "verification code",
                "If you did not create an account, ignore this email.",
            ),
            CodePurpose::ResetPassword => (
                "Your Atelier password reset code",
                "password reset code",
                "If you did not ask to reset your password, ignore this email: your password has not changed.",
            ),
            CodePurpose::ChangePayoutAccount => (
                "Your Atelier code to change your payout account",
                "code to change your payout account",
                "If you did not ask for this, someone who knows your password is trying to redirect your payouts: change your password now. Nothing changes without this code.",
            ),
        };
        self.send_email(Email {
            to: user.email.clone(),
            subject: subject.into(),
            body: format!(
                "Hello {},\n\nYour Atelier {what} is {code}.\nIt expires in {minutes} minutes.\n\n{otherwise}\n",
                user.username
            ),
            html: None,
        })
        .await
    }

    /// Checks a code without consuming it. Every try counts, before the
    /// code is even looked at: against the address's window (429 past the
    /// limit) and against the code itself, which dies after its last try. Both
    /// counts are atomic, so parallel guesses cannot exceed them.
    pub(super) async fn match_code(
        &self,
        purpose: CodePurpose,
        identifier: &str,
        code: &str,
    ) -> Result<MatchedCode, AuthError> {
        self.count_attempt(&code_attempts_key(purpose, identifier))
            .await?;
        let row = Code::find()
            .filter(Column::Purpose.eq(purpose.as_str()))
            .filter(Column::Identifier.eq(identifier))
            .one(&self.db)
            .await?
            .ok_or(AuthError::InvalidCode)?;
        if row.expires_at <= Utc::now() {
            Code::delete_by_id(row.id).exec(&self.db).await?;
            return Err(AuthError::CodeExpired);
        }
        let claimed = Code::update_many()
            .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
            .filter(Column::Id.eq(row.id))
            .filter(Column::Attempts.lt(self.max_code_attempts()))
            .exec(&self.db)
            .await?;
        let matches = is_well_formed(code)
            && bool::from(
                self.code_hash(purpose, identifier, code)
                    .as_bytes()
                    .ct_eq(row.code_hash.as_bytes()),
            );
        if claimed.rows_affected == 1 && matches {
            Ok(MatchedCode {
                id: row.id,
                code_hash: row.code_hash,
            })
        } else {
            Err(AuthError::InvalidCode)
        }
    }

    fn max_code_attempts(&self) -> i32 {
        i32::try_from(self.settings.code_max_attempts).unwrap_or(i32::MAX)
    }

    /// Deletes the matched code; false when a concurrent request took it first.
    pub(super) async fn consume_code(
        &self,
        conn: &impl ConnectionTrait,
        matched: &MatchedCode,
    ) -> Result<bool, AuthError> {
        let deleted = Code::delete_many()
            .filter(Column::Id.eq(matched.id))
            .filter(Column::CodeHash.eq(matched.code_hash.as_str()))
            .exec(conn)
            .await?;
        Ok(deleted.rows_affected == 1)
    }

    pub(super) async fn clear_code_attempts(
        &self,
        purpose: CodePurpose,
        identifier: &str,
    ) -> Result<(), AuthError> {
        self.forget_attempts(&code_attempts_key(purpose, identifier))
            .await
    }
}

fn code_attempts_key(purpose: CodePurpose, identifier: &str) -> String {
    format!("code:{}:{identifier}", purpose.as_str())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::{generate_code, is_well_formed};

    #[test]
    fn codes_are_six_digits_without_leading_zero() {
        for _ in 0..1000 {
            let code = generate_code();
            assert!(is_well_formed(&code), "{code}");
        }
        assert!(!is_well_formed("012345"));
        assert!(!is_well_formed("12345a"));
    }
}

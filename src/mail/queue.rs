//! Emails as jobs. The message is sealed (XChaCha20-Poly1305 under a key
//! derived from the secret key) before it is written: a verification or
//! reset code must not sit readable in the database while it waits.

use std::sync::Arc;

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Email, MailError, Mailer};
use crate::jobs::{Job, JobFailure, JobQueue, JobResult, NewJob, Outcome, enqueue};
use crate::storage::StorageError;

pub const EMAIL_JOB: &str = "email.send";

/// SMTP trouble is retried for about a day before the email is dead.
const MAX_ATTEMPTS: i32 = 12;

#[derive(Serialize, Deserialize)]
struct Sealed {
    /// Hex: the 24-byte nonce, then the ciphertext.
    sealed: String,
}

pub struct EmailQueue {
    cipher: XChaCha20Poly1305,
}

impl EmailQueue {
    pub fn new(secret_key: &str) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(b"atelier email jobs\0");
        hasher.update(secret_key.as_bytes());
        let key = hasher.finalize();
        Self {
            cipher: XChaCha20Poly1305::new(&key),
        }
    }

    /// Queues `email`, as part of the caller's transaction when `conn` is
    /// one. `dedup_key` makes it once-only for an event that may repeat.
    pub async fn enqueue(
        &self,
        conn: &impl ConnectionTrait,
        email: &Email,
        dedup_key: Option<String>,
    ) -> Result<bool, StorageError> {
        let mut job = NewJob::new(EMAIL_JOB, &self.seal(email)).max_attempts(MAX_ATTEMPTS);
        if let Some(key) = dedup_key {
            job = job.dedup_key(key);
        }
        enqueue(conn, job).await
    }

    fn seal(&self, email: &Email) -> Sealed {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let plain = serde_json::to_vec(email).expect("emails serialise");
        let cipher = self
            .cipher
            .encrypt(&nonce, plain.as_slice())
            .expect("XChaCha20-Poly1305 encrypts any length we send");
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&cipher);
        Sealed {
            sealed: hex(&bytes),
        }
    }

    fn open(&self, sealed: &Sealed) -> Option<Email> {
        let bytes = unhex(&sealed.sealed)?;
        if bytes.len() < 24 {
            return None;
        }
        let (nonce, cipher) = bytes.split_at(24);
        let nonce: [u8; 24] = nonce.try_into().ok()?;
        let plain = self.cipher.decrypt(&XNonce::from(nonce), cipher).ok()?;
        serde_json::from_slice(&plain).ok()
    }

    /// This instance sends queued emails with `mailer`.
    pub fn serve(self: &Arc<Self>, queue: &JobQueue, mailer: Arc<Mailer>) {
        let this = self.clone();
        queue.register(EMAIL_JOB, move |job| {
            let this = this.clone();
            let mailer = mailer.clone();
            async move { this.send(&mailer, job).await }
        });
    }

    async fn send(&self, mailer: &Mailer, job: Job) -> JobResult {
        let sealed: Sealed = job.input()?;
        // Sealed under another secret key (it was changed): it can never open.
        let email = self.open(&sealed).ok_or_else(|| {
            JobFailure::Fatal("the email does not open with this secret key".into())
        })?;
        match mailer.send(&email).await {
            Ok(()) => Ok(Outcome::Done),
            Err(MailError::Address(why)) => Err(JobFailure::Fatal(format!("bad address: {why}"))),
            Err(err) => Err(JobFailure::retry(err)),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email() -> Email {
        Email {
            to: "ada@example.com".into(),
            subject: "Your code".into(),
            body: "Your code is 123456.".into(),
            html: None,
        }
    }

    #[test]
    fn a_sealed_email_opens_with_the_same_key_only() {
        let queue = EmailQueue::new("a-secret-key-of-at-least-32-characters!!");
        let sealed = queue.seal(&email());
        assert!(!sealed.sealed.contains("123456"));
        let opened = queue.open(&sealed).expect("opens");
        assert_eq!(opened.body, "Your code is 123456.");
        let other = EmailQueue::new("another-secret-key-of-32-characters-or-more");
        assert!(other.open(&sealed).is_none());
    }

    #[test]
    fn a_tampered_email_does_not_open() {
        let queue = EmailQueue::new("a-secret-key-of-at-least-32-characters!!");
        let mut sealed = queue.seal(&email());
        let last = sealed.sealed.pop().unwrap();
        sealed.sealed.push(if last == '0' { '1' } else { '0' });
        assert!(queue.open(&sealed).is_none());
    }
}

/// What the services hold to send email: the sealing queue and the job
/// queue's handle (to start a send at once on this instance).
#[derive(Clone)]
pub struct Outbox {
    emails: Arc<EmailQueue>,
    jobs: Arc<JobQueue>,
}

impl Outbox {
    pub fn new(emails: Arc<EmailQueue>, jobs: Arc<JobQueue>) -> Self {
        Self { emails, jobs }
    }

    /// Queues the email in the caller's transaction; call [`Outbox::wake`]
    /// after the commit.
    pub async fn enqueue(
        &self,
        conn: &impl ConnectionTrait,
        email: &Email,
        dedup_key: Option<String>,
    ) -> Result<bool, StorageError> {
        self.emails.enqueue(conn, email, dedup_key).await
    }

    /// Queues the email on its own and starts sending it.
    pub async fn send(&self, email: &Email) -> Result<(), StorageError> {
        self.emails.enqueue(self.jobs.db(), email, None).await?;
        self.jobs.wake();
        Ok(())
    }

    pub fn wake(&self) {
        self.jobs.wake();
    }

    pub fn jobs(&self) -> &Arc<JobQueue> {
        &self.jobs
    }
}

//! Outgoing email: real SMTP when `SMTP_URL` is set, otherwise a development
//! mailer that writes each message to the log and to an outbox folder.
//! Every email goes through the job queue ([`EmailQueue`]), so one that
//! could not be sent (SMTP down, the process stopped) is sent later.

mod layout;
mod queue;

pub use layout::{Layout, escape};
pub use queue::{EMAIL_JOB, EmailQueue, Outbox};

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct Email {
    pub to: String,
    pub subject: String,
    /// The plain-text part (every email has one).
    pub body: String,
    /// An HTML alternative, for the templated emails.
    #[serde(default)]
    pub html: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("bad address: {0}")]
    Address(String),
    #[error("smtp: {0}")]
    Smtp(String),
    #[error("outbox: {0}")]
    Outbox(#[from] std::io::Error),
}

pub enum Mailer {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
    },
    /// Development default: no email leaves the machine.
    Outbox { dir: PathBuf, from: Mailbox },
}

impl Mailer {
    pub fn from_settings(
        smtp_url: Option<&str>,
        from: &str,
        outbox: PathBuf,
    ) -> anyhow::Result<Self> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| anyhow::anyhow!("ATELIER_EMAIL_FROM is not an address: {e}"))?;
        let Some(url) = smtp_url else {
            return Ok(Mailer::Outbox { dir: outbox, from });
        };
        // `tls=starttls` reads better; lettre calls it `tls=required`.
        let url = url.replace("tls=starttls", "tls=required");
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
            .map_err(|e| anyhow::anyhow!("bad SMTP_URL: {e}"))?
            .timeout(Some(Duration::from_secs(20)))
            .build();
        Ok(Mailer::Smtp { transport, from })
    }

    pub fn describe(&self) -> String {
        match self {
            Mailer::Smtp { .. } => "smtp".into(),
            Mailer::Outbox { dir, .. } => format!("log + outbox at {}", dir.display()),
        }
    }

    pub async fn send(&self, email: &Email) -> Result<(), MailError> {
        match self {
            Mailer::Smtp { transport, from } => {
                let message = build(from, email)?;
                transport
                    .send(message)
                    .await
                    .map_err(|e| MailError::Smtp(e.to_string()))?;
                tracing::info!(to = %email.to, subject = %email.subject, "email sent");
                Ok(())
            }
            Mailer::Outbox { dir, from } => {
                let message = build(from, email)?;
                tokio::fs::create_dir_all(dir).await?;
                let path = dir.join(format!("{}.eml", uuid::Uuid::now_v7()));
                tokio::fs::write(&path, message.formatted()).await?;
                // This mailer exists so a developer can read codes without an
                // SMTP server: printing the body is its purpose.
                tracing::info!(
                    to = %email.to,
                    subject = %email.subject,
                    file = %path.display(),
                    "email (development mailer, not sent):\n{}",
                    email.body
                );
                Ok(())
            }
        }
    }
}

fn build(from: &Mailbox, email: &Email) -> Result<Message, MailError> {
    let to: Mailbox = email
        .to
        .parse()
        .map_err(|e: lettre::address::AddressError| MailError::Address(e.to_string()))?;
    let builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(email.subject.clone());
    let message = match &email.html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(
            email.body.clone(),
            html.clone(),
        )),
        None => builder.body(email.body.clone()),
    };
    message.map_err(|e| MailError::Smtp(e.to_string()))
}

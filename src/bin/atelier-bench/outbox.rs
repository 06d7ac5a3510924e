//! Verification codes, read from the `.eml` files the development mailer
//! writes to the server's outbox/, since the bench receives no email.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::POLL_INTERVAL;

/// Polls the development mailer's outbox until every address has a code;
/// returns the codes in the order of `emails`.
pub async fn wait_for_codes(
    outbox: &Path,
    emails: &[String],
    timeout: Duration,
) -> Result<Vec<String>> {
    let wanted: HashSet<&str> = emails.iter().map(String::as_str).collect();
    let mut found: HashMap<String, String> = HashMap::new();
    let mut done_files: HashSet<PathBuf> = HashSet::new();
    let deadline = Instant::now() + timeout;
    loop {
        scan_outbox(outbox, &wanted, &mut done_files, &mut found).await?;
        if found.len() == wanted.len() {
            break;
        }
        if Instant::now() >= deadline {
            bail!(
                "after {}s only {} of {} verification emails were in {} \
                 (the server must use the development mailer, i.e. no SMTP_URL, with this data dir)",
                timeout.as_secs(),
                found.len(),
                wanted.len(),
                outbox.display()
            );
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    emails
        .iter()
        .map(|email| {
            found
                .remove(email)
                .with_context(|| format!("no code for {email}"))
        })
        .collect()
}

/// Reads the `.eml` files not settled yet. A file is settled once it proves
/// to be for someone else or yields our code; an incomplete one (the mailer
/// may still be writing it) is read again on the next scan.
async fn scan_outbox(
    outbox: &Path,
    wanted: &HashSet<&str>,
    done_files: &mut HashSet<PathBuf>,
    found: &mut HashMap<String, String>,
) -> Result<()> {
    let mut entries = match tokio::fs::read_dir(outbox).await {
        Ok(entries) => entries,
        // The mailer creates the folder with its first email.
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(err).with_context(|| format!("cannot read {}", outbox.display())),
    };
    let mut paths = Vec::new();
    while let Some(entry) = entries.next_entry().await? {
        let path = entry.path();
        if path.extension().is_some_and(|ext| ext == "eml") && !done_files.contains(&path) {
            paths.push(path);
        }
    }
    // Names are UUIDv7, so name order is sending order and a later code for
    // the same address wins.
    paths.sort();
    for path in paths {
        let Ok(bytes) = tokio::fs::read(&path).await else {
            continue;
        };
        let message = String::from_utf8_lossy(&bytes);
        let Some(to) = recipient(&message) else {
            continue;
        };
        if !wanted.contains(to.as_str()) {
            done_files.insert(path);
            continue;
        }
        if let Some(code) = verification_code(&message) {
            found.insert(to, code);
            done_files.insert(path);
        }
    }
    Ok(())
}

/// The address in the `To:` header, lowercased.
fn recipient(message: &str) -> Option<String> {
    let headers = message.split("\r\n\r\n").next()?;
    let value = headers.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("to").then_some(value.trim())
    })?;
    let address = match (value.find('<'), value.rfind('>')) {
        (Some(open), Some(close)) if open < close => &value[open + 1..close],
        _ => value,
    };
    Some(address.trim().to_lowercase())
}

fn verification_code(message: &str) -> Option<String> {
    const MARKER: &str = "verification code is ";
    let start = message.find(MARKER)? + MARKER.len();
    let code = message.get(start..start + 6)?;
    code.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| code.to_string())
}

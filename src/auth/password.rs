//! Password hashing (argon2id, off the async runtime) and Django's default
//! password validators.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::{OnceCell, Semaphore};

use super::AuthError;

#[derive(Clone)]
pub struct Passwords {
    params: Params,
    /// One hash per core at a time: more would only queue inside the CPU
    /// while each holding its own ~19 MiB of memory.
    permits: Arc<Semaphore>,
    /// Verified against when the account does not exist, so that a login for
    /// an unknown name takes as long as one with a wrong password.
    dummy_hash: Arc<OnceCell<String>>,
}

impl Passwords {
    pub fn new(memory_kib: u32, iterations: u32) -> Self {
        let params = Params::new(memory_kib, iterations, 1, None).expect("valid argon2 params");
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            params,
            permits: Arc::new(Semaphore::new(cores)),
            dummy_hash: Arc::new(OnceCell::new()),
        }
    }

    fn argon2(params: Params) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    pub async fn hash(&self, password: &str) -> Result<String, AuthError> {
        let password = password.to_owned();
        let params = self.params.clone();
        self.blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            Self::argon2(params)
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| AuthError::Internal(format!("hashing failed: {e}")))
        })
        .await
    }

    /// Checks `password` against `hash`; with no hash (unknown account) it
    /// spends the same time and answers false.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> Result<bool, AuthError> {
        let (hash, real) = match hash {
            Some(h) => (h.to_owned(), true),
            None => (self.dummy_hash().await?, false),
        };
        let password = password.to_owned();
        let ok = self
            .blocking(move || {
                let Ok(parsed) = PasswordHash::new(&hash) else {
                    return Ok(false);
                };
                // The parameters come from the stored hash itself.
                Ok(Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok())
            })
            .await?;
        Ok(ok && real)
    }

    async fn dummy_hash(&self) -> Result<String, AuthError> {
        self.dummy_hash
            .get_or_try_init(|| self.hash("dummy password for unknown accounts"))
            .await
            .cloned()
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, AuthError> + Send + 'static,
    ) -> Result<T, AuthError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| AuthError::Internal(e.to_string()))?;
        // The permit travels with the work: a client that hangs up drops this
        // future, but the hash keeps its slot until it is really done.
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(|e| AuthError::Internal(format!("hashing task failed: {e}")))?
    }
}

/// Django's list of 20,000 common passwords (from `django.contrib.auth`, BSD licence).
static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("common-passwords.txt")
        .lines()
        .map(str::trim)
        .collect()
});

pub const MIN_LENGTH: usize = 8;
pub const MAX_LENGTH: usize = 4096;

/// Django's default validators. `attributes` are (label, value) pairs such as
/// ("username", "alice"); returns the messages for the password field.
pub fn validate_password(password: &str, attributes: &[(&str, &str)]) -> Vec<String> {
    let mut problems = Vec::new();
    let length = password.chars().count();
    if length < MIN_LENGTH {
        problems.push(format!(
            "This password is too short. It must contain at least {MIN_LENGTH} characters."
        ));
    }
    if length > MAX_LENGTH {
        problems.push(format!(
            "Ensure this field has no more than {MAX_LENGTH} characters."
        ));
    }
    let lower = password.to_lowercase();
    if COMMON_PASSWORDS.contains(lower.trim()) {
        problems.push("This password is too common.".into());
    }
    if !password.is_empty() && password.chars().all(|c| c.is_ascii_digit()) {
        problems.push("This password is entirely numeric.".into());
    }
    if let Some(label) = too_similar(&lower, attributes) {
        problems.push(format!("The password is too similar to the {label}."));
    }
    problems
}

const MAX_SIMILARITY: f64 = 0.7;

/// Django's UserAttributeSimilarityValidator: each attribute and each of its
/// word parts is compared with `SequenceMatcher.quick_ratio`.
fn too_similar<'a>(password: &str, attributes: &[(&'a str, &str)]) -> Option<&'a str> {
    for (label, value) in attributes {
        let value = value.to_lowercase();
        if value.is_empty() {
            continue;
        }
        let parts = value
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|p| !p.is_empty())
            .chain(std::iter::once(value.as_str()));
        for part in parts {
            if exceeds_length_ratio(password, part) {
                continue;
            }
            if quick_ratio(password, part) >= MAX_SIMILARITY {
                return Some(label);
            }
        }
    }
    None
}

fn exceeds_length_ratio(password: &str, value: &str) -> bool {
    let pwd_len = password.chars().count() as f64;
    let value_len = value.chars().count() as f64;
    pwd_len >= 10.0 * value_len && value_len < MAX_SIMILARITY / 2.0 * pwd_len
}

/// Upper bound on similarity: shared characters as a multiset, 2·M / (|a| + |b|).
fn quick_ratio(a: &str, b: &str) -> f64 {
    let mut counts = std::collections::HashMap::<char, i32>::new();
    for c in b.chars() {
        *counts.entry(c).or_default() += 1;
    }
    let mut matches = 0;
    for c in a.chars() {
        if let Some(n) = counts.get_mut(&c)
            && *n > 0
        {
            *n -= 1;
            matches += 1;
        }
    }
    let total = a.chars().count() + b.chars().count();
    if total == 0 {
        1.0
    } else {
        2.0 * matches as f64 / total as f64
    }
}

#[cfg(test)]
mod tests {
    use super::validate_password;

    #[test]
    fn applies_djangos_rules() {
        assert!(validate_password("Tailor-made-2026", &[("username", "ada")]).is_empty());
        assert!(validate_password("short1", &[])[0].contains("too short"));
        assert!(
            validate_password("password", &[])
                .iter()
                .any(|m| m.contains("too common"))
        );
        assert!(
            validate_password("8429301755", &[])
                .iter()
                .any(|m| m.contains("numeric"))
        );
        let similar = validate_password("adalovelace1", &[("username", "adalovelace")]);
        assert!(
            similar
                .iter()
                .any(|m| m.contains("too similar to the username")),
            "{similar:?}"
        );
    }
}

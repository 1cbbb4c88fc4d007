//! Password hashing with scrypt (PHC strings), off the async executor and with a cap on how many
//! hashes run at once, so a login storm cannot exhaust memory (128 MiB each at the defaults).

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use rand::RngCore;
use scrypt::password_hash::phc::PasswordHash;
use scrypt::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use scrypt::{Params, Scrypt};
use tokio::sync::Semaphore;

use crate::config::PasswordSettings;
use crate::error::AppError;
use crate::i18n::Msg;

/// Length rules, in characters. Upper bound: hashing cost must not be steerable by the client.
#[derive(Debug, Clone, Copy)]
pub struct PasswordPolicy {
    pub min_length: usize,
    pub max_length: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("Enter a password.")]
    Missing,
    #[error("Use at least {0} characters.")]
    TooShort(usize),
    #[error("Use at most {0} characters.")]
    TooLong(usize),
}

impl PasswordError {
    /// What the form shows next to the password field.
    pub fn message(&self) -> Msg {
        match self {
            PasswordError::Missing => Msg::new("error-password-missing"),
            PasswordError::TooShort(n) => Msg::new("error-too-short").with("min", *n),
            PasswordError::TooLong(n) => Msg::new("error-too-long").with("max", *n),
        }
    }
}

impl PasswordPolicy {
    pub fn check(&self, password: &str) -> Result<(), PasswordError> {
        let len = password.chars().count();
        if len == 0 {
            Err(PasswordError::Missing)
        } else if len < self.min_length {
            Err(PasswordError::TooShort(self.min_length))
        } else if len > self.max_length {
            Err(PasswordError::TooLong(self.max_length))
        } else {
            Ok(())
        }
    }
}

/// Outcome of checking a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Correct; `rehash` when the stored hash used other parameters than the configured ones.
    Match {
        rehash: bool,
    },
    Mismatch,
}

#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    permits: Arc<Semaphore>,
    /// A hash of nothing with the configured parameters: verifying against it costs what a real
    /// check costs, so an unknown email takes as long as a wrong password.
    decoy: Arc<str>,
    pub policy: PasswordPolicy,
}

impl PasswordHasher {
    pub fn new(settings: &PasswordSettings, concurrency: usize) -> Result<Self, AppError> {
        let params = Params::new(settings.log_n, settings.r, settings.p)
            .map_err(|_| AppError::Config("password: invalid scrypt parameters".into()))?;
        Ok(PasswordHasher {
            params,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            decoy: decoy_hash(&params).into(),
            policy: PasswordPolicy {
                min_length: settings.min_length,
                max_length: settings.max_length,
            },
        })
    }

    /// Hashes a new password into a PHC string.
    pub async fn hash(&self, password: String) -> Result<String, AppError> {
        let params = self.params;
        self.blocking(move || hash_with(params, &password)).await?
    }

    /// Checks `password` against `stored`; with no stored hash it checks the decoy and fails,
    /// in the same time.
    pub async fn verify(
        &self,
        password: String,
        stored: Option<String>,
    ) -> Result<Verdict, AppError> {
        let configured = self.params;
        let decoy = self.decoy.clone();
        self.blocking(move || {
            let (phc, real) = match &stored {
                Some(h) => (h.as_str(), true),
                None => (&*decoy, false),
            };
            let Ok(hash) = PasswordHash::new(phc) else {
                tracing::error!("stored password hash is not a valid PHC string");
                return Verdict::Mismatch;
            };
            let ok = Scrypt::new()
                .verify_password(password.as_bytes(), &hash)
                .is_ok();
            if !(ok && real) {
                return Verdict::Mismatch;
            }
            let rehash = Params::try_from(&hash)
                .map(|p| {
                    (p.log_n(), p.r(), p.p())
                        != (configured.log_n(), configured.r(), configured.p())
                })
                .unwrap_or(true);
            Verdict::Match { rehash }
        })
        .await
    }

    /// Waits for a hashing slot, then runs `f` on the blocking pool.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| AppError::Internal("password hasher closed".into()))?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| AppError::Internal(format!("password hashing task failed: {e}")))
    }
}

fn hash_with(params: Params, password: &str) -> Result<String, AppError> {
    Scrypt::new_with_params(params)
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("password hashing failed: {e}")))
}

/// A syntactically valid hash with random salt and output; no password matches it. Built without
/// running scrypt, so start-up stays fast.
fn decoy_hash(params: &Params) -> String {
    let mut salt = [0u8; 16];
    let mut output = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    rand::rngs::OsRng.fill_bytes(&mut output);
    format!(
        "$scrypt$ln={},r={},p={}${}${}",
        params.log_n(),
        params.r(),
        params.p(),
        STANDARD_NO_PAD.encode(salt),
        STANDARD_NO_PAD.encode(output)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher(log_n: u8) -> PasswordHasher {
        let settings = PasswordSettings {
            log_n,
            r: 8,
            p: 1,
            min_length: 8,
            max_length: 128,
            max_concurrent_hashes: 1,
        };
        PasswordHasher::new(&settings, 1).unwrap()
    }

    #[tokio::test]
    async fn hashes_verify_and_old_parameters_ask_for_rehash() {
        let weak = hasher(4);
        let hash = weak.hash("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$scrypt$ln=4,r=8,p=1$"));
        assert_eq!(
            weak.verify("correct horse".into(), Some(hash.clone()))
                .await
                .unwrap(),
            Verdict::Match { rehash: false }
        );
        assert_eq!(
            weak.verify("wrong horse".into(), Some(hash.clone()))
                .await
                .unwrap(),
            Verdict::Mismatch
        );
        let stronger = hasher(5);
        assert_eq!(
            stronger
                .verify("correct horse".into(), Some(hash))
                .await
                .unwrap(),
            Verdict::Match { rehash: true }
        );
    }

    #[tokio::test]
    async fn decoy_never_matches_and_parses() {
        let h = hasher(4);
        assert!(PasswordHash::new(&h.decoy).is_ok());
        assert_eq!(h.verify("".into(), None).await.unwrap(), Verdict::Mismatch);
    }

    #[test]
    fn policy_counts_characters() {
        let p = PasswordPolicy {
            min_length: 8,
            max_length: 10,
        };
        assert_eq!(p.check(""), Err(PasswordError::Missing));
        assert_eq!(p.check("short"), Err(PasswordError::TooShort(8)));
        assert!(p.check("ääääääää").is_ok());
        assert_eq!(p.check("12345678901"), Err(PasswordError::TooLong(10)));
    }
}

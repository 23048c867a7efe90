//! Password hashing: argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane). Hashing is
//! slow on purpose, so callers run it on the blocking pool, never on an actix worker thread.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::OnceLock;

fn hasher() -> Argon2<'static> {
    let params =
        Params::new(19 * 1024, 2, 1, None).unwrap_or_else(|_| unreachable!("fixed params"));
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A password as typed, checked against the policy. Never logged.
pub struct Password(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("password must have 10 to 128 characters")]
    Length,
    #[error("password must not contain the e-mail address")]
    ContainsEmail,
}

impl Password {
    /// Length is what makes a password strong (NIST SP 800-63B); no composition rules.
    pub fn parse(s: &str, email: &str) -> Result<Self, PasswordError> {
        let n = s.chars().count();
        if !(10..=128).contains(&n) {
            return Err(PasswordError::Length);
        }
        let local = email.split('@').next().unwrap_or("").to_lowercase();
        if local.len() >= 4 && s.to_lowercase().contains(&local) {
            return Err(PasswordError::ContainsEmail);
        }
        Ok(Self(s.to_owned()))
    }

    /// For checking a sign-in attempt: no policy, any length up to a bound.
    pub fn attempt(s: &str) -> Self {
        Self(s.chars().take(256).collect())
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(…)")
    }
}

/// PHC-format hash (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub fn hash(password: &Password) -> String {
    let salt = SaltString::generate(&mut rand_core::OsRng);
    hasher()
        .hash_password(password.0.as_bytes(), &salt)
        .unwrap_or_else(|_| unreachable!("argon2 with valid params"))
        .to_string()
}

/// Checks `password` against `stored`; with no stored hash (unknown account) it checks a dummy
/// hash instead, so the answer takes as long either way.
pub fn verify(password: &Password, stored: Option<&str>) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash(&Password("dummy password for timing".into())));
    let (phc, real) = match stored {
        Some(h) => (h, true),
        None => (dummy.as_str(), false),
    };
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    hasher()
        .verify_password(password.0.as_bytes(), &parsed)
        .is_ok()
        && real
}

/// Runs argon2 work on the blocking pool, at most one per core at a time: each hash touches
/// 19 MiB, and more of them at once than cores only thrash the caches (measured: logins/s rose
/// when concurrent hashing was capped).
pub async fn off_thread<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, actix_web::error::BlockingError> {
    static PERMITS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    let permits = PERMITS.get_or_init(|| {
        tokio::sync::Semaphore::new(
            std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
        )
    });
    let _permit = permits.acquire().await;
    crate::telemetry::spawn_blocking_in_span(f).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_use_owasp_parameters() {
        let p = Password::parse("mật khẩu thật dài", "an@example.vn").unwrap();
        let h = hash(&p);
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify(&Password::attempt("mật khẩu thật dài"), Some(&h)));
        assert!(!verify(&Password::attempt("mat khau that dai"), Some(&h)));
        assert!(!verify(&Password::attempt("mật khẩu thật dài"), None));
        assert_ne!(h, hash(&p), "salted");
    }

    #[test]
    fn policy() {
        assert_eq!(
            Password::parse("short", "a@b.vn").err(),
            Some(PasswordError::Length)
        );
        assert_eq!(
            Password::parse("nguyenvanan-2026", "nguyenvanan@example.vn").err(),
            Some(PasswordError::ContainsEmail)
        );
        assert!(Password::parse(&"x".repeat(129), "a@b.vn").is_err());
        assert!(format!("{:?}", Password::attempt("secret")) == "Password(…)");
    }
}

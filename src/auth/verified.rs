//! Memo of verified access tokens. A portal sends the same token with every request for its
//! ten-minute life; checking its ES256 signature once is enough. The key is the SHA-256 of the
//! whole token, so nothing but that exact token can hit; expiry is re-checked on every hit and
//! the session revocation check (Redis) is never skipped. Bounded: when full it starts over.

use super::tokens::AccessClaims;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;

const CAPACITY: usize = 50_000;

#[derive(Default)]
pub struct VerifiedTokens {
    entries: Mutex<HashMap<[u8; 32], AccessClaims>>,
}

fn key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl VerifiedTokens {
    /// Claims of `token` if it was verified before and has not expired.
    pub fn get(&self, token: &str, now: i64) -> Option<AccessClaims> {
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.get(&key(token)).filter(|c| c.exp > now).cloned()
    }

    pub fn put(&self, token: &str, claims: &AccessClaims) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(key(token), claims.clone());
    }

    /// Forgets everything (the keys changed).
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn claims(exp: i64) -> AccessClaims {
        AccessClaims {
            iss: "i".into(),
            sub: Uuid::new_v4(),
            aud: "a".into(),
            client_id: "c".into(),
            sid: Uuid::new_v4(),
            iat: 0,
            exp,
            nbf: None,
            jti: Uuid::new_v4(),
            roles: vec![],
        }
    }

    #[test]
    fn hits_only_the_same_token_and_not_after_expiry() {
        let memo = VerifiedTokens::default();
        memo.put("a.b.c", &claims(100));
        assert!(memo.get("a.b.c", 50).is_some());
        assert!(memo.get("a.b.d", 50).is_none());
        assert!(memo.get("a.b.c", 100).is_none());
        memo.clear();
        assert!(memo.get("a.b.c", 50).is_none());
    }
}

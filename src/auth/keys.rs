//! Token signing keys: ES256 key pairs generated here, private halves encrypted at rest with
//! AES-256-GCM under a master key from the environment, published as a JWKS.
//!
//! Rotation (`dvc keys rotate`) moves every key one state along:
//! `next → current → previous → retired`, and creates a new `next`. A key is therefore in the
//! JWKS one rotation before it signs, and keeps verifying one rotation after it stopped.

use crate::db::schema::signing_keys;
use aes_gcm::aead::{Aead, KeyInit, OsRng as AeadRng};
use aes_gcm::{AeadCore, Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use diesel::prelude::*;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::{EncodePrivateKey, LineEnding};
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::fmt;

/// The key that encrypts signing keys at rest. Never printed.
pub struct MasterKey([u8; 32]);

impl MasterKey {
    /// From base64 of exactly 32 bytes (`openssl rand -base64 32`).
    pub fn parse(b64: &str) -> Result<Self, KeyError> {
        let bytes = STANDARD
            .decode(b64.trim())
            .map_err(|_| KeyError::MasterKey)?;
        let arr: [u8; 32] = bytes.try_into().map_err(|_| KeyError::MasterKey)?;
        Ok(Self(arr))
    }

    /// From the `auth.master_key` setting, as [`MasterKey::parse`].
    pub fn from_secret(b64: &SecretString) -> Result<Self, KeyError> {
        Self::parse(b64.expose_secret())
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!("32-byte key"))
    }

    /// Encrypts a secret for storage: (ciphertext, nonce).
    pub fn seal(&self, plaintext: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let nonce = Aes256Gcm::generate_nonce(&mut AeadRng);
        let sealed = self
            .cipher()
            .encrypt(&nonce, plaintext)
            .unwrap_or_else(|_| unreachable!("encryption of a small buffer"));
        (sealed, nonce.to_vec())
    }

    pub fn open(&self, sealed: &[u8], nonce: &[u8]) -> Result<Vec<u8>, KeyError> {
        if nonce.len() != 12 {
            return Err(KeyError::Decrypt);
        }
        self.cipher()
            .decrypt(Nonce::from_slice(nonce), sealed)
            .map_err(|_| KeyError::Decrypt)
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(…)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("auth.master_key must be base64 of exactly 32 bytes")]
    MasterKey,
    #[error("a signing key does not decrypt with this master key")]
    Decrypt,
    #[error("no current signing key: run `dvc keys rotate`")]
    NoCurrentKey,
    #[error("signing key {0}: {1}")]
    Invalid(String, String),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

/// A freshly generated key pair.
struct Generated {
    kid: String,
    public_jwk: serde_json::Value,
    private_pem: String,
}

/// The algorithms dvc signs with: ES256 for access tokens, RS256 for ID tokens (the OpenID
/// Connect default every relying party supports).
pub const ALGORITHMS: [Algorithm; 2] = [Algorithm::ES256, Algorithm::RS256];

fn alg_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::RS256 => "RS256",
        _ => "ES256",
    }
}

fn generate(alg: Algorithm) -> Generated {
    match alg {
        Algorithm::RS256 => generate_rsa(),
        _ => generate_ec(),
    }
}

fn generate_ec() -> Generated {
    let secret = p256::SecretKey::random(&mut rand_core::OsRng);
    let point = secret.public_key().to_encoded_point(false);
    let (x, y) = (
        point
            .x()
            .map(|c| URL_SAFE_NO_PAD.encode(c))
            .unwrap_or_default(),
        point
            .y()
            .map(|c| URL_SAFE_NO_PAD.encode(c))
            .unwrap_or_default(),
    );
    let kid = format!("es256-{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
    let private_pem = secret
        .to_pkcs8_pem(LineEnding::LF)
        .unwrap_or_else(|_| unreachable!("PKCS#8 encoding of a P-256 key"))
        .to_string();
    Generated {
        public_jwk: serde_json::json!({
            "kty": "EC", "crv": "P-256", "x": x, "y": y,
            "kid": kid, "alg": "ES256", "use": "sig"
        }),
        kid,
        private_pem,
    }
}

fn generate_rsa() -> Generated {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::traits::PublicKeyParts;
    let key = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048)
        .unwrap_or_else(|_| unreachable!("2048-bit RSA key generation"));
    let kid = format!("rs256-{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
    let n = URL_SAFE_NO_PAD.encode(key.n().to_bytes_be());
    let e = URL_SAFE_NO_PAD.encode(key.e().to_bytes_be());
    let private_pem = key
        .to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)
        .unwrap_or_else(|_| unreachable!("PKCS#1 encoding of an RSA key"))
        .to_string();
    Generated {
        public_jwk: serde_json::json!({
            "kty": "RSA", "n": n, "e": e, "kid": kid, "alg": "RS256", "use": "sig"
        }),
        kid,
        private_pem,
    }
}

fn insert(
    conn: &mut PgConnection,
    master: &MasterKey,
    alg: Algorithm,
    state: &str,
) -> QueryResult<String> {
    let key = generate(alg);
    let (sealed, nonce) = master.seal(key.private_pem.as_bytes());
    diesel::insert_into(signing_keys::table)
        .values((
            signing_keys::kid.eq(&key.kid),
            signing_keys::alg.eq(alg_name(alg)),
            signing_keys::state.eq(state),
            signing_keys::public_jwk.eq(&key.public_jwk),
            signing_keys::private_key_enc.eq(sealed),
            signing_keys::nonce.eq(nonce),
            signing_keys::activated_at.eq((state == "current").then(chrono::Utc::now)),
        ))
        .execute(conn)?;
    Ok(key.kid)
}

/// Moves every key one state along and creates a new `next`, for each algorithm. On a fresh
/// deployment it creates a `current` and a `next`. Returns the ES256 kid now signing.
pub fn rotate(conn: &mut PgConnection, master: &MasterKey) -> Result<String, KeyError> {
    conn.transaction(|conn| {
        // One rotation at a time, whichever process runs it.
        diesel::sql_query("LOCK TABLE platform.signing_keys IN EXCLUSIVE MODE").execute(conn)?;
        for alg in ALGORITHMS {
            let name = alg_name(alg);
            let states: Vec<String> = signing_keys::table
                .filter(signing_keys::alg.eq(name))
                .filter(signing_keys::state.ne("retired"))
                .select(signing_keys::state)
                .load(conn)?;
            let set = |from: &str, to: &str, conn: &mut PgConnection| {
                let target = signing_keys::table
                    .filter(signing_keys::alg.eq(name))
                    .filter(signing_keys::state.eq(from.to_owned()));
                match to {
                    "retired" => diesel::update(target)
                        .set((
                            signing_keys::state.eq(to),
                            signing_keys::retired_at.eq(diesel::dsl::now),
                        ))
                        .execute(conn),
                    "current" => diesel::update(target)
                        .set((
                            signing_keys::state.eq(to),
                            signing_keys::activated_at.eq(diesel::dsl::now),
                        ))
                        .execute(conn),
                    _ => diesel::update(target)
                        .set(signing_keys::state.eq(to))
                        .execute(conn),
                }
            };
            set("previous", "retired", conn)?;
            set("current", "previous", conn)?;
            if states.iter().any(|s| s == "next") {
                set("next", "current", conn)?;
            } else {
                insert(conn, master, alg, "current")?;
            }
            insert(conn, master, alg, "next")?;
        }
        signing_keys::table
            .filter(signing_keys::alg.eq("ES256"))
            .filter(signing_keys::state.eq("current"))
            .select(signing_keys::kid)
            .first(conn)
            .map_err(KeyError::from)
    })
}

/// kid, alg, state, public JWK, sealed private key, nonce.
type StoredKey = (String, String, String, serde_json::Value, Vec<u8>, Vec<u8>);

/// The keys a process holds: the current signer (when the master key is known) and every
/// published verifier.
pub struct Keyring {
    signers: HashMap<Algorithm, (String, EncodingKey)>,
    verifiers: HashMap<String, (Algorithm, DecodingKey)>,
    jwks: serde_json::Value,
}

impl Keyring {
    pub fn empty() -> Self {
        Self {
            signers: HashMap::new(),
            verifiers: HashMap::new(),
            jwks: serde_json::json!({ "keys": [] }),
        }
    }

    /// Loads the published keys; decrypts the current private key when `master` is given.
    pub fn load(conn: &mut PgConnection, master: Option<&MasterKey>) -> Result<Self, KeyError> {
        let rows: Vec<StoredKey> = signing_keys::table
            .filter(signing_keys::state.ne("retired"))
            .order(signing_keys::created_at.desc())
            .select((
                signing_keys::kid,
                signing_keys::alg,
                signing_keys::state,
                signing_keys::public_jwk,
                signing_keys::private_key_enc,
                signing_keys::nonce,
            ))
            .load(conn)?;
        let mut ring = Self::empty();
        let mut published = Vec::new();
        for (kid, alg, state, jwk, sealed, nonce) in rows {
            let alg = if alg == "RS256" {
                Algorithm::RS256
            } else {
                Algorithm::ES256
            };
            let invalid = |e: String| KeyError::Invalid(kid.clone(), e);
            let parsed: jsonwebtoken::jwk::Jwk =
                serde_json::from_value(jwk.clone()).map_err(|e| invalid(e.to_string()))?;
            let decoding = DecodingKey::from_jwk(&parsed).map_err(|e| invalid(e.to_string()))?;
            ring.verifiers.insert(kid.clone(), (alg, decoding));
            published.push(jwk);
            if state == "current"
                && let Some(master) = master
            {
                let pem = master.open(&sealed, &nonce)?;
                let encoding = match alg {
                    Algorithm::RS256 => EncodingKey::from_rsa_pem(&pem),
                    _ => EncodingKey::from_ec_pem(&pem),
                }
                .map_err(|e| invalid(e.to_string()))?;
                ring.signers.insert(alg, (kid, encoding));
            }
        }
        ring.jwks = serde_json::json!({ "keys": published });
        Ok(ring)
    }

    /// The current ES256 signer (access tokens).
    pub fn signer(&self) -> Result<(&str, &EncodingKey), KeyError> {
        self.signer_for(Algorithm::ES256)
    }

    pub fn signer_for(&self, alg: Algorithm) -> Result<(&str, &EncodingKey), KeyError> {
        self.signers
            .get(&alg)
            .map(|(kid, key)| (kid.as_str(), key))
            .ok_or(KeyError::NoCurrentKey)
    }

    /// The published key `kid`, only if it is a key of `alg`.
    pub fn verifier(&self, kid: &str, alg: Algorithm) -> Option<&DecodingKey> {
        self.verifiers
            .get(kid)
            .filter(|(a, _)| *a == alg)
            .map(|(_, key)| key)
    }

    /// The JSON Web Key Set to publish.
    pub fn jwks(&self) -> &serde_json::Value {
        &self.jwks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealing_round_trips_and_detects_the_wrong_key() {
        let a = MasterKey([7; 32]);
        let b = MasterKey([8; 32]);
        let (sealed, nonce) = a.seal(b"private key");
        assert_eq!(a.open(&sealed, &nonce).unwrap(), b"private key");
        assert!(matches!(b.open(&sealed, &nonce), Err(KeyError::Decrypt)));
        let mut tampered = sealed.clone();
        tampered[0] ^= 1;
        assert!(a.open(&tampered, &nonce).is_err());
        assert_ne!(sealed, b"private key");
    }

    #[test]
    fn master_key_must_be_32_bytes_of_base64() {
        assert!(MasterKey::parse(&STANDARD.encode([1u8; 32])).is_ok());
        assert!(MasterKey::parse(&STANDARD.encode([1u8; 16])).is_err());
        assert!(MasterKey::parse("not base64!").is_err());
        assert_eq!(format!("{:?}", MasterKey([1; 32])), "MasterKey(…)");
    }

    #[test]
    fn generated_keys_sign_and_verify_through_their_jwk() {
        let key = generate(Algorithm::ES256);
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.public_jwk).unwrap();
        let decoding = DecodingKey::from_jwk(&jwk).unwrap();
        let encoding = EncodingKey::from_ec_pem(key.private_pem.as_bytes()).unwrap();
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(key.kid);
        let token = jsonwebtoken::encode(
            &header,
            &serde_json::json!({"sub": "x", "exp": 4_000_000_000u64}),
            &encoding,
        )
        .unwrap();
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
        v.validate_aud = false;
        jsonwebtoken::decode::<serde_json::Value>(&token, &decoding, &v).unwrap();
    }
}

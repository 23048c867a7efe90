//! The deployment's signature on an archive's manifest: HMAC-SHA256 over the bytes of
//! `manifest.json`, in `manifest.sig`, with a key derived from the master key. A checksum says
//! the files match the manifest; the signature says the manifest is one this deployment (or
//! one sharing its master key) wrote.

use super::{ArchiveError, refused};
use crate::auth::keys::{KeyError, MasterKey};
use crate::services::text::hex;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

type HmacSha256 = Hmac<Sha256>;

/// The file next to `manifest.json` that carries its signature.
pub const SIGNATURE_FILE: &str = "manifest.sig";
/// What the key is derived for: the master key itself never signs anything here.
const KEY_LABEL: &[u8] = b"dvc archive manifest v1";
/// `manifest.sig` holds one line: this prefix, then the MAC in lowercase hex.
const PREFIX: &str = "hmac-sha256:";

/// The key that signs and checks manifests: HMAC(master key, "dvc archive manifest v1").
pub struct ManifestKey([u8; 32]);

impl ManifestKey {
    /// Derives the key from `auth.master_key` (base64 of 32 bytes, as everywhere else).
    pub fn from_master(master_b64: &str) -> Result<Self, KeyError> {
        // The same rules (and message) as every other use of the master key.
        MasterKey::parse(master_b64)?;
        let master = base64::engine::general_purpose::STANDARD
            .decode(master_b64.trim())
            .map_err(|_| KeyError::MasterKey)?;
        let mut mac = HmacSha256::new_from_slice(&master).map_err(|_| KeyError::MasterKey)?;
        mac.update(KEY_LABEL);
        Ok(Self(mac.finalize().into_bytes().into()))
    }

    fn mac(&self, manifest: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(manifest);
        mac
    }

    /// The content of `manifest.sig` for these manifest bytes.
    pub fn sign(&self, manifest: &[u8]) -> String {
        format!(
            "{PREFIX}{}\n",
            hex(&self.mac(manifest).finalize().into_bytes())
        )
    }

    /// Whether `signature` (the content of `manifest.sig`) signs `manifest` with this key;
    /// compared in constant time.
    pub fn verifies(&self, manifest: &[u8], signature: &[u8]) -> bool {
        let Some(tag) = std::str::from_utf8(signature)
            .ok()
            .and_then(|s| s.trim().strip_prefix(PREFIX))
            .and_then(unhex)
        else {
            return false;
        };
        self.mac(manifest).verify_slice(&tag).is_ok()
    }
}

impl fmt::Debug for ManifestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ManifestKey(…)")
    }
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// How an imported archive's manifest was vouched for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signature {
    /// Signed with this deployment's manifest key.
    Verified,
    /// Accepted without a valid signature because `--allow-unsigned` was given; why it could not
    /// be verified.
    Unverified(String),
}

/// Checks `manifest.sig` (`None`: absent) against the manifest bytes. Without a valid signature
/// the archive is refused, unless `allow_unsigned`.
pub(super) fn check(
    key: Option<&ManifestKey>,
    manifest: &[u8],
    signature: Option<&[u8]>,
    allow_unsigned: bool,
) -> Result<Signature, ArchiveError> {
    let why = match (key, signature) {
        (Some(key), Some(sig)) if key.verifies(manifest, sig) => return Ok(Signature::Verified),
        (None, _) => "auth.master_key is not set here, so the manifest's signature cannot be \
                      checked"
            .to_owned(),
        (Some(_), None) => format!(
            "{SIGNATURE_FILE} is missing: the manifest is unsigned (exported before archives \
             were signed, or where no master key was set)"
        ),
        (Some(_), Some(_)) => format!(
            "{SIGNATURE_FILE} does not sign this manifest: it was changed after export, or \
             signed with another deployment's master key"
        ),
    };
    if allow_unsigned {
        Ok(Signature::Unverified(why))
    } else {
        Err(refused(format!(
            "{why}; give --allow-unsigned to import it anyway (every other check still applies)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> ManifestKey {
        ManifestKey::from_master(&base64::engine::general_purpose::STANDARD.encode([byte; 32]))
            .unwrap()
    }

    #[test]
    fn a_signature_binds_the_manifest_and_the_key() {
        let (k, other) = (key(7), key(8));
        let sig = k.sign(b"{\"a\":1}");
        assert!(sig.starts_with(PREFIX) && sig.ends_with('\n'));
        assert!(k.verifies(b"{\"a\":1}", sig.as_bytes()));
        assert!(!k.verifies(b"{\"a\":2}", sig.as_bytes()));
        assert!(!other.verifies(b"{\"a\":1}", sig.as_bytes()));
        // A plain SHA-256 of the manifest, as an attacker could compute, is no signature.
        let sha = hex(&<Sha256 as sha2::Digest>::digest(b"{\"a\":1}"));
        assert!(!k.verifies(b"{\"a\":1}", format!("{PREFIX}{sha}").as_bytes()));
        assert!(!k.verifies(b"{\"a\":1}", b""));
        // The derived key is not the master key: a MAC under the master key does not verify.
        let mut raw = HmacSha256::new_from_slice(&[7u8; 32]).unwrap();
        raw.update(b"{\"a\":1}");
        let raw = format!("{PREFIX}{}", hex(&raw.finalize().into_bytes()));
        assert!(!k.verifies(b"{\"a\":1}", raw.as_bytes()));
        assert!(ManifestKey::from_master("c2hvcnQ=").is_err());
    }

    #[test]
    fn unsigned_archives_need_the_flag() {
        let k = key(7);
        let sig = k.sign(b"m");
        assert_eq!(
            check(Some(&k), b"m", Some(sig.as_bytes()), false).unwrap(),
            Signature::Verified
        );
        for (key, sig) in [
            (Some(&k), None),
            (Some(&k), Some(&b"hmac-sha256:00"[..])),
            (None, Some(sig.as_bytes())),
        ] {
            assert!(matches!(
                check(key, b"m", sig, false),
                Err(ArchiveError::Refused(why)) if why.contains("--allow-unsigned")
            ));
            assert!(matches!(
                check(key, b"m", sig, true),
                Ok(Signature::Unverified(_))
            ));
        }
    }
}

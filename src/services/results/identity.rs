//! An agency's signing identity: its private key and its certificate chain (leaf first), read
//! from a PKCS#12 file as certificate authorities issue them, and checked before anything is
//! signed with it: the key must be the leaf certificate's, and the certificate valid now.
//!
//! PKCS#12 is read with RustCrypto's `pkcs12` structures and `pkcs5`/`pkcs8` PBES2 decryption:
//! what OpenSSL 3 and current CA tooling write (AES-CBC under PBKDF2, an HMAC-SHA-256 MAC).
//! The legacy RC2/3DES encodings are refused with a message saying how to re-export the file.

use chrono::{DateTime, Utc};
use der::asn1::OctetString;
use der::{Decode, Encode};
use hmac::{Hmac, Mac};
use pkcs8::{DecodePrivateKey, EncodePrivateKey};
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::spki::{EncodePublicKey, SubjectPublicKeyInfoOwned};

/// The two key types agencies' certificates carry: ECDSA P-256 (ES256) and RSA (PKCS#1 v1.5
/// with SHA-256, what the government CA issues today).
#[derive(Clone)]
pub enum AgencyKey {
    P256(p256::ecdsa::SigningKey),
    Rsa(Box<rsa::pkcs1v15::SigningKey<Sha256>>),
}

impl AgencyKey {
    pub fn algorithm(&self) -> &'static str {
        match self {
            Self::P256(_) => "ES256",
            Self::Rsa(_) => "RS256",
        }
    }

    /// The private key as PKCS#8 DER (sealed under the master key before it is stored).
    pub fn to_pkcs8(&self) -> Result<zeroize::Zeroizing<Vec<u8>>, IdentityError> {
        let doc = match self {
            Self::P256(k) => k.to_pkcs8_der(),
            Self::Rsa(k) => rsa::RsaPrivateKey::clone((**k).as_ref()).to_pkcs8_der(),
        }
        .map_err(|e| IdentityError::Key(e.to_string()))?;
        Ok(zeroize::Zeroizing::new(doc.as_bytes().to_vec()))
    }

    pub fn from_pkcs8(der: &[u8]) -> Result<Self, IdentityError> {
        if let Ok(k) = p256::ecdsa::SigningKey::from_pkcs8_der(der) {
            return Ok(Self::P256(k));
        }
        match rsa::RsaPrivateKey::from_pkcs8_der(der) {
            Ok(k) => Ok(Self::Rsa(Box::new(rsa::pkcs1v15::SigningKey::new(k)))),
            Err(_) => Err(IdentityError::Key(
                "only ECDSA P-256 and RSA keys are supported".into(),
            )),
        }
    }

    fn public_key_der(&self) -> Result<Vec<u8>, IdentityError> {
        let doc = match self {
            Self::P256(k) => k.verifying_key().to_public_key_der(),
            Self::Rsa(k) => rsa::RsaPrivateKey::to_public_key((**k).as_ref()).to_public_key_der(),
        }
        .map_err(|e| IdentityError::Key(e.to_string()))?;
        Ok(doc.as_bytes().to_vec())
    }
}

/// The key and its certificate chain, leaf first.
#[derive(Clone)]
pub struct Identity {
    pub key: AgencyKey,
    pub chain: Vec<Certificate>,
}

/// What is shown about an identity (never the key).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct IdentitySummary {
    /// The leaf certificate's subject, e.g. `CN=Sở Nội vụ Hà Nội,O=…`.
    pub subject: String,
    pub issuer: String,
    /// Serial number in hex.
    pub serial: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub algorithm: String,
    /// SHA-256 of the leaf certificate (hex), the fingerprint operators compare.
    pub fingerprint: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("tệp PKCS#12 không đọc được / not a PKCS#12 file that can be read: {0}")]
    NotPkcs12(String),
    #[error("mật khẩu của tệp PKCS#12 không đúng / wrong PKCS#12 password")]
    WrongPassword,
    #[error(
        "tệp PKCS#12 dùng mã hoá cũ (RC2/3DES); hãy xuất lại bằng `openssl pkcs12 -export` (AES) / legacy PKCS#12 encryption: re-export it with AES"
    )]
    Legacy,
    #[error("tệp PKCS#12 không có khoá bí mật / no private key in the file")]
    NoKey,
    #[error("tệp PKCS#12 không có chứng thư số / no certificate in the file")]
    NoCertificate,
    #[error(
        "khoá bí mật không khớp với chứng thư số / the private key does not match the certificate"
    )]
    KeyMismatch,
    #[error("chứng thư số chưa có hiệu lực (từ {0}) / the certificate is not valid before {0}")]
    NotYetValid(String),
    #[error("chứng thư số đã hết hạn ({0}) / the certificate expired on {0}")]
    Expired(String),
    #[error("khoá không dùng được / unusable key: {0}")]
    Key(String),
}

impl Identity {
    /// The identity in a PKCS#12 file, its leaf the certificate of its key, checked at `now`.
    pub fn from_pkcs12(
        file: &[u8],
        password: &str,
        now: DateTime<Utc>,
    ) -> Result<Self, IdentityError> {
        let (keys, certs) = pkcs12_contents(file, password)?;
        let key = keys.into_iter().next().ok_or(IdentityError::NoKey)?;
        let key = AgencyKey::from_pkcs8(&key)?;
        let identity = Self {
            chain: ordered_chain(&key, certs)?,
            key,
        };
        identity.check(now)?;
        Ok(identity)
    }

    /// The key belongs to the leaf certificate, which is valid at `now`.
    pub fn check(&self, now: DateTime<Utc>) -> Result<(), IdentityError> {
        let leaf = self.chain.first().ok_or(IdentityError::NoCertificate)?;
        if spki_der(&leaf.tbs_certificate.subject_public_key_info)? != self.key.public_key_der()? {
            return Err(IdentityError::KeyMismatch);
        }
        let (from, until) = validity(leaf);
        if now < from {
            return Err(IdentityError::NotYetValid(day(from)));
        }
        if now > until {
            return Err(IdentityError::Expired(day(until)));
        }
        Ok(())
    }

    pub fn summary(&self) -> Result<IdentitySummary, IdentityError> {
        let leaf = self.chain.first().ok_or(IdentityError::NoCertificate)?;
        let (not_before, not_after) = validity(leaf);
        let der = leaf
            .to_der()
            .map_err(|e| IdentityError::NotPkcs12(e.to_string()))?;
        Ok(IdentitySummary {
            subject: leaf.tbs_certificate.subject.to_string(),
            issuer: leaf.tbs_certificate.issuer.to_string(),
            serial: hex(leaf.tbs_certificate.serial_number.as_bytes()),
            not_before,
            not_after,
            algorithm: self.key.algorithm().into(),
            fingerprint: hex(&Sha256::digest(der)),
        })
    }

    /// The chain as PEM, leaf first (how it is stored).
    pub fn chain_pem(&self) -> Result<String, IdentityError> {
        use x509_cert::der::EncodePem;
        let mut out = String::new();
        for c in &self.chain {
            out.push_str(
                &c.to_pem(der::pem::LineEnding::LF)
                    .map_err(|e| IdentityError::NotPkcs12(e.to_string()))?,
            );
        }
        Ok(out)
    }

    pub fn from_parts(key_pkcs8: &[u8], chain_pem: &str) -> Result<Self, IdentityError> {
        let chain = Certificate::load_pem_chain(chain_pem.as_bytes())
            .map_err(|e| IdentityError::NotPkcs12(e.to_string()))?;
        Ok(Self {
            key: AgencyKey::from_pkcs8(key_pkcs8)?,
            chain,
        })
    }
}

fn spki_der(spki: &SubjectPublicKeyInfoOwned) -> Result<Vec<u8>, IdentityError> {
    spki.to_der().map_err(|e| IdentityError::Key(e.to_string()))
}

fn validity(c: &Certificate) -> (DateTime<Utc>, DateTime<Utc>) {
    let v = &c.tbs_certificate.validity;
    let at = |t: x509_cert::time::Time| DateTime::<Utc>::from(t.to_system_time());
    (at(v.not_before), at(v.not_after))
}

fn day(at: DateTime<Utc>) -> String {
    at.format("%d/%m/%Y").to_string()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Leaf (the key's certificate) first, then each issuer found among the others.
fn ordered_chain(
    key: &AgencyKey,
    certs: Vec<Certificate>,
) -> Result<Vec<Certificate>, IdentityError> {
    if certs.is_empty() {
        return Err(IdentityError::NoCertificate);
    }
    let public = key.public_key_der()?;
    let mut rest = certs;
    let leaf_at = rest
        .iter()
        .position(|c| {
            spki_der(&c.tbs_certificate.subject_public_key_info).is_ok_and(|d| d == public)
        })
        .ok_or(IdentityError::KeyMismatch)?;
    let mut chain = vec![rest.remove(leaf_at)];
    while let Some(next) = rest.iter().position(|c| {
        chain
            .last()
            .is_some_and(|last| c.tbs_certificate.subject == last.tbs_certificate.issuer)
    }) {
        let issuer = rest.remove(next);
        let self_signed = issuer.tbs_certificate.subject == issuer.tbs_certificate.issuer;
        chain.push(issuer);
        if self_signed {
            break;
        }
    }
    Ok(chain)
}

const ID_DATA: der::oid::ObjectIdentifier = const_oid::db::rfc5911::ID_DATA;
const ID_ENCRYPTED_DATA: der::oid::ObjectIdentifier = const_oid::db::rfc5911::ID_ENCRYPTED_DATA;

/// A private key as PKCS#8 DER, wiped when dropped.
type SecretDer = zeroize::Zeroizing<Vec<u8>>;

/// The private keys and certificates a PKCS#12 file holds, its MAC checked.
fn pkcs12_contents(
    file: &[u8],
    password: &str,
) -> Result<(Vec<SecretDer>, Vec<Certificate>), IdentityError> {
    let bad = |e: &dyn std::fmt::Display| IdentityError::NotPkcs12(e.to_string());
    let pfx = pkcs12::pfx::Pfx::from_der(file).map_err(|e| bad(&e))?;
    if pfx.auth_safe.content_type != ID_DATA {
        return Err(IdentityError::NotPkcs12(
            "public-key integrity mode is not supported".into(),
        ));
    }
    let auth_safe = pfx
        .auth_safe
        .content
        .decode_as::<OctetString>()
        .map_err(|e| bad(&e))?;
    if let Some(mac) = &pfx.mac_data {
        check_mac(mac, password, auth_safe.as_bytes())?;
    }
    let parts = Vec::<cms::content_info::ContentInfo>::from_der(auth_safe.as_bytes())
        .map_err(|e| bad(&e))?;
    let mut keys = Vec::new();
    let mut certs = Vec::new();
    for part in parts {
        let contents = if part.content_type == ID_DATA {
            part.content
                .decode_as::<OctetString>()
                .map_err(|e| bad(&e))?
                .into_bytes()
        } else if part.content_type == ID_ENCRYPTED_DATA {
            let data = part
                .content
                .decode_as::<cms::encrypted_data::EncryptedData>()
                .map_err(|e| bad(&e))?;
            let info = data.enc_content_info;
            let alg = info.content_enc_alg.to_der().map_err(|e| bad(&e))?;
            let scheme = pkcs5::EncryptionScheme::try_from(alg.as_slice())
                .map_err(|_| IdentityError::Legacy)?;
            if scheme.pbes2().is_none() {
                return Err(IdentityError::Legacy);
            }
            let sealed = info
                .encrypted_content
                .ok_or_else(|| IdentityError::NotPkcs12("empty encrypted part".into()))?;
            scheme
                .decrypt(password, sealed.as_bytes())
                .map_err(|_| IdentityError::WrongPassword)?
        } else {
            continue;
        };
        let bags = pkcs12::safe_bag::SafeContents::from_der(&contents).map_err(|e| bad(&e))?;
        for bag in bags {
            let inner = der::Any::from_der(&bag.bag_value).map_err(|e| bad(&e))?;
            let value = inner.value();
            if bag.bag_id == pkcs12::PKCS_12_PKCS8_KEY_BAG_OID {
                let sealed =
                    pkcs8::EncryptedPrivateKeyInfo::from_der(value).map_err(|e| bad(&e))?;
                if sealed.encryption_algorithm.pbes2().is_none() {
                    return Err(IdentityError::Legacy);
                }
                let key = sealed
                    .decrypt(password)
                    .map_err(|_| IdentityError::WrongPassword)?;
                keys.push(zeroize::Zeroizing::new(key.as_bytes().to_vec()));
            } else if bag.bag_id == pkcs12::PKCS_12_KEY_BAG_OID {
                keys.push(zeroize::Zeroizing::new(value.to_vec()));
            } else if bag.bag_id == pkcs12::PKCS_12_CERT_BAG_OID {
                let cert_bag = pkcs12::cert_type::CertBag::from_der(value).map_err(|e| bad(&e))?;
                if cert_bag.cert_id == pkcs12::PKCS_12_X509_CERT_OID {
                    certs.push(
                        Certificate::from_der(cert_bag.cert_value.as_bytes())
                            .map_err(|e| bad(&e))?,
                    );
                }
            }
        }
    }
    Ok((keys, certs))
}

/// The file's HMAC (RFC 7292 appendix B key derivation), SHA-256 only.
fn check_mac(
    mac: &pkcs12::mac_data::MacData,
    password: &str,
    content: &[u8],
) -> Result<(), IdentityError> {
    if mac.mac.algorithm.oid != const_oid::db::rfc5912::ID_SHA_256 {
        return Err(IdentityError::Legacy);
    }
    let key = pkcs12::kdf::derive_key_utf8::<Sha256>(
        password,
        mac.mac_salt.as_bytes(),
        pkcs12::kdf::Pkcs12KeyType::Mac,
        mac.iterations,
        32,
    )
    .map_err(|e| IdentityError::NotPkcs12(e.to_string()))?;
    let mut h = <Hmac<Sha256> as Mac>::new_from_slice(&key)
        .map_err(|e| IdentityError::NotPkcs12(e.to_string()))?;
    h.update(content);
    h.verify_slice(mac.mac.digest.as_bytes())
        .map_err(|_| IdentityError::WrongPassword)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_not_pkcs12() {
        assert!(matches!(
            Identity::from_pkcs12(b"not a pfx", "x", Utc::now()),
            Err(IdentityError::NotPkcs12(_))
        ));
    }

    #[test]
    fn a_p256_key_survives_its_pkcs8_round_trip() {
        let key = AgencyKey::P256(p256::ecdsa::SigningKey::from_slice(&[9; 32]).unwrap());
        let der = key.to_pkcs8().unwrap();
        let back = AgencyKey::from_pkcs8(&der).unwrap();
        assert_eq!(
            back.public_key_der().unwrap(),
            key.public_key_der().unwrap()
        );
        assert!(AgencyKey::from_pkcs8(b"junk").is_err());
    }
}

//! A local certificate authority for demos and tests: a root and an agency certificate it
//! issued, both ECDSA P-256. Its certificates are marked as not real in their names; a
//! deployment imports the agency's certificate from its CA as PKCS#12 instead.

use super::identity::{AgencyKey, Identity, IdentityError};
use p256::ecdsa::{DerSignature, SigningKey};
use std::str::FromStr;
use std::time::Duration;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::Validity;

/// An identity for `agency` (its name in the certificate), valid from now for `days`.
pub fn issue(agency: &str, days: u64) -> Result<Identity, IdentityError> {
    let fail = |e: &dyn std::fmt::Display| IdentityError::Key(e.to_string());
    let validity =
        Validity::from_now(Duration::from_secs(days * 24 * 3600)).map_err(|e| fail(&e))?;
    let ca_key = SigningKey::random(&mut rand_core::OsRng);
    let ca_name =
        Name::from_str("CN=DVC Local Test CA (not a real CA),O=DVC,C=VN").map_err(|e| fail(&e))?;
    let ca = CertificateBuilder::new(
        Profile::Root,
        SerialNumber::from(1u32),
        validity,
        ca_name.clone(),
        SubjectPublicKeyInfoOwned::from_key(*ca_key.verifying_key()).map_err(|e| fail(&e))?,
        &ca_key,
    )
    .map_err(|e| fail(&e))?
    .build::<DerSignature>()
    .map_err(|e| fail(&e))?;
    let key = SigningKey::random(&mut rand_core::OsRng);
    // Commas and the like would break the distinguished name's string form.
    let cn: String = agency
        .chars()
        .filter(|c| !matches!(c, ',' | '+' | '=' | '"' | '\\' | '<' | '>' | ';' | '#'))
        .collect();
    let leaf = CertificateBuilder::new(
        Profile::Leaf {
            issuer: ca_name,
            enable_key_agreement: false,
            enable_key_encipherment: false,
        },
        SerialNumber::from(rand::random::<u32>() | 1),
        validity,
        Name::from_str(&format!("CN={cn},O=DVC demo,C=VN")).map_err(|e| fail(&e))?,
        SubjectPublicKeyInfoOwned::from_key(*key.verifying_key()).map_err(|e| fail(&e))?,
        &ca_key,
    )
    .map_err(|e| fail(&e))?
    .build::<DerSignature>()
    .map_err(|e| fail(&e))?;
    Ok(Identity {
        key: AgencyKey::P256(key),
        chain: vec![leaf, ca],
    })
}

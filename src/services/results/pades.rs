//! A PAdES baseline (B-B) signature on a PDF: an incremental update appends a signature field
//! and its signature dictionary (`/SubFilter /ETSI.CAdES.detached`), then a detached CMS
//! SignedData over the file's bytes but the signature's own (`/ByteRange`), with the ESS
//! signing-certificate-v2 attribute and the certificate chain. What was there before is left
//! byte for byte, so earlier signatures stay valid. The signing time is the dictionary's `/M`
//! (PAdES keeps it out of the CMS attributes).
//!
//! Written with RustCrypto's `cms` and `x509-cert` and `lopdf`; the byte ranges are the one
//! part done by hand: the dictionary is written with fixed-width placeholders, found in the
//! output, and filled in place.

use super::identity::{AgencyKey, Identity};
use chrono::{DateTime, Utc};
use cms::builder::{SignedDataBuilder, SignerInfoBuilder};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::signed_data::{EncapsulatedContentInfo, SignerIdentifier};
use der::{Decode, Encode};
use lopdf::{Document, IncrementalDocument, Object, StringFormat, dictionary};
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::spki::AlgorithmIdentifierOwned;

/// Room kept for the CMS structure (DER bytes): a P-256 signature with a chain of a few
/// certificates needs 1–4 KiB.
const CONTENTS_BYTES: usize = 16 * 1024;

/// The placeholder the byte ranges are written over: wide enough for files up to 9.9 GB.
const RANGE_PLACEHOLDER: &[u8] = b"[0 1111111111 2222222222 3333333333]";

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("not a PDF that can be read: {0}")]
    NotAPdf(String),
    #[error("the PDF is encrypted")]
    Encrypted,
    #[error("the PDF has no page")]
    NoPage,
    #[error("no certificate to sign with")]
    NoCertificate,
    #[error("the signature does not fit the room kept for it")]
    TooLarge,
    #[error("signing failed: {0}")]
    Crypto(String),
}

/// `pdf` signed by `signer` at `at`, with `reason` shown by readers.
pub fn sign(
    pdf: &[u8],
    signer: &Identity,
    at: DateTime<Utc>,
    reason: &str,
) -> Result<Vec<u8>, SignError> {
    let leaf = signer.chain.first().ok_or(SignError::NoCertificate)?;
    let mut out = with_placeholder(pdf, at, reason)?;
    let (contents, digest) = fill_ranges(&mut out)?;
    let cms = signed_data(signer, leaf, &digest)?;
    // `<` then the reserved hex digits: the DER goes in front, the zeros after it stay.
    let hex: String = cms.iter().map(|b| format!("{b:02X}")).collect();
    if hex.len() > CONTENTS_BYTES * 2 {
        return Err(SignError::TooLarge);
    }
    out[contents + 1..contents + 1 + hex.len()].copy_from_slice(hex.as_bytes());
    Ok(out)
}

/// The incremental update: signature dictionary with placeholders, its widget on page 1, the
/// form that lists it.
fn with_placeholder(pdf: &[u8], at: DateTime<Utc>, reason: &str) -> Result<Vec<u8>, SignError> {
    let prev = Document::load_mem(pdf).map_err(|e| SignError::NotAPdf(e.to_string()))?;
    if prev.is_encrypted() {
        return Err(SignError::Encrypted);
    }
    let root = prev
        .trailer
        .get(b"Root")
        .and_then(Object::as_reference)
        .map_err(|e| SignError::NotAPdf(e.to_string()))?;
    let page = *prev.get_pages().values().next().ok_or(SignError::NoPage)?;
    let existing_fields = prev
        .get_object(root)
        .and_then(Object::as_dict)
        .and_then(|c| c.get(b"AcroForm"))
        .and_then(|f| match f {
            Object::Reference(id) => prev.get_object(*id).and_then(Object::as_dict),
            other => other.as_dict(),
        })
        .and_then(|f| f.get(b"Fields"))
        .and_then(Object::as_array)
        .cloned()
        .unwrap_or_default();
    let mut inc = IncrementalDocument::create_from(pdf.to_vec(), prev);
    let fail = |e: lopdf::Error| SignError::NotAPdf(e.to_string());
    inc.opt_clone_object_to_new_document(root).map_err(fail)?;
    inc.opt_clone_object_to_new_document(page).map_err(fail)?;
    let doc = &mut inc.new_document;
    let sig = doc.add_object(dictionary! {
        "Type" => "Sig",
        "Filter" => "Adobe.PPKLite",
        "SubFilter" => "ETSI.CAdES.detached",
        "ByteRange" => vec![
            Object::Integer(0),
            Object::Integer(1_111_111_111),
            Object::Integer(2_222_222_222),
            Object::Integer(3_333_333_333),
        ],
        "Contents" => Object::String(vec![0; CONTENTS_BYTES], StringFormat::Hexadecimal),
        "M" => Object::string_literal(pdf_date(at)),
        "Reason" => Object::String(utf16(reason), StringFormat::Hexadecimal),
    });
    let field = doc.add_object(dictionary! {
        "Type" => "Annot",
        "Subtype" => "Widget",
        "FT" => "Sig",
        "T" => Object::string_literal(format!("KetQua{}", sig.0)),
        "V" => sig,
        "P" => page,
        // Print, locked; an invisible field (no appearance on the page).
        "F" => 132,
        "Rect" => vec![0.into(), 0.into(), 0.into(), 0.into()],
    });
    let page_dict = doc
        .get_object_mut(page)
        .and_then(Object::as_dict_mut)
        .map_err(fail)?;
    match page_dict.get_mut(b"Annots") {
        Ok(Object::Array(annots)) => annots.push(Object::Reference(field)),
        // Annotations kept elsewhere (a reference) or none: this field on its own list.
        _ => page_dict.set("Annots", vec![Object::Reference(field)]),
    }
    let mut fields = existing_fields;
    fields.push(Object::Reference(field));
    doc.get_object_mut(root)
        .and_then(Object::as_dict_mut)
        .map_err(fail)?
        .set(
            "AcroForm",
            dictionary! { "Fields" => fields, "SigFlags" => 3 },
        );
    let mut out = Vec::with_capacity(pdf.len() + 2 * CONTENTS_BYTES + 2048);
    inc.save_to(&mut out)
        .map_err(|e| SignError::NotAPdf(e.to_string()))?;
    Ok(out)
}

/// Writes the real byte ranges over the placeholder and returns where `/Contents`' `<` is and
/// the SHA-256 of the ranges.
fn fill_ranges(out: &mut [u8]) -> Result<(usize, Vec<u8>), SignError> {
    let missing = || SignError::NotAPdf("signature placeholder not written".into());
    // The update is at the end: search only there, past anything the original file held.
    let at = rfind(out, RANGE_PLACEHOLDER).ok_or_else(missing)?;
    let after = &out[at..];
    let contents = at + find(after, b"/Contents").ok_or_else(missing)? + b"/Contents".len();
    let start = contents
        + out[contents..]
            .iter()
            .position(|&b| b == b'<')
            .ok_or_else(missing)?;
    let end = start + 2 + CONTENTS_BYTES * 2;
    if out.get(end - 1) != Some(&b'>') {
        return Err(missing());
    }
    let ranges = format!("[0 {start} {end} {}]", out.len() - end);
    if ranges.len() > RANGE_PLACEHOLDER.len() {
        return Err(SignError::TooLarge);
    }
    let mut written = ranges.into_bytes();
    written.resize(RANGE_PLACEHOLDER.len(), b' ');
    out[at..at + written.len()].copy_from_slice(&written);
    let mut h = Sha256::new();
    h.update(&out[..start]);
    h.update(&out[end..]);
    Ok((start, h.finalize().to_vec()))
}

/// The detached CMS SignedData over `digest`.
fn signed_data(signer: &Identity, leaf: &Certificate, digest: &[u8]) -> Result<Vec<u8>, SignError> {
    let crypto = |e: &dyn std::fmt::Display| SignError::Crypto(e.to_string());
    let content = EncapsulatedContentInfo {
        econtent_type: const_oid::db::rfc5911::ID_DATA,
        econtent: None,
    };
    let sha256 = AlgorithmIdentifierOwned {
        oid: const_oid::db::rfc5912::ID_SHA_256,
        parameters: None,
    };
    let sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
        issuer: leaf.tbs_certificate.issuer.clone(),
        serial_number: leaf.tbs_certificate.serial_number.clone(),
    });
    let mut builder = SignedDataBuilder::new(&content);
    builder
        .add_digest_algorithm(sha256.clone())
        .map_err(|e| crypto(&e))?;
    for cert in &signer.chain {
        builder
            .add_certificate(CertificateChoices::Certificate(cert.clone()))
            .map_err(|e| crypto(&e))?;
    }
    let attribute = signing_certificate_v2(leaf)?;
    // The builder is generic over the key type: one arm per kind of key.
    match &signer.key {
        AgencyKey::P256(key) => {
            let mut info = SignerInfoBuilder::new(key, sid, sha256, &content, Some(digest))
                .map_err(|e| crypto(&e))?;
            info.add_signed_attribute(attribute)
                .map_err(|e| crypto(&e))?;
            builder
                .add_signer_info::<_, p256::ecdsa::DerSignature>(info)
                .map_err(|e| crypto(&e))?;
        }
        AgencyKey::Rsa(key) => {
            let mut info = SignerInfoBuilder::new(&**key, sid, sha256, &content, Some(digest))
                .map_err(|e| crypto(&e))?;
            info.add_signed_attribute(attribute)
                .map_err(|e| crypto(&e))?;
            builder
                .add_signer_info::<_, rsa::pkcs1v15::Signature>(info)
                .map_err(|e| crypto(&e))?;
        }
    }
    builder
        .build()
        .map_err(|e| crypto(&e))?
        .to_der()
        .map_err(|e| crypto(&e))
}

/// ESS signing-certificate-v2 (RFC 5035): the SHA-256 of the signer's certificate, which binds
/// the signature to it (required by PAdES B-B). SHA-256 is the default hash, so it is omitted.
fn signing_certificate_v2(cert: &Certificate) -> Result<x509_cert::attr::Attribute, SignError> {
    use der::asn1::{OctetString, SetOfVec};
    #[derive(der::Sequence)]
    struct EssCertIdV2 {
        hash: OctetString,
    }
    #[derive(der::Sequence)]
    struct SigningCertificateV2 {
        certs: Vec<EssCertIdV2>,
    }
    let crypto = |e: der::Error| SignError::Crypto(e.to_string());
    let hash = Sha256::digest(cert.to_der().map_err(crypto)?);
    let value = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            hash: OctetString::new(hash.to_vec()).map_err(crypto)?,
        }],
    };
    Ok(x509_cert::attr::Attribute {
        oid: const_oid::db::rfc5911::ID_AA_SIGNING_CERTIFICATE_V_2,
        values: SetOfVec::try_from(vec![
            der::Any::from_der(&value.to_der().map_err(crypto)?).map_err(crypto)?,
        ])
        .map_err(crypto)?,
    })
}

/// A PDF date in Vietnam time: `D:20261207090000+07'00'`.
fn pdf_date(at: DateTime<Utc>) -> String {
    let local = at.naive_utc() + chrono::Duration::hours(7);
    format!("D:{}+07'00'", local.format("%Y%m%d%H%M%S"))
}

/// A text string as PDF stores non-Latin text: UTF-16BE with its byte-order mark.
fn utf16(s: &str) -> Vec<u8> {
    let mut out = vec![0xFE, 0xFF];
    for unit in s.encode_utf16() {
        out.extend_from_slice(&unit.to_be_bytes());
    }
    out
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

fn rfind(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).rposition(|w| w == n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_texts_are_written_as_pdf_wants_them() {
        let at = DateTime::parse_from_rfc3339("2026-12-07T02:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(pdf_date(at), "D:20261207090000+07'00'");
        assert_eq!(utf16("Kết"), [0xFE, 0xFF, 0, b'K', 0x1E, 0xBF, 0, b't']);
    }

    #[test]
    fn what_is_not_a_pdf_is_refused() {
        let key = p256::ecdsa::SigningKey::from_slice(&[7; 32]).unwrap();
        let signer = Identity {
            key: AgencyKey::P256(key),
            chain: vec![],
        };
        assert!(matches!(
            sign(b"%PDF-1.7", &signer, Utc::now(), "x"),
            Err(SignError::NoCertificate)
        ));
    }
}

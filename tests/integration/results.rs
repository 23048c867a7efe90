//! Signed results (issue 19, first part): a PDF signed by an agency's key and certificate
//! chain (PAdES B-B) is checked by an independent implementation, poppler's `pdfsig`: the
//! signature is valid and covers the whole file, a second signature keeps the first valid, and
//! one changed byte makes it invalid. The certificates come from a local CA the test creates.

use chrono::Utc;
use dvc::services::results::{AgencyKey, Identity, sign};
use p256::ecdsa::{DerSignature, SigningKey};
use std::str::FromStr;
use std::time::Duration;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::Validity;

/// A root CA and an agency certificate it issued, with the agency's key.
fn agency(cn: &str) -> Identity {
    let ca_key = SigningKey::random(&mut rand_core::OsRng);
    let ca_name = Name::from_str("CN=DVC Test Root CA,O=DVC,C=VN").unwrap();
    let validity = Validity::from_now(Duration::from_secs(365 * 24 * 3600)).unwrap();
    let ca = CertificateBuilder::new(
        Profile::Root,
        SerialNumber::from(1u32),
        validity,
        ca_name.clone(),
        SubjectPublicKeyInfoOwned::from_key(*ca_key.verifying_key()).unwrap(),
        &ca_key,
    )
    .unwrap()
    .build::<DerSignature>()
    .unwrap();
    let key = SigningKey::random(&mut rand_core::OsRng);
    let leaf = CertificateBuilder::new(
        Profile::Leaf {
            issuer: ca_name,
            enable_key_agreement: false,
            enable_key_encipherment: false,
        },
        SerialNumber::from(2u32),
        validity,
        Name::from_str(&format!("CN={cn},O=UBND,C=VN")).unwrap(),
        SubjectPublicKeyInfoOwned::from_key(*key.verifying_key()).unwrap(),
        &ca_key,
    )
    .unwrap()
    .build::<DerSignature>()
    .unwrap();
    Identity {
        key: AgencyKey::P256(key),
        chain: vec![leaf, ca],
    }
}

/// A one-page PDF with a line of text, as a result document would be.
pub(crate) fn result_pdf() -> Vec<u8> {
    use lopdf::content::{Content, Operation};
    use lopdf::{Document, Object, Stream, dictionary};
    let mut doc = Document::with_version("1.7");
    let pages = doc.new_object_id();
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let content = Content {
        operations: vec![
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec!["F1".into(), 14.into()]),
            Operation::new("Td", vec![72.into(), 770.into()]),
            Operation::new(
                "Tj",
                vec![Object::string_literal("Giay phep lao dong so 15/GPLD")],
            ),
            Operation::new("ET", vec![]),
        ],
    };
    let stream = doc.add_object(Stream::new(dictionary! {}, content.encode().unwrap()));
    let page = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages, "Contents" => stream,
        "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        "Resources" => dictionary! { "Font" => dictionary! { "F1" => font } },
    });
    doc.objects.insert(
        pages,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1,
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

/// What `pdfsig` says of the file.
pub(crate) fn pdfsig(pdf: &[u8]) -> String {
    let path = std::env::temp_dir().join(format!("dvc-signed-{}.pdf", uuid::Uuid::new_v4()));
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdfsig")
        .arg(&path)
        .output()
        .expect("pdfsig (poppler-utils) must be installed: scripts/services.sh installs it");
    std::fs::remove_file(&path).ok();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_signed_result_is_valid_for_an_independent_verifier_and_one_changed_byte_breaks_it() {
    let unsigned = result_pdf();
    assert!(pdfsig(&unsigned).contains("does not contain any signatures"));
    let so = agency("So Lao dong Ha Noi");
    let signed = sign(
        &unsigned,
        &so,
        Utc::now(),
        "Kết quả giải quyết thủ tục hành chính",
    )
    .unwrap();
    // The original bytes are untouched: the signature is an incremental update.
    assert_eq!(&signed[..unsigned.len()], &unsigned[..]);
    let report = pdfsig(&signed);
    assert!(report.contains("Signature #1"), "{report}");
    assert!(
        report.contains("Signature Type: ETSI.CAdES.detached"),
        "{report}"
    );
    assert!(
        report.contains("Signing Hash Algorithm: SHA-256"),
        "{report}"
    );
    assert!(
        report.contains("Common Name: So Lao dong Ha Noi"),
        "{report}"
    );
    assert!(report.contains("Total document signed"), "{report}");
    assert!(
        report.contains("Signature Validation: Signature is Valid."),
        "{report}"
    );

    // A second agency signs the signed file: both signatures valid, the first no longer
    // covering the whole file (it covers its revision).
    let ministry = agency("Bo Lao dong");
    let twice = sign(&signed, &ministry, Utc::now(), "Xác nhận").unwrap();
    let report = pdfsig(&twice);
    assert_eq!(report.matches("Signature is Valid.").count(), 2, "{report}");
    assert!(report.contains("Common Name: Bo Lao dong"), "{report}");
    assert_eq!(
        report.matches("Total document signed").count(),
        1,
        "{report}"
    );

    // One byte of the signed content changed: no longer valid.
    let mut tampered = signed.clone();
    let at = tampered
        .windows(7)
        .position(|w| w == b"15/GPLD")
        .expect("the text is in the file");
    tampered[at] = b'9';
    let report = pdfsig(&tampered);
    assert!(report.contains("Signature #1"), "still read: {report}");
    assert!(!report.contains("Signature is Valid."), "{report}");
    assert!(report.contains("Digest Mismatch"), "{report}");

    // Not a PDF at all: refused, nothing produced.
    assert!(sign(b"<html>not a pdf</html>", &so, Utc::now(), "x").is_err());
}

/// A PKCS#12 file written by OpenSSL (an independent implementation): a CA, an agency
/// certificate it signed for a key of `algorithm` (`ec` or `rsa`), exported with `password`.
pub(crate) fn openssl_p12(algorithm: &str, password: &str) -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!("dvc-p12-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(&dir)
            .output()
            .expect("openssl must be installed");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let key_args: &[&str] = if algorithm == "rsa" {
        &["-newkey", "rsa:2048"]
    } else {
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    };
    let mut ca = vec![
        "req", "-x509", "-nodes", "-days", "30", "-keyout", "ca.key", "-out", "ca.pem",
    ];
    ca.extend_from_slice(key_args);
    ca.extend_from_slice(&["-subj", "/CN=Test Government CA/O=Test/C=VN"]);
    run(&ca);
    let mut csr = vec![
        "req",
        "-new",
        "-nodes",
        "-keyout",
        "agency.key",
        "-out",
        "agency.csr",
    ];
    csr.extend_from_slice(key_args);
    csr.extend_from_slice(&["-subj", "/CN=So Noi vu Ha Noi/O=UBND Ha Noi/C=VN"]);
    run(&csr);
    run(&[
        "x509",
        "-req",
        "-in",
        "agency.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "30",
        "-out",
        "agency.pem",
    ]);
    run(&[
        "pkcs12",
        "-export",
        "-inkey",
        "agency.key",
        "-in",
        "agency.pem",
        "-certfile",
        "ca.pem",
        "-passout",
        &format!("pass:{password}"),
        "-out",
        "agency.p12",
    ]);
    let p12 = std::fs::read(dir.join("agency.p12")).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    p12
}

#[test]
fn an_agency_identity_exported_by_openssl_is_imported_and_signs_valid_results() {
    use dvc::services::results::IdentityError;
    for algorithm in ["ec", "rsa"] {
        let p12 = openssl_p12(algorithm, "mật-khẩu 1");
        let now = Utc::now();
        let identity = Identity::from_pkcs12(&p12, "mật-khẩu 1", now).unwrap();
        assert_eq!(identity.chain.len(), 2, "leaf and CA");
        let summary = identity.summary().unwrap();
        assert!(
            summary.subject.contains("CN=So Noi vu Ha Noi"),
            "{summary:?}"
        );
        assert!(
            summary.issuer.contains("CN=Test Government CA"),
            "{summary:?}"
        );
        let expected = if algorithm == "rsa" { "RS256" } else { "ES256" };
        assert_eq!(summary.algorithm, expected);

        let signed = sign(&result_pdf(), &identity, now, "Kết quả").unwrap();
        let report = pdfsig(&signed);
        assert!(
            report.contains("Signature is Valid."),
            "{algorithm}: {report}"
        );
        assert!(report.contains("Common Name: So Noi vu Ha Noi"), "{report}");

        // The same key and chain after their round trip through storage (PKCS#8 + PEM).
        let stored = Identity::from_parts(
            &identity.key.to_pkcs8().unwrap(),
            &identity.chain_pem().unwrap(),
        )
        .unwrap();
        stored.check(now).unwrap();

        // Bad input: a wrong password, an expired or not yet valid certificate, a key
        // that is not the certificate's.
        assert_eq!(
            Identity::from_pkcs12(&p12, "wrong", now).err(),
            Some(IdentityError::WrongPassword)
        );
        assert!(matches!(
            Identity::from_pkcs12(&p12, "mật-khẩu 1", now + chrono::Duration::days(60)),
            Err(IdentityError::Expired(_))
        ));
        assert!(matches!(
            Identity::from_pkcs12(&p12, "mật-khẩu 1", now - chrono::Duration::days(2)),
            Err(IdentityError::NotYetValid(_))
        ));
        let other = agency("Someone else");
        let mismatched = Identity {
            key: other.key.clone(),
            chain: identity.chain.clone(),
        };
        assert_eq!(
            mismatched.check(now).err(),
            Some(IdentityError::KeyMismatch)
        );
    }
}

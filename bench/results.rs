//! Signed results (issue 19): how fast a two-page generated result is signed
//! (`services::results::sign`, PAdES B-B by incremental update) with an ES256 (P-256) and an
//! RSA-2048 agency key, on one thread and on every core; the time to generate that PDF
//! (`services::slips::pdf`), and the CPU part of issuing a result (generate + sign). Pure CPU
//! work: no database, no storage, no network.
//!
//! ```text
//! cargo run --release --example results          # 500 per case after a warm-up
//! cargo run --release --example results -- 2000  # another count
//! ```
//!
//! Needs `pdfinfo` and `pdfsig` (poppler-utils): the result must have two pages, and one signed
//! output per key type must be a valid signature for `pdfsig`, or the bench panics.

#![allow(clippy::unwrap_used)] // a panic here is a failed test or bench, not an outage

#[path = "shared/latency.rs"]
mod latency;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use dvc::locale::Locale;
use dvc::services::results::{self, AgencyKey, Identity, local_ca};
use dvc::services::slips::{self, Agency, SlipData, SlipKind};
use std::str::FromStr;
use std::time::{Duration, Instant};
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::Validity;

/// The reason the issue path writes in the signature dictionary.
const REASON: &str = "Kết quả giải quyết thủ tục hành chính / Result of the procedure";

/// Label/value rows of the result's table (most wrap onto two lines): the most that still fit
/// on two pages (38 make three).
const ANSWER_ROWS: usize = 36;

/// A generated result (a construction permit), numbered `i`, with its answers table.
fn result(i: usize) -> SlipData {
    let code = format!("000.00.24.H29-261207-{:04}", i % 10_000);
    let answers = (0..ANSWER_ROWS)
        .map(|k| {
            let label = match k % 6 {
                0 => format!("Hạng mục công trình {}", k / 6 + 1),
                1 => "Diện tích xây dựng tầng 1 (m²)".to_owned(),
                2 => "Tổng diện tích sàn, kể cả tầng hầm và tum (m²)".to_owned(),
                3 => "Chiều cao công trình tính từ cốt ±0,00 (m)".to_owned(),
                4 => "Số tầng (gồm tầng hầm, tầng lửng, tum)".to_owned(),
                _ => "Chỉ giới đường đỏ, chỉ giới xây dựng".to_owned(),
            };
            let value = match k % 6 {
                0 => format!("Nhà ở riêng lẻ, thửa đất số {} tờ bản đồ số 12", 140 + k),
                1 => format!("{},5", 80 + k),
                2 => format!("{},0", 240 + 3 * k),
                3 => format!("{},6", 11 + k % 5),
                4 => format!("{} tầng và 1 tum", 3 + k % 3),
                _ => "Lùi 2,4 m so với chỉ giới đường đỏ đường Nguyễn Trãi; \
                      mật độ xây dựng không quá 80 %"
                    .to_owned(),
            };
            (label, value)
        })
        .collect();
    SlipData {
        kind: SlipKind::Result,
        locale: Locale::Vi,
        agency: Agency {
            name: "Phòng Kinh tế và Hạ tầng huyện Vị Xuyên".into(),
            parent_name: Some("UBND huyện Vị Xuyên".into()),
            agency_id: Some("000.00.24.H29".into()),
            address: Some("Tổ 5, thị trấn Vị Xuyên, tỉnh Hà Giang".into()),
            phone: Some("0219 3826 111".into()),
            primary_color: "#9b1c1c".into(),
        },
        procedure_name: "Cấp giấy phép xây dựng đối với nhà ở riêng lẻ tại đô thị".into(),
        channel_label: "Trực tuyến".into(),
        applicant_name: format!("Nguyễn Thị Hoà {i}"),
        applicant_id_number: Some("002190001234".into()),
        applicant_phone: None,
        applicant_email: None,
        issued_at: Utc.with_ymd_and_hms(2026, 12, 7, 2, 30, 0).unwrap()
            + TimeDelta::minutes(i64::try_from(i).unwrap()),
        officer_name: Some("Trần Văn Bình".into()),
        received_at: Some(Utc.with_ymd_and_hms(2026, 11, 23, 2, 15, 0).unwrap()),
        due_date: None,
        documents: vec![],
        pickup: String::new(),
        missing: vec![],
        note: Some("Chủ đầu tư phải thông báo ngày khởi công cho UBND xã trước 7 ngày.".into()),
        reason: None,
        old_due_date: None,
        new_due_date: None,
        record: vec![],
        lookup_url: format!(
            "https://vixuyen.dvc.example.vn/ket-qua/2b7f0c1e-4d7a-4f0e-9a51-{:012x}",
            i
        ),
        result_number: Some(format!("{}/2026/GPXD", i + 1)),
        answers,
        dossier_code: code,
    }
}

/// An RSA-2048 identity: a root CA and an agency certificate it issued, both RSA-2048 with
/// PKCS#1 v1.5 SHA-256 signatures, as the government CA issues them.
fn rsa_identity() -> Identity {
    type Signer = rsa::pkcs1v15::SigningKey<sha2::Sha256>;
    let validity = Validity::from_now(Duration::from_secs(365 * 24 * 3600)).unwrap();
    let new_key = || rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048).unwrap();
    let ca_key = new_key();
    let ca_signer = Signer::new(ca_key.clone());
    let ca_name = Name::from_str("CN=DVC Bench RSA CA (not a real CA),O=DVC,C=VN").unwrap();
    let ca = CertificateBuilder::new(
        Profile::Root,
        SerialNumber::from(1u32),
        validity,
        ca_name.clone(),
        SubjectPublicKeyInfoOwned::from_key(ca_key.to_public_key()).unwrap(),
        &ca_signer,
    )
    .unwrap()
    .build::<rsa::pkcs1v15::Signature>()
    .unwrap();
    let key = new_key();
    let leaf = CertificateBuilder::new(
        Profile::Leaf {
            issuer: ca_name,
            enable_key_agreement: false,
            enable_key_encipherment: false,
        },
        SerialNumber::from(2u32),
        validity,
        Name::from_str("CN=Phong Kinh te va Ha tang Vi Xuyen,O=DVC bench,C=VN").unwrap(),
        SubjectPublicKeyInfoOwned::from_key(key.to_public_key()).unwrap(),
        &ca_signer,
    )
    .unwrap()
    .build::<rsa::pkcs1v15::Signature>()
    .unwrap();
    let identity = Identity {
        key: AgencyKey::Rsa(Box::new(Signer::new(key))),
        chain: vec![leaf, ca],
    };
    identity.check(Utc::now()).unwrap();
    identity
}

/// Runs `work(i)` for every `i` of `0..n`, split over `threads` threads; returns the wall time,
/// each call's latency and the output of call 0.
fn measure<F>(n: usize, threads: usize, work: F) -> (Duration, Vec<Duration>, Vec<u8>)
where
    F: Fn(usize) -> Vec<u8> + Sync,
{
    let work = &work;
    let chunk = n.div_ceil(threads);
    let t = Instant::now();
    let parts: Vec<(Vec<Duration>, Option<Vec<u8>>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|c| {
                s.spawn(move || {
                    let mut first = None;
                    let lat = (c * chunk..((c + 1) * chunk).min(n))
                        .map(|i| {
                            let t = Instant::now();
                            let out = work(i);
                            let took = t.elapsed();
                            if i == 0 {
                                first = Some(out);
                            } else {
                                std::hint::black_box(out);
                            }
                            took
                        })
                        .collect();
                    (lat, first)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let wall = t.elapsed();
    let mut lat = Vec::with_capacity(n);
    let mut first = None;
    for (l, f) in parts {
        lat.extend(l);
        first = first.or(f);
    }
    (wall, lat, first.unwrap())
}

/// Prints one case's line: per second, p50, p99, max.
fn report(label: &str, threads: usize, wall: Duration, lat: Vec<Duration>) {
    let s = latency::summarise(wall, lat);
    println!(
        "{label:<30} threads={threads} n={} wall={:.2}s {:>8.1}/s  \
         p50={:.2} ms  p99={:.2} ms  max={:.2} ms",
        s.n,
        wall.as_secs_f64(),
        s.per_second,
        s.p50_ms,
        s.p99_ms,
        s.max_ms,
    );
}

/// What a poppler tool (`pdfinfo`, `pdfsig`) says of `pdf`.
fn poppler(tool: &str, pdf: &[u8]) -> String {
    let path = std::env::temp_dir().join(format!(
        "dvc-bench-result-{}-{}.pdf",
        std::process::id(),
        uuid::Uuid::new_v4()
    ));
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new(tool)
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("{tool} (poppler-utils) must be installed: {e}"));
    std::fs::remove_file(&path).ok();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn pages(pdf: &[u8]) -> usize {
    let info = poppler("pdfinfo", pdf);
    info.lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no page count from pdfinfo:\n{info}"))
}

/// Panics unless `pdfsig` finds one valid signature over the whole of `signed`.
fn check_valid(label: &str, signed: &[u8]) {
    let report = poppler("pdfsig", signed);
    for expected in [
        "Signature #1",
        "Signature Type: ETSI.CAdES.detached",
        "Signature is Valid.",
        "Total document signed",
    ] {
        assert!(
            report.contains(expected),
            "{label}: pdfsig does not say {expected:?}:\n{report}"
        );
    }
    assert!(!report.contains("Signature #2"), "{label}:\n{report}");
    assert_eq!(pages(signed), 2, "{label}: the signed result has two pages");
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(500, |a| a.parse().expect("a count of results"));
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let warm_up = (n / 5).max(20);

    let unsigned = slips::pdf(&result(0)).unwrap();
    let page_count = pages(&unsigned);
    assert_eq!(page_count, 2, "the generated result must have two pages");

    let t = Instant::now();
    let p256 = local_ca::issue("Phòng Kinh tế và Hạ tầng huyện Vị Xuyên", 365).unwrap();
    let p256_setup = t.elapsed();
    let t = Instant::now();
    let rsa = rsa_identity();
    let rsa_setup = t.elapsed();
    let identities = [("ES256 (P-256)", &p256), ("RS256 (RSA-2048)", &rsa)];

    let at = |i: usize| -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 2, 30, 0).unwrap()
            + TimeDelta::seconds(i64::try_from(i).unwrap())
    };
    let sizes: Vec<usize> = identities
        .iter()
        .map(|(_, id)| results::sign(&unsigned, id, at(0), REASON).unwrap().len())
        .collect();
    println!(
        "result PDF: {page_count} pages, {} bytes unsigned; signed: {} bytes (ES256), {} bytes \
         (RSA-2048); {n} per case after {warm_up} warm-up; {cores} cores; identities made in \
         {:.0} ms (P-256) and {:.0} ms (RSA-2048)",
        unsigned.len(),
        sizes[0],
        sizes[1],
        p256_setup.as_secs_f64() * 1000.0,
        rsa_setup.as_secs_f64() * 1000.0,
    );

    // Generating the result alone (the fonts are parsed on first use; the warm-up pays it).
    let generate = |i: usize| slips::pdf(&result(i)).unwrap();
    measure(warm_up, 1, generate);
    let mut threads = vec![1];
    if cores > 1 {
        threads.push(cores);
    }
    for &t in &threads {
        let (wall, lat, _) = measure(n, t, generate);
        report("generate", t, wall, lat);
    }

    // Signing the same unsigned result, as the issue path signs the PDF it just generated.
    for (label, identity) in identities {
        let sign = |i: usize| results::sign(&unsigned, identity, at(i), REASON).unwrap();
        measure(warm_up, 1, sign);
        for &t in &threads {
            let (wall, lat, signed) = measure(n, t, sign);
            report(&format!("sign {label}"), t, wall, lat);
            check_valid(label, &signed);
        }
    }

    // The CPU part of issuing a result: generate it numbered, then sign it.
    for (label, identity) in identities {
        let issue = |i: usize| {
            let pdf = slips::pdf(&result(i)).unwrap();
            results::sign(&pdf, identity, at(i), REASON).unwrap()
        };
        measure(warm_up, 1, issue);
        for &t in &threads {
            let (wall, lat, signed) = measure(n, t, issue);
            report(&format!("generate+sign {label}"), t, wall, lat);
            check_valid(label, &signed);
        }
    }
    println!("pdfsig: every checked signature is valid (Signature is Valid., whole document)");
}

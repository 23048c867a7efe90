//! The one-stop desk's receipt as PDF (`services::slips::pdf`): throughput and latency per
//! slip, on one thread and on every core. Pure CPU work: no database, no network.
//!
//! ```text
//! cargo run --release --example slips            # 2000 slips per run after a warm-up
//! cargo run --release --example slips -- 10000   # another count
//! ```

#![allow(clippy::unwrap_used)] // a panic here is a failed test or bench, not an outage

#[path = "shared/latency.rs"]
mod latency;

use chrono::{NaiveDate, TimeDelta, TimeZone, Utc};
use dvc::locale::Locale;
use dvc::services::slips::{self, Agency, DocumentLine, SlipData, SlipKind};
use std::time::{Duration, Instant};

fn receipt(i: usize) -> SlipData {
    let code = format!("000.00.24.H29-261207-{:04}", i % 10_000);
    SlipData {
        kind: SlipKind::Receipt,
        locale: if i % 4 == 3 { Locale::En } else { Locale::Vi },
        agency: Agency {
            name: "Bộ phận Một cửa UBND huyện Vị Xuyên".into(),
            parent_name: Some("UBND tỉnh Hà Giang".into()),
            agency_id: Some("000.00.24.H29".into()),
            address: Some("Tổ 5, thị trấn Vị Xuyên, tỉnh Hà Giang".into()),
            phone: Some("0219 3826 111".into()),
            primary_color: "#9b1c1c".into(),
        },
        procedure_name: "Cấp giấy phép xây dựng đối với nhà ở riêng lẻ tại đô thị".into(),
        channel_label: "Trực tiếp".into(),
        applicant_name: format!("Nguyễn Thị Hoà {i}"),
        applicant_id_number: Some("002190001234".into()),
        applicant_phone: Some("0912345678".into()),
        applicant_email: Some("hoa@example.vn".into()),
        issued_at: Utc.with_ymd_and_hms(2026, 12, 7, 2, 30, 0).unwrap()
            + TimeDelta::minutes(i64::try_from(i).unwrap()),
        officer_name: Some("Trần Văn Bình".into()),
        received_at: Some(Utc.with_ymd_and_hms(2026, 12, 7, 2, 15, 0).unwrap()),
        due_date: NaiveDate::from_ymd_opt(2026, 12, 21),
        documents: vec![
            DocumentLine {
                name: "Đơn đề nghị cấp giấy phép xây dựng (Mẫu số 01)".into(),
                files: 1,
            },
            DocumentLine {
                name: "Bản sao giấy chứng nhận quyền sử dụng đất".into(),
                files: 2,
            },
            DocumentLine {
                name: "Bản vẽ thiết kế xây dựng: mặt bằng, mặt cắt, mặt đứng".into(),
                files: 2,
            },
        ],
        pickup: "Bộ phận Một cửa, quầy số 3".into(),
        missing: Vec::new(),
        note: None,
        reason: None,
        old_due_date: None,
        new_due_date: None,
        record: Vec::new(),
        lookup_url: format!("https://vixuyen.dvc.example.vn/tra-cuu?ma={code}"),
        result_number: None,
        answers: vec![],
        dossier_code: code,
    }
}

/// Renders slips `range` and returns each one's latency.
fn run(range: std::ops::Range<usize>) -> Vec<Duration> {
    range
        .map(|i| {
            let data = receipt(i);
            let t = Instant::now();
            let pdf = slips::pdf(&data).unwrap();
            let took = t.elapsed();
            assert!(pdf.len() > 1000);
            std::hint::black_box(pdf);
            took
        })
        .collect()
}

fn report(label: &str, threads: usize, wall: Duration, lat: Vec<Duration>) {
    let s = latency::summarise(wall, lat);
    println!(
        "{label:<14} threads={threads} slips={} wall={:.2}s  {:>7.1} slips/s  \
         p50={:.2} ms  p99={:.2} ms  max={:.2} ms",
        s.n,
        wall.as_secs_f64(),
        s.per_second,
        s.p50_ms,
        s.p99_ms,
        s.max_ms,
    );
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(2000, |a| a.parse().expect("a count of slips"));
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let sample = slips::pdf(&receipt(0)).unwrap();
    println!(
        "receipt PDF: {} bytes; {n} slips per run; {cores} cores",
        sample.len()
    );
    // Warm-up: the fonts are parsed on first use; caches and the allocator settle.
    run(0..200);

    let t = Instant::now();
    let lat = run(0..n);
    report("single thread", 1, t.elapsed(), lat);

    let t = Instant::now();
    let chunk = n.div_ceil(cores);
    let lat: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..cores)
            .map(|c| s.spawn(move || run(c * chunk..((c + 1) * chunk).min(n))))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    report("all cores", cores, t.elapsed(), lat);
}

//! The one-stop desk's slips as PDF, read back by an independent reader: poppler's `pdftotext`
//! must find the dossier code, the dates and the Vietnamese names and titles intact (the fonts
//! are embedded as subsets with ToUnicode maps). No server or database is involved.
//!
//! `pdftotext` comes with poppler-utils (`ensure_test_tools` in scripts/services.sh installs
//! it); without it this test fails rather than skips.

use chrono::{NaiveDate, TimeZone, Utc};
use dvc::locale::Locale;
use dvc::services::slips::{self, Agency, DocumentLine, RecordRow, SlipData, SlipKind};
use std::process::Command;
use unicode_normalization::UnicodeNormalization;

const CODE: &str = "000.00.24.H29-261207-0001";

fn data(kind: SlipKind, locale: Locale) -> SlipData {
    SlipData {
        kind,
        locale,
        agency: Agency {
            name: "Bộ phận Một cửa UBND huyện Vị Xuyên".into(),
            parent_name: Some("UBND tỉnh Hà Giang".into()),
            agency_id: Some("000.00.24.H29".into()),
            address: Some("Tổ 5, thị trấn Vị Xuyên, tỉnh Hà Giang".into()),
            phone: Some("0219 3826 111".into()),
            primary_color: "#1d4ed8".into(),
        },
        dossier_code: CODE.into(),
        procedure_name: "Cấp giấy phép xây dựng nhà ở riêng lẻ".into(),
        channel_label: "Trực tiếp".into(),
        applicant_name: "Nguyễn Thị Hoà".into(),
        applicant_id_number: Some("002190001234".into()),
        applicant_phone: Some("0912345678".into()),
        applicant_email: Some("hoa@example.vn".into()),
        issued_at: Utc.with_ymd_and_hms(2026, 12, 7, 2, 30, 0).unwrap(),
        officer_name: Some("Trần Văn Bình".into()),
        received_at: Some(Utc.with_ymd_and_hms(2026, 12, 7, 2, 15, 0).unwrap()),
        due_date: NaiveDate::from_ymd_opt(2026, 12, 21),
        documents: vec![
            DocumentLine {
                name: "Đơn đề nghị cấp giấy phép xây dựng".into(),
                files: 1,
            },
            DocumentLine {
                name: "Bản sao giấy chứng nhận quyền sử dụng đất".into(),
                files: 2,
            },
        ],
        pickup: "Bộ phận Một cửa, quầy số 3".into(),
        missing: vec![
            "Bản vẽ thiết kế mặt bằng".into(),
            "Ảnh chụp hiện trạng".into(),
        ],
        note: Some("Nộp bổ sung trong 10 ngày làm việc.".into()),
        reason: Some("Hồ sơ không thuộc thẩm quyền giải quyết.".into()),
        old_due_date: NaiveDate::from_ymd_opt(2026, 12, 21),
        new_due_date: NaiveDate::from_ymd_opt(2026, 12, 28),
        record: vec![
            RecordRow {
                step: "Tiếp nhận".into(),
                actor: "Trần Văn Bình — Cán bộ một cửa".into(),
                from: Utc.with_ymd_and_hms(2026, 12, 7, 2, 15, 0).unwrap(),
                until: Some(Utc.with_ymd_and_hms(2026, 12, 7, 3, 0, 0).unwrap()),
                note: None,
            },
            RecordRow {
                step: "Thẩm định".into(),
                actor: "Lê Thị Dung — Chuyên viên".into(),
                from: Utc.with_ymd_and_hms(2026, 12, 7, 3, 0, 0).unwrap(),
                until: None,
                note: Some("Đang xem xét".into()),
            },
        ],
        lookup_url: format!("https://vixuyen.dvc.example.vn/tra-cuu?ma={CODE}"),
        result_number: Some("00012/2026/KQ".into()),
        answers: vec![
            ("Họ và tên người lao động".into(), "Tanaka Hiroshi".into()),
            ("Vị trí công việc".into(), "Chuyên gia".into()),
        ],
    }
}

/// The text poppler reads from `pdf`, NFC-normalised, with runs of white space as one space
/// (so a line broken by the layout still matches).
fn pdftotext(pdf: &[u8], name: &str) -> String {
    // DVC_SLIPS_OUT=dir keeps the PDFs there, to look at.
    let keep = std::env::var_os("DVC_SLIPS_OUT").map(std::path::PathBuf::from);
    let path = keep.as_ref().map_or_else(
        || std::env::temp_dir().join(format!("dvc-slip-{}-{name}.pdf", std::process::id())),
        |dir| dir.join(format!("{name}.pdf")),
    );
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output();
    if keep.is_none() {
        let _ = std::fs::remove_file(&path);
    }
    let out = match out {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "pdftotext not found: this test needs poppler-utils \
             (`apt-get install -y poppler-utils`, or `ensure_test_tools` in scripts/services.sh)"
        ),
        Err(e) => panic!("running pdftotext: {e}"),
    };
    assert!(
        out.status.success(),
        "pdftotext failed on {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("pdftotext -enc UTF-8 writes UTF-8");
    text.nfc()
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn assert_has(text: &str, what: &str, name: &str) {
    assert!(
        text.contains(what),
        "{name}: {what:?} not found in:\n{text}"
    );
}

#[test]
fn slips_read_back_intact_with_pdftotext() {
    for kind in SlipKind::ALL.into_iter().chain([SlipKind::Result]) {
        for locale in Locale::ALL {
            let name = format!("{}-{}", kind.slug(), locale.as_str());
            let pdf = slips::pdf(&data(kind, locale)).unwrap();
            assert!(pdf.starts_with(b"%PDF-"), "{name}");
            let text = pdftotext(&pdf, &name);
            assert_has(&text, kind.title(Locale::Vi), &name);
            if locale == Locale::En {
                assert_has(&text, kind.title(Locale::En), &name);
                assert_has(&text, "SOCIALIST REPUBLIC OF VIETNAM", &name);
                let caption = if kind == SlipKind::Result {
                    "Verify this result"
                } else {
                    "Look up this dossier"
                };
                assert_has(&text, caption, &name);
            } else {
                assert_has(&text, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", &name);
                assert_has(&text, "Độc lập - Tự do - Hạnh phúc", &name);
                let caption = if kind == SlipKind::Result {
                    "Xác thực kết quả"
                } else {
                    "Tra cứu hồ sơ"
                };
                assert_has(&text, caption, &name);
            }
            assert_has(&text, "BỘ PHẬN MỘT CỬA UBND HUYỆN VỊ XUYÊN", &name);
            assert_has(&text, "UBND TỈNH HÀ GIANG", &name);
            assert_has(&text, "Trần Văn Bình", &name);
            if kind == SlipKind::ProcessingRecord {
                // The table's narrow columns may break a name; the steps are short.
                assert_has(&text, "Thẩm định", &name);
                assert_has(&text, "09:15 07/12/2026", &name);
            } else {
                assert_has(&text, "Nguyễn Thị Hoà", &name);
            }
            assert_has(&text, CODE, &name);
            match kind {
                SlipKind::Receipt => {
                    assert_has(&text, "21/12/2026", &name);
                    assert_has(&text, "Bản sao giấy chứng nhận quyền sử dụng đất", &name);
                    assert_has(&text, "Bộ phận Một cửa, quầy số 3", &name);
                }
                SlipKind::CompletionRequest => {
                    assert_has(&text, "Bản vẽ thiết kế mặt bằng", &name);
                    assert_has(&text, "Nộp bổ sung trong 10 ngày làm việc.", &name);
                }
                SlipKind::Refusal => {
                    assert_has(&text, "Hồ sơ không thuộc thẩm quyền giải quyết.", &name);
                }
                SlipKind::Apology => {
                    assert_has(&text, "21/12/2026", &name);
                    assert_has(&text, "28/12/2026", &name);
                }
                SlipKind::ProcessingRecord => {
                    assert_has(&text, "21/12/2026", &name);
                    assert_has(&text, "Lê Thị Dung", &name);
                }
                SlipKind::Result => {
                    assert_has(&text, "00012/2026/KQ", &name);
                    assert_has(&text, "Tanaka Hiroshi", &name);
                    assert_has(&text, "Chuyên gia", &name);
                    assert_has(&text, "Nộp bổ sung trong 10 ngày làm việc.", &name);
                }
            }
        }
    }
}

#[test]
fn slips_decomposed_input_comes_out_composed() {
    // "Nguyễn Thị Hoà" typed with combining marks (NFD), as some keyboards and forms send it.
    let mut d = data(SlipKind::Receipt, Locale::Vi);
    d.applicant_name = "Nguyễn Thị Hoà".nfd().collect();
    assert_ne!(d.applicant_name, "Nguyễn Thị Hoà");
    let pdf = slips::pdf(&d).unwrap();
    let text = pdftotext(&pdf, "nfd");
    assert_has(&text, "Nguyễn Thị Hoà", "nfd");
}

#[test]
fn slips_long_processing_record_spans_pages() {
    let mut d = data(SlipKind::ProcessingRecord, Locale::Vi);
    let start = Utc.with_ymd_and_hms(2026, 12, 7, 2, 0, 0).unwrap();
    d.record = (0..90)
        .map(|i| RecordRow {
            step: format!("Bước số {i}"),
            actor: "Lê Thị Dung — Chuyên viên".into(),
            from: start + chrono::TimeDelta::hours(i),
            until: Some(start + chrono::TimeDelta::hours(i + 1)),
            note: None,
        })
        .collect();
    let pdf = slips::pdf(&d).unwrap();
    let text = pdftotext(&pdf, "long");
    for i in 0..90 {
        assert_has(&text, &format!("Bước số {i} "), "long");
    }
    // The header row is repeated on every page of the table.
    assert!(text.matches("Bước xử lý").count() >= 3, "{text}");
}

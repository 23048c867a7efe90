//! The one-stop desk's printable slips (Bộ phận một cửa): the receipt and appointment, the
//! request to complete a dossier, the refusal, the apology for a late result and the record of
//! how a dossier was processed.
//!
//! Pure rendering from plain values, no database: [`compose`] lays a slip out as header lines,
//! a title and blocks (what the portal's `slip.html` template iterates), [`pdf`] draws the same
//! layout on A4 with the embedded DejaVu fonts, and [`qr_svg`] draws the QR code of the
//! dossier's public lookup page for the HTML page (the PDF draws it as vector squares).

mod compose;
mod pdf;
mod qr;
mod text;

use crate::locale::Locale;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

pub use compose::compose;
pub use pdf::pdf;
pub use qr::qr_svg;

/// Which slip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SlipKind {
    /// Giấy tiếp nhận hồ sơ và hẹn trả kết quả.
    Receipt,
    /// Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ.
    CompletionRequest,
    /// Phiếu từ chối tiếp nhận giải quyết hồ sơ.
    Refusal,
    /// Phiếu xin lỗi và hẹn lại ngày trả kết quả.
    Apology,
    /// Phiếu kiểm soát quá trình giải quyết hồ sơ.
    ProcessingRecord,
    /// The electronic result itself (kết quả giải quyết), generated from the procedure's form
    /// and signed by the agency. Not a desk slip: it is not among [`SlipKind::ALL`].
    Result,
}

impl SlipKind {
    pub const ALL: [SlipKind; 5] = [
        SlipKind::Receipt,
        SlipKind::CompletionRequest,
        SlipKind::Refusal,
        SlipKind::Apology,
        SlipKind::ProcessingRecord,
    ];

    /// URL segment: "tiep-nhan", "bo-sung", "tu-choi", "xin-loi", "kiem-soat".
    pub fn slug(self) -> &'static str {
        match self {
            Self::Receipt => "tiep-nhan",
            Self::CompletionRequest => "bo-sung",
            Self::Refusal => "tu-choi",
            Self::Apology => "xin-loi",
            Self::ProcessingRecord => "kiem-soat",
            Self::Result => "ket-qua",
        }
    }

    pub fn from_slug(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.slug() == s)
    }

    /// The slip's title as printed (upper case, as on the official forms).
    pub fn title(self, locale: Locale) -> &'static str {
        match (self, locale) {
            (Self::Receipt, Locale::Vi) => "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
            (Self::Receipt, Locale::En) => "RECEIPT OF DOSSIER AND APPOINTMENT FOR THE RESULT",
            (Self::CompletionRequest, Locale::Vi) => "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ",
            (Self::CompletionRequest, Locale::En) => {
                "REQUEST TO SUPPLEMENT AND COMPLETE THE DOSSIER"
            }
            (Self::Refusal, Locale::Vi) => "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ",
            (Self::Refusal, Locale::En) => "NOTICE OF REFUSAL TO ACCEPT AND PROCESS THE DOSSIER",
            (Self::Apology, Locale::Vi) => "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ",
            (Self::Apology, Locale::En) => "APOLOGY AND NEW APPOINTMENT FOR THE RESULT",
            (Self::ProcessingRecord, Locale::Vi) => "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ",
            (Self::ProcessingRecord, Locale::En) => "DOSSIER PROCESSING CONTROL RECORD",
            (Self::Result, Locale::Vi) => "KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH",
            (Self::Result, Locale::En) => "RESULT OF THE ADMINISTRATIVE PROCEDURE",
        }
    }
}

/// The agency issuing the slip (the tenant).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Agency {
    pub name: String,
    /// The body above it (e.g. "UBND tỉnh Hà Giang"), printed above the name.
    pub parent_name: Option<String>,
    /// Its identifier in the national catalogue of agencies (e.g. "000.00.24.H29").
    pub agency_id: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    /// `#rrggbb`; may be empty (black is used then).
    pub primary_color: String,
}

/// One document received with the dossier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocumentLine {
    pub name: String,
    /// How many copies or files.
    pub files: u32,
}

/// One step of the processing record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordRow {
    pub step: String,
    /// Who: name and role ("Trần Văn B — Chuyên viên").
    pub actor: String,
    pub from: DateTime<Utc>,
    /// `None` while the step is still open.
    pub until: Option<DateTime<Utc>>,
    pub note: Option<String>,
}

/// Everything a slip shows. The fields a kind does not use are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlipData {
    pub kind: SlipKind,
    pub locale: Locale,
    pub agency: Agency,
    pub dossier_code: String,
    pub procedure_name: String,
    /// How the dossier came in, already in `locale` ("Trực tiếp", "Online"…).
    pub channel_label: String,
    pub applicant_name: String,
    pub applicant_id_number: Option<String>,
    pub applicant_phone: Option<String>,
    pub applicant_email: Option<String>,
    pub issued_at: DateTime<Utc>,
    pub officer_name: Option<String>,
    pub received_at: Option<DateTime<Utc>>,
    /// The appointment to return the result.
    pub due_date: Option<NaiveDate>,
    pub documents: Vec<DocumentLine>,
    /// Where to collect the result.
    pub pickup: String,
    /// What is missing, one item each (items holding several lines are split).
    pub missing: Vec<String>,
    pub note: Option<String>,
    pub reason: Option<String>,
    pub old_due_date: Option<NaiveDate>,
    pub new_due_date: Option<NaiveDate>,
    pub record: Vec<RecordRow>,
    /// The dossier's public lookup page (encoded in the QR code); on a result, its
    /// verification page.
    pub lookup_url: String,
    /// A result's number in the agency's register.
    pub result_number: Option<String>,
    /// A result's content: the applicant's answers, as (label, value) lines.
    pub answers: Vec<(String, String)>,
}

/// A slip laid out: what both renderers (the PDF and the HTML template) draw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Composed {
    pub kind: SlipKind,
    /// "vi" or "en" (the HTML `lang`).
    pub locale: Locale,
    /// Upper left: the parent body, the agency (last line, bold).
    pub agency_lines: Vec<String>,
    /// Upper right: the national motto block.
    pub motto: [String; 2],
    pub title: String,
    /// In English, the English title under the Vietnamese one.
    pub subtitle: Option<String>,
    pub blocks: Vec<Block>,
    /// "Ngày 07/12/2026" / "Date: 07/12/2026", with the place when the address names it.
    pub place_date: String,
    /// The officer's name, signed under `signer_label`.
    pub signer: Option<String>,
    pub signer_label: String,
    /// The agency's address and phone, one line (empty when neither is known).
    pub contact: String,
    pub qr_caption: String,
    pub lookup_url: String,
    /// Labels of the HTML page's links.
    pub pdf_label: String,
    pub back_label: String,
    /// `#rrggbb` if the agency's colour is valid, else empty.
    pub accent: String,
}

/// A piece of a slip's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    Paragraph {
        text: String,
    },
    /// Label and value pairs.
    Fields {
        rows: Vec<(String, String)>,
    },
    List {
        heading: String,
        items: Vec<String>,
    },
    Table {
        headers: Vec<String>,
        rows: Vec<Vec<String>>,
    },
}

/// Why a PDF could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SlipError {
    #[error("the lookup address is too long for a QR code: {0}")]
    Qr(String),
    #[error("PDF: {0}")]
    Pdf(String),
}

#[cfg(test)]
pub(crate) mod fixtures {
    use super::{Agency, DocumentLine, RecordRow, SlipData, SlipKind};
    use crate::locale::Locale;
    use chrono::{NaiveDate, TimeZone, Utc};

    pub fn data(kind: SlipKind, locale: Locale) -> SlipData {
        SlipData {
            kind,
            locale,
            agency: Agency {
                name: "Bộ phận Một cửa UBND huyện Vị Xuyên".into(),
                parent_name: Some("UBND tỉnh Hà Giang".into()),
                agency_id: Some("000.00.24.H29".into()),
                address: Some("Tổ 5, thị trấn Vị Xuyên, tỉnh Hà Giang".into()),
                phone: Some("0219 3826 111".into()),
                primary_color: "#9b1c1c".into(),
            },
            dossier_code: "000.00.24.H29-261207-0001".into(),
            procedure_name: "Cấp giấy phép xây dựng nhà ở riêng lẻ".into(),
            channel_label: "Trực tiếp".into(),
            applicant_name: "Nguyễn Thị Hoà".into(),
            applicant_id_number: Some("002190001234".into()),
            applicant_phone: Some("0912345678".into()),
            applicant_email: None,
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
                "Ảnh chụp hiện trạng\nBản cam kết an toàn".into(),
            ],
            note: Some("Nộp bổ sung trong 10 ngày làm việc.".into()),
            reason: Some("Thủ tục không thuộc thẩm quyền giải quyết của huyện.".into()),
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
            lookup_url: "https://vixuyen.dvc.example.vn/tra-cuu?ma=000.00.24.H29-261207-0001"
                .into(),
            result_number: None,
            answers: vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

    use super::fixtures::data;
    use super::*;
    use minijinja::{Environment, context};

    /// The portal's `slip.html` (with its layout) renders a composed slip: every block, the
    /// QR code unescaped, and nothing a strict CSP would block.
    #[test]
    fn the_portal_template_renders_every_kind() {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        env.add_template(
            "layout.html",
            include_str!("../../../templates/web/portal/layout.html"),
        )
        .unwrap();
        env.add_template(
            "slip.html",
            include_str!("../../../templates/web/portal/slip.html"),
        )
        .unwrap();
        env.add_function("t", |key: &str| key.to_owned());
        env.add_filter("urlencode", |v: String| v);
        for kind in SlipKind::ALL {
            for locale in Locale::ALL {
                let d = data(kind, locale);
                let slip = compose(&d);
                let html = env
                    .get_template("slip.html")
                    .unwrap()
                    .render(context! {
                        slip => &slip,
                        qr => qr_svg(&d.lookup_url),
                        pdf_href => "/ho-so/x/phieu/tiep-nhan.pdf",
                        back_href => "/ho-so/x",
                        locale => locale.as_str(),
                    })
                    .unwrap();
                let name = format!("{kind:?} {locale:?}");
                assert!(html.contains(kind.title(Locale::Vi)), "{name}");
                assert!(
                    html.contains("<svg xmlns="),
                    "{name}: the QR code is not escaped"
                );
                // minijinja escapes "/" as "&#x2f;", in attributes too.
                let href = "/ho-so/x/phieu/tiep-nhan.pdf".replace('/', "&#x2f;");
                assert!(html.contains(&format!("href=\"{href}\"")), "{name}");
                assert!(html.contains(&slip.qr_caption), "{name}");
                assert!(
                    html.contains(&format!("lang=\"{}\"", locale.as_str())),
                    "{name}"
                );
                assert!(
                    !html.contains("style=") && !html.contains("<script"),
                    "{name}"
                );
                for block in &slip.blocks {
                    let sample = match block {
                        Block::Paragraph { text } => text.clone(),
                        Block::Fields { rows } => rows[0].1.clone(),
                        Block::List { items, .. } => items[0].clone(),
                        Block::Table { headers, .. } => format!("<th scope=\"col\">{}", headers[0]),
                    };
                    let sample = sample.replace('/', "&#x2f;");
                    assert!(html.contains(&sample), "{name}: {sample}");
                }
            }
        }
    }
}

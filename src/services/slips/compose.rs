//! The layout both renderers share: which lines, labels and blocks a slip has, in its language.

use super::{Block, Composed, SlipData, SlipKind};
use crate::locale::Locale;
use crate::services::calendar::local_date;
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Utc};

/// What an absent value reads as.
const NONE: &str = "—";

/// Lays `data` out: header, title, body blocks, place and date, signer, QR caption.
pub fn compose(data: &SlipData) -> Composed {
    let lo = data.locale;
    let tr = |vi: &str, en: &str| -> String { pick(lo, vi, en).to_owned() };
    let agency = &data.agency;
    let agency_lines = agency
        .parent_name
        .iter()
        .chain(std::iter::once(&agency.name))
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(str::to_uppercase)
        .collect();
    let motto = [
        tr(
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
            "SOCIALIST REPUBLIC OF VIETNAM",
        ),
        tr(
            "Độc lập - Tự do - Hạnh phúc",
            "Independence - Freedom - Happiness",
        ),
    ];
    let (title, subtitle) = match lo {
        Locale::Vi => (data.kind.title(Locale::Vi).to_owned(), None),
        Locale::En => (
            data.kind.title(Locale::Vi).to_owned(),
            Some(data.kind.title(Locale::En).to_owned()),
        ),
    };
    let contact = [
        agency
            .address
            .as_deref()
            .map(|a| format!("{}: {a}", tr("Địa chỉ", "Address"))),
        agency
            .phone
            .as_deref()
            .map(|p| format!("{}: {p}", tr("Điện thoại", "Phone"))),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" · ");
    let issued = date(local_date(data.issued_at));
    let place_date = match (place(agency.address.as_deref()), lo) {
        (Some(p), Locale::Vi) => format!("{p}, ngày {issued}"),
        (Some(p), Locale::En) => format!("{p}, {issued}"),
        (None, Locale::Vi) => format!("Ngày {issued}"),
        (None, Locale::En) => format!("Date: {issued}"),
    };
    let signer_label = match data.kind {
        SlipKind::Receipt | SlipKind::CompletionRequest | SlipKind::Refusal => {
            tr("NGƯỜI TIẾP NHẬN HỒ SƠ", "RECEIVING OFFICER")
        }
        SlipKind::Apology | SlipKind::ProcessingRecord => tr("NGƯỜI LẬP PHIẾU", "ISSUED BY"),
        SlipKind::Result => tr(
            "THỦ TRƯỞNG CƠ QUAN (đã ký số)",
            "HEAD OF THE AGENCY (digitally signed)",
        ),
    };
    Composed {
        kind: data.kind,
        locale: lo,
        agency_lines,
        motto,
        title,
        subtitle,
        blocks: blocks(data),
        place_date,
        signer: data
            .officer_name
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        signer_label,
        contact,
        qr_caption: if data.kind == SlipKind::Result {
            tr("Xác thực kết quả", "Verify this result")
        } else {
            tr("Tra cứu hồ sơ", "Look up this dossier")
        },
        lookup_url: data.lookup_url.clone(),
        pdf_label: tr("Tải bản PDF để in", "Download the PDF to print"),
        back_label: tr("Quay lại hồ sơ", "Back to the dossier"),
        accent: accent(&agency.primary_color),
    }
}

fn pick<'a>(lo: Locale, vi: &'a str, en: &'a str) -> &'a str {
    match lo {
        Locale::Vi => vi,
        Locale::En => en,
    }
}

/// `dd/mm/yyyy` (both languages).
pub(super) fn date(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// `HH:MM dd/mm/yyyy`, Vietnam time (UTC+7).
pub(super) fn datetime(at: DateTime<Utc>) -> String {
    let local: NaiveDateTime = at
        .naive_utc()
        .checked_add_signed(TimeDelta::hours(7))
        .unwrap_or(NaiveDateTime::MAX);
    local.format("%H:%M %d/%m/%Y").to_string()
}

/// The province or city the address ends with ("…, tỉnh Hà Giang" → "Hà Giang").
fn place(address: Option<&str>) -> Option<String> {
    let last = address?.rsplit(',').next()?.trim();
    let lower = last.to_lowercase();
    let name = ["thành phố ", "tỉnh ", "tp. ", "tp "]
        .iter()
        .find(|p| lower.starts_with(*p))
        .map_or(last, |p| last[p.len()..].trim_start());
    (!name.is_empty()).then(|| name.to_owned())
}

/// The agency's colour if it is `#rrggbb`, else empty.
fn accent(color: &str) -> String {
    let c = color.trim();
    if c.len() == 7 && c.starts_with('#') && c[1..].bytes().all(|b| b.is_ascii_hexdigit()) {
        c.to_ascii_lowercase()
    } else {
        String::new()
    }
}

fn or_none(v: Option<&str>) -> String {
    v.map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(NONE)
        .to_owned()
}

fn opt_date(d: Option<NaiveDate>) -> String {
    d.map_or_else(|| NONE.to_owned(), date)
}

fn opt_datetime(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(|| NONE.to_owned(), datetime)
}

/// The lines of `items`, one each (an item holding several lines is split), blanks dropped.
fn lines(items: &[String]) -> Vec<String> {
    items
        .iter()
        .flat_map(|i| i.lines())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[allow(clippy::too_many_lines)] // one arm per slip, each the form's wording
fn blocks(d: &SlipData) -> Vec<Block> {
    let lo = d.locale;
    let tr = |vi: &str, en: &str| -> String { pick(lo, vi, en).to_owned() };
    let agency = d.agency.name.trim();
    let applicant = {
        let mut rows = vec![(tr("Ông/Bà", "Applicant"), d.applicant_name.clone())];
        let optional = [
            (
                tr("Số định danh cá nhân", "Personal ID number"),
                &d.applicant_id_number,
            ),
            (tr("Điện thoại", "Phone"), &d.applicant_phone),
            (tr("Thư điện tử", "Email"), &d.applicant_email),
        ];
        for (label, value) in optional {
            if let Some(v) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                rows.push((label, v.to_owned()));
            }
        }
        rows
    };
    let dossier = vec![
        (tr("Mã hồ sơ", "Dossier code"), d.dossier_code.clone()),
        (tr("Thủ tục", "Procedure"), d.procedure_name.clone()),
        (
            tr("Hình thức nộp", "Submitted via"),
            or_none(Some(&d.channel_label)),
        ),
        (
            tr("Thời gian tiếp nhận", "Received at"),
            opt_datetime(d.received_at),
        ),
    ];
    let who_and_what = || Block::Fields {
        rows: applicant.iter().chain(&dossier).cloned().collect(),
    };
    let contact_us = || {
        let phone = d.agency.phone.as_deref().map(str::trim).unwrap_or_default();
        let text = match (lo, phone.is_empty()) {
            (Locale::Vi, true) => {
                format!("Nếu có vướng mắc, Ông/Bà vui lòng liên hệ {agency} để được hướng dẫn.")
            }
            (Locale::Vi, false) => format!(
                "Nếu có vướng mắc, Ông/Bà vui lòng liên hệ {agency}, số điện thoại {phone}, \
                 để được hướng dẫn."
            ),
            (Locale::En, true) => format!("For any question, please contact {agency}."),
            (Locale::En, false) => {
                format!("For any question, please contact {agency}, phone {phone}.")
            }
        };
        Block::Paragraph { text }
    };
    match d.kind {
        SlipKind::Receipt => {
            let mut out = vec![
                Block::Paragraph {
                    text: match lo {
                        Locale::Vi => format!("{agency} đã tiếp nhận hồ sơ của:"),
                        Locale::En => format!("{agency} has received the dossier of:"),
                    },
                },
                who_and_what(),
            ];
            out.push(if d.documents.is_empty() {
                Block::Paragraph {
                    text: tr(
                        "Thành phần hồ sơ: không có giấy tờ kèm theo.",
                        "Documents received: none.",
                    ),
                }
            } else {
                Block::Table {
                    headers: vec![
                        tr("STT", "No."),
                        tr("Thành phần hồ sơ đã nhận", "Documents received"),
                        tr("Số lượng", "Copies"),
                    ],
                    rows: d
                        .documents
                        .iter()
                        .enumerate()
                        .map(|(i, doc)| {
                            vec![(i + 1).to_string(), doc.name.clone(), doc.files.to_string()]
                        })
                        .collect(),
                }
            });
            out.push(Block::Fields {
                rows: vec![
                    (
                        tr("Thời gian hẹn trả kết quả", "Appointment for the result"),
                        opt_date(d.due_date),
                    ),
                    (
                        tr("Nơi nhận kết quả", "Collect the result at"),
                        or_none(Some(&d.pickup)),
                    ),
                ],
            });
            if let Some(note) = d.note.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
                out.push(Block::Paragraph {
                    text: format!("{}: {note}", tr("Ghi chú", "Note")),
                });
            }
            out.push(Block::Paragraph {
                text: tr(
                    "Ông/Bà vui lòng mang theo phiếu này khi đến nhận kết quả.",
                    "Please bring this slip when you collect the result.",
                ),
            });
            out
        }
        SlipKind::CompletionRequest => {
            let mut out = vec![
                who_and_what(),
                Block::Paragraph {
                    text: tr(
                        "Sau khi xem xét, hồ sơ chưa đầy đủ, hợp lệ. Đề nghị Ông/Bà bổ sung, \
                         hoàn thiện hồ sơ gồm những nội dung sau:",
                        "Having examined it, the dossier is not yet complete and valid. Please \
                         supplement and complete it with the following:",
                    ),
                },
                Block::List {
                    heading: tr(
                        "Nội dung yêu cầu bổ sung, hoàn thiện",
                        "What must be supplemented or completed",
                    ),
                    items: lines(&d.missing),
                },
            ];
            if let Some(note) = d.note.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
                out.push(Block::Fields {
                    rows: vec![(tr("Ghi chú của cán bộ", "Officer's note"), note.to_owned())],
                });
            }
            out.push(contact_us());
            out
        }
        SlipKind::Refusal => vec![
            who_and_what(),
            Block::Paragraph {
                text: match lo {
                    Locale::Vi => format!(
                        "{agency} thông báo không tiếp nhận, giải quyết hồ sơ này với lý do \
                         cụ thể như sau:"
                    ),
                    Locale::En => format!(
                        "{agency} gives notice that it does not accept and process this dossier, \
                         for the following reason:"
                    ),
                },
            },
            Block::Fields {
                rows: vec![(tr("Lý do", "Reason"), or_none(d.reason.as_deref()))],
            },
            Block::Paragraph {
                text: tr(
                    "Xin thông báo để Ông/Bà được biết và thực hiện.",
                    "This notice is given for your information.",
                ),
            },
            contact_us(),
        ],
        SlipKind::Apology => {
            let name = d.applicant_name.trim();
            let (code, procedure) = (d.dossier_code.trim(), d.procedure_name.trim());
            let received = opt_datetime(d.received_at);
            let old = opt_date(d.old_due_date);
            let new = opt_date(d.new_due_date);
            let reason = or_none(d.reason.as_deref());
            vec![
                Block::Paragraph {
                    text: match lo {
                        Locale::Vi => format!(
                            "{agency} đã tiếp nhận hồ sơ của Ông/Bà {name}, mã hồ sơ {code}, \
                             thủ tục {procedure}, vào lúc {received}, hẹn trả kết quả ngày {old}."
                        ),
                        Locale::En => format!(
                            "{agency} received the dossier of {name}, code {code}, procedure \
                             {procedure}, at {received}, with the result due on {old}."
                        ),
                    },
                },
                Block::Paragraph {
                    text: match lo {
                        Locale::Vi => format!(
                            "Tuy nhiên, đến nay {agency} chưa trả kết quả giải quyết hồ sơ cho \
                             Ông/Bà đúng hẹn. Lý do: {reason}"
                        ),
                        Locale::En => format!(
                            "However, {agency} has not returned the result on the appointed \
                             date. Reason: {reason}"
                        ),
                    },
                },
                Block::Paragraph {
                    text: match lo {
                        Locale::Vi => format!(
                            "Sự chậm trễ này đã gây phiền hà cho Ông/Bà. {agency} xin lỗi \
                             Ông/Bà và sẽ trả kết quả giải quyết hồ sơ vào ngày {new}."
                        ),
                        Locale::En => format!(
                            "We apologise for the inconvenience this delay has caused. {agency} \
                             will return the result on {new}."
                        ),
                    },
                },
                Block::Fields {
                    rows: vec![
                        (tr("Ngày hẹn trả cũ", "Previous due date"), old),
                        (tr("Ngày hẹn trả mới", "New due date"), new),
                        (
                            tr("Nơi nhận kết quả", "Collect the result at"),
                            or_none(Some(&d.pickup)),
                        ),
                    ],
                },
            ]
        }
        SlipKind::Result => {
            let procedure = d.procedure_name.trim();
            let mut head = vec![(tr("Số", "Number"), or_none(d.result_number.as_deref()))];
            head.extend(applicant.iter().cloned());
            head.push((tr("Mã hồ sơ", "Dossier code"), d.dossier_code.clone()));
            let mut out = vec![
                Block::Paragraph {
                    text: match lo {
                        Locale::Vi => format!(
                            "{agency} giải quyết thủ tục hành chính \u{201c}{procedure}\u{201d} \
                             cho tổ chức, cá nhân sau:"
                        ),
                        Locale::En => format!(
                            "{agency} has decided the administrative procedure \u{201c}{procedure}\u{201d} \
                             for:"
                        ),
                    },
                },
                Block::Fields { rows: head },
            ];
            if !d.answers.is_empty() {
                out.push(Block::Table {
                    headers: vec![tr("Nội dung", "Item"), tr("Thông tin", "Particulars")],
                    rows: d
                        .answers
                        .iter()
                        .map(|(l, v)| vec![l.clone(), v.clone()])
                        .collect(),
                });
            }
            if let Some(note) = d.note.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
                out.push(Block::Fields {
                    rows: vec![(tr("Nội dung giải quyết", "Decision"), note.to_owned())],
                });
            }
            out.push(Block::Paragraph {
                text: tr(
                    "Văn bản này được ký số bởi cơ quan giải quyết; tính xác thực được kiểm tra \
                     bằng mã QR hoặc tại trang xác thực kết quả của cổng dịch vụ công.",
                    "This document is digitally signed by the deciding agency; check it with the \
                     QR code or on the portal's result verification page.",
                ),
            });
            out
        }
        SlipKind::ProcessingRecord => vec![
            Block::Fields {
                rows: dossier
                    .iter()
                    .cloned()
                    .chain([
                        (tr("Người nộp", "Applicant"), d.applicant_name.clone()),
                        (
                            tr("Thời gian hẹn trả kết quả", "Appointment for the result"),
                            opt_date(d.due_date),
                        ),
                    ])
                    .collect(),
            },
            Block::Table {
                headers: vec![
                    tr("Bước xử lý", "Step"),
                    tr("Người thực hiện", "By"),
                    tr("Nhận lúc", "From"),
                    tr("Chuyển lúc", "Until"),
                    tr("Ghi chú", "Note"),
                ],
                rows: d
                    .record
                    .iter()
                    .map(|r| {
                        vec![
                            r.step.clone(),
                            r.actor.clone(),
                            datetime(r.from),
                            r.until
                                .map_or_else(|| tr("đang xử lý", "in progress"), datetime),
                            r.note.clone().unwrap_or_default(),
                        ]
                    })
                    .collect(),
            },
        ],
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

    use super::super::fixtures::data;
    use super::super::{Block, SlipKind};
    use super::*;

    fn fields(c: &Composed) -> Vec<(String, String)> {
        c.blocks
            .iter()
            .filter_map(|b| match b {
                Block::Fields { rows } => Some(rows.clone()),
                _ => None,
            })
            .flatten()
            .collect()
    }

    fn all_text(c: &Composed) -> String {
        serde_json::to_string(c).unwrap()
    }

    #[test]
    fn slugs_round_trip() {
        for k in SlipKind::ALL {
            assert_eq!(SlipKind::from_slug(k.slug()), Some(k));
        }
        assert_eq!(SlipKind::from_slug("nope"), None);
        assert_eq!(SlipKind::from_slug("Tiep-Nhan"), None);
        let mut slugs: Vec<_> = SlipKind::ALL.iter().map(|k| k.slug()).collect();
        slugs.dedup();
        assert_eq!(slugs.len(), 5);
    }

    #[test]
    fn every_kind_has_its_title_in_both_languages() {
        for k in SlipKind::ALL {
            let vi = compose(&data(k, Locale::Vi));
            assert_eq!(vi.title, k.title(Locale::Vi));
            assert_eq!(vi.subtitle, None);
            assert_eq!(vi.motto[0], "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM");
            assert_eq!(vi.motto[1], "Độc lập - Tự do - Hạnh phúc");
            assert_eq!(vi.qr_caption, "Tra cứu hồ sơ");
            assert_eq!(vi.place_date, "Hà Giang, ngày 07/12/2026");
            assert_eq!(
                vi.agency_lines,
                ["UBND TỈNH HÀ GIANG", "BỘ PHẬN MỘT CỬA UBND HUYỆN VỊ XUYÊN"]
            );
            let en = compose(&data(k, Locale::En));
            assert_eq!(en.title, k.title(Locale::Vi));
            assert_eq!(en.subtitle.as_deref(), Some(k.title(Locale::En)));
            assert_eq!(en.motto[0], "SOCIALIST REPUBLIC OF VIETNAM");
            assert_eq!(en.qr_caption, "Look up this dossier");
            assert_eq!(en.place_date, "Hà Giang, 07/12/2026");
            assert_eq!(en.signer.as_deref(), Some("Trần Văn Bình"));
            assert_eq!(en.accent, "#9b1c1c");
            assert!(
                !vi.blocks.is_empty() && vi.blocks.len() == en.blocks.len(),
                "{k:?}"
            );
        }
    }

    #[test]
    fn english_has_no_vietnamese_labels() {
        for k in SlipKind::ALL {
            let en = compose(&data(k, Locale::En));
            for (label, _) in fields(&en) {
                assert!(label.is_ascii(), "{k:?}: {label}");
            }
            for b in &en.blocks {
                match b {
                    Block::Table { headers, .. } => {
                        assert!(headers.iter().all(|h| h.is_ascii()), "{k:?}: {headers:?}");
                    }
                    Block::List { heading, .. } => assert!(heading.is_ascii()),
                    _ => {}
                }
            }
            assert!(en.signer_label.is_ascii() && en.pdf_label.is_ascii());
        }
    }

    #[test]
    fn receipt_shows_dossier_documents_due_date_and_pickup() {
        let c = compose(&data(SlipKind::Receipt, Locale::Vi));
        let f = fields(&c);
        let get = |l: &str| f.iter().find(|(k, _)| k == l).map(|(_, v)| v.as_str());
        assert_eq!(get("Ông/Bà"), Some("Nguyễn Thị Hoà"));
        assert_eq!(get("Mã hồ sơ"), Some("000.00.24.H29-261207-0001"));
        // 02:15 UTC is 09:15 in Vietnam.
        assert_eq!(get("Thời gian tiếp nhận"), Some("09:15 07/12/2026"));
        assert_eq!(get("Thời gian hẹn trả kết quả"), Some("21/12/2026"));
        assert_eq!(get("Nơi nhận kết quả"), Some("Bộ phận Một cửa, quầy số 3"));
        assert_eq!(
            get("Thư điện tử"),
            None,
            "absent optional fields are left out"
        );
        let table = c.blocks.iter().find_map(|b| match b {
            Block::Table { headers, rows } => Some((headers, rows)),
            _ => None,
        });
        let (headers, rows) = table.unwrap();
        assert_eq!(headers.len(), 3);
        assert_eq!(
            rows[1],
            ["2", "Bản sao giấy chứng nhận quyền sử dụng đất", "2"]
        );
    }

    #[test]
    fn completion_request_lists_each_missing_line_and_the_note() {
        for lo in Locale::ALL {
            let c = compose(&data(SlipKind::CompletionRequest, lo));
            let items = c.blocks.iter().find_map(|b| match b {
                Block::List { items, .. } => Some(items.clone()),
                _ => None,
            });
            assert_eq!(
                items.unwrap(),
                [
                    "Bản vẽ thiết kế mặt bằng",
                    "Ảnh chụp hiện trạng",
                    "Bản cam kết an toàn"
                ]
            );
            assert!(all_text(&c).contains("Nộp bổ sung trong 10 ngày làm việc."));
        }
    }

    #[test]
    fn refusal_gives_the_reason() {
        let c = compose(&data(SlipKind::Refusal, Locale::Vi));
        assert!(fields(&c).contains(&(
            "Lý do".into(),
            "Thủ tục không thuộc thẩm quyền giải quyết của huyện.".into()
        )));
        let mut d = data(SlipKind::Refusal, Locale::En);
        d.reason = None;
        assert!(fields(&compose(&d)).contains(&("Reason".into(), "—".into())));
    }

    #[test]
    fn apology_gives_reason_and_both_dates() {
        let c = compose(&data(SlipKind::Apology, Locale::Vi));
        let text = all_text(&c);
        assert!(text.contains("xin lỗi"));
        assert!(text.contains("Lý do: Thủ tục không thuộc"));
        assert!(fields(&c).contains(&("Ngày hẹn trả cũ".into(), "21/12/2026".into())));
        assert!(fields(&c).contains(&("Ngày hẹn trả mới".into(), "28/12/2026".into())));
        let en = all_text(&compose(&data(SlipKind::Apology, Locale::En)));
        assert!(en.contains("apologise") && en.contains("28/12/2026"));
    }

    #[test]
    fn processing_record_is_a_table_of_steps() {
        let c = compose(&data(SlipKind::ProcessingRecord, Locale::Vi));
        let (headers, rows) = c
            .blocks
            .iter()
            .find_map(|b| match b {
                Block::Table { headers, rows } => Some((headers.clone(), rows.clone())),
                _ => None,
            })
            .unwrap();
        assert_eq!(headers.len(), 5);
        assert_eq!(
            rows[0],
            [
                "Tiếp nhận",
                "Trần Văn Bình — Cán bộ một cửa",
                "09:15 07/12/2026",
                "10:00 07/12/2026",
                ""
            ]
        );
        assert_eq!(rows[1][3], "đang xử lý");
        assert_eq!(rows[1][4], "Đang xem xét");
    }

    #[test]
    fn blocks_serialize_tagged_for_the_template() {
        let c = compose(&data(SlipKind::Receipt, Locale::Vi));
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["blocks"][0]["type"], "paragraph");
        assert_eq!(v["blocks"][1]["type"], "fields");
        assert_eq!(v["blocks"][1]["rows"][0][0], "Ông/Bà");
        assert_eq!(v["blocks"][2]["type"], "table");
        assert_eq!(v["locale"], "vi");
    }

    #[test]
    fn place_accent_and_missing_values() {
        assert_eq!(
            place(Some("1 Tràng Tiền, Thành phố Hà Nội")),
            Some("Hà Nội".into())
        );
        assert_eq!(place(Some("")), None);
        assert_eq!(place(None), None);
        assert_eq!(accent("#ABCDEF"), "#abcdef");
        assert_eq!(accent("red"), "");
        assert_eq!(accent("#12345g"), "");
        let mut d = data(SlipKind::Receipt, Locale::En);
        d.agency.address = None;
        d.officer_name = Some("  ".into());
        d.due_date = None;
        let c = compose(&d);
        assert_eq!(c.place_date, "Date: 07/12/2026");
        assert_eq!(c.signer, None);
        assert!(fields(&c).contains(&("Appointment for the result".into(), "—".into())));
    }

    #[test]
    fn late_evening_utc_is_the_next_local_day() {
        use chrono::TimeZone;
        let at = Utc.with_ymd_and_hms(2026, 12, 31, 18, 5, 0).unwrap();
        assert_eq!(datetime(at), "01:05 01/01/2027");
        let mut d = data(SlipKind::Receipt, Locale::Vi);
        d.issued_at = at;
        assert_eq!(compose(&d).place_date, "Hà Giang, ngày 01/01/2027");
    }
}

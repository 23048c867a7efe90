//! Importing procedures in bulk from the national procedure database's published lists (a CSV
//! or an Excel workbook with the columns code, name, field, level, time limit, fee, legal
//! basis, documents; conditions optional): reading the table, reading each row into a
//! [`Row`] (or the problems with it, by line and column), and the [`Plan`] of what an import
//! would create or change against the tenant's catalog. Pure: no database, no files.

use super::{Details, OnlineLevel, Procedure, RequiredDocument};
use crate::services::text::fold;
use serde::Serialize;

/// Largest file taken (a full ministry list is a few hundred kilobytes).
pub const MAX_BYTES: usize = 10 * 1024 * 1024;
/// Most procedures in one import.
pub const MAX_ROWS: usize = 5_000;

/// A problem with the file or one of its rows, in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RowProblem {
    /// The row's line in the file (the header is line 1); 0 for the file as a whole.
    pub line: usize,
    /// The column at fault, as the file names it; empty for the row or file as a whole.
    pub column: String,
    pub message: String,
    pub message_en: String,
}

fn file_problem(vi: impl Into<String>, en: impl Into<String>) -> RowProblem {
    RowProblem {
        line: 0,
        column: String::new(),
        message: vi.into(),
        message_en: en.into(),
    }
}

/// The cells of the file's first sheet (or the CSV), row by row, as text.
pub fn read_table(bytes: &[u8]) -> Result<Vec<Vec<String>>, RowProblem> {
    if bytes.len() > MAX_BYTES {
        return Err(file_problem(
            "Tệp lớn hơn 10 MB",
            "The file is larger than 10 MB",
        ));
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return read_xlsx(bytes);
    }
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)).map_err(
        |_| {
            file_problem(
                "Tệp CSV phải mã hóa UTF-8 (hoặc dùng tệp Excel .xlsx)",
                "A CSV file must be UTF-8 (or use an Excel .xlsx file)",
            )
        },
    )?;
    // Spreadsheets saved in Vietnamese locales often separate with semicolons.
    let first = text.lines().next().unwrap_or_default();
    let delimiter = if first.matches(';').count() > first.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            file_problem(
                format!("Không đọc được tệp CSV: {e}"),
                format!("The CSV file cannot be read: {e}"),
            )
        })?;
        rows.push(record.iter().map(str::to_owned).collect());
    }
    Ok(rows)
}

fn read_xlsx(bytes: &[u8]) -> Result<Vec<Vec<String>>, RowProblem> {
    use calamine::{Reader, Xlsx};
    let unreadable = |e: &dyn std::fmt::Display| {
        file_problem(
            format!("Không đọc được tệp Excel: {e}"),
            format!("The Excel file cannot be read: {e}"),
        )
    };
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).map_err(|e| unreadable(&e))?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| file_problem("Tệp Excel không có trang tính", "The workbook has no sheet"))?
        .map_err(|e| unreadable(&e))?;
    Ok(range
        .rows()
        .map(|r| r.iter().map(ToString::to_string).collect())
        .collect())
}

/// The columns an import reads, and the headers that name each (folded: no diacritics,
/// lower case), as the national database's exports and people write them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Code,
    Name,
    NameEn,
    Field,
    Level,
    Days,
    Fee,
    LegalBasis,
    Documents,
    Conditions,
}

const HEADERS: [(Column, &[&str]); 10] = [
    (Column::Code, &["ma thu tuc", "ma tthc", "ma", "code"]),
    (Column::Name, &["ten thu tuc", "ten tthc", "ten", "name"]),
    (
        Column::NameEn,
        &["ten tieng anh", "name en", "english name"],
    ),
    (Column::Field, &["linh vuc", "field"]),
    (
        Column::Level,
        &[
            "muc do",
            "muc do dvc",
            "muc do dich vu cong",
            "level",
            "online level",
        ],
    ),
    (
        Column::Days,
        &[
            "thoi han giai quyet",
            "thoi han",
            "time limit",
            "processing days",
        ],
    ),
    (
        Column::Fee,
        &["phi, le phi", "phi le phi", "le phi", "phi", "fee"],
    ),
    (Column::LegalBasis, &["can cu phap ly", "legal basis"]),
    (
        Column::Documents,
        &["thanh phan ho so", "ho so", "giay to", "documents"],
    ),
    (
        Column::Conditions,
        &[
            "yeu cau, dieu kien",
            "yeu cau dieu kien",
            "dieu kien",
            "conditions",
        ],
    ),
];

const REQUIRED: [Column; 6] = [
    Column::Code,
    Column::Name,
    Column::Field,
    Column::Level,
    Column::Days,
    Column::Fee,
];

/// One procedure as the file describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub line: usize,
    pub code: super::ProcedureCode,
    pub name_vi: String,
    pub name_en: Option<String>,
    /// The field's name as written, and the code made from it.
    pub field_name: String,
    pub field_code: super::FieldCode,
    pub level: OnlineLevel,
    pub days: u16,
    pub fee_vnd: i64,
    pub details: Details,
    pub documents: Vec<String>,
}

/// A field code from its name: `Việc làm` → `viec-lam`.
pub fn field_code(name: &str) -> String {
    let mut code = String::new();
    for c in fold(name).chars() {
        if c.is_ascii_alphanumeric() {
            code.push(c);
        } else if !code.is_empty() && !code.ends_with('-') {
            code.push('-');
        }
    }
    code.truncate(40);
    code.trim_end_matches('-').to_owned()
}

/// A list cell: one entry per line, or separated by `;`.
fn entries(cell: &str) -> Vec<String> {
    let sep = if cell.contains('\n') { '\n' } else { ';' };
    cell.split(sep)
        .map(|e| e.trim().trim_start_matches(['-', '+', '•']).trim())
        .filter(|e| !e.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The first whole number in a cell (`5 ngày làm việc` → 5; `600.000 đồng` → 600000).
fn first_number(cell: &str) -> Option<i64> {
    let start = cell.find(|c: char| c.is_ascii_digit())?;
    let digits: String = cell[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | ',' | ' '))
        .filter(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

fn level(cell: &str) -> Option<OnlineLevel> {
    let f = fold(cell);
    if f.contains("toan trinh") || f.contains("muc do 4") || f == "4" || f == "full" {
        Some(OnlineLevel::Full)
    } else if f.contains("mot phan") || f.contains("muc do 3") || f == "3" || f == "partial" {
        Some(OnlineLevel::Partial)
    } else {
        OnlineLevel::parse(cell.trim())
    }
}

fn free_of_charge(cell: &str) -> bool {
    let f = fold(cell);
    f.is_empty() || f.contains("khong") || f.contains("mien") || f == "0"
}

/// Reads the table's rows (the first is the header). Rows with problems are left out of the
/// result and their problems listed; an empty list of problems means every row was read.
pub fn rows(table: &[Vec<String>]) -> (Vec<Row>, Vec<RowProblem>) {
    let mut problems = Vec::new();
    let Some(header) = table.first() else {
        return (
            Vec::new(),
            vec![file_problem(
                "Tệp không có dòng nào",
                "The file has no rows",
            )],
        );
    };
    let mut at: Vec<(Column, usize)> = Vec::new();
    for (i, h) in header.iter().enumerate() {
        let f = fold(h.trim());
        if let Some((c, _)) = HEADERS
            .iter()
            .find(|(_, names)| names.contains(&f.as_str()))
            && !at.iter().any(|(k, _)| k == c)
        {
            at.push((*c, i));
        }
    }
    let missing: Vec<&str> = REQUIRED
        .iter()
        .filter(|c| !at.iter().any(|(k, _)| k == *c))
        .map(|c| {
            HEADERS
                .iter()
                .find(|(k, _)| k == c)
                .map_or("", |(_, n)| n[0])
        })
        .collect();
    if !missing.is_empty() {
        return (
            Vec::new(),
            vec![file_problem(
                format!("Thiếu cột: {}", missing.join(", ")),
                format!("Missing columns: {}", missing.join(", ")),
            )],
        );
    }
    if table.len() - 1 > MAX_ROWS {
        return (
            Vec::new(),
            vec![file_problem(
                format!("Tối đa {MAX_ROWS} thủ tục mỗi lần nhập"),
                format!("At most {MAX_ROWS} procedures per import"),
            )],
        );
    }
    let mut out = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for (i, cells) in table.iter().enumerate().skip(1) {
        let line = i + 1;
        let cell = |c: Column| -> &str {
            at.iter()
                .find(|(k, _)| *k == c)
                .and_then(|(_, i)| cells.get(*i))
                .map_or("", |s| s.trim())
        };
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let header_of = |c: Column| {
            at.iter()
                .find(|(k, _)| *k == c)
                .and_then(|(_, i)| header.get(*i))
                .cloned()
                .unwrap_or_default()
        };
        let before = problems.len();
        let mut bad = |c: Column, vi: String, en: String| {
            problems.push(RowProblem {
                line,
                column: header_of(c),
                message: vi,
                message_en: en,
            });
        };
        let code = super::ProcedureCode::parse(cell(Column::Code));
        if let Err(e) = &code {
            bad(
                Column::Code,
                format!("Mã thủ tục không hợp lệ: {e}"),
                format!("Invalid procedure code: {e}"),
            );
        } else if let Some(first) = seen.insert(cell(Column::Code).to_owned(), line) {
            bad(
                Column::Code,
                format!("Mã thủ tục trùng với dòng {first}"),
                format!("The procedure code repeats line {first}"),
            );
        }
        let name = cell(Column::Name);
        let name_ok = (1..=super::design::MAX_NAME_CHARS).contains(&name.chars().count())
            && !name.chars().any(char::is_control);
        if !name_ok {
            bad(
                Column::Name,
                "Tên thủ tục trống hoặc quá dài".into(),
                "The name is empty or too long".into(),
            );
        }
        let field_name = cell(Column::Field);
        let field = super::FieldCode::parse(&field_code(field_name));
        if field_name.is_empty() || field.is_err() {
            bad(
                Column::Field,
                "Lĩnh vực trống".into(),
                "The field is empty".into(),
            );
        }
        let lvl = level(cell(Column::Level));
        if lvl.is_none() {
            bad(
                Column::Level,
                format!(
                    "Không hiểu mức độ “{}”: ghi Toàn trình hoặc Một phần",
                    cell(Column::Level)
                ),
                format!(
                    "Unknown level “{}”: write full or partial",
                    cell(Column::Level)
                ),
            );
        }
        let days = first_number(cell(Column::Days))
            .and_then(|d| u16::try_from(d).ok())
            .filter(|d| (1..=super::design::MAX_DAYS).contains(d));
        if days.is_none() {
            bad(
                Column::Days,
                "Thời hạn giải quyết phải là số ngày làm việc từ 1 đến 365".into(),
                "The time limit must be 1 to 365 working days".into(),
            );
        }
        let fee_cell = cell(Column::Fee);
        let fee = if fee_cell.trim_start().starts_with('-') {
            None
        } else {
            match first_number(fee_cell) {
                Some(n) if n <= super::design::MAX_FEE_VND => Some(n),
                Some(_) => None,
                None if free_of_charge(fee_cell) => Some(0),
                None => None,
            }
        };
        if fee.is_none() {
            bad(
                Column::Fee,
                format!("Không đọc được lệ phí “{fee_cell}”: ghi số đồng, hoặc Không"),
                format!("Cannot read the fee “{fee_cell}”: write a number of đồng, or none"),
            );
        }
        let details = Details {
            legal_basis: entries(cell(Column::LegalBasis)),
            conditions: Some(cell(Column::Conditions).to_owned()).filter(|c| !c.is_empty()),
            form_templates: Vec::new(),
        };
        for p in details.problems() {
            bad(Column::LegalBasis, format!("Không hợp lệ: {p}"), p.clone());
        }
        let documents = entries(cell(Column::Documents));
        if documents.len() > super::design::MAX_DOCUMENTS
            || documents.iter().any(|d| d.chars().count() > 300)
        {
            bad(
                Column::Documents,
                "Tối đa 50 giấy tờ, mỗi tên tối đa 300 ký tự".into(),
                "At most 50 documents of up to 300 characters each".into(),
            );
        }
        if problems.len() > before {
            continue;
        }
        let (Ok(code), Ok(field_code), Some(level), Some(days), Some(fee_vnd)) =
            (code, field, lvl, days, fee)
        else {
            continue;
        };
        out.push(Row {
            line,
            code,
            name_vi: name.to_owned(),
            name_en: Some(cell(Column::NameEn).to_owned()).filter(|n| !n.is_empty()),
            field_name: field_name.to_owned(),
            field_code,
            level,
            days,
            fee_vnd,
            details,
            documents,
        });
    }
    (out, problems)
}

/// What an import does to one procedure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Create,
    /// The parts that change: `name`, `field`, `online_level`, `processing_days`, `fee_vnd`,
    /// `legal_basis`, `conditions`, `documents`.
    Update(Vec<String>),
    Unchanged,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlanItem {
    pub line: usize,
    pub code: String,
    pub name: String,
    pub change: Change,
}

/// What an import would do.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Plan {
    pub items: Vec<PlanItem>,
    /// Fields (lĩnh vực) the import creates: code and name.
    pub new_fields: Vec<(String, String)>,
    pub problems: Vec<RowProblem>,
}

impl Plan {
    pub fn count(&self, kind: &str) -> usize {
        self.items
            .iter()
            .filter(|i| {
                matches!(
                    (&i.change, kind),
                    (Change::Create, "create")
                        | (Change::Unchanged, "unchanged")
                        | (Change::Update(_), "update")
                )
            })
            .count()
    }
}

/// The documents a row asks for: an existing document of the same name keeps its settings
/// (accepted types, size, whether required); new ones take the defaults.
pub fn documents_for(row: &Row, existing: Option<&Procedure>) -> Vec<RequiredDocument> {
    row.documents
        .iter()
        .map(|name| {
            existing
                .and_then(|p| p.documents.iter().find(|d| d.name == *name))
                .cloned()
                .unwrap_or_else(|| RequiredDocument {
                    name: name.clone(),
                    name_en: None,
                    required: true,
                    accept: crate::services::attachments::default_accept(),
                    max_size_mb: crate::services::attachments::DEFAULT_MAX_SIZE_MB,
                    from_results: Vec::new(),
                    local: false,
                })
        })
        .collect()
}

/// Compares the rows with the catalog (`existing`, withdrawn procedures included) and the
/// tenant's fields (code, name).
pub fn plan(rows: &[Row], existing: &[Procedure], fields: &[(String, String)]) -> Plan {
    let mut plan = Plan::default();
    for row in rows {
        let known = fields.iter().any(|(c, _)| c == row.field_code.as_str())
            || plan
                .new_fields
                .iter()
                .any(|(c, _)| c == row.field_code.as_str());
        if !known {
            plan.new_fields
                .push((row.field_code.to_string(), row.field_name.clone()));
        }
        let change = match existing.iter().find(|p| p.code == row.code.as_str()) {
            None => Change::Create,
            Some(p) => {
                let mut parts = Vec::new();
                let mut differs = |part: &str, same: bool| {
                    if !same {
                        parts.push(part.to_owned());
                    }
                };
                differs(
                    "name",
                    p.name == row.name_vi && (row.name_en.is_none() || p.name_en == row.name_en),
                );
                differs("field", p.field.code == row.field_code.as_str());
                differs("online_level", p.online_level == row.level);
                differs("processing_days", p.processing_days == i32::from(row.days));
                differs("fee_vnd", p.fee_vnd == row.fee_vnd);
                differs(
                    "legal_basis",
                    p.details.legal_basis == row.details.legal_basis,
                );
                differs("conditions", p.details.conditions == row.details.conditions);
                differs("documents", p.documents == documents_for(row, Some(p)));
                if parts.is_empty() {
                    Change::Unchanged
                } else {
                    Change::Update(parts)
                }
            }
        };
        plan.items.push(PlanItem {
            line: row.line,
            code: row.code.to_string(),
            name: row.name_vi.clone(),
            change,
        });
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\u{feff}Mã thủ tục;Tên thủ tục;Lĩnh vực;Mức độ;Thời hạn giải quyết;Phí, lệ phí;Căn cứ pháp lý;Thành phần hồ sơ\n\
        1.000105;Cấp giấy phép lao động;Việc làm;Toàn trình;05 ngày làm việc;600.000 đồng/giấy phép;\"Bộ luật Lao động 2019\nNghị định 219/2025/NĐ-CP\";\"Văn bản đề nghị\nẢnh màu 4x6\"\n\
        2.001234;Xác nhận hộ nghèo;Bảo trợ xã hội;Mức độ 3;3 ngày;Không;;Đơn đề nghị\n";

    fn table(text: &str) -> Vec<Vec<String>> {
        read_table(text.as_bytes()).unwrap()
    }

    #[test]
    fn a_semicolon_csv_with_a_bom_reads_every_column() {
        let (rows, problems) = rows(&table(SAMPLE));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(rows.len(), 2);
        let r = &rows[0];
        assert_eq!(r.code.as_str(), "1.000105");
        assert_eq!(r.field_code.as_str(), "viec-lam");
        assert_eq!(r.level, OnlineLevel::Full);
        assert_eq!(r.days, 5);
        assert_eq!(r.fee_vnd, 600_000);
        assert_eq!(r.details.legal_basis.len(), 2);
        assert_eq!(r.documents, ["Văn bản đề nghị", "Ảnh màu 4x6"]);
        assert_eq!(rows[1].level, OnlineLevel::Partial);
        assert_eq!(rows[1].fee_vnd, 0);
        assert_eq!(rows[1].field_code.as_str(), "bao-tro-xa-hoi");
    }

    #[test]
    fn bad_rows_are_named_by_line_and_column() {
        let text = "code,name,field,level,time limit,fee\n\
            1.1,Một,Việc làm,full,5,0\n\
            ../x,Hai,Việc làm,full,5,0\n\
            1.1,Ba,Việc làm,toàn trình,5,0\n\
            1.4,Bốn,Việc làm,mức 9,0,-100\n";
        let (rows, problems) = rows(&table(text));
        assert_eq!(rows.len(), 1);
        let at: Vec<(usize, &str)> = problems
            .iter()
            .map(|p| (p.line, p.column.as_str()))
            .collect();
        assert_eq!(
            at,
            [
                (3, "code"),
                (4, "code"),
                (5, "level"),
                (5, "time limit"),
                (5, "fee")
            ]
        );
        let (_, missing) = super::rows(&table("code,name\n1.1,A\n"));
        assert!(missing[0].message.contains("Thiếu cột"), "{missing:?}");
    }

    #[test]
    fn the_plan_says_what_changes() {
        let (rows, _) = rows(&table(SAMPLE));
        let existing = Procedure {
            code: "1.000105".into(),
            name: "Cấp giấy phép lao động".into(),
            name_en: None,
            field: super::super::FieldRef {
                code: "viec-lam".into(),
                name: "Việc làm".into(),
                name_en: None,
            },
            online_level: OnlineLevel::Full,
            processing_days: 5,
            fee_vnd: 450_000,
            documents: documents_for(&rows[0], None),
            form_schema: serde_json::json!({}),
            decide_role: crate::services::dossiers::workflow::DecideRole::Leader,
            inherited_from: None,
            fee_rule: Default::default(),
            pay_before_processing: true,
            process: None,
            details: rows[0].details.clone(),
            template: false,
            adopted_version: None,
            search_text: String::new(),
        };
        let plan = plan(
            &rows,
            &[existing],
            &[("viec-lam".into(), "Việc làm".into())],
        );
        assert_eq!(plan.items[0].change, Change::Update(vec!["fee_vnd".into()]));
        assert_eq!(plan.items[1].change, Change::Create);
        assert_eq!(
            plan.new_fields,
            [("bao-tro-xa-hoi".to_owned(), "Bảo trợ xã hội".to_owned())]
        );
        assert_eq!((plan.count("create"), plan.count("update")), (1, 1));
    }
}

//! A procedure as the designer edits it, before it is published: its names, field, level,
//! time limit, fee, the documents asked for and the form as a list of fields. Every edit is a
//! plain function over a [`Design`] that either applies or returns the problems, each naming
//! the input at fault, and changes nothing; [`Design::publishable`] is the last check before
//! the procedure row is written.

use super::{OnlineLevel, Procedure, RequiredDocument};
use crate::services::attachments::FileKind;
use crate::services::dossiers::workflow::DecideRole;
use crate::services::forms::FormSchema;
use crate::services::forms::builder::{FieldProblem, FormField, NotDesignable, to_schema};
use crate::services::payments::{FeeRule, PerItem};
use serde::{Deserialize, Serialize};

/// Longest procedure name, in characters (names in the national database run long).
pub const MAX_NAME_CHARS: usize = 500;
/// Most documents one procedure asks for.
pub const MAX_DOCUMENTS: usize = 50;
/// Longest time limit the designer takes, in working days.
pub const MAX_DAYS: u16 = 365;
/// Highest fee the designer takes, in đồng (a typo guard, not a legal limit).
pub const MAX_FEE_VND: i64 = 1_000_000_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Design {
    pub name_vi: String,
    #[serde(default)]
    pub name_en: Option<String>,
    pub field: String,
    pub online_level: OnlineLevel,
    pub processing_days: u16,
    pub fee_vnd: u32,
    #[serde(default)]
    pub fee_rule: FeeRule,
    pub pay_before_processing: bool,
    pub decide_role: DecideRole,
    #[serde(default)]
    pub documents: Vec<RequiredDocument>,
    #[serde(default)]
    pub form: Vec<FormField>,
    /// Legal basis, conditions and paper forms shown on the procedure page.
    #[serde(default)]
    pub details: super::Details,
    /// The tenant's children may adopt it.
    #[serde(default)]
    pub template: bool,
    /// Citizens may apply for it on this portal (a ministry may publish a template only).
    #[serde(default = "yes")]
    pub offered: bool,
    /// The steps its dossiers go through (`None`: the fixed path). Chosen here from another
    /// procedure's; edited step by step on the processes page.
    #[serde(default)]
    pub process: Option<crate::services::processes::Process>,
    /// The process was chosen in this draft: publishing sets it. Otherwise the published
    /// process stays, whatever the processes page made of it meanwhile.
    #[serde(default)]
    pub process_chosen: bool,
}

/// What an edit may consult besides the design: the tenant's fields and the processes its
/// other procedures declare.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub fields: Vec<String>,
    /// (procedure code, its process), for "the same steps as …".
    pub processes: Vec<(String, crate::services::processes::Process)>,
}

fn yes() -> bool {
    true
}

fn problem(input: &'static str, vi: impl Into<String>, en: impl Into<String>) -> FieldProblem {
    FieldProblem {
        input,
        vi: vi.into(),
        en: en.into(),
    }
}

fn text_ok(s: &str, max: usize) -> bool {
    let n = s.trim().chars().count();
    (1..=max).contains(&n) && !s.chars().any(char::is_control)
}

fn optional(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// The general part of the designer as typed (all text, as a form sends it).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct GeneralInput {
    pub name_vi: String,
    pub name_en: String,
    pub field: String,
    pub online_level: String,
    pub processing_days: String,
    pub fee_vnd: String,
    /// Amount per item of a list field (e.g. per worker), and which list.
    pub fee_per_item: String,
    pub fee_per_item_field: String,
    pub pay_before_processing: Option<String>,
    pub decide_role: String,
    /// Offered to citizens on this portal.
    pub offered: Option<String>,
    /// A template the tenant's children may adopt.
    pub template: Option<String>,
    /// The process: empty keeps it, `-` the fixed path, a procedure code that one's steps.
    pub process_from: String,
}

/// A document as typed: `accept` is extensions separated by commas or spaces.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DocumentInput {
    pub name: String,
    pub name_en: String,
    pub accept: String,
    pub max_size_mb: String,
    pub required: Option<String>,
}

/// Legal basis, conditions and paper forms as typed: one legal document per line, the
/// conditions as text, one form per line as `name | https://…`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DetailsInput {
    pub legal_basis: String,
    pub conditions: String,
    pub form_templates: String,
}

/// The details box's text again, from details.
pub fn details_text(d: &super::Details) -> DetailsInput {
    DetailsInput {
        legal_basis: d.legal_basis.join("\n"),
        conditions: d.conditions.clone().unwrap_or_default(),
        form_templates: d
            .form_templates
            .iter()
            .map(|t| format!("{} | {}", t.name, t.url))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// Which way a field or document moves in its list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    Up,
    Down,
}

fn money(s: &str, input: &'static str) -> Result<i64, FieldProblem> {
    // People write 600.000 or 600,000 or 600 000.
    let digits: String = s
        .trim()
        .chars()
        .filter(|c| !matches!(c, '.' | ',' | ' ' | '\u{a0}'))
        .collect();
    let digits = if digits.is_empty() { "0" } else { &digits };
    match digits.parse::<i64>() {
        Ok(n) if n < 0 => Err(problem(
            input,
            "Lệ phí không được là số âm",
            "The fee cannot be negative",
        )),
        Ok(n) if n > MAX_FEE_VND => Err(problem(
            input,
            format!("Lệ phí tối đa {MAX_FEE_VND} đồng"),
            format!("The fee is at most {MAX_FEE_VND} đồng"),
        )),
        Ok(n) => Ok(n),
        Err(_) => Err(problem(
            input,
            "Lệ phí là một số đồng, ví dụ 600000",
            "The fee is a number of đồng, e.g. 600000",
        )),
    }
}

impl Design {
    /// A new procedure with its name and field, to be filled in.
    pub fn blank(name_vi: &str, field: &str) -> Design {
        Design {
            name_vi: name_vi.trim().to_owned(),
            name_en: None,
            field: field.to_owned(),
            online_level: OnlineLevel::Full,
            processing_days: 10,
            fee_vnd: 0,
            fee_rule: FeeRule::default(),
            pay_before_processing: true,
            decide_role: DecideRole::Leader,
            documents: Vec::new(),
            form: Vec::new(),
            details: super::Details::default(),
            template: false,
            offered: true,
            process_chosen: false,
            process: None,
        }
    }

    /// A published procedure, to edit; refused when its form was written by hand with more
    /// nesting than the designer shows.
    pub fn of(p: &Procedure) -> Result<Design, NotDesignable> {
        let form = FormSchema::parse(&p.form_schema)
            .map_err(|e| NotDesignable(e.to_string()))?
            .builder_fields()?;
        Ok(Design {
            name_vi: p.name.clone(),
            name_en: p.name_en.clone(),
            field: p.field.code.clone(),
            online_level: p.online_level,
            processing_days: u16::try_from(p.processing_days).unwrap_or(MAX_DAYS),
            fee_vnd: u32::try_from(p.fee_vnd).unwrap_or(0),
            fee_rule: p.fee_rule.clone(),
            pay_before_processing: p.pay_before_processing,
            decide_role: p.decide_role,
            documents: p.documents.clone(),
            form,
            details: p.details.clone(),
            template: p.template,
            offered: true,
            process: p.process.clone(),
            process_chosen: false,
        })
    }

    /// The procedure this design would publish, for a preview; `field` is its field's names.
    pub fn as_procedure(&self, code: &str, field: super::FieldRef) -> Procedure {
        Procedure {
            code: code.to_owned(),
            name: self.name_vi.clone(),
            name_en: self.name_en.clone(),
            field,
            online_level: self.online_level,
            processing_days: i32::from(self.processing_days),
            fee_vnd: i64::from(self.fee_vnd),
            documents: self.documents.clone(),
            form_schema: self.form_schema(),
            decide_role: self.decide_role,
            inherited_from: None,
            fee_rule: self.fee_rule.clone(),
            pay_before_processing: self.pay_before_processing,
            process: self.process.clone(),
            details: self.details.clone(),
            template: self.template,
            adopted_version: None,
            search_text: String::new(),
        }
    }

    /// The form's schema, properties in the designed order.
    pub fn form_schema(&self) -> serde_json::Value {
        to_schema(&self.form)
    }

    /// Applies the general part, or returns every problem and changes nothing. `fields` are
    /// the tenant's field codes.
    pub fn set_general(&mut self, input: &GeneralInput, ctx: &Context) -> Vec<FieldProblem> {
        let fields = &ctx.fields;
        let mut out = Vec::new();
        if !text_ok(&input.name_vi, MAX_NAME_CHARS) {
            out.push(problem(
                "name_vi",
                format!("Tên thủ tục là bắt buộc, tối đa {MAX_NAME_CHARS} ký tự"),
                format!("The procedure's name is required, at most {MAX_NAME_CHARS} characters"),
            ));
        }
        if !input.name_en.trim().is_empty() && !text_ok(&input.name_en, MAX_NAME_CHARS) {
            out.push(problem(
                "name_en",
                format!("Tối đa {MAX_NAME_CHARS} ký tự"),
                format!("At most {MAX_NAME_CHARS} characters"),
            ));
        }
        if !fields.iter().any(|f| f == &input.field) {
            out.push(problem(
                "field",
                "Chọn một lĩnh vực của cơ quan",
                "Choose one of the agency's fields",
            ));
        }
        let level = OnlineLevel::parse(&input.online_level);
        if level.is_none() {
            out.push(problem(
                "online_level",
                "Chọn mức độ dịch vụ công trực tuyến",
                "Choose the online service level",
            ));
        }
        let days = input.processing_days.trim().parse::<u16>().ok();
        if !days.is_some_and(|d| (1..=MAX_DAYS).contains(&d)) {
            out.push(problem(
                "processing_days",
                format!("Thời hạn giải quyết là số ngày làm việc từ 1 đến {MAX_DAYS}"),
                format!("The time limit is 1 to {MAX_DAYS} working days"),
            ));
        }
        let fee = money(&input.fee_vnd, "fee_vnd")
            .map_err(|p| out.push(p))
            .ok();
        let per_item = if input.fee_per_item.trim().is_empty() {
            Some(None)
        } else {
            let amount = money(&input.fee_per_item, "fee_per_item")
                .map_err(|p| out.push(p))
                .ok();
            let list = self
                .form
                .iter()
                .find(|f| f.code == input.fee_per_item_field && f.kind.as_str() == "list");
            if list.is_none() {
                out.push(problem(
                    "fee_per_item_field",
                    "Chọn danh sách lặp lại tính lệ phí theo từng dòng",
                    "Choose the repeated list whose rows the fee counts",
                ));
            }
            amount.filter(|_| list.is_some()).map(|a| {
                Some(PerItem {
                    field: input.fee_per_item_field.clone(),
                    amount_vnd: a,
                })
            })
        };
        let process = match input.process_from.trim() {
            "" => Some(self.process.clone()),
            "-" => Some(None),
            code => match ctx.processes.iter().find(|(c, _)| c == code) {
                Some((_, p)) if p.steps.iter().any(|s| s.transfer_to.is_some()) => {
                    out.push(problem(
                        "process_from",
                        "Quy trình có bước chuyển liên thông được khai báo ở trang quy trình của thủ tục",
                        "A process that transfers is declared on the procedure's processes page",
                    ));
                    None
                }
                Some((_, p)) => Some(Some(p.clone())),
                None => {
                    out.push(problem(
                        "process_from",
                        "Chọn quy trình của một thủ tục của cơ quan",
                        "Choose the process of one of the agency's procedures",
                    ));
                    None
                }
            },
        };
        let role = DecideRole::parse(&input.decide_role);
        if role.is_none() {
            out.push(problem(
                "decide_role",
                "Chọn người quyết định",
                "Choose who decides",
            ));
        }
        let fee = fee.and_then(|f| u32::try_from(f).ok());
        if !out.is_empty() {
            return out;
        }
        let (Some(level), Some(days), Some(fee), Some(per_item), Some(role), Some(process)) =
            (level, days, fee, per_item, role, process)
        else {
            return vec![problem("fee_vnd", "Lệ phí quá lớn", "The fee is too large")];
        };
        self.name_vi = input.name_vi.trim().to_owned();
        self.name_en = optional(&input.name_en);
        self.field = input.field.clone();
        self.online_level = level;
        self.processing_days = days;
        self.fee_vnd = fee;
        self.fee_rule.per_item = per_item;
        self.pay_before_processing = input.pay_before_processing.is_some();
        self.decide_role = role;
        self.offered = input.offered.is_some();
        self.template = input.template.is_some();
        if !input.process_from.trim().is_empty() {
            self.process = process;
            self.process_chosen = true;
        }
        Vec::new()
    }

    /// Applies the legal basis, conditions and paper forms, or returns the problems.
    pub fn set_details(&mut self, input: &DetailsInput) -> Vec<FieldProblem> {
        let lines = |s: &str| -> Vec<String> {
            s.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let mut out = Vec::new();
        let mut templates = Vec::new();
        for line in lines(&input.form_templates) {
            match line.rsplit_once('|') {
                Some((name, url))
                    if super::is_https_link(url.trim()) && !name.trim().is_empty() =>
                {
                    templates.push(super::FormTemplate {
                        name: name.trim().to_owned(),
                        url: url.trim().to_owned(),
                    });
                }
                _ => out.push(problem(
                    "form_templates",
                    format!(
                        "“{}”: mỗi dòng là tên mẫu | địa chỉ https://",
                        line.chars().take(60).collect::<String>()
                    ),
                    format!(
                        "“{}”: each line is a form's name | an https:// address",
                        line.chars().take(60).collect::<String>()
                    ),
                )),
            }
        }
        let conditions = input.conditions.replace("\r\n", "\n");
        let details = super::Details {
            legal_basis: lines(&input.legal_basis),
            conditions: optional(&conditions),
            form_templates: templates,
        };
        if out.is_empty() {
            for p in details.problems() {
                let input = match p.split(':').next().unwrap_or_default() {
                    "legal_basis" => "legal_basis",
                    "conditions" => "conditions",
                    _ => "form_templates",
                };
                out.push(problem(input, format!("Không hợp lệ: {p}"), p.clone()));
            }
        }
        if out.is_empty() {
            self.details = details;
        }
        out
    }

    /// Adds a field at the end of the form, or of the group or list `parent`.
    pub fn add_field(&mut self, parent: Option<&str>, field: FormField) -> Vec<FieldProblem> {
        let siblings = match parent {
            None => &mut self.form,
            Some(p) => match self.form.iter_mut().find(|f| f.code == p) {
                Some(g) if g.kind.is_container() => {
                    if field.kind.is_container() {
                        return vec![problem(
                            "kind",
                            "Một nhóm không đặt trong nhóm khác",
                            "A group cannot sit inside another group",
                        )];
                    }
                    &mut g.children
                }
                _ => {
                    return vec![problem(
                        "parent",
                        "Chọn nhóm có trong biểu mẫu",
                        "Choose a group of the form",
                    )];
                }
            },
        };
        let problems = field.problems(siblings);
        if problems.is_empty() {
            siblings.push(field);
        }
        problems
    }

    /// The list holding the field at `path` (`code` or `group.code`) and its index there.
    fn locate(&mut self, path: &str) -> Option<(&mut Vec<FormField>, usize)> {
        let (list, code) = match path.split_once('.') {
            None => (&mut self.form, path),
            Some((group, code)) => (
                &mut self.form.iter_mut().find(|f| f.code == group)?.children,
                code,
            ),
        };
        let i = list.iter().position(|f| f.code == code)?;
        Some((list, i))
    }

    /// Moves a field one place up or down among its siblings; `false` when there is no such
    /// field (at the edge it stays, which is not an error).
    pub fn move_field(&mut self, path: &str, way: Move) -> bool {
        let Some((list, i)) = self.locate(path) else {
            return false;
        };
        shift(list, i, way);
        true
    }

    /// Removes a field (a group with its fields). The fee rule no longer counts a removed list.
    pub fn remove_field(&mut self, path: &str) -> bool {
        let Some((list, i)) = self.locate(path) else {
            return false;
        };
        list.remove(i);
        let gone = |code: &str| !self.form.iter().any(|f| f.code == code);
        if self
            .fee_rule
            .per_item
            .as_ref()
            .is_some_and(|p| gone(&p.field))
        {
            self.fee_rule.per_item = None;
        }
        if self
            .fee_rule
            .waiver
            .as_ref()
            .is_some_and(|w| gone(&w.field))
        {
            self.fee_rule.waiver = None;
        }
        true
    }

    /// Adds a document at the end of the list, or returns the problems.
    pub fn add_document(&mut self, input: &DocumentInput) -> Vec<FieldProblem> {
        let mut out = Vec::new();
        if !text_ok(&input.name, 300) {
            out.push(problem(
                "doc_name",
                "Tên giấy tờ là bắt buộc, tối đa 300 ký tự",
                "The document's name is required, at most 300 characters",
            ));
        } else if self
            .documents
            .iter()
            .any(|d| d.name.trim() == input.name.trim())
        {
            out.push(problem(
                "doc_name",
                "Thủ tục đã có giấy tờ cùng tên",
                "The procedure already asks for a document of that name",
            ));
        }
        if !input.name_en.trim().is_empty() && !text_ok(&input.name_en, 300) {
            out.push(problem(
                "doc_name_en",
                "Tối đa 300 ký tự",
                "At most 300 characters",
            ));
        }
        let mut accept = Vec::new();
        for ext in input
            .accept
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|e| !e.is_empty())
        {
            match FileKind::from_extension(ext) {
                Some(k) if !accept.contains(&k) => accept.push(k),
                Some(_) => {}
                None => out.push(problem(
                    "doc_accept",
                    format!(
                        "dvc không nhận biết được loại tệp `{}` qua nội dung: chọn trong {}",
                        ext.chars().take(20).collect::<String>(),
                        known_types()
                    ),
                    format!(
                        "dvc cannot recognise `{}` files by their content: choose among {}",
                        ext.chars().take(20).collect::<String>(),
                        known_types()
                    ),
                )),
            }
        }
        if accept.is_empty() && out.iter().all(|p| p.input != "doc_accept") {
            accept = crate::services::attachments::default_accept();
        }
        let size = if input.max_size_mb.trim().is_empty() {
            Some(crate::services::attachments::DEFAULT_MAX_SIZE_MB)
        } else {
            input
                .max_size_mb
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|s| (1..=100).contains(s))
        };
        if size.is_none() {
            out.push(problem(
                "doc_max_size_mb",
                "Dung lượng tối đa từ 1 đến 100 MB",
                "The largest size is 1 to 100 MB",
            ));
        }
        if self.documents.len() >= MAX_DOCUMENTS {
            out.push(problem(
                "doc_name",
                format!("Tối đa {MAX_DOCUMENTS} giấy tờ"),
                format!("At most {MAX_DOCUMENTS} documents"),
            ));
        }
        if let (true, Some(max_size_mb)) = (out.is_empty(), size) {
            self.documents.push(RequiredDocument {
                name: input.name.trim().to_owned(),
                name_en: optional(&input.name_en),
                required: input.required.is_some(),
                accept,
                max_size_mb,
                from_results: Vec::new(),
                local: false,
            });
        }
        out
    }

    pub fn move_document(&mut self, i: usize, way: Move) -> bool {
        if i >= self.documents.len() {
            return false;
        }
        shift(&mut self.documents, i, way);
        true
    }

    pub fn remove_document(&mut self, i: usize) -> bool {
        (i < self.documents.len())
            .then(|| self.documents.remove(i))
            .is_some()
    }

    /// The process's problems against the time limit and the tenant's units (checked when
    /// published: a unit may have gone since it was chosen).
    pub fn process_problems(
        &self,
        units: &std::collections::HashSet<crate::services::processes::UnitCode>,
    ) -> Vec<FieldProblem> {
        self.process
            .iter()
            .filter(|_| self.process_chosen)
            .flat_map(|p| p.check(u32::from(self.processing_days), units))
            .map(|e| problem("process_from", e.message_vi(), e.to_string()))
            .collect()
    }

    /// What stops this design from being published (empty when nothing does): each group
    /// holds a field, the fee rule names a list that is there, and the form compiles.
    pub fn publishable(&self) -> Vec<FieldProblem> {
        let mut out = Vec::new();
        for f in self.form.iter().filter(|f| f.kind.is_container()) {
            if f.children.is_empty() {
                out.push(problem(
                    "form",
                    format!("Nhóm “{}” chưa có trường nào", f.label_vi),
                    format!("The group “{}” has no field yet", f.label_vi),
                ));
            }
        }
        if let Some(p) = &self.fee_rule.per_item
            && !self
                .form
                .iter()
                .any(|f| f.code == p.field && f.kind.as_str() == "list")
        {
            out.push(problem(
                "fee_per_item_field",
                "Lệ phí tính theo một danh sách không còn trong biểu mẫu",
                "The fee counts a list that is no longer in the form",
            ));
        }
        if let Err(e) = FormSchema::parse(&self.form_schema()) {
            out.push(problem(
                "form",
                format!("Biểu mẫu không hợp lệ: {e}"),
                format!("The form is not valid: {e}"),
            ));
        }
        out
    }
}

fn shift<T>(list: &mut [T], i: usize, way: Move) {
    match way {
        Move::Up if i > 0 => list.swap(i - 1, i),
        Move::Down if i + 1 < list.len() => list.swap(i, i + 1),
        _ => {}
    }
}

fn known_types() -> String {
    FileKind::ALL
        .iter()
        .map(|k| k.extension())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::forms::builder::{FieldKind, parse_choices};

    fn general(fee: &str) -> GeneralInput {
        GeneralInput {
            name_vi: "Cấp giấy phép thử nghiệm".into(),
            field: "viec-lam".into(),
            online_level: "full".into(),
            processing_days: "7".into(),
            fee_vnd: fee.into(),
            decide_role: "leader".into(),
            pay_before_processing: Some("on".into()),
            offered: Some("on".into()),
            ..Default::default()
        }
    }

    fn fields() -> Context {
        Context {
            fields: vec!["viec-lam".into()],
            processes: Vec::new(),
        }
    }

    #[test]
    fn general_settings_apply_whole_or_not_at_all() {
        let mut d = Design::blank("Tên", "viec-lam");
        assert!(d.set_general(&general("600.000"), &fields()).is_empty());
        assert_eq!(d.fee_vnd, 600_000);
        assert_eq!(d.processing_days, 7);
        let before = d.clone();
        let problems = d.set_general(&general("-5"), &fields());
        assert_eq!(problems[0].input, "fee_vnd");
        assert!(problems[0].vi.contains("số âm"));
        let mut bad = general("1");
        bad.field = "khong-co".into();
        bad.processing_days = "0".into();
        let inputs: Vec<_> = d
            .set_general(&bad, &fields())
            .iter()
            .map(|p| p.input)
            .collect();
        assert_eq!(inputs, ["field", "processing_days"]);
        assert_eq!(d, before, "a refused change leaves the design as it was");
    }

    #[test]
    fn fields_are_added_moved_and_removed_in_groups_too() {
        let mut d = Design::blank("Tên", "viec-lam");
        assert!(
            d.add_field(None, FormField::new("a", FieldKind::Text, "A"))
                .is_empty()
        );
        assert!(
            d.add_field(None, FormField::new("ds", FieldKind::List, "DS"))
                .is_empty()
        );
        assert!(
            d.add_field(Some("ds"), FormField::new("x", FieldKind::Date, "X"))
                .is_empty()
        );
        assert!(
            d.add_field(Some("ds"), FormField::new("y", FieldKind::YesNo, "Y"))
                .is_empty()
        );
        // A group inside a list, a collision, a missing parent: refused, nothing added.
        assert_eq!(
            d.add_field(Some("ds"), FormField::new("g", FieldKind::Group, "G"))[0].input,
            "kind"
        );
        assert_eq!(
            d.add_field(Some("ds"), FormField::new("x", FieldKind::Text, "X2"))[0].input,
            "code"
        );
        assert_eq!(
            d.add_field(Some("a"), FormField::new("z", FieldKind::Text, "Z"))[0].input,
            "parent"
        );
        assert!(d.move_field("ds.y", Move::Up));
        assert!(d.move_field("ds", Move::Up));
        let codes: Vec<_> = d.form.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(codes, ["ds", "a"]);
        let inner: Vec<_> = d.form[0].children.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(inner, ["y", "x"]);
        assert!(!d.move_field("nope", Move::Down));
        // The fee per worker follows the list; removing the list drops the rule.
        let mut g = general("100000");
        g.fee_per_item = "50000".into();
        g.fee_per_item_field = "ds".into();
        assert!(d.set_general(&g, &fields()).is_empty());
        assert_eq!(d.fee_rule.per_item.as_ref().unwrap().amount_vnd, 50_000);
        assert!(d.publishable().is_empty());
        assert!(d.remove_field("ds"));
        assert!(d.fee_rule.per_item.is_none());
        assert_eq!(d.form.len(), 1);
    }

    #[test]
    fn the_process_is_chosen_from_another_procedure_or_kept() {
        use crate::services::processes::{Budget, Process, Step, StepAction, StepRole, UnitCode};
        let step = |code: &str, transfer: Option<&str>| Step {
            code: code.into(),
            name_vi: "Bước".into(),
            name_en: None,
            unit: UnitCode::parse("mot-cua").unwrap(),
            role: StepRole::Officer,
            actions: vec![StepAction::Decide],
            budget: Budget::Days(2),
            transfer_to: transfer.map(|t| crate::tenancy::TenantSlug::parse(t).unwrap()),
        };
        let mut ctx = fields();
        ctx.processes = vec![
            (
                "1.000001".into(),
                Process {
                    steps: vec![step("quyet-dinh", None)],
                },
            ),
            (
                "1.000002".into(),
                Process {
                    steps: vec![step("chuyen", Some("tinh-b"))],
                },
            ),
        ];
        let mut d = Design::blank("Tên", "viec-lam");
        let mut g = general("0");
        assert!(d.set_general(&g, &ctx).is_empty());
        assert!(d.process.is_none() && !d.process_chosen, "left empty: kept");
        g.process_from = "1.000001".into();
        assert!(d.set_general(&g, &ctx).is_empty());
        assert_eq!(d.process.as_ref().unwrap().steps[0].code, "quyet-dinh");
        assert!(d.process_chosen);
        let units = [UnitCode::parse("mot-cua").unwrap()].into_iter().collect();
        assert!(d.process_problems(&units).is_empty());
        assert_eq!(
            d.process_problems(&Default::default())[0].input,
            "process_from"
        );
        for refused in ["1.000002", "9.999999"] {
            g.process_from = refused.into();
            assert_eq!(
                d.set_general(&g, &ctx)[0].input,
                "process_from",
                "{refused}"
            );
        }
        g.process_from = "-".into();
        assert!(d.set_general(&g, &ctx).is_empty());
        assert!(
            d.process.is_none() && d.process_chosen,
            "the fixed path, chosen"
        );
    }

    #[test]
    fn details_take_plain_https_links_only() {
        let mut d = Design::blank("Tên", "viec-lam");
        let typed = DetailsInput {
            legal_basis: "Bộ luật Lao động 2019\n\nNghị định 219/2025/NĐ-CP".into(),
            conditions: "Người lao động đủ 18 tuổi".into(),
            form_templates: "Mẫu số 11 | https://dichvucong.gov.vn/mau-11.docx".into(),
        };
        assert!(d.set_details(&typed).is_empty());
        assert_eq!(d.details.legal_basis.len(), 2);
        assert_eq!(d.details.form_templates[0].name, "Mẫu số 11");
        let before = d.clone();
        for bad in [
            "Mẫu | javascript:alert(1)",
            "Mẫu | http://example.vn/a.doc",
            "https://example.vn/a.doc",
            "Mẫu | https://example.vn/a b.doc",
        ] {
            let typed = DetailsInput {
                form_templates: bad.into(),
                ..DetailsInput::default()
            };
            assert_eq!(d.set_details(&typed)[0].input, "form_templates", "{bad}");
        }
        assert_eq!(d, before);
        assert_eq!(details_text(&d.details).legal_basis.lines().count(), 2);
    }

    #[test]
    fn an_empty_group_is_not_published() {
        let mut d = Design::blank("Tên", "viec-lam");
        d.add_field(None, FormField::new("g", FieldKind::Group, "Nhóm"));
        assert_eq!(d.publishable()[0].input, "form");
        let mut c = FormField::new("c", FieldKind::Choice, "C");
        c.choices = parse_choices("Một\nHai");
        assert!(d.add_field(Some("g"), c).is_empty());
        assert!(d.publishable().is_empty());
    }

    #[test]
    fn documents_take_only_types_dvc_recognises() {
        let mut d = Design::blank("Tên", "viec-lam");
        let doc = |name: &str, accept: &str| DocumentInput {
            name: name.into(),
            accept: accept.into(),
            required: Some("on".into()),
            ..Default::default()
        };
        let refused = d.add_document(&doc("Tờ khai", "pdf, doc"));
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].input, "doc_accept");
        assert!(refused[0].vi.contains("`doc`"));
        assert!(d.documents.is_empty());
        assert!(d.add_document(&doc("Tờ khai", "PDF .jpg")).is_empty());
        assert!(d.add_document(&doc("Ảnh", "")).is_empty());
        assert_eq!(d.documents[0].accept, [FileKind::Pdf, FileKind::Jpeg]);
        assert_eq!(
            d.documents[1].accept,
            crate::services::attachments::default_accept()
        );
        assert_eq!(d.add_document(&doc("Tờ khai", "pdf"))[0].input, "doc_name");
        assert!(d.move_document(1, Move::Up));
        assert_eq!(d.documents[0].name, "Ảnh");
        assert!(d.remove_document(0));
        assert!(!d.remove_document(5));
        assert_eq!(d.documents.len(), 1);
    }
}

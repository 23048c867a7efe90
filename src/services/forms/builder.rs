//! A form as the procedure designer edits it: a list of fields with labels, kinds and rules,
//! never JSON. It is written out as the schema subset ([`to_schema`]) and read back from a
//! compiled schema ([`super::FormSchema::builder_fields`]), so a form made by hand in a tenant
//! file opens in the designer too. Groups and repeated groups hold plain fields, one level
//! down: the designer's pages show no deeper nesting, and the forms of the national catalog
//! need none.

use super::compile::MAX_NAME_CHARS;
use super::model::{Field, Format, Kind, ObjectSchema};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value, json};

/// What a field asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    Number,
    Integer,
    Date,
    Choice,
    YesNo,
    Cccd,
    Phone,
    Email,
    /// A few fields shown together (e.g. the employer's address).
    Group,
    /// The same few fields again for each item (e.g. one row per worker).
    List,
}

impl FieldKind {
    pub const ALL: [FieldKind; 11] = [
        FieldKind::Text,
        FieldKind::Number,
        FieldKind::Integer,
        FieldKind::Date,
        FieldKind::Choice,
        FieldKind::YesNo,
        FieldKind::Cccd,
        FieldKind::Phone,
        FieldKind::Email,
        FieldKind::Group,
        FieldKind::List,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::Number => "number",
            FieldKind::Integer => "integer",
            FieldKind::Date => "date",
            FieldKind::Choice => "choice",
            FieldKind::YesNo => "yes_no",
            FieldKind::Cccd => "cccd",
            FieldKind::Phone => "phone",
            FieldKind::Email => "email",
            FieldKind::Group => "group",
            FieldKind::List => "list",
        }
    }

    pub fn parse(s: &str) -> Option<FieldKind> {
        FieldKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Holds other fields.
    pub fn is_container(self) -> bool {
        matches!(self, FieldKind::Group | FieldKind::List)
    }

    fn is_text(self) -> bool {
        matches!(self, FieldKind::Text)
    }

    fn is_number(self) -> bool {
        matches!(self, FieldKind::Number | FieldKind::Integer)
    }
}

/// One choice of a choice field: the stored value and the labels people read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub value: String,
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_en: Option<String>,
}

/// A field of the form, as the designer shows and edits it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormField {
    /// The answer's key: 1–64 ASCII letters, digits or `_`, starting with a letter.
    pub code: String,
    pub kind: FieldKind,
    pub label_vi: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_en: Option<String>,
    /// Help shown under the label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum: Option<Number>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum: Option<Number>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<Choice>,
    /// A list's fewest and most items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_items: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items: Option<u32>,
    /// The fields of a group or of each item of a list, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<FormField>,
}

/// Something wrong with a field as typed: the input it concerns, in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// The designer's input name: `code`, `label_vi`, `pattern`, `choices`, `minimum`, …
    pub input: &'static str,
    pub vi: String,
    pub en: String,
}

fn problem(input: &'static str, vi: impl Into<String>, en: impl Into<String>) -> FieldProblem {
    FieldProblem {
        input,
        vi: vi.into(),
        en: en.into(),
    }
}

/// Longest label or hint, in characters.
pub const MAX_LABEL_CHARS: usize = 300;
/// Most choices the designer takes for one field.
pub const MAX_CHOICES: usize = 200;

/// A field code from a label, for when the admin types none: `Họ và tên` → `ho_va_ten`.
pub fn code_from_label(label: &str) -> String {
    let folded = crate::services::text::fold(label);
    let mut code = String::new();
    for c in folded.chars() {
        if c.is_ascii_alphanumeric() {
            code.push(c);
        } else if !code.is_empty() && !code.ends_with('_') {
            code.push('_');
        }
    }
    let mut code = code.trim_end_matches('_').to_owned();
    if !code.starts_with(|c: char| c.is_ascii_alphabetic()) {
        code.insert_str(0, "truong_");
    }
    code.truncate(40);
    code.trim_end_matches('_').to_owned()
}

/// Choices from the designer's text box, one per line: `value | label | English label`,
/// `value | label`, or only the label (its value is then made from it, as a code).
pub fn parse_choices(text: &str) -> Vec<Choice> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| {
            let parts: Vec<&str> = line.splitn(3, '|').map(str::trim).collect();
            match parts[..] {
                [value, label, en] => Choice {
                    value: value.to_owned(),
                    label: label.to_owned(),
                    label_en: (!en.is_empty()).then(|| en.to_owned()),
                },
                [value, label] => Choice {
                    value: value.to_owned(),
                    label: label.to_owned(),
                    label_en: None,
                },
                _ => Choice {
                    value: code_from_label(line),
                    label: line.to_owned(),
                    label_en: None,
                },
            }
        })
        .collect()
}

/// The designer's text box again, from choices.
pub fn choices_text(choices: &[Choice]) -> String {
    choices
        .iter()
        .map(|c| match &c.label_en {
            Some(en) => format!("{} | {} | {en}", c.value, c.label),
            None => format!("{} | {}", c.value, c.label),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn valid_code(code: &str) -> bool {
    code.len() <= MAX_NAME_CHARS
        && code.starts_with(|c: char| c.is_ascii_alphabetic())
        && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn label_ok(s: &str) -> bool {
    let n = s.trim().chars().count();
    (1..=MAX_LABEL_CHARS).contains(&n) && !s.chars().any(char::is_control)
}

impl FormField {
    /// A field of `kind` with only its code and label; the rest unset.
    pub fn new(code: &str, kind: FieldKind, label_vi: &str) -> FormField {
        FormField {
            code: code.to_owned(),
            kind,
            label_vi: label_vi.to_owned(),
            label_en: None,
            hint: None,
            placeholder: None,
            required: false,
            min_length: None,
            max_length: None,
            pattern: None,
            minimum: None,
            maximum: None,
            choices: Vec::new(),
            min_items: None,
            max_items: None,
            children: Vec::new(),
        }
    }

    /// Everything wrong with this field among `siblings` (the other fields at its level),
    /// each problem naming the input at fault. Empty when the field can be added.
    pub fn problems(&self, siblings: &[FormField]) -> Vec<FieldProblem> {
        let mut out = Vec::new();
        if !valid_code(&self.code) {
            out.push(problem(
                "code",
                format!(
                    "Mã trường gồm 1–{MAX_NAME_CHARS} chữ cái không dấu, chữ số hoặc `_`, bắt đầu bằng chữ cái"
                ),
                format!(
                    "The field code is 1–{MAX_NAME_CHARS} ASCII letters, digits or `_`, starting with a letter"
                ),
            ));
        } else if siblings.iter().any(|s| s.code == self.code) {
            out.push(problem(
                "code",
                format!("Mã trường `{}` đã có trong biểu mẫu", self.code),
                format!("The field code `{}` is already in the form", self.code),
            ));
        }
        if !label_ok(&self.label_vi) {
            out.push(problem(
                "label_vi",
                format!("Nhãn tiếng Việt là bắt buộc, tối đa {MAX_LABEL_CHARS} ký tự"),
                format!("The Vietnamese label is required, at most {MAX_LABEL_CHARS} characters"),
            ));
        }
        for (input, value) in [
            ("label_en", &self.label_en),
            ("hint", &self.hint),
            ("placeholder", &self.placeholder),
        ] {
            if value.as_deref().is_some_and(|v| !label_ok(v)) {
                out.push(problem(
                    input,
                    format!("Tối đa {MAX_LABEL_CHARS} ký tự, không có ký tự điều khiển"),
                    format!("At most {MAX_LABEL_CHARS} characters, no control characters"),
                ));
            }
        }
        if let Some(p) = &self.pattern {
            if !self.kind.is_text() {
                out.push(problem(
                    "pattern",
                    "Chỉ trường văn bản mới có mẫu kiểm tra",
                    "Only a text field takes a pattern",
                ));
            } else if let Err(e) = super::compile::pattern(p) {
                out.push(problem(
                    "pattern",
                    format!("Mẫu kiểm tra không phải biểu thức chính quy hợp lệ: {e}"),
                    format!("The pattern is not a valid regular expression: {e}"),
                ));
            }
        }
        if let (Some(min), Some(max)) = (self.min_length, self.max_length)
            && min > max
        {
            out.push(problem(
                "max_length",
                "Độ dài tối đa nhỏ hơn độ dài tối thiểu",
                "The maximum length is below the minimum",
            ));
        }
        if let (Some(min), Some(max)) = (&self.minimum, &self.maximum)
            && min.as_f64() > max.as_f64()
        {
            out.push(problem(
                "maximum",
                "Giá trị lớn nhất nhỏ hơn giá trị nhỏ nhất",
                "The maximum is below the minimum",
            ));
        }
        if (self.minimum.is_some() || self.maximum.is_some()) && !self.kind.is_number() {
            out.push(problem(
                "minimum",
                "Chỉ trường số mới có giá trị nhỏ nhất, lớn nhất",
                "Only a number field takes a minimum and maximum",
            ));
        }
        if self.kind == FieldKind::Integer
            && [&self.minimum, &self.maximum]
                .into_iter()
                .flatten()
                .any(|n| !(n.is_i64() || n.is_u64()))
        {
            out.push(problem(
                "minimum",
                "Trường số nguyên có giới hạn là số nguyên",
                "An integer field's bounds are whole numbers",
            ));
        }
        if self.kind == FieldKind::Choice {
            self.choice_problems(&mut out);
        } else if !self.choices.is_empty() {
            out.push(problem(
                "choices",
                "Chỉ trường lựa chọn mới có danh sách lựa chọn",
                "Only a choice field takes a list of choices",
            ));
        }
        if let (Some(min), Some(max)) = (self.min_items, self.max_items)
            && min > max
        {
            out.push(problem(
                "max_items",
                "Số dòng tối đa nhỏ hơn số dòng tối thiểu",
                "The most rows is below the fewest",
            ));
        }
        out
    }

    fn choice_problems(&self, out: &mut Vec<FieldProblem>) {
        if self.choices.is_empty() {
            out.push(problem(
                "choices",
                "Danh sách lựa chọn đang trống: mỗi dòng một lựa chọn",
                "The list of choices is empty: one choice per line",
            ));
            return;
        }
        if self.choices.len() > MAX_CHOICES {
            out.push(problem(
                "choices",
                format!("Tối đa {MAX_CHOICES} lựa chọn"),
                format!("At most {MAX_CHOICES} choices"),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for c in &self.choices {
            if c.value.is_empty() || !label_ok(&c.label) || c.value.chars().any(char::is_control) {
                out.push(problem(
                    "choices",
                    format!("Lựa chọn `{}` thiếu giá trị hoặc nhãn", c.label),
                    format!("The choice `{}` lacks a value or a label", c.label),
                ));
            } else if !seen.insert(c.value.as_str()) {
                out.push(problem(
                    "choices",
                    format!("Giá trị `{}` lặp lại trong danh sách lựa chọn", c.value),
                    format!("The value `{}` appears twice among the choices", c.value),
                ));
            }
        }
    }

    fn schema(&self) -> Value {
        let mut m = Map::new();
        let ty = match self.kind {
            FieldKind::Number => "number",
            FieldKind::Integer => "integer",
            FieldKind::YesNo => "boolean",
            FieldKind::Group => "object",
            FieldKind::List => "array",
            _ => "string",
        };
        m.insert("type".into(), json!(ty));
        m.insert("title".into(), json!(self.label_vi.trim()));
        let optional = [
            ("title_en", &self.label_en),
            ("description", &self.hint),
            ("placeholder", &self.placeholder),
        ];
        for (key, value) in optional {
            if let Some(v) = value {
                m.insert(key.into(), json!(v.trim()));
            }
        }
        let format = match self.kind {
            FieldKind::Date => Some("date"),
            FieldKind::Cccd => Some("cccd"),
            FieldKind::Phone => Some("phone"),
            FieldKind::Email => Some("email"),
            _ => None,
        };
        if let Some(f) = format {
            m.insert("format".into(), json!(f));
        }
        if self.kind.is_text() {
            put(&mut m, "minLength", self.min_length.map(Value::from));
            put(&mut m, "maxLength", self.max_length.map(Value::from));
            put(&mut m, "pattern", self.pattern.clone().map(Value::from));
        }
        if self.kind.is_number() {
            put(&mut m, "minimum", self.minimum.clone().map(Value::Number));
            put(&mut m, "maximum", self.maximum.clone().map(Value::Number));
        }
        if self.kind == FieldKind::Choice {
            let values: Vec<_> = self.choices.iter().map(|c| c.value.clone()).collect();
            let labels: Vec<_> = self.choices.iter().map(|c| c.label.clone()).collect();
            m.insert("enum".into(), json!(values));
            m.insert("enumLabels".into(), json!(labels));
            // English labels when any choice has one (the others fall back to Vietnamese).
            if self.choices.iter().any(|c| c.label_en.is_some()) {
                let en: Vec<_> = self
                    .choices
                    .iter()
                    .map(|c| c.label_en.clone().unwrap_or_else(|| c.label.clone()))
                    .collect();
                m.insert("enumLabels_en".into(), json!(en));
            }
        }
        match self.kind {
            FieldKind::Group => object_into(&mut m, &self.children),
            FieldKind::List => {
                let mut item = Map::new();
                item.insert("type".into(), json!("object"));
                object_into(&mut item, &self.children);
                m.insert("items".into(), Value::Object(item));
                put(&mut m, "minItems", self.min_items.map(Value::from));
                put(&mut m, "maxItems", self.max_items.map(Value::from));
            }
            _ => {}
        }
        Value::Object(m)
    }
}

fn put(m: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value {
        m.insert(key.into(), v);
    }
}

fn object_into(m: &mut Map<String, Value>, fields: &[FormField]) {
    let mut props = Map::new();
    for f in fields {
        props.insert(f.code.clone(), f.schema());
    }
    m.insert("properties".into(), Value::Object(props));
    let required: Vec<_> = fields
        .iter()
        .filter(|f| f.required)
        .map(|f| f.code.clone())
        .collect();
    if !required.is_empty() {
        m.insert("required".into(), json!(required));
    }
}

/// The schema of a form made of `fields`, properties in their order; `{}` for no field.
pub fn to_schema(fields: &[FormField]) -> Value {
    if fields.is_empty() {
        return json!({});
    }
    let mut m = Map::new();
    m.insert("type".into(), json!("object"));
    object_into(&mut m, fields);
    Value::Object(m)
}

/// A field as the designer's form sends it (all text).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FieldInput {
    /// Left empty, it is made from the Vietnamese label.
    pub code: String,
    pub kind: String,
    pub label_vi: String,
    pub label_en: String,
    pub hint: String,
    pub placeholder: String,
    pub required: Option<String>,
    pub min_length: String,
    pub max_length: String,
    pub pattern: String,
    pub minimum: String,
    pub maximum: String,
    /// One per line: `value | label`, or only the label.
    pub choices: String,
    pub min_items: String,
    pub max_items: String,
}

fn blank_none(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

impl FieldInput {
    /// The field typed, or every problem in it. `siblings` are the fields it joins.
    pub fn to_field(&self, siblings: &[FormField]) -> Result<FormField, Vec<FieldProblem>> {
        let mut out = Vec::new();
        let kind = FieldKind::parse(&self.kind).unwrap_or_else(|| {
            out.push(problem(
                "kind",
                "Chọn loại trường",
                "Choose the kind of field",
            ));
            FieldKind::Text
        });
        let code = match blank_none(&self.code) {
            Some(c) => c,
            None => code_from_label(&self.label_vi),
        };
        let mut field = FormField::new(&code, kind, self.label_vi.trim());
        field.label_en = blank_none(&self.label_en);
        field.hint = blank_none(&self.hint);
        field.placeholder = blank_none(&self.placeholder);
        field.required = self.required.is_some();
        let mut count = |s: &str, input: &'static str| -> Option<u32> {
            let s = s.trim();
            if s.is_empty() {
                return None;
            }
            s.parse::<u32>().map_or_else(
                |_| {
                    out.push(problem(
                        input,
                        "Nhập một số nguyên không âm",
                        "Enter a whole number, not negative",
                    ));
                    None
                },
                Some,
            )
        };
        // Each limit is kept only where the kind uses it: the designer's form shows them all.
        let (min_length, max_length) = (
            count(&self.min_length, "min_length"),
            count(&self.max_length, "max_length"),
        );
        let (min_items, max_items) = (
            count(&self.min_items, "min_items"),
            count(&self.max_items, "max_items"),
        );
        if kind.is_text() {
            field.min_length = min_length;
            field.max_length = max_length;
            field.pattern = blank_none(&self.pattern);
        }
        if kind == FieldKind::List {
            field.min_items = min_items;
            field.max_items = max_items;
        }
        if kind.is_number() {
            for (text, slot, input) in [
                (&self.minimum, &mut field.minimum, "minimum"),
                (&self.maximum, &mut field.maximum, "maximum"),
            ] {
                let t = text.trim().replace(',', ".");
                if t.is_empty() {
                    continue;
                }
                match t.parse::<Number>() {
                    Ok(n) => *slot = Some(n),
                    Err(_) => out.push(problem(
                        input,
                        "Nhập một số, ví dụ 24 hoặc 1.5",
                        "Enter a number, e.g. 24 or 1.5",
                    )),
                }
            }
        }
        if kind == FieldKind::Choice {
            field.choices = parse_choices(&self.choices);
        }
        out.extend(field.problems(siblings));
        if out.is_empty() { Ok(field) } else { Err(out) }
    }
}

/// Why a schema cannot be shown in the designer (it stays editable in the tenant file).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NotDesignable(pub String);

pub(super) fn fields_of(root: &ObjectSchema) -> Result<Vec<FormField>, NotDesignable> {
    level(root, 0)
}

fn level(object: &ObjectSchema, depth: usize) -> Result<Vec<FormField>, NotDesignable> {
    object
        .props
        .iter()
        .map(|p| field_of(&p.name, p.required, &p.field, depth))
        .collect()
}

fn number(b: &Option<super::model::Bound>) -> Option<Number> {
    b.as_ref().and_then(|b| b.shown.parse::<Number>().ok())
}

fn field_of(
    code: &str,
    required: bool,
    f: &Field,
    depth: usize,
) -> Result<FormField, NotDesignable> {
    let mut out = FormField::new(code, FieldKind::Text, f.title.as_deref().unwrap_or(code));
    out.required = required;
    out.label_en = f.title_en.clone();
    out.hint = f.description.clone();
    out.placeholder = f.placeholder.clone();
    let nested = |what: &str| {
        NotDesignable(format!(
            "`{code}`: a {what} inside a group is deeper than the designer shows"
        ))
    };
    match &f.kind {
        Kind::Text(t) => {
            out.kind = match t.format {
                Some(Format::Date) => FieldKind::Date,
                Some(Format::Cccd) => FieldKind::Cccd,
                Some(Format::Phone) => FieldKind::Phone,
                Some(Format::Email) => FieldKind::Email,
                None if !t.options.is_empty() => FieldKind::Choice,
                None => FieldKind::Text,
            };
            if out.kind == FieldKind::Text {
                out.min_length = t.min_length.and_then(|n| u32::try_from(n).ok());
                out.max_length = t.max_length.and_then(|n| u32::try_from(n).ok());
                out.pattern = t.pattern_source.clone();
            } else if t.pattern.is_some() || t.min_length.is_some() || t.max_length.is_some() {
                return Err(NotDesignable(format!(
                    "`{code}`: a pattern or length on a {} field",
                    out.kind.as_str()
                )));
            }
            out.choices = t
                .options
                .iter()
                .enumerate()
                .map(|(i, (value, label))| Choice {
                    value: value.clone(),
                    label: label.clone(),
                    label_en: t.options_en.get(i).cloned(),
                })
                .collect();
        }
        Kind::Number {
            integer,
            minimum,
            maximum,
        } => {
            out.kind = if *integer {
                FieldKind::Integer
            } else {
                FieldKind::Number
            };
            out.minimum = number(minimum);
            out.maximum = number(maximum);
        }
        Kind::Boolean => out.kind = FieldKind::YesNo,
        Kind::Object(o) => {
            if depth > 0 {
                return Err(nested("group"));
            }
            out.kind = FieldKind::Group;
            out.children = level(o, depth + 1)?;
        }
        Kind::Array {
            items,
            min_items,
            max_items,
        } => {
            if depth > 0 {
                return Err(nested("list"));
            }
            let Kind::Object(o) = &items.kind else {
                return Err(NotDesignable(format!(
                    "`{code}`: a list of single values (the designer's lists hold groups of fields)"
                )));
            };
            out.kind = FieldKind::List;
            out.children = level(o, depth + 1)?;
            out.min_items = min_items.and_then(|n| u32::try_from(n).ok());
            out.max_items = max_items.and_then(|n| u32::try_from(n).ok());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::forms::FormSchema;
    use crate::services::forms::fixtures::permit;

    fn workers() -> FormField {
        let mut list = FormField::new("nguoi_lao_dong", FieldKind::List, "Người lao động");
        list.min_items = Some(1);
        let mut name = FormField::new("ho_ten", FieldKind::Text, "Họ và tên");
        name.required = true;
        let mut gender = FormField::new("gioi_tinh", FieldKind::Choice, "Giới tính");
        gender.choices = parse_choices("nam | Nam\nnu | Nữ");
        list.children = vec![name, gender];
        list
    }

    #[test]
    fn a_designed_form_compiles_in_order_and_reads_back_the_same() {
        let mut email = FormField::new("email", FieldKind::Email, "Thư điện tử");
        email.required = true;
        let mut code = FormField::new("ma_so", FieldKind::Text, "Mã số thuế");
        code.pattern = Some("[0-9]{10}".into());
        code.label_en = Some("Tax code".into());
        let mut months = FormField::new("so_thang", FieldKind::Integer, "Số tháng");
        months.minimum = Some(1.into());
        months.maximum = Some(24.into());
        let fields = vec![
            code,
            email,
            months,
            FormField::new("ngay", FieldKind::Date, "Ngày bắt đầu"),
            FormField::new("cam_ket", FieldKind::YesNo, "Cam kết"),
            workers(),
        ];
        let schema = to_schema(&fields);
        let text = serde_json::to_string(&schema).unwrap();
        let compiled = FormSchema::parse_str(&text).expect("designed forms compile");
        let names: Vec<String> = compiled.fields().into_iter().map(|f| f.name).collect();
        assert_eq!(
            names,
            [
                "ma_so",
                "email",
                "so_thang",
                "ngay",
                "cam_ket",
                "nguoi_lao_dong"
            ]
        );
        assert_eq!(compiled.builder_fields().unwrap(), fields);
        // The compiled schema enforces what the designer set.
        assert!(
            compiled
                .validate(&json!({"email": "a@b.vn", "ma_so": "12", "nguoi_lao_dong": []}))
                .is_err()
        );
    }

    #[test]
    fn a_hand_written_schema_opens_in_the_designer() {
        let fields = permit()
            .builder_fields()
            .expect("the fixture is designable");
        let list = fields.iter().find(|f| f.kind == FieldKind::List).unwrap();
        assert!(!list.children.is_empty());
        // And writes back to a schema with the same fields.
        let again = FormSchema::parse(&to_schema(&fields)).unwrap();
        assert_eq!(again.builder_fields().unwrap(), fields);
    }

    #[test]
    fn bad_fields_are_refused_next_to_the_input() {
        let inputs = |f: &FormField, siblings: &[FormField]| -> Vec<&'static str> {
            f.problems(siblings).iter().map(|p| p.input).collect()
        };
        let taken = vec![FormField::new("ho_ten", FieldKind::Text, "Họ tên")];
        assert_eq!(
            inputs(&FormField::new("ho_ten", FieldKind::Text, "Khác"), &taken),
            ["code"]
        );
        assert_eq!(
            inputs(&FormField::new("1abc", FieldKind::Text, "X"), &[]),
            ["code"]
        );
        let mut bad_pattern = FormField::new("a", FieldKind::Text, "A");
        bad_pattern.pattern = Some("[0-9".into());
        assert_eq!(inputs(&bad_pattern, &[]), ["pattern"]);
        assert!(
            bad_pattern.problems(&[])[0]
                .vi
                .contains("biểu thức chính quy")
        );
        let empty_choice = FormField::new("c", FieldKind::Choice, "C");
        assert_eq!(inputs(&empty_choice, &[]), ["choices"]);
        let mut twice = FormField::new("c", FieldKind::Choice, "C");
        twice.choices = parse_choices("a | A\na | B");
        assert_eq!(inputs(&twice, &[]), ["choices"]);
        let mut bounds = FormField::new("n", FieldKind::Integer, "N");
        bounds.minimum = Some(5.into());
        bounds.maximum = Some(1.into());
        assert_eq!(inputs(&bounds, &[]), ["maximum"]);
        assert_eq!(
            inputs(&FormField::new("x", FieldKind::Text, " "), &[]),
            ["label_vi"]
        );
        assert!(workers().problems(&taken).is_empty());
    }

    #[test]
    fn typed_fields_are_read_or_refused() {
        let typed = FieldInput {
            kind: "integer".into(),
            label_vi: "Số tháng làm việc".into(),
            minimum: "1".into(),
            maximum: "24".into(),
            pattern: "[0-9".into(),
            required: Some("on".into()),
            ..Default::default()
        };
        let f = typed
            .to_field(&[])
            .expect("a number field ignores the pattern box");
        assert_eq!(f.code, "so_thang_lam_viec");
        assert_eq!(f.maximum, Some(24.into()));
        assert!(f.pattern.is_none() && f.required);
        let bad = FieldInput {
            kind: "choice".into(),
            label_vi: "Giới tính".into(),
            ..Default::default()
        };
        let problems = bad.to_field(&[]).unwrap_err();
        assert_eq!(problems[0].input, "choices");
        let bad = FieldInput {
            kind: "number".into(),
            label_vi: "Lương".into(),
            minimum: "nhiều".into(),
            ..Default::default()
        };
        assert_eq!(bad.to_field(&[]).unwrap_err()[0].input, "minimum");
        let unknown = FieldInput {
            kind: "signature".into(),
            label_vi: "Chữ ký".into(),
            ..Default::default()
        };
        assert_eq!(unknown.to_field(&[]).unwrap_err()[0].input, "kind");
    }

    #[test]
    fn codes_and_choices_come_from_labels() {
        assert_eq!(code_from_label("Họ và tên"), "ho_va_ten");
        assert_eq!(code_from_label("Địa điểm làm việc"), "dia_diem_lam_viec");
        assert_eq!(code_from_label("3 ảnh màu"), "truong_3_anh_mau");
        let choices = parse_choices("Nam\n\n  nu | Nữ | Female ");
        assert_eq!(
            choices,
            [
                Choice {
                    value: "nam".into(),
                    label: "Nam".into(),
                    label_en: None,
                },
                Choice {
                    value: "nu".into(),
                    label: "Nữ".into(),
                    label_en: Some("Female".into()),
                }
            ]
        );
        assert_eq!(parse_choices(&choices_text(&choices)), choices);
        // English labels reach the schema (Vietnamese standing in where one is missing) and
        // come back from it.
        let mut f = FormField::new("gioi_tinh", FieldKind::Choice, "Giới tính");
        f.choices = choices;
        let schema = to_schema(std::slice::from_ref(&f));
        assert_eq!(
            schema["properties"]["gioi_tinh"]["enumLabels_en"],
            json!(["Nam", "Female"])
        );
        let back = FormSchema::parse(&schema)
            .unwrap()
            .builder_fields()
            .unwrap();
        assert_eq!(back[0].choices[1].label_en.as_deref(), Some("Female"));
    }
}

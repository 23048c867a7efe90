//! HTML forms from a procedure's form schema, and back. Inputs are named by the JSON Pointer
//! of their value (`/form/ho_ten`, `/form/workers/0/name`), so the schema validator's errors
//! land on the input they concern, and what the user typed is shown again when a field is
//! wrong. Pure: no I/O.

use crate::locale::Locale;
use crate::services::forms::{FieldError, FieldInfo};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Rows an array shows when it has no value yet.
const BLANK_ROWS: usize = 1;
/// Rows an array may grow to from a form.
const MAX_ROWS: usize = 50;

/// A field ready for the template.
#[derive(Debug, Clone, Serialize, Default)]
pub struct FormField {
    /// JSON Pointer of the value; also the input's `name`.
    pub name: String,
    /// A safe `id` for the label and error (`f-form-ho_ten`).
    pub id: String,
    pub label: String,
    /// `text`, `email`, `tel`, `date`, `number`, `select`, `checkbox`, `group`, `list`.
    pub input: &'static str,
    pub required: bool,
    pub step: Option<&'static str>,
    pub options: Vec<(String, String)>,
    pub hint: Option<String>,
    pub value: String,
    pub checked: bool,
    pub error: Option<String>,
    /// A group's fields.
    pub children: Vec<FormField>,
    /// A list's rows (each a group or a single field).
    pub rows: Vec<FormField>,
}

fn label(info: &FieldInfo, locale: Locale) -> String {
    match (locale, &info.title_en) {
        (Locale::En, Some(en)) => en.clone(),
        _ => info.title.clone(),
    }
}

fn input_of(info: &FieldInfo) -> &'static str {
    match (info.kind, info.format.as_deref()) {
        ("date", _) | (_, Some("date")) => "date",
        ("enum", _) => "select",
        ("boolean", _) => "checkbox",
        ("integer" | "number", _) => "number",
        ("object", _) => "group",
        ("array", _) => "list",
        (_, Some("email")) => "email",
        (_, Some("phone")) => "tel",
        _ => "text",
    }
}

pub fn id_of(pointer: &str) -> String {
    let mut id = String::from("f");
    for c in pointer.chars() {
        id.push(if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '-'
        });
    }
    id
}

fn scalar_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// The fields to render under `base` (e.g. `/form`), holding `data`'s values and the errors
/// whose pointer names them. `extra_rows` adds blank rows to the list named by its pointer.
pub fn build(
    infos: &[FieldInfo],
    base: &str,
    data: &Value,
    errors: &[FieldError],
    locale: Locale,
    extra_rows: &HashMap<String, usize>,
) -> Vec<FormField> {
    infos
        .iter()
        .map(|info| {
            let name = format!("{base}/{}", info.name);
            field(
                info,
                &name,
                data.get(&info.name),
                errors,
                locale,
                extra_rows,
            )
        })
        .collect()
}

fn field(
    info: &FieldInfo,
    name: &str,
    value: Option<&Value>,
    errors: &[FieldError],
    locale: Locale,
    extra_rows: &HashMap<String, usize>,
) -> FormField {
    let input = input_of(info);
    let error = errors
        .iter()
        .find(|e| e.path == name)
        .map(|e| match locale {
            Locale::Vi => e.message.clone(),
            Locale::En => e.message_en.clone(),
        });
    let mut f = FormField {
        name: name.to_owned(),
        id: id_of(name),
        label: label(info, locale),
        input,
        required: info.required,
        step: (info.kind == "number").then_some("any"),
        options: info.options.clone(),
        hint: info.description.clone(),
        value: scalar_text(value),
        checked: value == Some(&Value::Bool(true)),
        error,
        ..FormField::default()
    };
    match input {
        "group" => {
            let empty = Value::Object(Map::new());
            let obj = value.unwrap_or(&empty);
            f.children = info
                .children
                .iter()
                .map(|c| {
                    field(
                        c,
                        &format!("{name}/{}", c.name),
                        obj.get(&c.name),
                        errors,
                        locale,
                        extra_rows,
                    )
                })
                .collect();
        }
        "list" => {
            let items = value.and_then(Value::as_array).cloned().unwrap_or_default();
            let shown = (items.len().max(BLANK_ROWS) + extra_rows.get(name).copied().unwrap_or(0))
                .min(MAX_ROWS);
            if let Some(item) = &info.item {
                f.rows = (0..shown)
                    .map(|i| {
                        let mut row = field(
                            item,
                            &format!("{name}/{i}"),
                            items.get(i),
                            errors,
                            locale,
                            extra_rows,
                        );
                        row.required = false;
                        row.label = format!("{} {}", f.label, i + 1);
                        row
                    })
                    .collect();
            }
        }
        _ => {}
    }
    f
}

/// The form data a submitted HTML form describes, typed by the schema. Blank inputs are left
/// out (so a required one is reported as missing); a number that does not parse is kept as
/// text so the validator reports it. Array rows that are entirely blank are dropped.
pub fn parse(infos: &[FieldInfo], base: &str, pairs: &[(String, String)]) -> Value {
    let by_name: HashMap<&str, &str> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut obj = Map::new();
    for info in infos {
        let name = format!("{base}/{}", info.name);
        if let Some(v) = value(info, &name, &by_name) {
            obj.insert(info.name.clone(), v);
        }
    }
    Value::Object(obj)
}

fn value(info: &FieldInfo, name: &str, form: &HashMap<&str, &str>) -> Option<Value> {
    match input_of(info) {
        "checkbox" => Some(Value::Bool(form.get(name).is_some())),
        "group" => {
            let mut obj = Map::new();
            for c in &info.children {
                if let Some(v) = value(c, &format!("{name}/{}", c.name), form) {
                    obj.insert(c.name.clone(), v);
                }
            }
            (!obj.is_empty()).then_some(Value::Object(obj))
        }
        "list" => {
            let item = info.item.as_deref()?;
            let mut rows = Vec::new();
            for i in 0..MAX_ROWS {
                let row_name = format!("{name}/{i}");
                let prefix = format!("{row_name}/");
                let present = form
                    .keys()
                    .any(|k| *k == row_name || k.starts_with(&prefix));
                if !present {
                    continue;
                }
                // A checkbox alone does not make a row: only typed text does.
                let typed = form.iter().any(|(k, v)| {
                    (*k == row_name || k.starts_with(&prefix)) && !v.trim().is_empty() && *v != "on"
                });
                if typed && let Some(v) = value(item, &row_name, form) {
                    rows.push(v);
                }
            }
            (!rows.is_empty()).then_some(Value::Array(rows))
        }
        kind => {
            let text = form.get(name)?.trim();
            if text.is_empty() {
                return None;
            }
            Some(match kind {
                "number" if info.kind == "integer" => text
                    .parse::<i64>()
                    .map_or_else(|_| Value::String(text.to_owned()), Value::from),
                "number" => text
                    .replace(',', ".")
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map_or_else(|| Value::String(text.to_owned()), Value::Number),
                _ => Value::String(text.to_owned()),
            })
        }
    }
}

/// The data as label/value lines for the review step.
pub fn summary(fields: &[FormField]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for f in fields {
        match f.input {
            "group" => out.extend(summary(&f.children)),
            "list" => out.extend(summary(&f.rows)),
            "select" if !f.value.is_empty() => {
                let shown = f
                    .options
                    .iter()
                    .find(|(v, _)| *v == f.value)
                    .map_or_else(|| f.value.clone(), |(_, l)| l.clone());
                out.push((f.label.clone(), shown));
            }
            "select" => {}
            "checkbox" => out.push((
                f.label.clone(),
                if f.checked {
                    "✓".into()
                } else {
                    "—".into()
                },
            )),
            _ if !f.value.is_empty() => out.push((f.label.clone(), f.value.clone())),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::forms::FormSchema;
    use serde_json::json;

    fn schema() -> FormSchema {
        FormSchema::parse(&json!({
            "type": "object",
            "required": ["ho_ten", "so_thang"],
            "properties": {
                "ho_ten": {"type": "string", "title": "Họ và tên", "title_en": "Full name"},
                "so_thang": {"type": "integer", "title": "Số tháng", "minimum": 1},
                "ngay": {"type": "string", "format": "date", "title": "Ngày"},
                "dong_y": {"type": "boolean", "title": "Đồng ý"},
                "loai": {"type": "string", "enum": ["a", "b"], "enumLabels": ["Loại A", "Loại B"], "title": "Loại"},
                "nguoi": {"type": "array", "title": "Người lao động", "items": {
                    "type": "object", "required": ["ten"],
                    "properties": {"ten": {"type": "string", "title": "Tên"}, "tuoi": {"type": "integer", "title": "Tuổi"}}
                }}
            }
        }))
        .unwrap()
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn a_submitted_form_becomes_typed_data() {
        let s = schema();
        let data = parse(
            &s.fields(),
            "/form",
            &pairs(&[
                ("/form/ho_ten", "  Nguyễn Văn An "),
                ("/form/so_thang", "12"),
                ("/form/ngay", ""),
                ("/form/dong_y", "on"),
                ("/form/loai", "b"),
                ("/form/nguoi/0/ten", "Lê Thị Bình"),
                ("/form/nguoi/0/tuoi", "31"),
                ("/form/nguoi/1/ten", ""),
                ("/form/nguoi/1/tuoi", ""),
            ]),
        );
        assert_eq!(
            data,
            json!({"ho_ten": "Nguyễn Văn An", "so_thang": 12, "dong_y": true, "loai": "b",
                   "nguoi": [{"ten": "Lê Thị Bình", "tuoi": 31}]})
        );
        assert!(s.validate(&data).is_ok());
    }

    #[test]
    fn what_the_user_typed_comes_back_with_the_errors_on_their_fields() {
        let s = schema();
        let typed = pairs(&[("/form/ho_ten", ""), ("/form/so_thang", "mười hai")]);
        let data = parse(&s.fields(), "/form", &typed);
        assert_eq!(data, json!({"so_thang": "mười hai", "dong_y": false}));
        let mut errors = s.validate(&data).unwrap_err();
        for e in &mut errors {
            e.path = format!("/form{}", e.path);
        }
        let fields = build(
            &s.fields(),
            "/form",
            &data,
            &errors,
            Locale::En,
            &HashMap::new(),
        );
        let name = fields.iter().find(|f| f.name == "/form/ho_ten").unwrap();
        assert_eq!(name.label, "Full name");
        assert!(name.error.is_some(), "{errors:?}");
        let months = fields.iter().find(|f| f.name == "/form/so_thang").unwrap();
        assert_eq!(months.value, "mười hai");
        assert_eq!(months.input, "number");
        assert!(months.error.is_some());
        assert!(
            fields
                .iter()
                .find(|f| f.name == "/form/loai")
                .unwrap()
                .error
                .is_none()
        );
    }

    #[test]
    fn lists_show_their_rows_plus_the_ones_asked_for() {
        let s = schema();
        let data = json!({"nguoi": [{"ten": "A"}, {"ten": "B"}]});
        let extra = HashMap::from([("/form/nguoi".to_owned(), 1)]);
        let fields = build(&s.fields(), "/form", &data, &[], Locale::Vi, &extra);
        let list = fields.iter().find(|f| f.input == "list").unwrap();
        assert_eq!(list.rows.len(), 3);
        assert_eq!(list.rows[1].children[0].name, "/form/nguoi/1/ten");
        assert_eq!(list.rows[1].children[0].value, "B");
        assert_eq!(list.rows[2].children[0].value, "");
        assert_eq!(list.rows[0].children[0].id, "f-form-nguoi-0-ten");
    }

    #[test]
    fn the_review_shows_labels_not_codes() {
        let s = schema();
        let data = json!({"ho_ten": "An", "loai": "a"});
        let fields = build(
            &s.fields(),
            "/form",
            &data,
            &[],
            Locale::Vi,
            &HashMap::new(),
        );
        let lines = summary(&fields);
        assert!(
            lines.contains(&("Loại".into(), "Loại A".into())),
            "{lines:?}"
        );
        assert!(lines.contains(&("Họ và tên".into(), "An".into())));
    }
}

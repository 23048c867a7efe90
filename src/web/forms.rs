//! HTML forms from a procedure's form schema, and back. Inputs are named by the JSON Pointer
//! of their value (`/form/ho_ten`, `/form/workers/0/name`), so the schema validator's errors
//! land on the input they concern, and what the user typed is shown again when a field is
//! wrong. Pure: no I/O.
//!
//! Dates are typed and shown day first (`dd/mm/yyyy`, `services::forms::dates`) and stored
//! ISO: [`parse`] turns a typed day into `yyyy-mm-dd` before the schema sees it, [`build`]
//! shows a stored one as `dd/mm/yyyy`, so [`summary`] does too.

use crate::locale::Locale;
use crate::services::forms::{FieldError, FieldInfo, dates};
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
    /// `text`, `email`, `tel`, `date`, `number`, `select`, `checkbox`, `group`, `list`. A
    /// `date` is rendered as a text input for `dd/mm/yyyy` (`inputmode="numeric"`), its value
    /// already day first.
    pub input: &'static str,
    /// The input's `autocomplete` token where the browser can help (`bday`).
    pub autocomplete: Option<&'static str>,
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

/// A birth date, by its name or title: the browser may offer the person's own (`bday`).
fn is_birth_date(info: &FieldInfo) -> bool {
    let name = info.name.to_lowercase();
    let title = info.title.to_lowercase();
    name.contains("ngay_sinh")
        || name.contains("birth")
        || title.contains("ngày sinh")
        || info
            .title_en
            .as_deref()
            .is_some_and(|t| t.to_lowercase().contains("birth"))
}

/// The `autocomplete` token of a field the template does not already know by its input
/// (it gives every `tel` input `tel`).
fn autocomplete_of(info: &FieldInfo, input: &str) -> Option<&'static str> {
    (input == "date" && is_birth_date(info)).then_some("bday")
}

/// The field's error in the visitor's language. A date input's refusal says how to type a
/// date (the schema's own message speaks of the API's ISO form), unless the text had the shape
/// of a date and only the day does not exist, which the schema says itself.
fn error_text(
    info: &FieldInfo,
    input: &str,
    value: &str,
    e: &FieldError,
    locale: Locale,
) -> String {
    let date_refused = input == "date"
        && matches!(e.code.as_str(), "date" | "type")
        && !dates::is_impossible_typed_date(value);
    match (date_refused, locale) {
        (true, Locale::Vi) => format!("{}: {}", info.title, dates::TYPE_IT_VI),
        (true, Locale::En) => format!(
            "{}: {}",
            info.title_en.as_deref().unwrap_or(&info.title),
            dates::TYPE_IT_EN
        ),
        (false, Locale::Vi) => e.message.clone(),
        (false, Locale::En) => e.message_en.clone(),
    }
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
    let mut value_text = scalar_text(value);
    if input == "date" {
        value_text = dates::display_date(&value_text);
    }
    let error = errors
        .iter()
        .find(|e| e.path == name)
        .map(|e| error_text(info, input, &value_text, e, locale));
    let mut f = FormField {
        name: name.to_owned(),
        id: id_of(name),
        label: label(info, locale),
        input,
        autocomplete: autocomplete_of(info, input),
        required: info.required,
        step: (info.kind == "number").then_some("any"),
        options: match (locale, info.options_en.is_empty()) {
            (Locale::En, false) => info
                .options
                .iter()
                .zip(&info.options_en)
                .map(|((v, _), en)| (v.clone(), en.clone()))
                .collect(),
            _ => info.options.clone(),
        },
        hint: info.description.clone(),
        value: value_text,
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
/// text so the validator reports it, and so is a date that is not a day of the calendar; a
/// typed day (`01/05/1990`, `1/5/1990`, `01-05-1990`, `01.05.1990`) becomes ISO `1990-05-01`.
/// Array rows that are entirely blank are dropped.
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
                "date" => {
                    Value::String(dates::typed_to_iso(text).unwrap_or_else(|| text.to_owned()))
                }
                // People group a number's digits (`0912 345 678`, `0912.345.678`).
                "tel" => Value::String(
                    text.chars()
                        .filter(|c| !matches!(c, ' ' | '.' | '-' | '\u{a0}'))
                        .collect(),
                ),
                _ => Value::String(text.to_owned()),
            })
        }
    }
}

/// `errors` as the form's fields word them (see [`build`]): a date input's refusal says how
/// to type a date instead of the API's ISO form. For the list at the top of the form, so it
/// says what the fields say.
pub fn portal_errors(
    infos: &[FieldInfo],
    base: &str,
    data: &Value,
    errors: &[FieldError],
) -> Vec<FieldError> {
    fn collect(fields: &[FormField], out: &mut HashMap<String, String>) {
        for f in fields {
            if let Some(e) = &f.error {
                out.insert(f.name.clone(), e.clone());
            }
            collect(&f.children, out);
            collect(&f.rows, out);
        }
    }
    let none = HashMap::new();
    let (mut vi, mut en) = (HashMap::new(), HashMap::new());
    collect(
        &build(infos, base, data, errors, Locale::Vi, &none),
        &mut vi,
    );
    collect(
        &build(infos, base, data, errors, Locale::En, &none),
        &mut en,
    );
    errors
        .iter()
        .map(|e| {
            let mut e = e.clone();
            // Only the first error of a field is shown on it; the others keep their words.
            if errors.iter().find(|x| x.path == e.path).map(|x| &x.code) == Some(&e.code) {
                if let Some(m) = vi.get(&e.path) {
                    e.message.clone_from(m);
                }
                if let Some(m) = en.get(&e.path) {
                    e.message_en.clone_from(m);
                }
            }
            e
        })
        .collect()
}

/// The data as label/value lines (the review step, the officer's page): labels of options,
/// dates as `dd/mm/yyyy` (as [`build`] left them).
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
    fn choices_read_in_english_where_the_schema_has_english_labels() {
        let s = FormSchema::parse(&json!({"type": "object", "properties": {
            "gt": {"type": "string", "title": "Giới tính", "title_en": "Gender",
                   "enum": ["nam", "nu"], "enumLabels": ["Nam", "Nữ"], "enumLabels_en": ["Male", "Female"]}
        }}))
        .unwrap();
        let none = HashMap::new();
        let en = build(&s.fields(), "/form", &json!({}), &[], Locale::En, &none);
        assert_eq!(en[0].options[1], ("nu".to_owned(), "Female".to_owned()));
        let vi = build(&s.fields(), "/form", &json!({}), &[], Locale::Vi, &none);
        assert_eq!(vi[0].options[1], ("nu".to_owned(), "Nữ".to_owned()));
        let wrong = json!({"type": "object", "properties": {
            "gt": {"type": "string", "title": "G", "enum": ["a", "b"], "enumLabels_en": ["A"]}
        }});
        let err = FormSchema::parse(&wrong).unwrap_err().0;
        assert!(
            err.contains("enumLabels_en: has 1 labels for 2 values"),
            "{err}"
        );
    }

    #[test]
    fn phone_numbers_lose_the_spaces_people_group_them_with() {
        let s = FormSchema::parse(&json!({"type": "object", "properties": {
            "dt": {"type": "string", "format": "phone", "title": "Điện thoại"}
        }}))
        .unwrap();
        for typed in ["0987 654 321", "0987.654.321", "0987-654-321"] {
            let data = parse(&s.fields(), "/form", &pairs(&[("/form/dt", typed)]));
            assert_eq!(data, json!({"dt": "0987654321"}), "{typed}");
            assert_eq!(s.validate(&data), Ok(()));
        }
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
    fn dates_are_typed_day_first_and_stored_iso() {
        let s = schema();
        for typed in [
            "01/05/1990",
            "1/5/1990",
            "01-05-1990",
            "01.05.1990",
            " 1990-05-01 ",
        ] {
            let data = parse(
                &s.fields(),
                "/form",
                &pairs(&[
                    ("/form/ho_ten", "An"),
                    ("/form/so_thang", "1"),
                    ("/form/ngay", typed),
                ]),
            );
            assert_eq!(data["ngay"], "1990-05-01", "{typed}");
            assert!(s.validate(&data).is_ok(), "{typed}");
        }
        // Shown back day first, as a text input for the numeric keypad.
        let data = json!({"ho_ten": "An", "ngay": "1990-05-01"});
        let fields = build(
            &s.fields(),
            "/form",
            &data,
            &[],
            Locale::En,
            &HashMap::new(),
        );
        let date = fields.iter().find(|f| f.name == "/form/ngay").unwrap();
        assert_eq!((date.input, date.value.as_str()), ("date", "01/05/1990"));
        assert_eq!(date.autocomplete, None);
        // The review and the officer's page read it day first, in both languages.
        for locale in [Locale::Vi, Locale::En] {
            let fields = build(&s.fields(), "/form", &data, &[], locale, &HashMap::new());
            assert!(
                summary(&fields).contains(&("Ngày".into(), "01/05/1990".into())),
                "{locale:?}"
            );
        }
    }

    /// The errors of `typed` in the date input, as the portal would show them on the field.
    fn date_error(typed: &str, locale: Locale) -> (String, String) {
        let s = schema();
        let data = parse(
            &s.fields(),
            "/form",
            &pairs(&[
                ("/form/ho_ten", "An"),
                ("/form/so_thang", "1"),
                ("/form/ngay", typed),
            ]),
        );
        let mut errors = s.validate(&data).unwrap_err();
        for e in &mut errors {
            e.path = format!("/form{}", e.path);
        }
        assert_eq!(errors.len(), 1, "{errors:?}");
        let fields = build(
            &s.fields(),
            "/form",
            &data,
            &errors,
            locale,
            &HashMap::new(),
        );
        let f = fields.iter().find(|f| f.name == "/form/ngay").unwrap();
        (f.value.clone(), f.error.clone().unwrap())
    }

    #[test]
    fn a_day_the_calendar_lacks_is_refused_on_its_field_in_both_languages() {
        let (value, vi) = date_error("31/02/2026", Locale::Vi);
        assert_eq!(value, "31/02/2026", "what was typed comes back");
        assert_eq!(vi, "Ngày: không có ngày này trên lịch (ngày/tháng/năm)");
        let (_, en) = date_error("31/02/2026", Locale::En);
        assert_eq!(en, "Ngày: no such day on the calendar (day/month/year)");
        // Text that is no date at all: told how to type one, not the API's ISO form.
        let (value, vi) = date_error("mùng 1 tháng 5", Locale::Vi);
        assert_eq!(value, "mùng 1 tháng 5");
        assert_eq!(
            vi,
            "Ngày: nhập ngày theo dạng ngày/tháng/năm, ví dụ 01/05/1990"
        );
        let (_, en) = date_error("1990", Locale::En);
        assert_eq!(en, "Ngày: type the date as day/month/year, e.g. 01/05/1990");
    }

    #[test]
    fn the_list_at_the_top_says_what_the_fields_say() {
        let s = schema();
        let data = parse(
            &s.fields(),
            "/form",
            &pairs(&[("/form/so_thang", "0"), ("/form/ngay", "hôm qua")]),
        );
        let mut errors = s.validate(&data).unwrap_err();
        for e in &mut errors {
            e.path = format!("/form{}", e.path);
        }
        let listed = portal_errors(&s.fields(), "/form", &data, &errors);
        assert_eq!(listed.len(), errors.len());
        let date = listed.iter().find(|e| e.path == "/form/ngay").unwrap();
        assert_eq!(
            date.message,
            "Ngày: nhập ngày theo dạng ngày/tháng/năm, ví dụ 01/05/1990"
        );
        assert_eq!(
            date.message_en,
            "Ngày: type the date as day/month/year, e.g. 01/05/1990"
        );
        // Other errors keep their words.
        for (a, b) in listed
            .iter()
            .zip(&errors)
            .filter(|(a, _)| a.path != "/form/ngay")
        {
            assert_eq!(a, b);
        }
    }

    #[test]
    fn a_birth_date_lets_the_browser_offer_the_persons_own() {
        let s = FormSchema::parse(&json!({
            "type": "object",
            "properties": {
                "ngay_sinh": {"type": "string", "format": "date", "title": "Ngày sinh"},
                "ngay_cap": {"type": "string", "format": "date", "title": "Ngày cấp", "title_en": "Date of issue"}
            }
        }))
        .unwrap();
        let fields = build(
            &s.fields(),
            "/form",
            &json!({}),
            &[],
            Locale::Vi,
            &HashMap::new(),
        );
        assert_eq!(fields[0].autocomplete, Some("bday"));
        assert_eq!(fields[1].autocomplete, None);
    }

    #[test]
    fn a_date_input_is_text_for_day_month_year_with_its_hint() {
        let s = FormSchema::parse(&json!({
            "type": "object", "required": ["ngay_sinh"],
            "properties": {"ngay_sinh": {"type": "string", "format": "date", "title": "Ngày sinh"}}
        }))
        .unwrap();
        let data = json!({"ngay_sinh": "1990-05-01"});
        for (locale, code, hint) in [
            (Locale::Vi, "vi", "Ngày/tháng/năm, ví dụ 01/05/1990"),
            (Locale::En, "en", "Day/month/year, e.g. 01/05/1990"),
        ] {
            let fields = build(&s.fields(), "/form", &data, &[], locale, &HashMap::new());
            let html = super::super::view::env()
                .render_str(
                    "{% from 'macros.html' import field %}{{ field(f) }}",
                    minijinja::context! { locale => code, f => fields[0].clone() },
                )
                .unwrap();
            for part in [
                r#"type="text""#,
                r#"inputmode="numeric""#,
                r#"autocomplete="bday""#,
                r#"value="01/05/1990""#,
                r#"aria-describedby="f-form-ngay_sinh-format ""#,
                r#"<p class="hint" id="f-form-ngay_sinh-format">"#,
                r#"pattern="\d{1,2}[\/.\-]\d{1,2}[\/.\-]\d{4}""#,
                hint,
            ] {
                assert!(html.contains(part), "{part} missing in {html}");
            }
            assert!(!html.contains(r#"type="date""#), "{html}");
        }
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

//! Checking submitted data against a compiled schema: every error at once, in schema order,
//! each with its JSON Pointer, a code, and a Vietnamese and an English message.

use super::FieldError;
use super::compile::MAX_NAME_CHARS;
use super::dates;
use super::json::push_pointer;
use super::model::{Field, Format, Kind, ObjectSchema, TextSchema};
use serde_json::{Map, Value};
use std::fmt;

/// `maxLength` when the schema gives none: text is never unbounded.
const DEFAULT_MAX_LENGTH: usize = 10_000;
/// `maxItems` when the schema gives none: lists are never unbounded.
const DEFAULT_MAX_ITEMS: usize = 1_000;

/// Checks `data` against the root object of a schema (see `FormSchema::validate`).
pub(super) fn validate(root: &ObjectSchema, data: &Value) -> Result<(), Vec<FieldError>> {
    let mut checker = Checker::default();
    let root_label = Label {
        vi: "Dữ liệu biểu mẫu",
        en: "Form data",
    };
    match data {
        Value::Null => checker.object(root, &Map::new()),
        Value::Object(members) => checker.object(root, members),
        _ => checker.type_error(root_label, &Kind::Object(ObjectSchema::default())),
    }
    if checker.errors.is_empty() {
        Ok(())
    } else {
        Err(checker.errors)
    }
}

impl Format {
    fn accepts(self, s: &str) -> bool {
        match self {
            Format::Email => is_email(s),
            Format::Phone => is_phone(s),
            Format::Cccd => s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()),
            Format::Date => is_date(s),
        }
    }
}

/// A pragmatic address check (dot-atom local part, dotted host name), not RFC 5322.
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    s.len() <= 254
        && (1..=64).contains(&local.len())
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && domain.contains('.')
        && domain.split('.').all(label_ok)
}

/// Vietnamese numbers: `0` and 9 digits, or `+84` and the 9 digits without the `0`.
/// Separators are refused so that a stored number is also a lookup key.
fn is_phone(s: &str) -> bool {
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    match s.strip_prefix("+84") {
        Some(rest) => rest.len() == 9 && digits(rest) && !rest.starts_with('0'),
        None => s.len() == 10 && s.starts_with('0') && digits(s),
    }
}

/// `YYYY-MM-DD` naming a day that exists (no 2023-02-29).
fn is_date(s: &str) -> bool {
    dates::parse_iso(s).is_some()
}

#[derive(Clone, Copy)]
struct Label<'a> {
    vi: &'a str,
    en: &'a str,
}

impl<'a> Label<'a> {
    /// The field's own title, else the one it inherits (an array's items).
    fn of(field: &'a Field, inherited: Label<'a>) -> Label<'a> {
        match &field.title {
            Some(vi) => Label {
                vi,
                en: field.title_en.as_deref().unwrap_or(vi),
            },
            None => inherited,
        }
    }
}

/// Blank values are "not filled in": HTML forms send empty strings for empty inputs.
fn is_blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

#[derive(Default)]
struct Checker {
    errors: Vec<FieldError>,
    path: String,
}

impl Checker {
    fn push(&mut self, label: Label<'_>, code: &str, vi: impl fmt::Display, en: impl fmt::Display) {
        self.errors.push(FieldError {
            path: self.path.clone(),
            code: code.to_owned(),
            message: format!("{}: {vi}", label.vi),
            message_en: format!("{}: {en}", label.en),
        });
    }

    fn object(&mut self, schema: &ObjectSchema, data: &Map<String, Value>) {
        let len = self.path.len();
        for prop in &schema.props {
            push_pointer(&mut self.path, &prop.name);
            // Titles are mandatory on properties, so the fallback is never shown.
            let label = Label::of(
                &prop.field,
                Label {
                    vi: &prop.name,
                    en: &prop.name,
                },
            );
            match data.get(&prop.name) {
                Some(v) if !is_blank(v) => self.value(&prop.field, v, label),
                _ if prop.required => self.push(label, "required", "bắt buộc nhập", "required"),
                _ => {}
            }
            self.path.truncate(len);
        }
        // Sorted, so the answer is the same whatever order the client sent its keys in.
        let mut unknown: Vec<&String> = data
            .keys()
            .filter(|key| !schema.props.iter().any(|p| p.name == **key))
            .collect();
        unknown.sort();
        for key in unknown {
            push_pointer(&mut self.path, key);
            let shown: String = key
                .chars()
                .filter(|c| !c.is_control())
                .take(MAX_NAME_CHARS)
                .collect();
            let label = Label {
                vi: &shown,
                en: &shown,
            };
            self.push(
                label,
                "unknown_field",
                "trường này không có trong biểu mẫu",
                "not a field of this form",
            );
            self.path.truncate(len);
        }
    }

    fn value(&mut self, field: &Field, value: &Value, label: Label<'_>) {
        match &field.kind {
            Kind::Object(schema) => match value {
                Value::Object(members) => self.object(schema, members),
                _ => self.type_error(label, &field.kind),
            },
            Kind::Array {
                items,
                min_items,
                max_items,
            } => self.array(items, *min_items, *max_items, value, label, &field.kind),
            Kind::Boolean => {
                if !value.is_boolean() {
                    self.type_error(label, &field.kind);
                }
            }
            Kind::Number {
                integer,
                minimum,
                maximum,
            } => {
                let Some(n) = value.as_f64() else {
                    return self.type_error(label, &field.kind);
                };
                if *integer && !(value.is_i64() || value.is_u64() || n.fract() == 0.0) {
                    return self.type_error(label, &field.kind);
                }
                if let Some(min) = minimum
                    && n < min.value
                {
                    let m = &min.shown;
                    self.push(
                        label,
                        "minimum",
                        format!("phải lớn hơn hoặc bằng {m}"),
                        format!("must be at least {m}"),
                    );
                }
                if let Some(max) = maximum
                    && n > max.value
                {
                    let m = &max.shown;
                    self.push(
                        label,
                        "maximum",
                        format!("phải nhỏ hơn hoặc bằng {m}"),
                        format!("must be at most {m}"),
                    );
                }
            }
            Kind::Text(t) => match value.as_str() {
                Some(s) => self.text(t, s, label),
                None => self.type_error(label, &field.kind),
            },
        }
    }

    fn array(
        &mut self,
        items: &Field,
        min_items: Option<usize>,
        max_items: Option<usize>,
        value: &Value,
        label: Label<'_>,
        kind: &Kind,
    ) {
        let Some(list) = value.as_array() else {
            return self.type_error(label, kind);
        };
        if let Some(min) = min_items
            && list.len() < min
        {
            self.push(
                label,
                "min_items",
                format!("phải có ít nhất {min} mục"),
                format!("must have at least {min} items"),
            );
        }
        let max = max_items.unwrap_or(DEFAULT_MAX_ITEMS);
        if list.len() > max {
            // The items of an oversized list are not worth an error each.
            return self.push(
                label,
                "max_items",
                format!("không được quá {max} mục"),
                format!("must have at most {max} items"),
            );
        }
        let item_label = Label::of(items, label);
        let len = self.path.len();
        for (i, item) in list.iter().enumerate() {
            push_pointer(&mut self.path, &i.to_string());
            if is_blank(item) {
                self.push(item_label, "required", "bắt buộc nhập", "required");
            } else {
                self.value(items, item, item_label);
            }
            self.path.truncate(len);
        }
    }

    fn text(&mut self, t: &TextSchema, s: &str, label: Label<'_>) {
        if !t.options.is_empty() {
            if !t.options.iter().any(|(v, _)| v == s) {
                self.push(
                    label,
                    "enum",
                    "giá trị không có trong danh sách lựa chọn",
                    "not one of the allowed options",
                );
            }
            return;
        }
        if t.format == Some(Format::Date) {
            if dates::is_impossible_typed_date(s) {
                // 31/02/2026: what the portal's date inputs send when the day does not exist
                // (it turns real days into ISO dates before checking).
                self.push(label, "date", dates::NO_SUCH_DAY_VI, dates::NO_SUCH_DAY_EN);
            } else if !is_date(s) {
                self.push(
                    label,
                    "date",
                    "ngày không hợp lệ (định dạng YYYY-MM-DD)",
                    "not a valid date (YYYY-MM-DD)",
                );
            }
            return;
        }
        // Characters, not bytes: "Nguyễn" is 6 long, 8 bytes.
        let chars = s.chars().count();
        if let Some(min) = t.min_length
            && chars < min
        {
            self.push(
                label,
                "min_length",
                format!("phải có ít nhất {min} ký tự"),
                format!("must be at least {min} characters long"),
            );
        }
        let max = t.max_length.unwrap_or(DEFAULT_MAX_LENGTH);
        if chars > max {
            // Oversized text is not run through the pattern: its cost grows with the length.
            return self.push(
                label,
                "max_length",
                format!("không được dài quá {max} ký tự"),
                format!("must be at most {max} characters long"),
            );
        }
        if let Some(re) = &t.pattern
            && !re.is_match(s)
        {
            self.push(
                label,
                "pattern",
                "không đúng định dạng",
                "does not have the expected format",
            );
        }
        if let Some(f) = t.format
            && !f.accepts(s)
        {
            let (vi, en) = match f {
                Format::Email => ("địa chỉ email không hợp lệ", "not a valid email address"),
                Format::Phone => (
                    "số điện thoại không hợp lệ (10 chữ số bắt đầu bằng 0, hoặc +84)",
                    "not a valid phone number (10 digits starting with 0, or +84)",
                ),
                Format::Cccd => ("phải gồm đúng 12 chữ số", "must be exactly 12 digits"),
                Format::Date => unreachable!("dates are checked above"),
            };
            self.push(label, "format", vi, en);
        }
    }

    fn type_error(&mut self, label: Label<'_>, kind: &Kind) {
        let (vi, en) = match kind {
            Kind::Object(_) => (
                "phải là một nhóm thông tin (đối tượng)",
                "must be an object",
            ),
            Kind::Array { .. } => ("phải là một danh sách", "must be a list"),
            Kind::Boolean => ("phải là giá trị đúng/sai", "must be true or false"),
            Kind::Number { integer: true, .. } => ("phải là số nguyên", "must be a whole number"),
            Kind::Number { .. } => ("phải là số", "must be a number"),
            Kind::Text(t) if t.format == Some(Format::Date) => (
                "phải là ngày dạng YYYY-MM-DD",
                "must be a date (YYYY-MM-DD)",
            ),
            Kind::Text(_) => ("phải là chuỗi ký tự", "must be text"),
        };
        self.push(label, "type", vi, en);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::forms::FormSchema;
    use crate::services::forms::fixtures::{
        TOP_REQUIRED, WORKER_REQUIRED, codes, err, one, permit, valid,
    };
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn required_missing_null_or_blank() {
        let schema = permit();
        for blank in [None, Some(Value::Null), Some(json!("")), Some(json!("  "))] {
            let mut data = valid();
            let m = data.as_object_mut().unwrap();
            match &blank {
                None => m.remove("ho_ten"),
                Some(v) => m.insert("ho_ten".into(), v.clone()),
            };
            let errors = schema.validate(&data).unwrap_err();
            assert_eq!(errors.len(), 1, "{blank:?}");
            assert_eq!(
                errors[0],
                FieldError {
                    path: "/ho_ten".into(),
                    code: "required".into(),
                    message: "Họ và tên: bắt buộc nhập".into(),
                    message_en: "Full name: required".into(),
                }
            );
        }
    }

    #[test]
    fn types_are_strict() {
        let text = one(json!({"type": "string", "title": "Tên"}));
        assert_eq!(codes(&text, json!({"f": 5})), err("/f", "type"));
        let number = one(json!({"type": "number", "title": "Số"}));
        assert_eq!(codes(&number, json!({"f": "5"})), err("/f", "type"));
        assert_eq!(codes(&number, json!({"f": 5.5})), []);
        let integer = one(json!({"type": "integer", "title": "Số nguyên"}));
        assert_eq!(codes(&integer, json!({"f": 2.5})), err("/f", "type"));
        assert_eq!(codes(&integer, json!({"f": 3.0})), []);
        assert_eq!(codes(&integer, json!({"f": -7})), []);
        let boolean = one(json!({"type": "boolean", "title": "Đồng ý"}));
        assert_eq!(codes(&boolean, json!({"f": "true"})), err("/f", "type"));
        assert_eq!(codes(&boolean, json!({"f": false})), []);
        let array = one(json!({"type": "array", "title": "DS", "items": {"type": "string"}}));
        assert_eq!(codes(&array, json!({"f": {"0": "a"}})), err("/f", "type"));
        let object = one(json!({"type": "object", "title": "Địa chỉ", "properties": {}}));
        assert_eq!(codes(&object, json!({"f": "x"})), err("/f", "type"));
        let errors = integer.validate(&json!({"f": 2.5})).unwrap_err();
        assert_eq!(errors[0].message, "Số nguyên: phải là số nguyên");
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        assert_eq!("Nguyễn".len(), 8);
        let six = one(json!({"type": "string", "title": "Họ", "minLength": 6, "maxLength": 6}));
        assert_eq!(codes(&six, json!({"f": "Nguyễn"})), []);
        assert_eq!(codes(&six, json!({"f": "Trần"})), err("/f", "min_length"));
        assert_eq!(
            codes(&six, json!({"f": "Nguyễnn"})),
            err("/f", "max_length")
        );
        let errors = six.validate(&json!({"f": "Lê"})).unwrap_err();
        assert_eq!(errors[0].message, "Họ: phải có ít nhất 6 ký tự");
        assert_eq!(
            errors[0].message_en,
            "Họ: must be at least 6 characters long"
        );
    }

    #[test]
    fn text_is_capped_without_max_length() {
        let free = one(json!({"type": "string", "title": "Ghi chú"}));
        assert_eq!(codes(&free, json!({"f": "ệ".repeat(10_000)})), []);
        assert_eq!(
            codes(&free, json!({"f": "ệ".repeat(10_001)})),
            err("/f", "max_length")
        );
    }

    #[test]
    fn pattern_matches_the_whole_value() {
        let schema =
            one(json!({"type": "string", "title": "Hộ chiếu", "pattern": "[A-Z][0-9]{7}"}));
        assert_eq!(codes(&schema, json!({"f": "B1234567"})), []);
        for bad in ["B12345678", "xB1234567", "b1234567", "B123"] {
            assert_eq!(
                codes(&schema, json!({"f": bad})),
                err("/f", "pattern"),
                "{bad}"
            );
        }
        let alt = one(json!({"type": "string", "title": "Mã", "pattern": "a|b"}));
        assert_eq!(codes(&alt, json!({"f": "ab"})), err("/f", "pattern"));
    }

    #[test]
    fn formats() {
        let cases = [
            ("email", "a.b+c@so-ld.hanoi.gov.vn", true),
            ("email", "nguyen@gmail.com", true),
            ("email", "nguyen@localhost", false),
            ("email", "nguyen@@gmail.com", false),
            ("email", ".nguyen@gmail.com", false),
            ("email", "ng uyen@gmail.com", false),
            ("email", "nguyễn@gmail.com", false),
            ("email", "a@-x.vn", false),
            ("phone", "0912345678", true),
            ("phone", "+84912345678", true),
            ("phone", "091234567", false),
            ("phone", "09123456789", false),
            ("phone", "1912345678", false),
            ("phone", "+840912345678", false),
            ("phone", "0912 345 678", false),
            ("cccd", "001085012345", true),
            ("cccd", "00108501234", false),
            ("cccd", "00108501234a", false),
        ];
        for (format, value, ok) in cases {
            let schema = one(json!({"type": "string", "title": "F", "format": format}));
            let expected = if ok { vec![] } else { err("/f", "format") };
            assert_eq!(
                codes(&schema, json!({"f": value})),
                expected,
                "{format} {value}"
            );
        }
        let phone = one(json!({"type": "string", "title": "Điện thoại", "format": "phone"}));
        let e = phone.validate(&json!({"f": "123"})).unwrap_err();
        assert!(
            e[0].message
                .starts_with("Điện thoại: số điện thoại không hợp lệ")
        );
    }

    #[test]
    fn dates_are_real_calendar_days() {
        let schema = one(json!({"type": "string", "title": "Ngày sinh", "format": "date"}));
        for ok in ["2024-02-29", "1900-01-01", "2000-12-31"] {
            assert_eq!(codes(&schema, json!({"f": ok})), [], "{ok}");
        }
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-04-31",
            "2024-1-05",
            "29/02/2024",
            "2024-02-29T00:00",
        ] {
            assert_eq!(
                codes(&schema, json!({"f": bad})),
                err("/f", "date"),
                "{bad}"
            );
        }
        assert_eq!(codes(&schema, json!({"f": 20240229})), err("/f", "type"));
        let e = schema.validate(&json!({"f": "2023-02-29"})).unwrap_err();
        assert_eq!(
            e[0].message,
            "Ngày sinh: ngày không hợp lệ (định dạng YYYY-MM-DD)"
        );
        // What the portal sends when the typed day does not exist: said so, in both languages.
        let e = schema.validate(&json!({"f": "31/02/2026"})).unwrap_err();
        assert_eq!(e[0].code, "date");
        assert_eq!(
            e[0].message,
            "Ngày sinh: không có ngày này trên lịch (ngày/tháng/năm)"
        );
        assert_eq!(
            e[0].message_en,
            "Ngày sinh: no such day on the calendar (day/month/year)"
        );
    }

    #[test]
    fn minimum_and_maximum() {
        let schema =
            one(json!({"type": "number", "title": "Tuổi", "minimum": 18, "maximum": 60.5}));
        assert_eq!(codes(&schema, json!({"f": 18})), []);
        assert_eq!(codes(&schema, json!({"f": 60.5})), []);
        assert_eq!(codes(&schema, json!({"f": 17.9})), err("/f", "minimum"));
        assert_eq!(codes(&schema, json!({"f": 61})), err("/f", "maximum"));
        let e = schema.validate(&json!({"f": 10})).unwrap_err();
        assert_eq!(e[0].message, "Tuổi: phải lớn hơn hoặc bằng 18");
        assert_eq!(e[0].message_en, "Tuổi: must be at least 18");
    }

    #[test]
    fn enums_with_and_without_labels() {
        let labelled = permit();
        let mut data = valid();
        data["quoc_tich"] = json!("Việt Nam");
        assert_eq!(codes(&labelled, data), err("/quoc_tich", "enum"));
        let plain = one(json!({"type": "string", "title": "Giới tính", "enum": ["Nam", "Nữ"]}));
        assert_eq!(codes(&plain, json!({"f": "Nữ"})), []);
        assert_eq!(codes(&plain, json!({"f": "nữ"})), err("/f", "enum"));
        assert_eq!(
            plain.fields()[0].options,
            [("Nam".into(), "Nam".into()), ("Nữ".into(), "Nữ".into())]
        );
    }

    #[test]
    fn item_counts() {
        let schema = one(
            json!({"type": "array", "title": "Tệp", "minItems": 1, "maxItems": 2,
                                "items": {"type": "string"}}),
        );
        assert_eq!(codes(&schema, json!({"f": []})), err("/f", "min_items"));
        assert_eq!(codes(&schema, json!({"f": ["a", "b"]})), []);
        assert_eq!(
            codes(&schema, json!({"f": ["a", "b", "c"]})),
            err("/f", "max_items")
        );
        let uncapped = one(json!({"type": "array", "title": "DS", "items": {"type": "integer"}}));
        assert_eq!(codes(&uncapped, json!({"f": vec![1; 1000]})), []);
        assert_eq!(
            codes(&uncapped, json!({"f": vec![1; 1001]})),
            err("/f", "max_items")
        );
    }

    #[test]
    fn errors_point_inside_arrays_and_objects() {
        let schema = permit();
        let mut data = valid();
        data["nguoi_lao_dong"][1]["so_ho_chieu"] = json!("12345");
        data["nguoi_lao_dong"][0]
            .as_object_mut()
            .unwrap()
            .remove("vi_tri");
        let errors = schema.validate(&data).unwrap_err();
        let got: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.path.as_str(), e.code.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("/nguoi_lao_dong/0/vi_tri", "required"),
                ("/nguoi_lao_dong/1/so_ho_chieu", "pattern")
            ]
        );
        assert_eq!(errors[0].message, "Vị trí công việc: bắt buộc nhập");
        assert_eq!(
            errors[1].message_en,
            "Passport number: does not have the expected format"
        );

        let nested = FormSchema::parse(&json!({"properties": {"dia_chi": {
            "type": "object", "title": "Địa chỉ", "required": ["tinh"],
            "properties": {"tinh": {"type": "string", "title": "Tỉnh/Thành phố"}}}}}))
        .unwrap();
        assert_eq!(
            codes(&nested, json!({"dia_chi": {}})),
            err("/dia_chi/tinh", "required")
        );
        // Items of a scalar list: blank items are missing, labels come from the list.
        let tags = one(
            json!({"type": "array", "title": "Nhãn", "items": {"type": "string", "maxLength": 3}}),
        );
        let e = tags
            .validate(&json!({"f": ["abc", "", "abcd"]}))
            .unwrap_err();
        assert_eq!(e[0].path, "/f/1");
        assert_eq!(e[0].message, "Nhãn: bắt buộc nhập");
        assert_eq!(
            (e[1].path.as_str(), e[1].code.as_str()),
            ("/f/2", "max_length")
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        let schema = permit();
        let mut data = valid();
        data["ghi_chu"] = json!("x");
        data["a/b~c"] = json!({"deep": [[[]]]});
        data["nguoi_lao_dong"][0]["luong"] = json!(1000);
        let got = codes(&schema, data);
        assert_eq!(
            got,
            [
                (
                    "/nguoi_lao_dong/0/luong".to_owned(),
                    "unknown_field".to_owned()
                ),
                ("/a~1b~0c".to_owned(), "unknown_field".to_owned()),
                ("/ghi_chu".to_owned(), "unknown_field".to_owned()),
            ]
        );
    }

    #[test]
    fn every_error_at_once_in_schema_order() {
        let schema = permit();
        let data = json!({
            "ngay_sinh": "1985-02-30",
            "quoc_tich": "XX",
            "so_ho_chieu": "abc",
            "email": "not-an-email",
            "dien_thoai": "12345",
            "so_cccd": "123",
            "so_thang": 36,
            "muc_luong": -1,
            "da_co_giay_phep": "không",
            "nguoi_lao_dong": []
        });
        let got: Vec<String> = schema
            .validate(&data)
            .unwrap_err()
            .into_iter()
            .map(|e| format!("{} {}", e.path, e.code))
            .collect();
        assert_eq!(
            got,
            [
                "/ho_ten required",
                "/ngay_sinh date",
                "/quoc_tich enum",
                "/so_ho_chieu pattern",
                "/email format",
                "/dien_thoai format",
                "/so_cccd format",
                "/so_thang maximum",
                "/muc_luong minimum",
                "/da_co_giay_phep type",
                "/nguoi_lao_dong min_items",
            ]
        );
    }

    #[test]
    fn data_deeper_than_the_schema_stops_at_a_type_error() {
        let schema = permit();
        let mut data = valid();
        data["ho_ten"] = json!([[[[{"x": [1, 2, 3]}]]]]);
        assert_eq!(codes(&schema, data), err("/ho_ten", "type"));
    }

    #[test]
    fn root_must_be_an_object() {
        let schema = permit();
        assert_eq!(codes(&schema, json!([1])), err("", "type"));
        assert_eq!(codes(&schema, json!("x")), err("", "type"));
        // Absent data is an empty object: every required field is reported.
        assert_eq!(codes(&schema, Value::Null).len(), TOP_REQUIRED.len());
    }

    #[test]
    fn field_errors_serialize_for_the_api() {
        let e = permit().validate(&json!({})).unwrap_err();
        let v = serde_json::to_value(&e[0]).unwrap();
        assert_eq!(
            v,
            json!({"path": "/ho_ten", "code": "required",
                   "message": "Họ và tên: bắt buộc nhập", "message_en": "Full name: required"})
        );
    }

    /// Generated applications that fill every field the way the schema asks.
    fn worker() -> impl Strategy<Value = Value> {
        (
            "[A-Z][a-z]{1,10} [A-Z][a-z]{1,10}",
            "[A-Z][0-9]{7}",
            prop::sample::select(vec!["quan_ly", "chuyen_gia", "ky_thuat"]),
            prop::option::of(date()),
        )
            .prop_map(|(name, passport, role, born)| {
                let mut w = json!({"ho_ten": name, "so_ho_chieu": passport, "vi_tri": role});
                if let Some(born) = born {
                    w["ngay_sinh"] = json!(born);
                }
                w
            })
    }

    fn date() -> impl Strategy<Value = String> {
        (1900i32..2030, 1u32..=12, 1u32..=31).prop_filter_map("real day", |(y, m, d)| {
            chrono::NaiveDate::from_ymd_opt(y, m, d).map(|_| format!("{y:04}-{m:02}-{d:02}"))
        })
    }

    /// Vietnamese letters in NFC, one code point each, and spaces.
    const VIETNAMESE_NAME: &str = "[A-ZĐ][a-zđàáạảãâầấậẩẫăằắặẳẵèéẹẻẽêềếệểễìíịỉĩ\
                                   òóọỏõôồốộổỗơờớợởỡùúụủũưừứựửữỳýỵỷỹ ]{1,60}";

    fn application() -> impl Strategy<Value = Value> {
        (
            (
                VIETNAMESE_NAME,
                date(),
                prop::sample::select(vec!["VN", "CN", "KR", "JP", "US"]),
                "[A-Z][0-9]{7}",
                "[a-z0-9]{1,10}(\\.[a-z0-9]{1,5})?@[a-z]{1,10}\\.(vn|com|gov\\.vn)",
                "0[0-9]{9}|\\+84[1-9][0-9]{8}",
            ),
            (
                prop::option::of("[0-9]{12}"),
                prop::option::of(1i64..=24),
                prop::option::of(0.0f64..1000.0),
                prop::option::of(any::<bool>()),
                prop::collection::vec(worker(), 1..5),
            ),
        )
            .prop_map(|(person, extra)| {
                let (name, born, nation, passport, email, phone) = person;
                let (cccd, months, pay, before, workers) = extra;
                let mut data = json!({
                    "ho_ten": name, "ngay_sinh": born, "quoc_tich": nation,
                    "so_ho_chieu": passport, "email": email, "dien_thoai": phone,
                    "nguoi_lao_dong": workers,
                });
                let optional = [
                    ("so_cccd", cccd.map(Value::from)),
                    ("so_thang", months.map(Value::from)),
                    ("muc_luong", pay.map(Value::from)),
                    ("da_co_giay_phep", before.map(Value::from)),
                ];
                for (key, value) in optional {
                    if let Some(value) = value {
                        data[key] = value;
                    }
                }
                data
            })
    }

    /// How a required field goes missing: left out, null or an empty input.
    fn blank_out(data: &mut Value, key: &str, how: u8) {
        let m = data.as_object_mut().unwrap();
        match how {
            0 => {
                m.remove(key);
            }
            1 => {
                m.insert(key.into(), Value::Null);
            }
            _ => {
                m.insert(key.into(), json!(""));
            }
        }
    }

    proptest! {
        #[test]
        fn generated_applications_validate(data in application()) {
            prop_assert_eq!(permit().validate(&data), Ok(()));
        }

        #[test]
        fn removing_a_required_field_is_reported_there(
            data in application(),
            field in prop::sample::select(TOP_REQUIRED.to_vec()),
            how in 0u8..3,
        ) {
            let mut data = data;
            blank_out(&mut data, field, how);
            let errors = permit().validate(&data).unwrap_err();
            prop_assert_eq!(errors.len(), 1);
            prop_assert_eq!(&errors[0].path, &format!("/{field}"));
            prop_assert_eq!(errors[0].code.as_str(), "required");
        }

        #[test]
        fn removing_a_required_worker_field_is_reported_there(
            data in application(),
            worker in any::<prop::sample::Index>(),
            field in prop::sample::select(WORKER_REQUIRED.to_vec()),
            how in 0u8..3,
        ) {
            let mut data = data;
            let i = worker.index(data["nguoi_lao_dong"].as_array().unwrap().len());
            blank_out(&mut data["nguoi_lao_dong"][i], field, how);
            let errors = permit().validate(&data).unwrap_err();
            prop_assert_eq!(errors.len(), 1);
            prop_assert_eq!(&errors[0].path, &format!("/nguoi_lao_dong/{i}/{field}"));
            prop_assert_eq!(errors[0].code.as_str(), "required");
        }
    }
}

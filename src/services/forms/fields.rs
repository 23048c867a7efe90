//! The fields of a schema as the portal renders them: [`FieldInfo`], in the written order.

use super::model::{Field, Format, Kind};

/// A field as the portal renders it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FieldInfo {
    pub name: String,
    pub title: String,
    pub title_en: Option<String>,
    /// "string" | "number" | "integer" | "date" | "boolean" | "enum" | "object" | "array"
    pub kind: &'static str,
    pub required: bool,
    pub format: Option<String>,
    /// (value, label) of an enum, in schema order; the label is the value when unlabelled.
    pub options: Vec<(String, String)>,
    /// English labels of the options in the same order; empty when the schema has none.
    pub options_en: Vec<String>,
    pub description: Option<String>,
    pub placeholder: Option<String>,
    /// The properties of an object, in order.
    pub children: Vec<FieldInfo>,
    /// What an array holds; its `name` is empty and its `title` that of the array when the
    /// item schema has none.
    pub item: Option<Box<FieldInfo>>,
}

impl Field {
    pub(super) fn info(&self, name: &str, required: bool, parent: Option<&FieldInfo>) -> FieldInfo {
        let options_en = match &self.kind {
            Kind::Text(t) => t.options_en.clone(),
            _ => Vec::new(),
        };
        let (kind, format, options, children, item) = match &self.kind {
            Kind::Object(o) => {
                let children = o
                    .props
                    .iter()
                    .map(|p| p.field.info(&p.name, p.required, None))
                    .collect();
                ("object", None, Vec::new(), children, None)
            }
            Kind::Text(t) => {
                let kind = if !t.options.is_empty() {
                    "enum"
                } else if t.format == Some(Format::Date) {
                    "date"
                } else {
                    "string"
                };
                let format = t.format.map(|f| f.name().to_owned());
                (kind, format, t.options.clone(), Vec::new(), None)
            }
            Kind::Number { integer, .. } => {
                let kind = if *integer { "integer" } else { "number" };
                (kind, None, Vec::new(), Vec::new(), None)
            }
            Kind::Boolean => ("boolean", None, Vec::new(), Vec::new(), None),
            Kind::Array { .. } => ("array", None, Vec::new(), Vec::new(), None),
        };
        let mut info = FieldInfo {
            name: name.to_owned(),
            title: self
                .title
                .clone()
                .or_else(|| parent.map(|p| p.title.clone()))
                .unwrap_or_default(),
            title_en: self
                .title_en
                .clone()
                .or_else(|| parent.and_then(|p| p.title_en.clone())),
            kind,
            required,
            format,
            options,
            options_en,
            description: self.description.clone(),
            placeholder: self.placeholder.clone(),
            children,
            item,
        };
        if let Kind::Array { items, .. } = &self.kind {
            info.item = Some(Box::new(items.info("", true, Some(&info))));
        }
        info
    }
}

#[cfg(test)]
mod tests {
    use crate::services::forms::fixtures::permit;

    #[test]
    fn fields_keep_the_written_order() {
        let fields = permit().fields();
        let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "ho_ten",
                "ngay_sinh",
                "quoc_tich",
                "so_ho_chieu",
                "email",
                "dien_thoai",
                "so_cccd",
                "so_thang",
                "muc_luong",
                "da_co_giay_phep",
                "nguoi_lao_dong"
            ]
        );
        let kinds: Vec<&str> = fields.iter().map(|f| f.kind).collect();
        assert_eq!(
            kinds,
            [
                "string", "date", "enum", "string", "string", "string", "string", "integer",
                "number", "boolean", "array"
            ]
        );
        assert_eq!(fields[0].title, "Họ và tên");
        assert_eq!(fields[0].title_en.as_deref(), Some("Full name"));
        assert_eq!(fields[0].placeholder.as_deref(), Some("Nguyễn Văn A"));
        assert!(fields[0].required);
        assert!(!fields[6].required);
        assert_eq!(fields[1].format.as_deref(), Some("date"));
        assert_eq!(fields[5].format.as_deref(), Some("phone"));
        assert_eq!(fields[3].description.as_deref(), Some("Như trên hộ chiếu"));
        assert_eq!(
            fields[2].options[2],
            ("KR".to_owned(), "Hàn Quốc".to_owned())
        );
        let item = fields[10].item.as_ref().unwrap();
        assert_eq!(item.kind, "object");
        assert_eq!(item.title, "Danh sách người lao động");
        let worker: Vec<(&str, bool)> = item
            .children
            .iter()
            .map(|f| (f.name.as_str(), f.required))
            .collect();
        assert_eq!(
            worker,
            [
                ("ho_ten", true),
                ("so_ho_chieu", true),
                ("ngay_sinh", false),
                ("vi_tri", true)
            ]
        );
        assert_eq!(item.children[3].options[0].1, "Nhà quản lý");
    }
}

/// The applicant's answers as (label, value) lines in the written order, for documents that
/// print them (a generated result): choices by their label, dates as dd/mm/yyyy, yes/no in
/// words, a repeated group's rows numbered. Unanswered fields are left out.
pub fn answers(
    fields: &[FieldInfo],
    data: &serde_json::Value,
    locale: crate::locale::Locale,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    answers_into(fields, data, locale, "", &mut out);
    out
}

fn answers_into(
    fields: &[FieldInfo],
    data: &serde_json::Value,
    locale: crate::locale::Locale,
    prefix: &str,
    out: &mut Vec<(String, String)>,
) {
    use crate::locale::Locale;
    use serde_json::Value;
    for f in fields {
        let Some(value) = data.get(&f.name).filter(|v| !v.is_null()) else {
            continue;
        };
        let title = match (locale, &f.title_en) {
            (Locale::En, Some(en)) => en.as_str(),
            _ => f.title.as_str(),
        };
        let label = format!("{prefix}{title}");
        match (f.kind, value) {
            ("object", Value::Object(_)) => {
                answers_into(&f.children, value, locale, &format!("{label} — "), out);
            }
            ("array", Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let row = format!("{label} ({})", i + 1);
                    match (&f.item, item) {
                        (Some(info), Value::Object(_)) if info.kind == "object" => {
                            answers_into(&info.children, item, locale, &format!("{row} — "), out);
                        }
                        _ => out.push((row, scalar(item))),
                    }
                }
            }
            ("enum", Value::String(s)) => {
                let shown = f
                    .options
                    .iter()
                    .find(|(v, _)| v == s)
                    .map_or_else(|| s.clone(), |(_, l)| l.clone());
                out.push((label, shown));
            }
            ("date", Value::String(s)) => out.push((label, super::dates::display_date(s))),
            ("boolean", Value::Bool(b)) => {
                let word = match (locale, b) {
                    (Locale::Vi, true) => "Có",
                    (Locale::Vi, false) => "Không",
                    (Locale::En, true) => "Yes",
                    (Locale::En, false) => "No",
                };
                out.push((label, word.into()));
            }
            _ => {
                let text = scalar(value);
                if !text.is_empty() {
                    out.push((label, text));
                }
            }
        }
    }
}

fn scalar(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.trim().to_owned(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod answers_tests {
    use super::answers;
    use crate::locale::Locale;
    use crate::services::forms::FormSchema;
    use serde_json::json;

    #[test]
    fn answers_read_as_printed_lines() {
        let schema = FormSchema::parse(&json!({
            "type": "object",
            "properties": {
                "ho_ten": { "type": "string", "title": "Họ và tên", "title_en": "Full name" },
                "ngay_sinh": { "type": "string", "format": "date", "title": "Ngày sinh" },
                "quoc_tich": { "type": "string", "title": "Quốc tịch",
                               "enum": ["JP", "KR"], "enumLabels": ["Nhật Bản", "Hàn Quốc"] },
                "co_con": { "type": "boolean", "title": "Có con nhỏ" },
                "con": { "type": "array", "title": "Con",
                         "items": { "type": "object", "properties": {
                             "ten": { "type": "string", "title": "Tên" } } } },
                "ghi_chu": { "type": "string", "title": "Ghi chú" }
            }
        }))
        .unwrap();
        let data = json!({
            "ho_ten": "Tanaka Hiroshi", "ngay_sinh": "1985-03-09", "quoc_tich": "JP",
            "co_con": true, "con": [{ "ten": "Yuki" }, { "ten": "Ken" }]
        });
        let lines = answers(&schema.fields(), &data, Locale::Vi);
        assert_eq!(
            lines,
            vec![
                ("Họ và tên".into(), "Tanaka Hiroshi".into()),
                ("Ngày sinh".into(), "09/03/1985".into()),
                ("Quốc tịch".into(), "Nhật Bản".into()),
                ("Có con nhỏ".into(), "Có".into()),
                ("Con (1) — Tên".into(), "Yuki".into()),
                ("Con (2) — Tên".into(), "Ken".into()),
            ]
        );
        assert_eq!(
            answers(&schema.fields(), &data, Locale::En)[0].0,
            "Full name"
        );
    }
}

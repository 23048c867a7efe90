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

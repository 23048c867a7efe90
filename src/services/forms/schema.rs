//! [`FormSchema`], what the rest of the crate holds: read from JSON (text or `Value`), checked
//! and compiled once, written back in its own order, and asked to check data or list its fields.

use super::json::Json;
use super::model::{Kind, ObjectSchema};
use super::{FieldError, FieldInfo, check, compile};
use serde::de::{self, Deserialize, Deserializer};
use serde::ser::{Serialize, Serializer};
use serde_json::{Map, Value};

/// A form schema, checked and compiled (patterns included) once, when it is read.
#[derive(Debug, Clone)]
pub struct FormSchema {
    raw: Value,
    /// The schema as written, members in order, for `Serialize`.
    source: Json,
    root: ObjectSchema,
}

/// Why a schema was refused; the message starts with the JSON Pointer of the culprit.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SchemaError(pub String);

impl FormSchema {
    /// Reads a schema from a `Value`. Properties come in the `Value`'s order, alphabetical
    /// in this crate: prefer [`FormSchema::parse_str`] where the text is at hand.
    pub fn parse(raw: &Value) -> Result<FormSchema, SchemaError> {
        Self::from_json(Json::from_value(raw))
    }

    /// Reads a schema from JSON text, keeping the order of properties.
    pub fn parse_str(text: &str) -> Result<FormSchema, SchemaError> {
        let json: Json = serde_json::from_str(text)
            .map_err(|e| SchemaError(format!("(root): not valid JSON: {e}")))?;
        Self::from_json(json)
    }

    /// The schema of a procedure without a form: only an empty object (or nothing) passes.
    pub fn empty() -> FormSchema {
        FormSchema {
            raw: Value::Object(Map::new()),
            source: Json::Object(Vec::new()),
            root: ObjectSchema::default(),
        }
    }

    /// The original JSON (for storage / API output); members sorted, see the module doc.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// Checks submitted data: `Ok(())`, or every error found, in schema order (then the
    /// unknown members of each object). Absent data (`null`) counts as an empty object.
    pub fn validate(&self, data: &Value) -> Result<(), Vec<FieldError>> {
        check::validate(&self.root, data)
    }

    /// Top-level fields in order, for rendering.
    pub fn fields(&self) -> Vec<FieldInfo> {
        self.root
            .props
            .iter()
            .map(|p| p.field.info(&p.name, p.required, None))
            .collect()
    }

    /// The form as the designer edits it, or why it cannot be (nesting the designer does not
    /// show); see [`super::builder`].
    pub fn builder_fields(
        &self,
    ) -> Result<Vec<super::builder::FormField>, super::builder::NotDesignable> {
        super::builder::fields_of(&self.root)
    }

    /// The value of the first top-level string property with this `format` (e.g. the
    /// applicant's phone, to look dossiers up by); `None` when that one is absent or blank.
    pub fn find_by_format<'a>(&self, data: &'a Value, fmt: &str) -> Option<&'a str> {
        let prop = self.root.props.iter().find(|p| match &p.field.kind {
            Kind::Text(t) => t.format.is_some_and(|f| f.name() == fmt),
            _ => false,
        })?;
        let value = data.get(&prop.name)?.as_str()?.trim();
        (!value.is_empty()).then_some(value)
    }

    fn from_json(source: Json) -> Result<FormSchema, SchemaError> {
        // A TOML file can hold the schema as a JSON string, the one way to keep its order.
        let source = match source {
            Json::String(text) => serde_json::from_str(&text)
                .map_err(|e| SchemaError(format!("(root): not valid JSON: {e}")))?,
            other => other,
        };
        let root = compile::root(&source)?;
        Ok(FormSchema {
            raw: source.to_value(),
            source,
            root,
        })
    }
}

impl Serialize for FormSchema {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.source.serialize(s)
    }
}

/// Accepts the schema as a JSON object (order kept from JSON text) or as a string of JSON.
impl<'de> Deserialize<'de> for FormSchema {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        FormSchema::from_json(Json::deserialize(d)?).map_err(de::Error::custom)
    }
}

impl utoipa::PartialSchema for FormSchema {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "Form schema: a JSON Schema subset (object, string, number, integer, boolean, \
                 array; minLength, maxLength, pattern, format email|phone|cccd|date, enum, \
                 enumLabels, enumLabels_en, minimum, maximum, items, minItems, maxItems, required) with \
                 `title` (Vietnamese), `title_en`, `description` and `placeholder`.",
            ))
            .into()
    }
}

impl utoipa::ToSchema for FormSchema {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::forms::fixtures::{WORK_PERMIT, codes, err, permit, valid};
    use serde_json::json;

    #[test]
    fn realistic_work_permit_passes() {
        let schema = permit();
        assert_eq!(schema.validate(&valid()), Ok(()));
        // Optional fields may be left out, null or blank (an empty HTML input).
        let mut data = valid();
        let m = data.as_object_mut().unwrap();
        m.remove("so_thang");
        m.insert("so_cccd".into(), json!(""));
        m.insert("muc_luong".into(), Value::Null);
        assert_eq!(schema.validate(&data), Ok(()));
    }

    #[test]
    fn value_parse_serde_and_raw_agree() {
        let from_text = permit();
        let raw: Value = serde_json::from_str(WORK_PERMIT).unwrap();
        assert_eq!(from_text.raw(), &raw);
        // From a Value the order is the Value's (alphabetical here), the fields the same.
        let from_value = FormSchema::parse(&raw).unwrap();
        assert_eq!(from_value.raw(), &raw);
        let mut a: Vec<String> = from_text.fields().into_iter().map(|f| f.name).collect();
        let mut b: Vec<String> = from_value.fields().into_iter().map(|f| f.name).collect();
        a.sort();
        b.sort();
        assert_eq!(a, b);
        // Deserialize from text keeps the order; Serialize writes it back unchanged.
        let de: FormSchema = serde_json::from_str(WORK_PERMIT).unwrap();
        assert_eq!(de.fields()[1].name, "ngay_sinh");
        let text = serde_json::to_string(&de).unwrap();
        assert!(text.find("\"ngay_sinh\"").unwrap() < text.find("\"email\"").unwrap());
        let again = FormSchema::parse_str(&text).unwrap();
        assert_eq!(again.fields()[1].name, "ngay_sinh");
        // A string holding JSON (how a TOML file can keep the order) is read as the schema.
        let wrapped: FormSchema = serde_json::from_value(json!(WORK_PERMIT)).unwrap();
        assert_eq!(wrapped.fields()[1].name, "ngay_sinh");
        // Duplicate members are refused rather than merged.
        assert!(
            FormSchema::parse_str(r#"{"properties": {}, "properties": {}}"#)
                .unwrap_err()
                .0
                .contains("duplicate")
        );
    }

    #[test]
    fn empty_schemas_take_no_data() {
        for schema in [
            FormSchema::empty(),
            FormSchema::parse(&json!({})).unwrap(),
            FormSchema::parse(&json!({"type": "object", "properties": {}})).unwrap(),
        ] {
            assert!(schema.fields().is_empty());
            assert_eq!(schema.validate(&json!({})), Ok(()));
            assert_eq!(schema.validate(&Value::Null), Ok(()));
            assert_eq!(codes(&schema, json!({"x": 1})), err("/x", "unknown_field"));
        }
        assert_eq!(FormSchema::empty().raw(), &json!({}));
    }

    #[test]
    fn find_by_format_reads_the_first_such_field() {
        let schema = permit();
        let data = valid();
        assert_eq!(schema.find_by_format(&data, "phone"), Some("0912345678"));
        assert_eq!(
            schema.find_by_format(&data, "email"),
            Some("tuyet.nguyen@congty.com.vn")
        );
        assert_eq!(schema.find_by_format(&data, "cccd"), Some("001085012345"));
        assert_eq!(schema.find_by_format(&json!({}), "phone"), None);
        assert_eq!(
            schema.find_by_format(&json!({"dien_thoai": ""}), "phone"),
            None
        );
        assert_eq!(schema.find_by_format(&data, "fax"), None);
    }
}

//! Procedure form schemas: a JSON Schema subset with Vietnamese labels that tenant admins
//! write, that the portal renders as an HTML form and that submitted data is checked against,
//! with bilingual field-level errors, before anything is stored.
//!
//! The subset:
//! - `type`: `object` (`properties`, `required`), `string` (`minLength`, `maxLength`,
//!   `pattern`, `format`: `email` | `phone` | `cccd` | `date`, `enum` + `enumLabels` and `enumLabels_en`),
//!   `number` / `integer` (`minimum`, `maximum`), `boolean`, `array` (`items`, `minItems`,
//!   `maxItems`). A date is `"type": "string", "format": "date"` (ISO `YYYY-MM-DD`).
//! - annotations: `title` (the Vietnamese label, required on every property), `title_en`,
//!   `description`, `placeholder`.
//!
//! Any other keyword is a [`SchemaError`]: a keyword that is silently ignored is a rule the
//! admin believes in and that nobody enforces.
//!
//! Property order is the order of the rendered form. `serde_json` and `toml` are built with
//! `preserve_order` here, so a `Value` keeps it; a `jsonb` column would not (PostgreSQL sorts
//! its keys), which is why procedures keep their schema as text.
//!
//! The parts: [`FormSchema`] and its errors in `schema`, the compiled form of a schema in
//! `model`, reading (and refusing) a schema in `compile`, checking submitted data in `check`,
//! the fields as the portal renders them in `fields`, and JSON that keeps its members' order in
//! `json`; the designer's field list in `builder`; dates as people type and read them (`dd/mm/yyyy`, stored ISO) in `dates`.

pub mod builder;
mod check;
mod compile;
pub mod dates;
mod fields;
#[cfg(test)]
mod fixtures;

#[cfg(test)]
mod canonical_tests {
    #[test]
    fn canonical_sorts_keywords_but_keeps_the_fields_order() {
        let a: serde_json::Value = serde_json::from_str(
            r#"{"type":"object","properties":{"z":{"type":"string","title":"Z"},"a":{"title":"A","type":"string"}},"required":["z"]}"#,
        )
        .unwrap();
        let b: serde_json::Value = serde_json::from_str(
            r#"{"required":["z"],"type":"object","properties":{"z":{"title":"Z","type":"string"},"a":{"type":"string","title":"A"}}}"#,
        )
        .unwrap();
        assert_eq!(
            super::canonical(&a).to_string(),
            super::canonical(&b).to_string()
        );
        let text = super::canonical(&a).to_string();
        assert!(
            text.find("\"z\"").unwrap() < text.find("\"a\"").unwrap(),
            "{text}"
        );
    }
}
mod json;
mod model;
mod schema;

pub use fields::{FieldInfo, answers};
pub use schema::{FormSchema, SchemaError};

/// A schema in one spelling: members of every object sorted by name, except the members of
/// `properties`, whose order is the form's. Two schemas that mean the same form read the same,
/// whichever tool wrote them (TOML writers put plain values before tables, for one).
pub fn canonical(schema: &serde_json::Value) -> serde_json::Value {
    fn walk(v: &serde_json::Value, ordered: bool) -> serde_json::Value {
        match v {
            serde_json::Value::Object(m) => {
                let mut members: Vec<(&String, &serde_json::Value)> = m.iter().collect();
                if !ordered {
                    members.sort_by(|a, b| a.0.cmp(b.0));
                }
                serde_json::Value::Object(
                    members
                        .into_iter()
                        .map(|(k, v)| {
                            // The schemas under `properties` are plain objects again.
                            let inner = if ordered { false } else { k == "properties" };
                            (k.clone(), walk(v, inner))
                        })
                        .collect(),
                )
            }
            serde_json::Value::Array(a) => {
                serde_json::Value::Array(a.iter().map(|x| walk(x, false)).collect())
            }
            other => other.clone(),
        }
    }
    walk(schema, false)
}

/// One problem with submitted data (defined with the errors, which carry it to the caller).
pub use crate::error::FieldError;

//! Reading a schema: every keyword checked against the subset (an unknown one is refused, not
//! ignored), limits on size, depth and patterns, each refusal naming the JSON Pointer at fault.

use super::SchemaError;
use super::json::{Json, push_pointer};
use super::model::{Bound, Field, Format, Kind, ObjectSchema, Prop, TextSchema};
use regex_lite::RegexBuilder;
use std::collections::HashSet;
use std::fmt;

/// Deepest nesting of schemas, the root object counting as 1.
const MAX_DEPTH: usize = 5;
/// Properties in the whole schema, nested ones included.
const MAX_PROPERTIES: usize = 200;
const MAX_PATTERN_CHARS: usize = 200;
/// Compiled size of a `pattern`, so one admin's regex cannot make every submission slow.
const REGEX_SIZE_LIMIT: usize = 1 << 18;
const MAX_ENUM_VALUES: usize = 1_000;
pub(super) const MAX_NAME_CHARS: usize = 64;

const ANNOTATIONS: [&str; 4] = ["title", "title_en", "description", "placeholder"];
const OBJECT_KEYWORDS: [&str; 2] = ["properties", "required"];
const STRING_KEYWORDS: [&str; 7] = [
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "enum",
    "enumLabels",
    "enumLabels_en",
];
const NUMBER_KEYWORDS: [&str; 2] = ["minimum", "maximum"];
const ARRAY_KEYWORDS: [&str; 3] = ["items", "minItems", "maxItems"];
const FORMATS: &str = "`email`, `phone`, `cccd`, `date`";

/// Compiles a whole schema, whose root is an object.
pub(super) fn root(source: &Json) -> Result<ObjectSchema, SchemaError> {
    let field = Compiler::default().field(source, &mut String::new(), 1, Role::Root)?;
    let Kind::Object(root) = field.kind else {
        unreachable!("the compiler only accepts an object at the root")
    };
    Ok(root)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Root,
    Property,
    Item,
}

#[derive(Default)]
struct Compiler {
    properties: usize,
}

fn fail(path: &str, why: impl fmt::Display) -> SchemaError {
    let at = if path.is_empty() { "(root)" } else { path };
    SchemaError(format!("{at}: {why}"))
}

fn at(path: &str, key: &str) -> String {
    let mut p = path.to_owned();
    push_pointer(&mut p, key);
    p
}

/// Property names become HTML input names and template keys: keep them plain.
fn valid_name(name: &str) -> bool {
    name.len() <= MAX_NAME_CHARS
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

type Members = [(String, Json)];

fn member<'a>(members: &'a Members, key: &str) -> Option<&'a Json> {
    members.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn text(members: &Members, key: &str, path: &str) -> Result<Option<String>, SchemaError> {
    match member(members, key) {
        None => Ok(None),
        Some(Json::String(s)) if s.trim().is_empty() => {
            Err(fail(&at(path, key), "must not be empty"))
        }
        Some(Json::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(fail(
            &at(path, key),
            format!("must be a string, found {}", other.kind()),
        )),
    }
}

fn count(members: &Members, key: &str, path: &str) -> Result<Option<usize>, SchemaError> {
    match member(members, key) {
        None => Ok(None),
        Some(Json::Number(n)) => n
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| fail(&at(path, key), "must be a non-negative integer")),
        Some(other) => Err(fail(
            &at(path, key),
            format!("must be a non-negative integer, found {}", other.kind()),
        )),
    }
}

fn bound(members: &Members, key: &str, path: &str) -> Result<Option<Bound>, SchemaError> {
    match member(members, key) {
        None => Ok(None),
        Some(Json::Number(n)) => Ok(Some(Bound {
            value: n.as_f64().unwrap_or(f64::NAN),
            shown: n.to_string(),
        })),
        Some(other) => Err(fail(
            &at(path, key),
            format!("must be a number, found {}", other.kind()),
        )),
    }
}

fn strings(members: &Members, key: &str, path: &str) -> Result<Option<Vec<String>>, SchemaError> {
    let Some(value) = member(members, key) else {
        return Ok(None);
    };
    let Json::Array(items) = value else {
        return Err(fail(
            &at(path, key),
            format!("must be an array of strings, found {}", value.kind()),
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Json::String(s) if !s.trim().is_empty() => Ok(s.clone()),
            _ => Err(fail(
                &at(&at(path, key), &i.to_string()),
                "must be a non-empty string",
            )),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn ordered<T: PartialOrd>(
    min: Option<T>,
    max: Option<T>,
    names: (&str, &str),
    path: &str,
) -> Result<(), SchemaError> {
    match (min, max) {
        (Some(min), Some(max)) if min > max => Err(fail(
            path,
            format!("`{}` is greater than `{}`", names.0, names.1),
        )),
        _ => Ok(()),
    }
}

impl Compiler {
    fn field(
        &mut self,
        node: &Json,
        path: &mut String,
        depth: usize,
        role: Role,
    ) -> Result<Field, SchemaError> {
        let Json::Object(members) = node else {
            return Err(fail(
                path,
                format!("a schema must be an object, found {}", node.kind()),
            ));
        };
        if depth > MAX_DEPTH {
            return Err(fail(path, format!("nested deeper than {MAX_DEPTH} levels")));
        }
        let ty = match member(members, "type") {
            None if role == Role::Root => "object",
            None => return Err(fail(path, "missing `type`")),
            Some(Json::String(t)) => t.as_str(),
            Some(other) => {
                return Err(fail(
                    &at(path, "type"),
                    format!("must be a single type name, found {}", other.kind()),
                ));
            }
        };
        let specific: &[&str] = match ty {
            "object" => &OBJECT_KEYWORDS,
            "string" => &STRING_KEYWORDS,
            "number" | "integer" => &NUMBER_KEYWORDS,
            "boolean" => &[],
            "array" => &ARRAY_KEYWORDS,
            "date" => {
                return Err(fail(
                    &at(path, "type"),
                    "there is no type `date`: write \"type\": \"string\", \"format\": \"date\"",
                ));
            }
            other => {
                return Err(fail(
                    &at(path, "type"),
                    format!(
                        "unsupported type `{other}` (supported: object, string, number, \
                         integer, boolean, array)"
                    ),
                ));
            }
        };
        if role == Role::Root && ty != "object" {
            return Err(fail(path, "the root schema must be of type `object`"));
        }
        for (key, _) in members {
            let key = key.as_str();
            if key == "type" || ANNOTATIONS.contains(&key) || specific.contains(&key) {
                continue;
            }
            let known = [
                &OBJECT_KEYWORDS[..],
                &STRING_KEYWORDS,
                &NUMBER_KEYWORDS,
                &ARRAY_KEYWORDS,
            ]
            .iter()
            .any(|set| set.contains(&key));
            return Err(fail(
                &at(path, key),
                if known {
                    format!("keyword `{key}` does not apply to type `{ty}`")
                } else {
                    format!("unsupported keyword `{key}`")
                },
            ));
        }
        let title = text(members, "title", path)?;
        if role == Role::Property && title.is_none() {
            return Err(fail(
                path,
                "missing `title`: every property needs a Vietnamese label",
            ));
        }
        let kind = match ty {
            "object" => Kind::Object(self.object(members, path, depth)?),
            "string" => Kind::Text(text_schema(members, path)?),
            "number" | "integer" => {
                let minimum = bound(members, "minimum", path)?;
                let maximum = bound(members, "maximum", path)?;
                ordered(
                    minimum.as_ref().map(|b| b.value),
                    maximum.as_ref().map(|b| b.value),
                    ("minimum", "maximum"),
                    path,
                )?;
                Kind::Number {
                    integer: ty == "integer",
                    minimum,
                    maximum,
                }
            }
            "boolean" => Kind::Boolean,
            _ => {
                let min_items = count(members, "minItems", path)?;
                let max_items = count(members, "maxItems", path)?;
                ordered(min_items, max_items, ("minItems", "maxItems"), path)?;
                let Some(items) = member(members, "items") else {
                    return Err(fail(path, "an array needs `items`"));
                };
                let len = path.len();
                path.push_str("/items");
                let items = self.field(items, path, depth + 1, Role::Item)?;
                path.truncate(len);
                Kind::Array {
                    items: Box::new(items),
                    min_items,
                    max_items,
                }
            }
        };
        Ok(Field {
            title,
            title_en: text(members, "title_en", path)?,
            description: text(members, "description", path)?,
            placeholder: text(members, "placeholder", path)?,
            kind,
        })
    }

    fn object(
        &mut self,
        members: &Members,
        path: &mut String,
        depth: usize,
    ) -> Result<ObjectSchema, SchemaError> {
        let mut props = Vec::new();
        if let Some(properties) = member(members, "properties") {
            let Json::Object(entries) = properties else {
                return Err(fail(
                    &at(path, "properties"),
                    format!("must be an object, found {}", properties.kind()),
                ));
            };
            let len = path.len();
            path.push_str("/properties");
            for (name, schema) in entries {
                let inner = path.len();
                push_pointer(path, name);
                if !valid_name(name) {
                    return Err(fail(
                        path,
                        format!(
                            "property names are 1–{MAX_NAME_CHARS} ASCII letters, digits or \
                             `_`, starting with a letter"
                        ),
                    ));
                }
                self.properties += 1;
                if self.properties > MAX_PROPERTIES {
                    return Err(fail(
                        path,
                        format!("more than {MAX_PROPERTIES} properties in the form"),
                    ));
                }
                let field = self.field(schema, path, depth + 1, Role::Property)?;
                path.truncate(inner);
                props.push(Prop {
                    name: name.clone(),
                    required: false,
                    field,
                });
            }
            path.truncate(len);
        }
        for (i, name) in strings(members, "required", path)?
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let here = at(&at(path, "required"), &i.to_string());
            let Some(prop) = props.iter_mut().find(|p| p.name == *name) else {
                return Err(fail(&here, format!("`{name}` is not in `properties`")));
            };
            if prop.required {
                return Err(fail(&here, format!("`{name}` is listed twice")));
            }
            prop.required = true;
        }
        Ok(ObjectSchema { props })
    }
}

/// A `pattern` compiled as it is enforced: the whole answer must match. Refused when longer
/// than the limit, not a regular expression, or too costly.
pub(super) fn pattern(p: &str) -> Result<regex_lite::Regex, String> {
    if p.chars().count() > MAX_PATTERN_CHARS {
        return Err(format!("longer than {MAX_PATTERN_CHARS} characters"));
    }
    let compile = |re: &str| {
        RegexBuilder::new(re)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|e| format!("invalid regex: {e}"))
    };
    // Alone first: `a)|(b` is unbalanced there, but would slip out of the anchors.
    compile(p)?;
    compile(&format!("^(?:{p})$"))
}

fn text_schema(members: &Members, path: &str) -> Result<TextSchema, SchemaError> {
    let min_length = count(members, "minLength", path)?;
    let max_length = count(members, "maxLength", path)?;
    ordered(min_length, max_length, ("minLength", "maxLength"), path)?;
    let source = text(members, "pattern", path)?;
    let pattern = source
        .as_deref()
        .map(pattern)
        .transpose()
        .map_err(|e| fail(&at(path, "pattern"), e))?;
    let format = match text(members, "format", path)? {
        None => None,
        Some(f) => Some(Format::parse(&f).ok_or_else(|| {
            fail(
                &at(path, "format"),
                format!("unsupported format `{f}` (supported: {FORMATS})"),
            )
        })?),
    };
    let values = strings(members, "enum", path)?;
    let labels = strings(members, "enumLabels", path)?;
    let labels_en = strings(members, "enumLabels_en", path)?;
    let constrained = min_length.is_some() || max_length.is_some() || pattern.is_some();
    if format == Some(Format::Date) && constrained {
        return Err(fail(
            path,
            "a date cannot have `minLength`, `maxLength` or `pattern`",
        ));
    }
    if let (Some(en), Some(v)) = (&labels_en, &values)
        && en.len() != v.len()
    {
        return Err(fail(
            &at(path, "enumLabels_en"),
            format!("has {} labels for {} values", en.len(), v.len()),
        ));
    }
    if labels_en.is_some() && values.is_none() {
        return Err(fail(&at(path, "enumLabels_en"), "needs `enum`"));
    }
    let options = match (values, labels) {
        (None, None) => Vec::new(),
        (None, Some(_)) => return Err(fail(&at(path, "enumLabels"), "needs `enum`")),
        (Some(values), labels) => {
            if values.is_empty() || values.len() > MAX_ENUM_VALUES {
                return Err(fail(
                    &at(path, "enum"),
                    format!("must hold 1–{MAX_ENUM_VALUES} values"),
                ));
            }
            if constrained || format.is_some() {
                return Err(fail(
                    path,
                    "`enum` already fixes the values: drop `minLength`, `maxLength`, `pattern` \
                     and `format`",
                ));
            }
            let mut seen = HashSet::new();
            if let Some(dup) = values.iter().find(|v| !seen.insert(v.as_str())) {
                return Err(fail(&at(path, "enum"), format!("`{dup}` is listed twice")));
            }
            let labels = match labels {
                Some(l) if l.len() != values.len() => {
                    return Err(fail(
                        &at(path, "enumLabels"),
                        format!("has {} labels for {} values", l.len(), values.len()),
                    ));
                }
                Some(l) => l,
                None => values.clone(),
            };
            values.into_iter().zip(labels).collect()
        }
    };
    Ok(TextSchema {
        min_length,
        max_length,
        pattern,
        pattern_source: source,
        format,
        options,
        options_en: labels_en.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::FormSchema;
    use serde_json::{Map, Value, json};

    fn schema_err(raw: Value) -> String {
        FormSchema::parse(&raw).unwrap_err().0
    }

    fn prop(field: Value) -> Value {
        json!({"type": "object", "properties": {"f": field}})
    }

    #[test]
    fn unsupported_keywords_are_refused() {
        for (schema, path, why) in [
            (
                json!({"additionalProperties": false}),
                "/additionalProperties",
                "unsupported keyword",
            ),
            (
                prop(json!({"type": "string", "title": "T", "oneOf": []})),
                "/properties/f/oneOf",
                "unsupported keyword",
            ),
            (
                prop(json!({"type": "string", "title": "T", "default": "x"})),
                "/properties/f/default",
                "unsupported keyword",
            ),
            (
                prop(json!({"type": "number", "title": "T", "minLength": 1})),
                "/properties/f/minLength",
                "does not apply",
            ),
            (
                prop(json!({"type": "string", "title": "T", "minimum": 1})),
                "/properties/f/minimum",
                "does not apply",
            ),
            (
                prop(
                    json!({"type": "string", "format": "date", "title": "T", "minimum": "2020-01-01"}),
                ),
                "/properties/f/minimum",
                "does not apply",
            ),
            (
                prop(json!({"type": "date", "title": "T"})),
                "/properties/f/type",
                "format",
            ),
            (
                prop(json!({"type": "null", "title": "T"})),
                "/properties/f/type",
                "unsupported type",
            ),
            (
                prop(json!({"type": ["string", "null"], "title": "T"})),
                "/properties/f/type",
                "single type",
            ),
            (
                prop(json!({"type": "string", "title": "T", "format": "uri"})),
                "/properties/f/format",
                "unsupported format",
            ),
        ] {
            let msg = schema_err(schema);
            assert!(msg.starts_with(&format!("{path}: ")), "{msg}");
            assert!(msg.contains(why), "{msg}");
        }
    }

    #[test]
    fn titles_are_required_on_properties() {
        let msg = schema_err(prop(json!({"type": "string"})));
        assert_eq!(
            msg,
            "/properties/f: missing `title`: every property needs a Vietnamese label"
        );
        let msg = schema_err(prop(json!({"type": "string", "title": " "})));
        assert!(msg.starts_with("/properties/f/title: "), "{msg}");
        let nested = prop(
            json!({"type": "array", "title": "DS", "items": {"type": "object",
            "properties": {"x": {"type": "string", "title_en": "X"}}}}),
        );
        assert!(
            schema_err(nested).starts_with("/properties/f/items/properties/x: missing `title`")
        );
        // Items and the root need none.
        assert!(
            FormSchema::parse(&prop(
                json!({"type": "array", "title": "DS", "items": {"type": "string"}})
            ))
            .is_ok()
        );
    }

    #[test]
    fn bad_patterns_are_refused() {
        let msg = schema_err(prop(
            json!({"type": "string", "title": "T", "pattern": "[A-Z"}),
        ));
        assert!(
            msg.starts_with("/properties/f/pattern: invalid regex"),
            "{msg}"
        );
        let msg = schema_err(prop(
            json!({"type": "string", "title": "T", "pattern": "a".repeat(201)}),
        ));
        assert!(msg.contains("longer than 200"), "{msg}");
        let msg = schema_err(prop(
            json!({"type": "string", "title": "T", "pattern": "((a{100}){100}){100}"}),
        ));
        assert!(msg.contains("invalid regex"), "{msg}");
        // A pattern cannot escape the anchoring by closing the group.
        let msg = schema_err(prop(
            json!({"type": "string", "title": "T", "pattern": "a)|(b"}),
        ));
        assert!(msg.contains("invalid regex"), "{msg}");
    }

    #[test]
    fn structural_schema_errors() {
        for (schema, expected) in [
            (json!([]), "(root): a schema must be an object"),
            (
                json!({"type": "string"}),
                "(root): the root schema must be of type `object`",
            ),
            (
                json!({"properties": {"a": {"type": "string", "title": "A"}}, "required": ["b"]}),
                "/required/0: `b` is not in `properties`",
            ),
            (
                json!({"properties": {"a": {"type": "string", "title": "A"}}, "required": ["a", "a"]}),
                "/required/1: `a` is listed twice",
            ),
            (json!({"properties": []}), "/properties: must be an object"),
            (prop(json!({"title": "T"})), "/properties/f: missing `type`"),
            (
                prop(json!({"type": "array", "title": "T"})),
                "/properties/f: an array needs `items`",
            ),
            (
                prop(json!({"type": "string", "title": "T", "minLength": 5, "maxLength": 2})),
                "/properties/f: `minLength` is greater than `maxLength`",
            ),
            (
                prop(json!({"type": "integer", "title": "T", "minimum": 5, "maximum": 2})),
                "/properties/f: `minimum` is greater than `maximum`",
            ),
            (
                prop(json!({"type": "string", "title": "T", "maxLength": -1})),
                "/properties/f/maxLength: must be a non-negative integer",
            ),
            (
                prop(json!({"type": "string", "title": "T", "maxLength": 1.5})),
                "/properties/f/maxLength: must be a non-negative integer",
            ),
            (
                prop(
                    json!({"type": "string", "title": "T", "enum": ["a", "b"], "enumLabels": ["A"]}),
                ),
                "/properties/f/enumLabels: has 1 labels for 2 values",
            ),
            (
                prop(json!({"type": "string", "title": "T", "enumLabels": ["A"]})),
                "/properties/f/enumLabels: needs `enum`",
            ),
            (
                prop(json!({"type": "string", "title": "T", "enum": []})),
                "/properties/f/enum: must hold 1–1000 values",
            ),
            (
                prop(json!({"type": "string", "title": "T", "enum": ["a", "a"]})),
                "/properties/f/enum: `a` is listed twice",
            ),
            (
                prop(json!({"type": "string", "title": "T", "enum": ["a", 1]})),
                "/properties/f/enum/1: must be a non-empty string",
            ),
            (
                prop(json!({"type": "string", "title": "T", "enum": ["a"], "format": "email"})),
                "/properties/f: `enum` already fixes the values",
            ),
            (
                prop(json!({"type": "string", "title": "T", "format": "date", "maxLength": 10})),
                "/properties/f: a date cannot have",
            ),
            (
                json!({"properties": {"họ_tên": {"type": "string", "title": "T"}}}),
                "/properties/họ_tên: property names are",
            ),
            (
                json!({"properties": {"a b": {"type": "string", "title": "T"}}}),
                "/properties/a b: property names are",
            ),
        ] {
            let msg = schema_err(schema);
            assert!(msg.starts_with(expected), "{msg}");
        }
    }

    #[test]
    fn size_limits() {
        // root(1) > list(2) > item(3) > list(4) > item(5) is as deep as it goes.
        let leaf = json!({"type": "string", "title": "L"});
        let level5 = json!({"type": "object", "properties": {"l": leaf}});
        let ok = prop(
            json!({"type": "array", "title": "A", "items": {"type": "object",
            "properties": {"b": {"type": "array", "title": "B", "items": {"type": "string"}}}}}),
        );
        assert!(FormSchema::parse(&ok).is_ok());
        let too_deep = prop(
            json!({"type": "array", "title": "A", "items": {"type": "object",
            "properties": {"b": {"type": "array", "title": "B", "items": level5}}}}),
        );
        let msg = schema_err(too_deep);
        assert!(
            msg.starts_with(
                "/properties/f/items/properties/b/items/properties/l: nested deeper than 5"
            ),
            "{msg}"
        );

        let many = |n: usize| {
            let props: Map<String, Value> = (0..n)
                .map(|i| (format!("f{i}"), json!({"type": "boolean", "title": "Có"})))
                .collect();
            json!({"properties": props})
        };
        assert!(FormSchema::parse(&many(200)).is_ok());
        assert!(schema_err(many(201)).contains("more than 200 properties"));
    }
}

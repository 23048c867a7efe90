//! Procedure form schemas: a JSON Schema subset with Vietnamese labels that tenant admins
//! write, that the portal renders as an HTML form and that submitted data is checked against,
//! with bilingual field-level errors, before anything is stored.
//!
//! The subset:
//! - `type`: `object` (`properties`, `required`), `string` (`minLength`, `maxLength`,
//!   `pattern`, `format`: `email` | `phone` | `cccd` | `date`, `enum` + `enumLabels`),
//!   `number` / `integer` (`minimum`, `maximum`), `boolean`, `array` (`items`, `minItems`,
//!   `maxItems`). A date is `"type": "string", "format": "date"` (ISO `YYYY-MM-DD`).
//! - annotations: `title` (the Vietnamese label, required on every property), `title_en`,
//!   `description`, `placeholder`.
//!
//! Any other keyword is a [`SchemaError`]: a keyword that is silently ignored is a rule the
//! admin believes in and that nobody enforces.
//!
//! Property order is the order of the rendered form. `serde_json::Value` in this crate sorts
//! object members (no `preserve_order`), and so do TOML tables, so the order survives only
//! where the schema is read from JSON *text*: [`FormSchema::parse_str`], the `Deserialize`
//! impl fed by `serde_json` (an API body), or a TOML string that holds JSON. `Serialize`
//! writes the schema back in that order; store that text, not `raw()` in a `jsonb` column,
//! which would sort the members again.

use regex_lite::{Regex, RegexBuilder};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Number, Value};
use std::collections::HashSet;
use std::fmt;

/// Deepest nesting of schemas, the root object counting as 1.
const MAX_DEPTH: usize = 5;
/// Properties in the whole schema, nested ones included.
const MAX_PROPERTIES: usize = 200;
const MAX_PATTERN_CHARS: usize = 200;
/// Compiled size of a `pattern`, so one admin's regex cannot make every submission slow.
const REGEX_SIZE_LIMIT: usize = 1 << 18;
/// `maxLength` when the schema gives none: text is never unbounded.
const DEFAULT_MAX_LENGTH: usize = 10_000;
/// `maxItems` when the schema gives none: lists are never unbounded.
const DEFAULT_MAX_ITEMS: usize = 1_000;
const MAX_ENUM_VALUES: usize = 1_000;
const MAX_NAME_CHARS: usize = 64;

const ANNOTATIONS: [&str; 4] = ["title", "title_en", "description", "placeholder"];
const OBJECT_KEYWORDS: [&str; 2] = ["properties", "required"];
const STRING_KEYWORDS: [&str; 6] = [
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "enum",
    "enumLabels",
];
const NUMBER_KEYWORDS: [&str; 2] = ["minimum", "maximum"];
const ARRAY_KEYWORDS: [&str; 3] = ["items", "minItems", "maxItems"];
const FORMATS: &str = "`email`, `phone`, `cccd`, `date`";

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

/// One problem with submitted data (defined with the errors, which carry it to the caller).
pub use crate::error::FieldError;

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

#[derive(Debug, Clone, Default)]
struct ObjectSchema {
    props: Vec<Prop>,
}

#[derive(Debug, Clone)]
struct Prop {
    name: String,
    required: bool,
    field: Field,
}

#[derive(Debug, Clone)]
struct Field {
    /// Always present on properties; items and the root may go without.
    title: Option<String>,
    title_en: Option<String>,
    description: Option<String>,
    placeholder: Option<String>,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Object(ObjectSchema),
    Text(TextSchema),
    Number {
        integer: bool,
        minimum: Option<Bound>,
        maximum: Option<Bound>,
    },
    Boolean,
    Array {
        items: Box<Field>,
        min_items: Option<usize>,
        max_items: Option<usize>,
    },
}

#[derive(Debug, Clone)]
struct TextSchema {
    min_length: Option<usize>,
    max_length: Option<usize>,
    pattern: Option<Regex>,
    format: Option<Format>,
    /// Enum (value, label); empty when the string is free text.
    options: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Email,
    Phone,
    Cccd,
    Date,
}

/// A `minimum` / `maximum`: compared as f64, shown as the admin wrote it.
#[derive(Debug, Clone)]
struct Bound {
    value: f64,
    shown: String,
}

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
        let mut checker = Checker::default();
        let root_label = Label {
            vi: "Dữ liệu biểu mẫu",
            en: "Form data",
        };
        match data {
            Value::Null => checker.object(&self.root, &Map::new()),
            Value::Object(members) => checker.object(&self.root, members),
            _ => checker.type_error(root_label, &Kind::Object(ObjectSchema::default())),
        }
        if checker.errors.is_empty() {
            Ok(())
        } else {
            Err(checker.errors)
        }
    }

    /// Top-level fields in order, for rendering.
    pub fn fields(&self) -> Vec<FieldInfo> {
        self.root
            .props
            .iter()
            .map(|p| p.field.info(&p.name, p.required, None))
            .collect()
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
        let field = Compiler::default().field(&source, &mut String::new(), 1, Role::Root)?;
        let Kind::Object(root) = field.kind else {
            unreachable!("the compiler only accepts an object at the root")
        };
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
                 enumLabels, minimum, maximum, items, minItems, maxItems, required) with \
                 `title` (Vietnamese), `title_en`, `description` and `placeholder`.",
            ))
            .into()
    }
}

impl utoipa::ToSchema for FormSchema {}

impl Format {
    fn parse(s: &str) -> Option<Format> {
        Some(match s {
            "email" => Format::Email,
            "phone" => Format::Phone,
            "cccd" => Format::Cccd,
            "date" => Format::Date,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Format::Email => "email",
            Format::Phone => "phone",
            Format::Cccd => "cccd",
            Format::Date => "date",
        }
    }

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
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !shape {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap_or(0);
    let year = i32::try_from(num(0..4)).unwrap_or(0);
    chrono::NaiveDate::from_ymd_opt(year, num(5..7), num(8..10)).is_some()
}

// ---------------------------------------------------------------------------------------
// Reading schemas

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

/// Appends one JSON Pointer segment (RFC 6901 escaping).
fn push_pointer(path: &mut String, segment: &str) {
    path.push('/');
    for c in segment.chars() {
        match c {
            '~' => path.push_str("~0"),
            '/' => path.push_str("~1"),
            c => path.push(c),
        }
    }
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
        for (key, _) in members.iter() {
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

fn text_schema(members: &Members, path: &str) -> Result<TextSchema, SchemaError> {
    let min_length = count(members, "minLength", path)?;
    let max_length = count(members, "maxLength", path)?;
    ordered(min_length, max_length, ("minLength", "maxLength"), path)?;
    let pattern = match text(members, "pattern", path)? {
        None => None,
        Some(p) if p.chars().count() > MAX_PATTERN_CHARS => {
            return Err(fail(
                &at(path, "pattern"),
                format!("longer than {MAX_PATTERN_CHARS} characters"),
            ));
        }
        Some(p) => {
            let compile = |re: &str| {
                RegexBuilder::new(re)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .build()
                    .map_err(|e| fail(&at(path, "pattern"), format!("invalid regex: {e}")))
            };
            // Alone first: `a)|(b` is unbalanced there, but would slip out of the anchors.
            compile(&p)?;
            Some(compile(&format!("^(?:{p})$"))?)
        }
    };
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
    let constrained = min_length.is_some() || max_length.is_some() || pattern.is_some();
    if format == Some(Format::Date) && constrained {
        return Err(fail(
            path,
            "a date cannot have `minLength`, `maxLength` or `pattern`",
        ));
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
        format,
        options,
    })
}

impl Field {
    fn info(&self, name: &str, required: bool, parent: Option<&FieldInfo>) -> FieldInfo {
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

// ---------------------------------------------------------------------------------------
// Checking data

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
            if !is_date(s) {
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

// ---------------------------------------------------------------------------------------
// JSON with ordered members

/// JSON whose object members stay in document order (`serde_json::Value` sorts them here).
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    fn from_value(v: &Value) -> Json {
        match v {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Number(n) => Json::Number(n.clone()),
            Value::String(s) => Json::String(s.clone()),
            Value::Array(a) => Json::Array(a.iter().map(Json::from_value).collect()),
            Value::Object(m) => Json::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), Json::from_value(v)))
                    .collect(),
            ),
        }
    }

    fn to_value(&self) -> Value {
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => Value::Number(n.clone()),
            Json::String(s) => Value::String(s.clone()),
            Json::Array(a) => Value::Array(a.iter().map(Json::to_value).collect()),
            Json::Object(m) => {
                Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_value())).collect())
            }
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => s.serialize_unit(),
            Json::Bool(b) => s.serialize_bool(*b),
            Json::Number(n) => n.serialize(s),
            Json::String(v) => s.serialize_str(v),
            Json::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Json::Object(members) => {
                let mut map = s.serialize_map(Some(members.len()))?;
                for (k, v) in members {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Json, E> {
        Number::from_f64(v)
            .map(Json::Number)
            .ok_or_else(|| E::custom("numbers must be finite"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_none<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        Json::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    /// Keeps members in order and refuses duplicates, which a `Value` would silently merge.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut members: Vec<(String, Json)> = Vec::new();
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format!("duplicate key `{key}`")));
            }
            let value = map.next_value()?;
            members.push((key, value));
        }
        Ok(Json::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// Cấp giấy phép lao động cho người lao động nước ngoài: members deliberately not in
    /// alphabetical order, to see that the written order is what renders.
    const WORK_PERMIT: &str = r#"{
      "type": "object",
      "title": "Tờ khai đề nghị cấp giấy phép lao động",
      "properties": {
        "ho_ten": {"type": "string", "title": "Họ và tên", "title_en": "Full name",
                   "minLength": 2, "maxLength": 100, "placeholder": "Nguyễn Văn A"},
        "ngay_sinh": {"type": "string", "format": "date", "title": "Ngày sinh",
                      "title_en": "Date of birth"},
        "quoc_tich": {"type": "string", "title": "Quốc tịch", "title_en": "Nationality",
                      "enum": ["VN", "CN", "KR", "JP", "US"],
                      "enumLabels": ["Việt Nam", "Trung Quốc", "Hàn Quốc", "Nhật Bản", "Hoa Kỳ"]},
        "so_ho_chieu": {"type": "string", "title": "Số hộ chiếu", "title_en": "Passport number",
                        "pattern": "[A-Z][0-9]{7}", "description": "Như trên hộ chiếu"},
        "email": {"type": "string", "format": "email", "title": "Thư điện tử", "title_en": "Email"},
        "dien_thoai": {"type": "string", "format": "phone", "title": "Điện thoại", "title_en": "Phone"},
        "so_cccd": {"type": "string", "format": "cccd", "title": "Số CCCD người đại diện"},
        "so_thang": {"type": "integer", "title": "Thời hạn đề nghị (tháng)", "minimum": 1, "maximum": 24},
        "muc_luong": {"type": "number", "title": "Mức lương (triệu đồng)", "minimum": 0},
        "da_co_giay_phep": {"type": "boolean", "title": "Đã từng được cấp giấy phép"},
        "nguoi_lao_dong": {
          "type": "array", "title": "Danh sách người lao động", "title_en": "Workers",
          "minItems": 1, "maxItems": 50,
          "items": {
            "type": "object",
            "properties": {
              "ho_ten": {"type": "string", "title": "Họ và tên", "title_en": "Full name", "maxLength": 100},
              "so_ho_chieu": {"type": "string", "title": "Số hộ chiếu", "title_en": "Passport number",
                              "pattern": "[A-Z][0-9]{7}"},
              "ngay_sinh": {"type": "string", "format": "date", "title": "Ngày sinh"},
              "vi_tri": {"type": "string", "title": "Vị trí công việc",
                         "enum": ["quan_ly", "chuyen_gia", "ky_thuat"],
                         "enumLabels": ["Nhà quản lý", "Chuyên gia", "Lao động kỹ thuật"]}
            },
            "required": ["ho_ten", "so_ho_chieu", "vi_tri"]
          }
        }
      },
      "required": ["ho_ten", "ngay_sinh", "quoc_tich", "so_ho_chieu", "email", "dien_thoai",
                   "nguoi_lao_dong"]
    }"#;

    const TOP_REQUIRED: [&str; 7] = [
        "ho_ten",
        "ngay_sinh",
        "quoc_tich",
        "so_ho_chieu",
        "email",
        "dien_thoai",
        "nguoi_lao_dong",
    ];
    const WORKER_REQUIRED: [&str; 3] = ["ho_ten", "so_ho_chieu", "vi_tri"];

    fn permit() -> FormSchema {
        FormSchema::parse_str(WORK_PERMIT).unwrap()
    }

    fn valid() -> Value {
        json!({
            "ho_ten": "Nguyễn Thị Ánh Tuyết",
            "ngay_sinh": "1985-02-28",
            "quoc_tich": "KR",
            "so_ho_chieu": "M1234567",
            "email": "tuyet.nguyen@congty.com.vn",
            "dien_thoai": "0912345678",
            "so_cccd": "001085012345",
            "so_thang": 24,
            "muc_luong": 45.5,
            "da_co_giay_phep": false,
            "nguoi_lao_dong": [
                {"ho_ten": "Kim Min-jun", "so_ho_chieu": "M7654321", "vi_tri": "chuyen_gia"},
                {"ho_ten": "Tanaka Hiroshi", "so_ho_chieu": "T0000001", "vi_tri": "quan_ly",
                 "ngay_sinh": "1979-12-31"}
            ]
        })
    }

    /// Schema with one property `f` of the given schema.
    fn one(field: Value) -> FormSchema {
        FormSchema::parse(&json!({"type": "object", "properties": {"f": field}})).unwrap()
    }

    fn codes(schema: &FormSchema, data: Value) -> Vec<(String, String)> {
        match schema.validate(&data) {
            Ok(()) => Vec::new(),
            Err(errors) => errors.into_iter().map(|e| (e.path, e.code)).collect(),
        }
    }

    fn err(path: &str, code: &str) -> Vec<(String, String)> {
        vec![(path.to_owned(), code.to_owned())]
    }

    fn schema_err(raw: Value) -> String {
        FormSchema::parse(&raw).unwrap_err().0
    }

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

//! The compiled form of a schema: what `compile` builds from the JSON once, and what checking
//! data and listing fields read.

use regex_lite::Regex;

#[derive(Debug, Clone, Default)]
pub(super) struct ObjectSchema {
    pub(super) props: Vec<Prop>,
}

#[derive(Debug, Clone)]
pub(super) struct Prop {
    pub(super) name: String,
    pub(super) required: bool,
    pub(super) field: Field,
}

#[derive(Debug, Clone)]
pub(super) struct Field {
    /// Always present on properties; items and the root may go without.
    pub(super) title: Option<String>,
    pub(super) title_en: Option<String>,
    pub(super) description: Option<String>,
    pub(super) placeholder: Option<String>,
    pub(super) kind: Kind,
}

#[derive(Debug, Clone)]
pub(super) enum Kind {
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
pub(super) struct TextSchema {
    pub(super) min_length: Option<usize>,
    pub(super) max_length: Option<usize>,
    pub(super) pattern: Option<Regex>,
    /// The pattern as written (the compiled one is anchored).
    pub(super) pattern_source: Option<String>,
    pub(super) format: Option<Format>,
    /// Enum (value, label); empty when the string is free text.
    pub(super) options: Vec<(String, String)>,
    /// English labels of the options, in their order; empty when the schema gives none.
    pub(super) options_en: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    Email,
    Phone,
    Cccd,
    Date,
}

/// A `minimum` / `maximum`: compared as f64, shown as the admin wrote it.
#[derive(Debug, Clone)]
pub(super) struct Bound {
    pub(super) value: f64,
    pub(super) shown: String,
}

impl Format {
    pub(super) fn parse(s: &str) -> Option<Format> {
        Some(match s {
            "email" => Format::Email,
            "phone" => Format::Phone,
            "cccd" => Format::Cccd,
            "date" => Format::Date,
            _ => return None,
        })
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Format::Email => "email",
            Format::Phone => "phone",
            Format::Cccd => "cccd",
            Format::Date => "date",
        }
    }
}

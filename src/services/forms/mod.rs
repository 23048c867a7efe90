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
mod json;
mod model;
mod schema;

pub use fields::{FieldInfo, answers};
pub use schema::{FormSchema, SchemaError};

/// One problem with submitted data (defined with the errors, which carry it to the caller).
pub use crate::error::FieldError;

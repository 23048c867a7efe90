//! Status enums stored in `text` columns. One declaration gives the enum its stored and JSON
//! names (the same), `as_str`, `Display`, `FromStr`, and diesel's `ToSql`/`FromSql`, so a
//! status is never a bare string and an unknown stored name is a query error, never a panic.

/// ```ignore
/// text_enum! {
///     /// What the doc says.
///     pub enum SchemaState("migration state") { Ok = "ok", Failed = "failed" }
/// }
/// ```
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident($what:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            Hash,
            serde::Serialize,
            serde::Deserialize,
            diesel::expression::AsExpression,
            diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant ),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        // Written out rather than derived: utoipa's derive does not see a variant's serde
        // rename made by this macro and would document the Rust names (`Active`).
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        /// As text, padded like a `str` (so it lines up in a column).
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, String> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|x| x.as_str() == s)
                    .ok_or_else(|| format!(concat!("unknown ", $what, " `{}`"), s))
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg>>::to_sql(
                    self.as_str(),
                    out,
                )
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn from_sql(value: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                Ok(std::str::from_utf8(value.as_bytes())?.parse()?)
            }
        }
    };
}

pub(crate) use text_enum;

#[cfg(test)]
mod tests {
    text_enum! {
        /// A test status.
        pub enum Light("light") { Red = "red", Amber = "amber_light", Green = "green" }
    }

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused() {
        for &l in Light::ALL {
            assert_eq!(l.as_str().parse::<Light>(), Ok(l));
            assert_eq!(serde_json::to_value(l).unwrap(), l.as_str());
        }
        assert_eq!(Light::Amber.as_str(), "amber_light");
        assert_eq!(format!("{:<6}|", Light::Red), "red   |");
        assert_eq!("blue".parse::<Light>().unwrap_err(), "unknown light `blue`");
        assert!("Red".parse::<Light>().is_err());
        assert!(serde_json::from_str::<Light>("\"amber\"").is_err());
    }

    #[test]
    fn the_openapi_schema_lists_the_stored_names() {
        use utoipa::{PartialSchema, ToSchema};
        let schema = serde_json::to_value(Light::schema()).unwrap();
        assert_eq!(schema["type"], "string");
        assert_eq!(
            schema["enum"],
            serde_json::json!(["red", "amber_light", "green"])
        );
        assert_eq!(Light::name(), "Light");
    }
}

//! Catalog storage. Every function takes a connection already scoped to one tenant by
//! [`crate::db::TenantDb`]; table names are unqualified on purpose.

use super::{FieldRef, OnlineLevel, Procedure, ProcedurePage, ProcedureQuery, RequiredDocument};
use crate::db::schema::tenant::{fields, procedures};
use crate::services::dossiers::workflow::DecideRole;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Int4, Int8, Jsonb, Nullable, Text};

/// The catalog query, written once so the benchmark can run the very same SQL through pgbench.
/// One statement returns the page and the total, even for a page past the end.
pub const PAGE_SQL: &str = "\
WITH matched AS (
    SELECT p.code, p.name_vi, p.name_en, p.field_code, f.name_vi AS field_name_vi,
           f.name_en AS field_name_en, p.online_level, p.processing_days, p.fee_vnd,
           p.documents, p.search_text, p.form_schema, p.decide_role, p.inherited_from,
           p.fee_rule, p.pay_before_processing, p.process, p.details, p.template,
           p.adopted_version
    FROM procedures p JOIN fields f ON f.code = p.field_code
    WHERE p.active
      AND ($1::text IS NULL OR p.field_code = $1)
      AND ($2::text IS NULL OR p.search_text LIKE $2 ESCAPE '\\')
)
SELECT t.total, m.*
FROM (SELECT count(*) AS total FROM matched) t
LEFT JOIN LATERAL (SELECT * FROM matched ORDER BY code LIMIT $3 OFFSET $4) m ON true";

#[derive(QueryableByName)]
struct PageRow {
    #[diesel(sql_type = BigInt)]
    total: i64,
    #[diesel(sql_type = Nullable<Text>)]
    code: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    name_vi: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    name_en: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    field_code: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    field_name_vi: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    field_name_en: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    online_level: Option<String>,
    #[diesel(sql_type = Nullable<Int4>)]
    processing_days: Option<i32>,
    #[diesel(sql_type = Nullable<Int8>)]
    fee_vnd: Option<i64>,
    #[diesel(sql_type = Nullable<Jsonb>)]
    documents: Option<serde_json::Value>,
    #[diesel(sql_type = Nullable<Text>)]
    search_text: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    form_schema: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    decide_role: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    inherited_from: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    fee_rule: Option<String>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Bool>)]
    pay_before_processing: Option<bool>,
    #[diesel(sql_type = Nullable<Jsonb>)]
    process: Option<serde_json::Value>,
    #[diesel(sql_type = Nullable<Jsonb>)]
    details: Option<serde_json::Value>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Bool>)]
    template: Option<bool>,
    #[diesel(sql_type = Nullable<Int4>)]
    adopted_version: Option<i32>,
}

/// Columns of one procedure with its field, as read from the database.
type ProcedureColumns = (
    String,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    String,
    i32,
    i64,
    serde_json::Value,
    String,
    String,
    String,
    Option<String>,
    String,
    bool,
    Option<serde_json::Value>,
    serde_json::Value,
    bool,
    Option<i32>,
);

fn to_procedure(c: ProcedureColumns) -> QueryResult<Procedure> {
    let (
        code,
        name,
        name_en,
        field_code,
        field_name,
        field_name_en,
        level,
        days,
        fee,
        docs,
        st,
        form_schema,
        decide,
        inherited_from,
        fee_rule,
        pay_before_processing,
        process,
        details,
        template,
        adopted_version,
    ) = c;
    let details = serde_json::from_value(details)
        .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?;
    let process = process
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?;
    let fee_rule = crate::services::payments::FeeRule::parse(&fee_rule)
        .map_err(|e| diesel::result::Error::DeserializationError(e.into()))?;
    let form_schema: serde_json::Value = serde_json::from_str(&form_schema)
        .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?;
    let decide_role = DecideRole::parse(&decide).ok_or_else(|| {
        diesel::result::Error::DeserializationError(format!("decide role {decide}").into())
    })?;
    let online_level = OnlineLevel::parse(&level).ok_or_else(|| {
        diesel::result::Error::DeserializationError(format!("online level {level}").into())
    })?;
    let documents: Vec<RequiredDocument> = serde_json::from_value(docs)
        .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?;
    Ok(Procedure {
        code,
        name,
        name_en,
        field: FieldRef {
            code: field_code,
            name: field_name,
            name_en: field_name_en,
        },
        online_level,
        processing_days: days,
        fee_vnd: fee,
        documents,
        form_schema,
        decide_role,
        inherited_from,
        fee_rule,
        pay_before_processing,
        process,
        details,
        template,
        adopted_version,
        search_text: st,
    })
}

impl PageRow {
    fn into_procedure(self) -> QueryResult<Option<Procedure>> {
        let Some(code) = self.code else {
            return Ok(None);
        };
        let missing = || diesel::result::Error::DeserializationError("missing column".into());
        to_procedure((
            code,
            self.name_vi.ok_or_else(missing)?,
            self.name_en,
            self.field_code.ok_or_else(missing)?,
            self.field_name_vi.ok_or_else(missing)?,
            self.field_name_en,
            self.online_level.ok_or_else(missing)?,
            self.processing_days.ok_or_else(missing)?,
            self.fee_vnd.ok_or_else(missing)?,
            self.documents.ok_or_else(missing)?,
            self.search_text.ok_or_else(missing)?,
            self.form_schema.ok_or_else(missing)?,
            self.decide_role.ok_or_else(missing)?,
            self.inherited_from,
            self.fee_rule.ok_or_else(missing)?,
            self.pay_before_processing.ok_or_else(missing)?,
            self.process,
            self.details.ok_or_else(missing)?,
            self.template.ok_or_else(missing)?,
            self.adopted_version,
        ))
        .map(Some)
    }
}

/// One page straight from the database (the uncached path).
pub fn query_page(conn: &mut PgConnection, q: &ProcedureQuery) -> QueryResult<ProcedurePage> {
    let rows: Vec<PageRow> = diesel::sql_query(PAGE_SQL)
        .bind::<Nullable<Text>, _>(q.field.as_ref().map(|f| f.as_str().to_owned()))
        .bind::<Nullable<Text>, _>(
            q.terms
                .as_ref()
                .map(super::super::text::SearchTerms::like_pattern),
        )
        .bind::<BigInt, _>(i64::from(q.per_page))
        .bind::<BigInt, _>(q.offset() as i64)
        .load(conn)?;
    let total = rows.first().map_or(0, |r| r.total) as u64;
    let mut items = Vec::with_capacity(rows.len());
    for r in rows {
        if let Some(p) = r.into_procedure()? {
            items.push(p);
        }
    }
    Ok(ProcedurePage {
        items,
        total,
        page: q.page,
        per_page: q.per_page,
    })
}

// The select clause as a tuple of columns: diesel spells it out; a type alias would only
// repeat it.
#[allow(clippy::type_complexity)]
fn columns() -> (
    procedures::code,
    procedures::name_vi,
    procedures::name_en,
    procedures::field_code,
    fields::name_vi,
    fields::name_en,
    procedures::online_level,
    procedures::processing_days,
    procedures::fee_vnd,
    procedures::documents,
    procedures::search_text,
    procedures::form_schema,
    procedures::decide_role,
    procedures::inherited_from,
    procedures::fee_rule,
    procedures::pay_before_processing,
    procedures::process,
    procedures::details,
    procedures::template,
    procedures::adopted_version,
) {
    (
        procedures::code,
        procedures::name_vi,
        procedures::name_en,
        procedures::field_code,
        fields::name_vi,
        fields::name_en,
        procedures::online_level,
        procedures::processing_days,
        procedures::fee_vnd,
        procedures::documents,
        procedures::search_text,
        procedures::form_schema,
        procedures::decide_role,
        procedures::inherited_from,
        procedures::fee_rule,
        procedures::pay_before_processing,
        procedures::process,
        procedures::details,
        procedures::template,
        procedures::adopted_version,
    )
}

/// Every active procedure, sorted by code: what the cache holds.
pub fn load_active(conn: &mut PgConnection) -> QueryResult<Vec<Procedure>> {
    procedures::table
        .inner_join(fields::table)
        .filter(procedures::active.eq(true))
        .order(procedures::code)
        .select(columns())
        .load::<ProcedureColumns>(conn)?
        .into_iter()
        .map(to_procedure)
        .collect()
}

/// One active procedure by code.
pub fn find_active(conn: &mut PgConnection, code: &str) -> QueryResult<Option<Procedure>> {
    procedures::table
        .inner_join(fields::table)
        .filter(procedures::active.eq(true))
        .filter(procedures::code.eq(code))
        .select(columns())
        .first::<ProcedureColumns>(conn)
        .optional()?
        .map(to_procedure)
        .transpose()
}

/// Procedures this tenant's children may adopt: those it offers and its templates, by code.
pub fn load_adoptable(conn: &mut PgConnection) -> QueryResult<Vec<Procedure>> {
    procedures::table
        .inner_join(fields::table)
        .filter(procedures::active.or(procedures::template))
        .order(procedures::code)
        .select(columns())
        .load::<ProcedureColumns>(conn)?
        .into_iter()
        .map(to_procedure)
        .collect()
}

/// One procedure the tenant's children may adopt, by code.
pub fn find_adoptable(conn: &mut PgConnection, code: &str) -> QueryResult<Option<Procedure>> {
    procedures::table
        .inner_join(fields::table)
        .filter(procedures::active.or(procedures::template))
        .filter(procedures::code.eq(code))
        .select(columns())
        .first::<ProcedureColumns>(conn)
        .optional()?
        .map(to_procedure)
        .transpose()
}

/// How a tenant adapts a parent's procedure it adopts.
#[derive(Debug, Default)]
pub struct Adaptation<'a> {
    /// This tenant's fee in đồng (default: the parent's).
    pub fee_vnd: Option<i64>,
    /// This tenant's amount per listed item when the parent's fee counts items (e.g. per
    /// worker; default: the parent's).
    pub fee_per_item_vnd: Option<i64>,
    /// This tenant's time limit (default: the parent's).
    pub processing_days: Option<i32>,
    /// This tenant's own process (default: the parent's).
    pub process: Option<&'a crate::services::processes::Process>,
    /// Documents this tenant asks for beyond the parent's (marked `local`).
    pub local_documents: &'a [RequiredDocument],
    /// The parent's version adopted.
    pub parent_version: Option<i32>,
}

/// Adopts (or refreshes) a parent tenant's procedure in the current schema, adapted; its
/// field comes along.
pub fn adopt(
    conn: &mut PgConnection,
    source: &Procedure,
    adapt: &Adaptation<'_>,
    parent_slug: &str,
) -> QueryResult<()> {
    let mut documents: Vec<RequiredDocument> = source
        .documents
        .iter()
        .filter(|d| !d.local)
        .cloned()
        .collect();
    documents.extend(adapt.local_documents.iter().cloned().map(|mut d| {
        d.local = true;
        d
    }));
    let documents = serde_json::to_value(&documents)
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    let mut fee_rule = source.fee_rule.clone();
    if let (Some(per_item), Some(amount)) = (fee_rule.per_item.as_mut(), adapt.fee_per_item_vnd) {
        per_item.amount_vnd = amount;
    }
    upsert(
        conn,
        &[FieldUpsert {
            code: &source.field.code,
            name_vi: &source.field.name,
            name_en: source.field.name_en.as_deref(),
        }],
        &[ProcedureUpsert {
            code: &source.code,
            name_vi: &source.name,
            name_en: source.name_en.as_deref(),
            field_code: &source.field.code,
            online_level: source.online_level,
            processing_days: adapt.processing_days.unwrap_or(source.processing_days),
            fee_vnd: adapt.fee_vnd.unwrap_or(source.fee_vnd),
            documents,
            active: true,
            form_schema: source.form_schema.clone(),
            decide_role: source.decide_role,
            inherited_from: Some(parent_slug),
            fee_rule: &fee_rule,
            pay_before_processing: source.pay_before_processing,
            // This tenant's own process for it, else the parent's.
            process: adapt.process.or(source.process.as_ref()),
            details: &source.details,
            template: false,
            adopted_version: adapt.parent_version,
            edited_in: "adopted",
        }],
    )
}

/// A field to create or update.
pub struct FieldUpsert<'a> {
    pub code: &'a str,
    pub name_vi: &'a str,
    pub name_en: Option<&'a str>,
}

/// A procedure to create or update.
pub struct ProcedureUpsert<'a> {
    pub code: &'a str,
    pub name_vi: &'a str,
    pub name_en: Option<&'a str>,
    pub field_code: &'a str,
    pub online_level: OnlineLevel,
    pub processing_days: i32,
    pub fee_vnd: i64,
    pub documents: serde_json::Value,
    pub active: bool,
    pub form_schema: serde_json::Value,
    pub decide_role: DecideRole,
    pub inherited_from: Option<&'a str>,
    pub fee_rule: &'a crate::services::payments::FeeRule,
    pub pay_before_processing: bool,
    /// The declared process, already checked; `None` keeps the fixed path.
    pub process: Option<&'a crate::services::processes::Process>,
    pub details: &'a super::Details,
    pub template: bool,
    pub adopted_version: Option<i32>,
    /// Where this definition comes from: `file`, `designer`, `api`, `import`, `adopted`.
    pub edited_in: &'a str,
}

/// Creates or updates fields and procedures; never deletes.
pub fn upsert(
    conn: &mut PgConnection,
    field_rows: &[FieldUpsert<'_>],
    procedure_rows: &[ProcedureUpsert<'_>],
) -> QueryResult<()> {
    use diesel::upsert::excluded;
    if !field_rows.is_empty() {
        let values: Vec<_> = field_rows
            .iter()
            .map(|f| {
                (
                    fields::code.eq(f.code),
                    fields::name_vi.eq(f.name_vi),
                    fields::name_en.eq(f.name_en),
                )
            })
            .collect();
        diesel::insert_into(fields::table)
            .values(values)
            .on_conflict(fields::code)
            .do_update()
            .set((
                fields::name_vi.eq(excluded(fields::name_vi)),
                fields::name_en.eq(excluded(fields::name_en)),
            ))
            .execute(conn)?;
    }
    if !procedure_rows.is_empty() {
        let values: Vec<_> = procedure_rows
            .iter()
            .map(|p| {
                let search_text = crate::services::text::fold(&format!(
                    "{} {} {}",
                    p.code,
                    p.name_vi,
                    p.name_en.unwrap_or("")
                ));
                (
                    procedures::code.eq(p.code),
                    procedures::name_vi.eq(p.name_vi),
                    procedures::name_en.eq(p.name_en),
                    procedures::field_code.eq(p.field_code),
                    procedures::online_level.eq(p.online_level.as_str()),
                    procedures::processing_days.eq(p.processing_days),
                    procedures::fee_vnd.eq(p.fee_vnd),
                    procedures::documents.eq(&p.documents),
                    procedures::active.eq(p.active),
                    procedures::search_text.eq(search_text),
                    procedures::form_schema
                        .eq(crate::services::forms::canonical(&p.form_schema).to_string()),
                    procedures::decide_role.eq(p.decide_role.as_str()),
                    procedures::inherited_from.eq(p.inherited_from),
                    procedures::fee_rule.eq(serde_json::to_string(p.fee_rule).unwrap_or_default()),
                    procedures::pay_before_processing.eq(p.pay_before_processing),
                    procedures::process.eq(p.process.and_then(|x| serde_json::to_value(x).ok())),
                    procedures::details.eq(serde_json::to_value(p.details).unwrap_or_default()),
                    procedures::template.eq(p.template),
                    procedures::adopted_version.eq(p.adopted_version),
                    procedures::edited_in.eq(p.edited_in),
                )
            })
            .collect();
        diesel::insert_into(procedures::table)
            .values(values)
            .on_conflict(procedures::code)
            .do_update()
            .set((
                procedures::name_vi.eq(excluded(procedures::name_vi)),
                procedures::name_en.eq(excluded(procedures::name_en)),
                procedures::field_code.eq(excluded(procedures::field_code)),
                procedures::online_level.eq(excluded(procedures::online_level)),
                procedures::processing_days.eq(excluded(procedures::processing_days)),
                procedures::fee_vnd.eq(excluded(procedures::fee_vnd)),
                procedures::documents.eq(excluded(procedures::documents)),
                procedures::active.eq(excluded(procedures::active)),
                procedures::search_text.eq(excluded(procedures::search_text)),
                procedures::form_schema.eq(excluded(procedures::form_schema)),
                procedures::decide_role.eq(excluded(procedures::decide_role)),
                procedures::inherited_from.eq(excluded(procedures::inherited_from)),
                procedures::fee_rule.eq(excluded(procedures::fee_rule)),
                procedures::pay_before_processing.eq(excluded(procedures::pay_before_processing)),
                procedures::process.eq(excluded(procedures::process)),
                procedures::details.eq(excluded(procedures::details)),
                procedures::template.eq(excluded(procedures::template)),
                procedures::adopted_version.eq(excluded(procedures::adopted_version)),
                procedures::edited_in.eq(excluded(procedures::edited_in)),
                // A bound time, not `now()`: Citus takes only immutable functions in an
                // upsert's `DO UPDATE SET` on a distributed table.
                procedures::updated_at.eq(chrono::Utc::now()),
            ))
            .execute(conn)?;
        let codes: Vec<&str> = procedure_rows.iter().map(|p| p.code).collect();
        super::versions::record(conn, &codes)?;
    }
    Ok(())
}

/// Creates or renames the tenant's units (`agencies`); never deletes one, since dossiers'
/// history names them.
pub fn upsert_units(
    conn: &mut PgConnection,
    units: &[(&str, &str, Option<&str>)],
) -> QueryResult<()> {
    use crate::db::schema::tenant::agencies;
    use diesel::upsert::excluded;
    if units.is_empty() {
        return Ok(());
    }
    let values: Vec<_> = units
        .iter()
        .map(|(code, vi, en)| {
            (
                agencies::code.eq(*code),
                agencies::name_vi.eq(*vi),
                agencies::name_en.eq(*en),
            )
        })
        .collect();
    diesel::insert_into(agencies::table)
        .values(values)
        .on_conflict(agencies::code)
        .do_update()
        .set((
            agencies::name_vi.eq(excluded(agencies::name_vi)),
            agencies::name_en.eq(excluded(agencies::name_en)),
        ))
        .execute(conn)
        .map(drop)
}

pub fn field_exists(conn: &mut PgConnection, code: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        fields::table.filter(fields::code.eq(code)),
    ))
    .get_result(conn)
}

/// One procedure by code, active or not.
pub fn find_any(conn: &mut PgConnection, code: &str) -> QueryResult<Option<Procedure>> {
    procedures::table
        .inner_join(fields::table)
        .filter(procedures::code.eq(code))
        .select(columns())
        .first::<ProcedureColumns>(conn)
        .optional()?
        .map(to_procedure)
        .transpose()
}

/// Turns a procedure on or off; false if there is no such procedure.
pub fn set_active(conn: &mut PgConnection, code: &str, active: bool) -> QueryResult<bool> {
    diesel::update(procedures::table.filter(procedures::code.eq(code)))
        .set((
            procedures::active.eq(active),
            procedures::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .map(|n| n > 0)
}

/// Declares (or, with `None`, removes) a procedure's process; `false` when there is no such
/// procedure. Dossiers in flight keep their step index; a changed process applies from their
/// next move.
pub fn set_process(
    conn: &mut PgConnection,
    code: &str,
    process: Option<&crate::services::processes::Process>,
) -> QueryResult<bool> {
    let value = process.map(|p| serde_json::to_value(p).unwrap_or_default());
    Ok(
        diesel::update(procedures::table.filter(procedures::code.eq(code)))
            .set(procedures::process.eq(value))
            .execute(conn)?
            > 0,
    )
}

/// The tenant's fields (code, Vietnamese name), by code.
pub fn field_names(conn: &mut PgConnection) -> QueryResult<Vec<(String, String)>> {
    fields::table
        .order(fields::code)
        .select((fields::code, fields::name_vi))
        .load(conn)
}

/// Every procedure, withdrawn ones too: code, Vietnamese name, whether it is offered.
pub fn list_brief(conn: &mut PgConnection) -> QueryResult<Vec<(String, String, bool)>> {
    procedures::table
        .order(procedures::code)
        .select((procedures::code, procedures::name_vi, procedures::active))
        .load(conn)
}

/// Every procedure, withdrawn ones and templates too, by code.
pub fn load_all(conn: &mut PgConnection) -> QueryResult<Vec<Procedure>> {
    procedures::table
        .inner_join(fields::table)
        .order(procedures::code)
        .select(columns())
        .load::<ProcedureColumns>(conn)?
        .into_iter()
        .map(to_procedure)
        .collect()
}

/// The procedures this tenant adopted from `parent`: code, Vietnamese name, version taken.
pub fn adopted_from(
    conn: &mut PgConnection,
    parent: &str,
) -> QueryResult<Vec<(String, String, i32)>> {
    procedures::table
        .filter(procedures::inherited_from.eq(parent))
        .filter(procedures::adopted_version.is_not_null())
        .order(procedures::code)
        .select((
            procedures::code,
            procedures::name_vi,
            procedures::adopted_version.assume_not_null(),
        ))
        .load(conn)
}

/// Whether `code` is offered now (false when there is no such procedure).
pub fn is_active(conn: &mut PgConnection, code: &str) -> QueryResult<bool> {
    Ok(procedures::table
        .filter(procedures::code.eq(code))
        .select(procedures::active)
        .first::<bool>(conn)
        .optional()?
        .unwrap_or(false))
}

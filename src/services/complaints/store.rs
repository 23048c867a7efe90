//! Complaints in the tenant's schema (through its handle, like every tenant table). Plain SQL:
//! the table is wider than diesel's sixteen-column tables.

use super::{ComplaintStatus, Filing, Kind, Subject};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Bytea, Date, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use uuid::Uuid;

/// A complaint as officials (and, for its public part, everyone) see it.
#[derive(Debug, Clone, QueryableByName, serde::Serialize, utoipa::ToSchema)]
pub struct Complaint {
    #[diesel(sql_type = SqlUuid)]
    #[serde(skip)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub code: String,
    #[diesel(sql_type = Text)]
    pub kind: Kind,
    #[diesel(sql_type = Text)]
    pub subject: Subject,
    #[diesel(sql_type = Nullable<Text>)]
    pub subject_ref: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub unit_code: Option<String>,
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = Text)]
    pub body: String,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    #[serde(skip)]
    pub filer_account: Option<Uuid>,
    #[diesel(sql_type = Text)]
    pub filer_name: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub filer_email: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub filer_phone: Option<String>,
    #[diesel(sql_type = Text)]
    #[serde(skip)]
    pub locale: String,
    #[diesel(sql_type = Bool)]
    pub consent_publish: bool,
    #[diesel(sql_type = Text)]
    pub status: ComplaintStatus,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub filed_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Date>)]
    pub due_date: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<Text>)]
    pub answer: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub answered_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Text>)]
    pub public_question: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub public_answer: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub published_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, code, kind, subject, subject_ref, unit_code, title, body, filer_account, \
    filer_name, filer_email, filer_phone, locale, consent_publish, status, filed_at, due_date, \
    answer, answered_at, public_question, public_answer, published_at";

/// `PAKN-yymmdd-nnnn` (phản ánh, kiến nghị), numbered within the tenant.
pub fn next_code(conn: &mut PgConnection, today: NaiveDate) -> QueryResult<String> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let n: N = diesel::sql_query("SELECT nextval('complaint_numbers') AS n").get_result(conn)?;
    Ok(format!("PAKN-{}-{:04}", today.format("%y%m%d"), n.n))
}

/// Where a new complaint stands when it is written.
pub struct Opening {
    pub id: Uuid,
    pub code: String,
    pub unit_code: Option<String>,
    pub filer_account: Option<Uuid>,
    pub locale: String,
    /// `Some` for a filer who must prove their contact first.
    pub verify_hash: Option<Vec<u8>>,
    /// `Some` when it is filed at once (signed in): the deadline runs.
    pub filed: Option<(DateTime<Utc>, NaiveDate)>,
}

pub fn insert(conn: &mut PgConnection, f: &Filing, o: &Opening) -> QueryResult<()> {
    let status = if o.filed.is_some() {
        ComplaintStatus::Open
    } else {
        ComplaintStatus::Unverified
    };
    diesel::sql_query(
        "INSERT INTO complaints (id, code, kind, subject, subject_ref, unit_code, title, body, \
           filer_account, filer_name, filer_email, filer_phone, locale, consent_publish, status, \
           verify_hash, filed_at, due_date) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
    )
    .bind::<SqlUuid, _>(o.id)
    .bind::<Text, _>(&o.code)
    .bind::<Text, _>(f.kind.as_str())
    .bind::<Text, _>(f.subject.as_str())
    .bind::<Nullable<Text>, _>(f.subject_ref.as_deref())
    .bind::<Nullable<Text>, _>(o.unit_code.as_deref())
    .bind::<Text, _>(&f.title)
    .bind::<Text, _>(&f.body)
    .bind::<Nullable<SqlUuid>, _>(o.filer_account)
    .bind::<Text, _>(&f.name)
    .bind::<Nullable<Text>, _>(f.email.as_ref().map(|e| e.as_str().to_owned()))
    .bind::<Nullable<Text>, _>(f.phone.as_ref().map(|p| p.international().to_owned()))
    .bind::<Text, _>(&o.locale)
    .bind::<Bool, _>(f.consent_publish)
    .bind::<Text, _>(status.as_str())
    .bind::<Nullable<Bytea>, _>(o.verify_hash.as_deref())
    .bind::<Nullable<Timestamptz>, _>(o.filed.map(|f| f.0))
    .bind::<Nullable<Date>, _>(o.filed.map(|f| f.1))
    .execute(conn)
    .map(drop)
}

pub fn by_code(conn: &mut PgConnection, code: &str) -> QueryResult<Option<Complaint>> {
    diesel::sql_query(format!("SELECT {COLUMNS} FROM complaints WHERE code = $1"))
        .bind::<Text, _>(code)
        .get_result(conn)
        .optional()
}

/// The stored code hash and attempts of an unverified complaint, locked for the check.
pub fn verification(
    conn: &mut PgConnection,
    code: &str,
) -> QueryResult<Option<(Uuid, Vec<u8>, i32)>> {
    #[derive(QueryableByName)]
    struct V {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
        #[diesel(sql_type = Bytea)]
        verify_hash: Vec<u8>,
        #[diesel(sql_type = Integer)]
        verify_attempts: i32,
    }
    let v: Option<V> = diesel::sql_query(
        "SELECT id, verify_hash, verify_attempts FROM complaints \
         WHERE code = $1 AND status = 'unverified' AND verify_hash IS NOT NULL FOR UPDATE",
    )
    .bind::<Text, _>(code)
    .get_result(conn)
    .optional()?;
    Ok(v.map(|v| (v.id, v.verify_hash, v.verify_attempts)))
}

pub fn count_attempt(conn: &mut PgConnection, id: Uuid) -> QueryResult<()> {
    diesel::sql_query("UPDATE complaints SET verify_attempts = verify_attempts + 1 WHERE id = $1")
        .bind::<SqlUuid, _>(id)
        .execute(conn)
        .map(drop)
}

/// The filer proved their contact: the complaint is filed now, and due.
pub fn open(
    conn: &mut PgConnection,
    id: Uuid,
    at: DateTime<Utc>,
    due: NaiveDate,
) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE complaints SET status = 'open', filed_at = $2, due_date = $3, verify_hash = NULL \
         WHERE id = $1 AND status = 'unverified'",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Timestamptz, _>(at)
    .bind::<Date, _>(due)
    .execute(conn)
    .map(drop)
}

/// Filed complaints, open first by due date, then the rest newest first.
pub fn list(
    conn: &mut PgConnection,
    status: Option<ComplaintStatus>,
    limit: i64,
) -> QueryResult<Vec<Complaint>> {
    diesel::sql_query(format!(
        "SELECT {COLUMNS} FROM complaints WHERE status <> 'unverified' \
           AND ($1::text IS NULL OR status = $1) \
         ORDER BY (status = 'open') DESC, due_date NULLS LAST, filed_at DESC LIMIT $2"
    ))
    .bind::<Nullable<Text>, _>(status.map(ComplaintStatus::as_str))
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .load(conn)
}

/// Open complaints past their due date.
pub fn overdue(conn: &mut PgConnection, today: NaiveDate) -> QueryResult<Vec<Complaint>> {
    diesel::sql_query(format!(
        "SELECT {COLUMNS} FROM complaints WHERE status = 'open' AND due_date < $1 ORDER BY due_date"
    ))
    .bind::<Date, _>(today)
    .load(conn)
}

pub struct Answer<'a> {
    pub answer: &'a str,
    pub by: Uuid,
    pub at: DateTime<Utc>,
    /// The question and answer as published, when they are.
    pub public: Option<(&'a str, &'a str)>,
}

/// Records the answer of an open complaint; false when it is not open (answered meanwhile).
pub fn answer(conn: &mut PgConnection, id: Uuid, a: &Answer<'_>) -> QueryResult<bool> {
    let status = if a.public.is_some() {
        ComplaintStatus::Published
    } else {
        ComplaintStatus::Answered
    };
    diesel::sql_query(
        "UPDATE complaints SET status = $2, answer = $3, answered_by = $4, answered_at = $5, \
           public_question = $6, public_answer = $7, \
           published_at = CASE WHEN $6::text IS NULL THEN NULL ELSE $5 END \
         WHERE id = $1 AND status = 'open'",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(status.as_str())
    .bind::<Text, _>(a.answer)
    .bind::<SqlUuid, _>(a.by)
    .bind::<Timestamptz, _>(a.at)
    .bind::<Nullable<Text>, _>(a.public.map(|p| p.0))
    .bind::<Nullable<Text>, _>(a.public.map(|p| p.1))
    .execute(conn)
    .map(|n| n == 1)
}

/// What the public sees: published questions and answers, newest first. Only the public
/// columns leave the database.
#[derive(Debug, Clone, QueryableByName, serde::Serialize, utoipa::ToSchema)]
pub struct Published {
    #[diesel(sql_type = Text)]
    pub code: String,
    #[diesel(sql_type = Text)]
    pub kind: Kind,
    /// The question as the official made it fit to publish (the filer's own title and text
    /// may name them, and never leave the database).
    #[diesel(sql_type = Text)]
    pub question: String,
    #[diesel(sql_type = Text)]
    pub answer: String,
    #[diesel(sql_type = Timestamptz)]
    pub published_at: DateTime<Utc>,
}

pub fn published(conn: &mut PgConnection, limit: i64) -> QueryResult<Vec<Published>> {
    diesel::sql_query(
        "SELECT code, kind, public_question AS question, public_answer AS answer, \
           published_at FROM complaints WHERE status = 'published' \
         ORDER BY published_at DESC LIMIT $1",
    )
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .load(conn)
}

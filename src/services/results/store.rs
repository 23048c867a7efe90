//! Results and signing identities in the tenant's schema. Every function runs on the caller's
//! connection (the tenant's, inside its transaction where it writes).

use super::identity::IdentitySummary;
use super::model::{Digitisation, Origin, ResultView};
use crate::db::schema::tenant::{
    attachments, dossiers, procedures, result_sequences, results, signing_identities as si,
};
use crate::services::stats::{self, Delta};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

/// An identity as stored: its key still sealed.
#[derive(Debug, Clone)]
pub struct StoredIdentity {
    pub id: Uuid,
    pub summary: IdentitySummary,
    pub chain_pem: String,
    pub sealed_key: Vec<u8>,
    pub key_nonce: Vec<u8>,
}

/// Puts `identity` in use, keeping the one it replaces (its results still name it).
pub fn put_identity(conn: &mut PgConnection, new: &StoredIdentity) -> QueryResult<()> {
    diesel::update(si::table.filter(si::in_use))
        .set(si::in_use.eq(false))
        .execute(conn)?;
    let s = &new.summary;
    diesel::insert_into(si::table)
        .values((
            si::id.eq(new.id),
            si::subject.eq(&s.subject),
            si::issuer.eq(&s.issuer),
            si::serial.eq(&s.serial),
            si::fingerprint.eq(&s.fingerprint),
            si::algorithm.eq(&s.algorithm),
            si::not_before.eq(s.not_before),
            si::not_after.eq(s.not_after),
            si::chain_pem.eq(&new.chain_pem),
            si::sealed_key.eq(&new.sealed_key),
            si::key_nonce.eq(&new.key_nonce),
            si::in_use.eq(true),
        ))
        .execute(conn)
        .map(drop)
}

type IdentityRow = (
    Uuid,
    String,
    String,
    String,
    String,
    String,
    DateTime<Utc>,
    DateTime<Utc>,
    String,
    Vec<u8>,
    Vec<u8>,
);

/// The identity results are signed with now, if the tenant has one.
pub fn identity_in_use(conn: &mut PgConnection) -> QueryResult<Option<StoredIdentity>> {
    let row: Option<IdentityRow> = si::table
        .filter(si::in_use)
        .select((
            si::id,
            si::subject,
            si::issuer,
            si::serial,
            si::fingerprint,
            si::algorithm,
            si::not_before,
            si::not_after,
            si::chain_pem,
            si::sealed_key,
            si::key_nonce,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(
        |(
            id,
            subject,
            issuer,
            serial,
            fingerprint,
            algorithm,
            nb,
            na,
            chain_pem,
            sealed,
            nonce,
        )| {
            StoredIdentity {
                id,
                summary: IdentitySummary {
                    subject,
                    issuer,
                    serial,
                    not_before: nb,
                    not_after: na,
                    algorithm,
                    fingerprint,
                },
                chain_pem,
                sealed_key: sealed,
                key_nonce: nonce,
            }
        },
    ))
}

/// The next number of `year`'s register, safe under concurrency (the upsert locks the row).
pub fn next_number(conn: &mut PgConnection, year: i32) -> QueryResult<String> {
    let seq: i32 = diesel::insert_into(result_sequences::table)
        .values((
            result_sequences::year.eq(year),
            result_sequences::last.eq(1),
        ))
        .on_conflict(result_sequences::year)
        .do_update()
        .set(result_sequences::last.eq(result_sequences::last + 1))
        .returning(result_sequences::last)
        .get_result(conn)?;
    Ok(super::model::number(seq, year))
}

/// A signed result to record.
#[derive(Debug, Clone)]
pub struct NewResult {
    pub id: Uuid,
    pub dossier_id: Uuid,
    pub number: String,
    pub origin: Origin,
    pub file_name: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub storage_key: String,
    pub identity_id: Uuid,
    pub issued_by: Option<Uuid>,
    pub issued_at: DateTime<Utc>,
}

/// Records a result and counts it in the tenant's statistics (the service index's
/// digitisation), in the caller's transaction.
pub fn insert(conn: &mut PgConnection, tenant: Uuid, r: &NewResult) -> QueryResult<()> {
    insert_row(conn, r)?;
    count(conn, tenant, r.id, true)
}

/// Adds a result to the counters of its day of issue, or takes a revoked one back from them.
fn count(conn: &mut PgConnection, tenant: Uuid, result: Uuid, issued: bool) -> QueryResult<()> {
    let (issued_at, origin, procedure): (DateTime<Utc>, Origin, String) = results::table
        .inner_join(dossiers::table.on(dossiers::id.eq(results::dossier_id)))
        .filter(results::id.eq(result))
        .select((
            results::issued_at,
            results::origin,
            dossiers::procedure_code,
        ))
        .first(conn)?;
    let field: String = procedures::table
        .find(&procedure)
        .select(procedures::field_code)
        .first(conn)
        .optional()?
        .unwrap_or_default();
    let digitised = origin == Origin::PaperScan;
    stats::record(
        conn,
        stats::Key {
            tenant,
            day: crate::services::calendar::local_date(issued_at),
            procedure: &procedure,
            field: &field,
        },
        if issued {
            Delta::result_issued(digitised)
        } else {
            Delta::result_revoked(digitised)
        },
    )
}

fn insert_row(conn: &mut PgConnection, r: &NewResult) -> QueryResult<()> {
    diesel::insert_into(results::table)
        .values((
            results::id.eq(r.id),
            results::dossier_id.eq(r.dossier_id),
            results::number.eq(&r.number),
            results::origin.eq(r.origin),
            results::file_name.eq(&r.file_name),
            results::size_bytes.eq(r.size_bytes),
            results::sha256.eq(&r.sha256),
            results::storage_key.eq(&r.storage_key),
            results::identity_id.eq(r.identity_id),
            results::issued_by.eq(r.issued_by),
            results::issued_at.eq(r.issued_at),
        ))
        .execute(conn)
        .map(drop)
}

/// A result with what the use cases need beside its view.
#[derive(Debug, Clone)]
pub struct ResultRecord {
    pub view: ResultView,
    pub dossier_id: Uuid,
    pub dossier_code: String,
    pub procedure_code: String,
    pub applicant_id: Option<Uuid>,
    pub storage_key: String,
    pub certificate_not_after: DateTime<Utc>,
}

type RecordRow = (
    (
        Uuid,
        String,
        Origin,
        String,
        i64,
        String,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
        Option<String>,
        String,
    ),
    (Uuid, String, String, Option<Uuid>),
    (String, DateTime<Utc>),
);

/// Which results to read.
enum Which {
    One(Uuid),
    OfDossier(Uuid),
}

fn records(conn: &mut PgConnection, which: Which) -> QueryResult<Vec<ResultRecord>> {
    let joined = results::table
        .inner_join(dossiers::table)
        .inner_join(si::table.on(si::id.eq(results::identity_id)))
        .into_boxed();
    let filtered = match which {
        Which::One(id) => joined.filter(results::id.eq(id)),
        Which::OfDossier(d) => joined.filter(results::dossier_id.eq(d)),
    };
    let rows: Vec<RecordRow> = filtered
        .order(results::issued_at.desc())
        .select((
            (
                results::id,
                results::number,
                results::origin,
                results::file_name,
                results::size_bytes,
                results::sha256,
                results::issued_at,
                results::revoked_at,
                results::revoke_reason,
                results::storage_key,
            ),
            (
                dossiers::id,
                dossiers::code,
                dossiers::procedure_code,
                dossiers::applicant_id,
            ),
            (si::subject, si::not_after),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(
                (
                    id,
                    number,
                    origin,
                    file_name,
                    size_bytes,
                    sha256,
                    issued_at,
                    revoked_at,
                    reason,
                    key,
                ),
                (dossier_id, code, procedure_code, applicant_id),
                (signer, not_after),
            )| ResultRecord {
                view: ResultView {
                    id,
                    number,
                    origin,
                    file_name,
                    size_bytes,
                    sha256,
                    signer,
                    issued_at,
                    revoked_at,
                    revoke_reason: reason,
                },
                dossier_id,
                dossier_code: code,
                procedure_code,
                applicant_id,
                storage_key: key,
                certificate_not_after: not_after,
            },
        )
        .collect())
}

/// One result by its id (the verification address).
pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<ResultRecord>> {
    Ok(records(conn, Which::One(id))?.pop())
}

/// A dossier's results, the newest first (revoked ones too).
pub fn for_dossier(conn: &mut PgConnection, dossier: Uuid) -> QueryResult<Vec<ResultRecord>> {
    records(conn, Which::OfDossier(dossier))
}

/// Revokes a live result and takes it back from the counters; false when it was not live.
pub fn revoke(
    conn: &mut PgConnection,
    tenant: Uuid,
    id: Uuid,
    by: Uuid,
    reason: &str,
    at: DateTime<Utc>,
) -> QueryResult<bool> {
    let revoked = diesel::update(
        results::table
            .filter(results::id.eq(id))
            .filter(results::revoked_at.is_null()),
    )
    .set((
        results::revoked_at.eq(at),
        results::revoked_by.eq(by),
        results::revoke_reason.eq(reason),
    ))
    .execute(conn)?;
    if revoked == 1 {
        count(conn, tenant, id, false)?;
    }
    Ok(revoked == 1)
}

/// Decision 766's digitisation figures for `[from, until)`.
pub fn digitisation(
    conn: &mut PgConnection,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> QueryResult<Digitisation> {
    use diesel::dsl::{count_star, exists};
    let received = || {
        dossiers::table
            .filter(dossiers::received_at.ge(from))
            .filter(dossiers::received_at.lt(until))
    };
    let dossiers_received = received().select(count_star()).first(conn)?;
    let dossiers_on_paper = received()
        .filter(dossiers::channel.ne("online"))
        .select(count_star())
        .first(conn)?;
    let dossiers_digitised = received()
        .filter(exists(
            attachments::table
                .filter(attachments::dossier_id.eq(dossiers::id))
                .filter(attachments::digitised),
        ))
        .select(count_star())
        .first(conn)?;
    let issued = || {
        results::table
            .filter(results::issued_at.ge(from))
            .filter(results::issued_at.lt(until))
            .filter(results::revoked_at.is_null())
    };
    let results_issued = issued().select(count_star()).first(conn)?;
    let results_digitised = issued()
        .filter(results::origin.eq(Origin::PaperScan))
        .select(count_star())
        .first(conn)?;
    let dossiers_decided = dossiers::table
        .filter(dossiers::resolved_at.ge(from))
        .filter(dossiers::resolved_at.lt(until))
        .select(count_star())
        .first(conn)?;
    Ok(Digitisation {
        dossiers_received,
        dossiers_digitised,
        dossiers_on_paper,
        results_issued,
        results_electronic: results_issued - results_digitised,
        results_digitised,
        dossiers_decided,
    })
}

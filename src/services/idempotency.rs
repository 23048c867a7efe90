//! Safe retries (`Idempotency-Key`): a request that created something records, in the same
//! transaction, the key, a fingerprint of what was asked and the answer. The same key again
//! within 24 hours gets that answer instead of a second dossier or payment; the same key with a
//! different request is refused. Keys are per account and operation, in the tenant's schema.

use crate::db::schema::tenant::idempotency_keys as k;
use diesel::prelude::*;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// How long a key is remembered.
pub const RETENTION_HOURS: i64 = 24;

/// A client's key: 1 to 255 visible ASCII characters (a UUID, typically).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        if s.is_empty() || s.len() > 255 || !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("Idempotency-Key: 1 to 255 visible ASCII characters");
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A digest of what was asked, built from its parts in order (each length-prefixed, so parts
/// cannot run into each other).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint(Vec<u8>);

impl Fingerprint {
    pub fn of<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let mut h = Sha256::new();
        for p in parts {
            h.update((p.len() as u64).to_be_bytes());
            h.update(p);
        }
        Self(h.finalize().to_vec())
    }
}

/// A key and the request it came with.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub account: Uuid,
    pub operation: String,
    pub key: IdempotencyKey,
    pub fingerprint: Fingerprint,
}

/// What an earlier request with the same key left.
#[derive(Debug, Clone, PartialEq)]
pub enum Prior {
    /// Nothing (or forgotten): go ahead.
    None,
    /// The same request: answer as the first time.
    Answered {
        status: u16,
        response: serde_json::Value,
    },
    /// The key was used for a different request.
    Mismatch,
}

pub fn find(conn: &mut PgConnection, a: &Attempt) -> QueryResult<Prior> {
    let row: Option<(Vec<u8>, i16, serde_json::Value)> = k::table
        .find((a.account, &a.operation, a.key.as_str()))
        .filter(k::created_at.gt(cutoff()))
        .select((k::fingerprint, k::status, k::response))
        .first(conn)
        .optional()?;
    Ok(match row {
        None => Prior::None,
        Some((fp, status, response)) if fp == a.fingerprint.0 => Prior::Answered {
            status: status as u16,
            response,
        },
        Some(_) => Prior::Mismatch,
    })
}

/// Records the answer inside the transaction that produced it. `false` when another request
/// with the same key got there first (the caller rolls back and answers with [`find`]).
pub fn remember(
    conn: &mut PgConnection,
    a: &Attempt,
    status: u16,
    response: &serde_json::Value,
) -> QueryResult<bool> {
    // A forgotten key (older than the retention) may be used afresh.
    diesel::delete(
        k::table
            .find((a.account, &a.operation, a.key.as_str()))
            .filter(k::created_at.le(cutoff())),
    )
    .execute(conn)?;
    let inserted = diesel::insert_into(k::table)
        .values((
            k::account_id.eq(a.account),
            k::operation.eq(&a.operation),
            k::key.eq(a.key.as_str()),
            k::fingerprint.eq(&a.fingerprint.0),
            k::status.eq(status as i16),
            k::response.eq(response),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?;
    // Each new key clears a few expired ones: the table holds about a day of keys.
    forget_old(conn, 20)?;
    Ok(inserted == 1)
}

/// Forgets up to `batch` keys past the retention.
pub fn forget_old(conn: &mut PgConnection, batch: i64) -> QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM idempotency_keys WHERE ctid IN ( \
           SELECT ctid FROM idempotency_keys WHERE created_at <= $1 LIMIT $2)",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(cutoff())
    .bind::<diesel::sql_types::BigInt, _>(batch)
    .execute(conn)
}

fn cutoff() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() - chrono::Duration::hours(RETENTION_HOURS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_short_visible_ascii() {
        assert!(IdempotencyKey::parse("4f2a9c1e-7b8d-4e0f-9a6b-2c3d4e5f6a7b").is_ok());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("has space").is_err());
        assert!(IdempotencyKey::parse("khóa").is_err());
        assert!(IdempotencyKey::parse(&"x".repeat(256)).is_err());
        assert!(IdempotencyKey::parse(&"x".repeat(255)).is_ok());
    }

    #[test]
    fn fingerprints_see_every_part_and_where_parts_end() {
        let a = Fingerprint::of([b"ab".as_slice(), b"c".as_slice()]);
        assert_eq!(a, Fingerprint::of([b"ab".as_slice(), b"c".as_slice()]));
        assert_ne!(a, Fingerprint::of([b"a".as_slice(), b"bc".as_slice()]));
        assert_ne!(a, Fingerprint::of([b"ab".as_slice(), b"d".as_slice()]));
    }
}

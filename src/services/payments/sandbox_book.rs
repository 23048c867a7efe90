//! The sandbox gateway's own book of transactions (`platform.sandbox_transactions`): what a
//! real gateway keeps on its side. Only the sandbox (`payments.sandbox = true`) touches it.

use crate::db::schema::sandbox_transactions as st;
use diesel::prelude::*;

/// Opens a pending transaction (once: reopening the same reference changes nothing).
pub fn open(
    conn: &mut PgConnection,
    merchant: &str,
    txn_ref: &str,
    amount_vnd: i64,
) -> QueryResult<()> {
    diesel::insert_into(st::table)
        .values((
            st::merchant_id.eq(merchant),
            st::txn_ref.eq(txn_ref),
            st::amount_vnd.eq(amount_vnd),
            st::status.eq("pending"),
            // The gateway's own transaction number, as real ones print on receipts.
            st::transaction_no.eq(format!(
                "{}",
                14_000_000 + rand::random::<u32>() % 1_000_000
            )),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .map(drop)
}

/// Decides a pending transaction (`approved`, `declined`, `cancelled`): its amount and
/// transaction number, or `None` when it is not pending.
pub fn decide(
    conn: &mut PgConnection,
    merchant: &str,
    txn_ref: &str,
    status: &str,
) -> QueryResult<Option<(i64, String)>> {
    diesel::update(
        st::table
            .filter(st::merchant_id.eq(merchant))
            .filter(st::txn_ref.eq(txn_ref))
            .filter(st::status.eq("pending")),
    )
    .set((st::status.eq(status), st::decided_at.eq(diesel::dsl::now)))
    .returning((st::amount_vnd, st::transaction_no))
    .get_result(conn)
    .optional()
}

/// A transaction's amount, status and number.
pub fn find(
    conn: &mut PgConnection,
    merchant: &str,
    txn_ref: &str,
) -> QueryResult<Option<(i64, String, String)>> {
    st::table
        .filter(st::merchant_id.eq(merchant))
        .filter(st::txn_ref.eq(txn_ref))
        .select((st::amount_vnd, st::status, st::transaction_no))
        .first(conn)
        .optional()
}

/// Refunds an approved transaction (again is harmless); whether there was one.
pub fn refund(conn: &mut PgConnection, merchant: &str, txn_ref: &str) -> QueryResult<bool> {
    diesel::update(
        st::table
            .filter(st::merchant_id.eq(merchant))
            .filter(st::txn_ref.eq(txn_ref))
            .filter(st::status.eq_any(["approved", "refunded"])),
    )
    .set(st::status.eq("refunded"))
    .execute(conn)
    .map(|n| n > 0)
}

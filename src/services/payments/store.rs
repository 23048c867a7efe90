//! Payment records in the tenant's schema: intents, every notification as received, and
//! settlement — idempotent, in one transaction with the dossier, the statistics and the
//! receipt mail.
//!
//! (Over 600 lines: intents, notifications, settlement and refunds are steps over the same
//! rows, row types and receipt; split by step, each file would need the others' types.)

use super::gateway::{Notification, Params};
use super::{IntentStatus, PaymentStatus, Settlement, format_vnd, settle};
use crate::db::schema::tenant::{dossiers, payment_notifications, payments, procedures};
use crate::locale::Locale;
use crate::mail::outbox::{self, NewMail};
use crate::mail::{Email, TemplateKey};
use crate::services::calendar;
use crate::services::dossiers::{DossierCode, Scope, Status};
use crate::services::stats::{self, Delta};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentView {
    pub reference: String,
    pub amount_vnd: i64,
    pub status: IntentStatus,
    pub receipt_no: Option<String>,
    pub transaction_no: Option<String>,
    pub bank_code: Option<String>,
    pub created_at: DateTime<Utc>,
    pub settled_at: Option<DateTime<Utc>>,
    pub refunded_at: Option<DateTime<Utc>>,
    pub refund_reason: Option<String>,
}

type PaymentRow = (
    String,
    i64,
    IntentStatus,
    Option<String>,
    Option<String>,
    Option<String>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<String>,
);

fn view(r: PaymentRow) -> PaymentView {
    PaymentView {
        reference: r.0,
        amount_vnd: r.1,
        status: r.2,
        receipt_no: r.3,
        transaction_no: r.4,
        bank_code: r.5,
        created_at: r.6,
        settled_at: r.7,
        refunded_at: r.8,
        refund_reason: r.9,
    }
}

macro_rules! view_columns {
    () => {
        (
            payments::reference,
            payments::amount_vnd,
            payments::status,
            payments::receipt_no,
            payments::transaction_no,
            payments::bank_code,
            payments::created_at,
            payments::settled_at,
            payments::refunded_at,
            payments::refund_reason,
        )
    };
}

/// A new payment intent for the applicant's dossier whose fee is due.
pub struct NewIntent {
    pub reference: String,
    pub amount_vnd: i64,
    pub order_info: String,
    pub locale: String,
}

/// Why a payment operation did not happen. The use cases (`app::payments`) say it to the
/// caller; this layer knows nothing of HTTP.
#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    /// No dossier of that code (or not the caller's).
    #[error("no such dossier")]
    DossierNotFound,
    #[error("no such receipt")]
    ReceiptNotFound,
    #[error("the dossier's fee is `{0}`, not due")]
    NothingToPay(PaymentStatus),
    #[error("the dossier has no paid payment, or its refund is under way")]
    NothingToRefund,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

pub fn create_intent(
    conn: &mut PgConnection,
    scope: &Scope,
    code: &DossierCode,
    account: Uuid,
    provider: &str,
) -> Result<NewIntent, PaymentError> {
    type Found = (Uuid, i64, PaymentStatus, String, Option<Uuid>, Status);
    let found: Option<Found> = dossiers::table
        .filter(dossiers::code.eq(code.as_str()))
        .select((
            dossiers::id,
            dossiers::fee_vnd,
            dossiers::payment_status,
            dossiers::locale,
            dossiers::applicant_id,
            dossiers::status,
        ))
        .for_update()
        .first(conn)
        .optional()?;
    let (id, fee, status, locale, _, dossier_status) = found
        .filter(|r| r.4 == Some(account))
        .ok_or(PaymentError::DossierNotFound)?;
    if status != PaymentStatus::Due || dossier_status == Status::Withdrawn {
        return Err(PaymentError::NothingToPay(status));
    }
    let order_info = format!("Thanh toan phi ho so {code}");
    // One open intent per dossier (the dossier row is locked above): paying again continues
    // it, so two tabs or a second click never lead to two charges.
    let open: Option<(String, i64)> = payments::table
        .filter(payments::dossier_id.eq(id))
        .filter(payments::status.eq(IntentStatus::Pending))
        .select((payments::reference, payments::amount_vnd))
        .first(conn)
        .optional()?;
    if let Some((reference, amount_vnd)) = open.filter(|o| o.1 == fee) {
        return Ok(NewIntent {
            reference,
            amount_vnd,
            order_info,
            locale,
        });
    }
    // A short, gateway-friendly reference (letters and digits), unique in the tenant.
    let reference = format!(
        "{}{}",
        scope.tenant_code,
        &Uuid::new_v4().simple().to_string()[..16].to_ascii_uppercase()
    );
    diesel::insert_into(payments::table)
        .values((
            payments::id.eq(Uuid::new_v4()),
            payments::dossier_id.eq(id),
            payments::reference.eq(&reference),
            payments::amount_vnd.eq(fee),
            payments::status.eq(IntentStatus::Pending),
            payments::provider.eq(provider),
        ))
        .execute(conn)?;
    Ok(NewIntent {
        reference,
        amount_vnd: fee,
        order_info,
        locale,
    })
}

/// The dossier's open (pending) intent, if the caller is its applicant.
pub fn open_intent(
    conn: &mut PgConnection,
    code: &DossierCode,
    account: Uuid,
) -> Result<Option<String>, PaymentError> {
    Ok(payments::table
        .inner_join(dossiers::table)
        .filter(dossiers::code.eq(code.as_str()))
        .filter(dossiers::applicant_id.eq(account))
        .filter(payments::status.eq(IntentStatus::Pending))
        .select(payments::reference)
        .first(conn)
        .optional()?)
}

/// What the IPN endpoint answers the gateway (its codes, as gateways of this kind expect).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Confirmed,
    AlreadyConfirmed,
    NotFound,
    InvalidAmount,
    InvalidSignature,
}

impl Answer {
    pub fn code(self) -> &'static str {
        match self {
            Self::Confirmed => "00",
            Self::NotFound => "01",
            Self::AlreadyConfirmed => "02",
            Self::InvalidAmount => "04",
            Self::InvalidSignature => "97",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Self::Confirmed => "Confirm Success",
            Self::NotFound => "Order not found",
            Self::AlreadyConfirmed => "Order already confirmed",
            Self::InvalidAmount => "Invalid amount",
            Self::InvalidSignature => "Invalid signature",
        }
    }
}

fn record(
    conn: &mut PgConnection,
    payment: Option<Uuid>,
    source: &str,
    raw: &Params,
    verified: bool,
    outcome: &str,
) -> QueryResult<()> {
    diesel::insert_into(payment_notifications::table)
        .values((
            payment_notifications::payment_id.eq(payment),
            payment_notifications::source.eq(source),
            payment_notifications::raw.eq(serde_json::to_value(raw).unwrap_or_default()),
            payment_notifications::verified.eq(verified),
            payment_notifications::outcome.eq(outcome),
        ))
        .execute(conn)
        .map(drop)
}

/// Records a gateway message (`verified` is `None` when its signature did not check out) and
/// settles the payment it names when everything matches. Idempotent: a duplicate or replayed
/// message changes nothing but the log.
pub fn apply(
    conn: &mut PgConnection,
    scope: &Scope,
    merchant_id: &str,
    verified: Option<&Notification>,
    source: &str,
    raw: &Params,
) -> Result<Answer, PaymentError> {
    let Some(n) = verified else {
        record(conn, None, source, raw, false, "invalid_signature")?;
        return Ok(Answer::InvalidSignature);
    };
    let found: Option<(Uuid, Uuid, i64, IntentStatus)> = payments::table
        .filter(payments::reference.eq(&n.reference))
        .select((
            payments::id,
            payments::dossier_id,
            payments::amount_vnd,
            payments::status,
        ))
        .for_update()
        .first(conn)
        .optional()?;
    let Some((payment, dossier, amount, status)) = found else {
        record(conn, None, source, raw, true, "not_found")?;
        return Ok(Answer::NotFound);
    };
    let now = Utc::now();
    let mut duplicate_charge = false;
    let answer = match settle(status, amount, merchant_id, n) {
        Settlement::Mismatch => Answer::InvalidAmount,
        Settlement::AlreadySettled => Answer::AlreadyConfirmed,
        Settlement::Failed => {
            let to = if n.response_code == super::gateway::code::CANCELLED {
                IntentStatus::Cancelled
            } else {
                IntentStatus::Failed
            };
            diesel::update(payments::table.find(payment))
                .set((
                    payments::status.eq(to),
                    payments::response_code.eq(&n.response_code),
                    payments::settled_at.eq(now),
                ))
                .execute(conn)?;
            Answer::Confirmed
        }
        Settlement::Paid => {
            duplicate_charge = !mark_paid(conn, scope, payment, dossier, amount, n, now)?;
            Answer::Confirmed
        }
    };
    record(
        conn,
        Some(payment),
        source,
        raw,
        true,
        match answer {
            Answer::Confirmed if duplicate_charge => "duplicate_payment",
            Answer::Confirmed => "settled",
            Answer::AlreadyConfirmed => "duplicate",
            Answer::InvalidAmount => "mismatch",
            _ => "other",
        },
    )?;
    Ok(answer)
}

/// Settles a payment as paid; false when its dossier was already paid (a second charge).
fn mark_paid(
    conn: &mut PgConnection,
    scope: &Scope,
    payment: Uuid,
    dossier: Uuid,
    amount: i64,
    n: &Notification,
    now: DateTime<Utc>,
) -> Result<bool, PaymentError> {
    let seq: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "nextval('receipt_numbers')",
    ))
    .get_result(conn)?;
    let today = calendar::local_date(now);
    let receipt_no = format!("{}-BL-{}-{seq:06}", scope.tenant_code, today.format("%Y"));
    diesel::update(payments::table.find(payment))
        .set((
            payments::status.eq(IntentStatus::Paid),
            payments::transaction_no.eq(&n.transaction_no),
            payments::bank_code.eq(&n.bank_code),
            payments::response_code.eq(&n.response_code),
            payments::receipt_no.eq(&receipt_no),
            payments::settled_at.eq(now),
        ))
        .execute(conn)?;
    type Paid = (
        String,
        String,
        String,
        Option<String>,
        String,
        Option<DateTime<Utc>>,
    );
    let updated: Option<Paid> = diesel::update(
        dossiers::table
            .filter(dossiers::id.eq(dossier))
            .filter(dossiers::payment_status.eq(PaymentStatus::Due)),
    )
    .set((
        dossiers::payment_status.eq(PaymentStatus::Paid),
        dossiers::updated_at.eq(now),
    ))
    .returning((
        dossiers::code,
        dossiers::procedure_code,
        dossiers::applicant_name,
        dossiers::applicant_email,
        dossiers::locale,
        dossiers::resolved_at,
    ))
    .get_result(conn)
    .optional()?;
    // The money arrived (the receipt number stays), but the dossier was already paid by
    // another attempt: nothing more is counted; officers see it and refund it.
    let Some((code, procedure, name, email, locale, resolved_at)) = updated else {
        return Ok(false);
    };
    let field: String = procedures::table
        .find(&procedure)
        .select(procedures::field_code)
        .first(conn)?;
    stats::record(
        conn,
        stats::Key {
            tenant: scope.tenant_id,
            day: today,
            procedure: &procedure,
            field: &field,
        },
        Delta::paid(amount),
    )?;
    // Paid after its decision: the decision's day counted it as unpaid; it is paid online now.
    if let Some(resolved) = resolved_at {
        stats::record(
            conn,
            stats::Key {
                tenant: scope.tenant_id,
                day: calendar::local_date(resolved),
                procedure: &procedure,
                field: &field,
            },
            Delta {
                resolved_paid_online: 1,
                ..Delta::default()
            },
        )?;
    }
    if let Some(recipient) = email.as_deref().and_then(|e| Email::parse(e).ok()) {
        let locale = Locale::parse(&locale).unwrap_or_default();
        let local = now + chrono::Duration::hours(7);
        outbox::enqueue(
            conn,
            &NewMail {
                tenant_id: Some(scope.tenant_id),
                template: TemplateKey::PaymentReceipt,
                locale,
                recipient,
                payload: serde_json::json!({
                    "applicant_name": name,
                    "dossier_code": code,
                    "receipt_number": receipt_no,
                    "amount": format_vnd(amount),
                    "paid_at": local.format("%H:%M %d/%m/%Y").to_string(),
                    "link": receipt_link(scope, &n.reference),
                }),
                idempotency_key: format!("receipt:{payment}"),
            },
        )?;
    }
    Ok(true)
}

pub fn receipt_link(scope: &Scope, reference: &str) -> String {
    format!(
        "{}/t/{}/api/v1/payments/{reference}/receipt",
        scope.links_base.trim_end_matches('/'),
        scope.tenant_slug
    )
}

/// The dossier's payments, for its applicant or the tenant's officials.
pub fn for_dossier(conn: &mut PgConnection, dossier: Uuid) -> QueryResult<Vec<PaymentView>> {
    Ok(payments::table
        .filter(payments::dossier_id.eq(dossier))
        .order(payments::created_at)
        .select(view_columns!())
        .load::<PaymentRow>(conn)?
        .into_iter()
        .map(view)
        .collect())
}

/// What a receipt shows.
#[derive(Debug, Clone, Serialize)]
pub struct Receipt {
    pub payment: PaymentView,
    pub dossier_code: String,
    pub procedure_name: String,
    pub applicant_name: String,
}

/// A paid (or refunded) payment's receipt, if `account` is its applicant or `official`.
pub fn receipt(
    conn: &mut PgConnection,
    reference: &str,
    account: Uuid,
    official: bool,
) -> Result<Receipt, PaymentError> {
    let (row, dossier_code, applicant, name, procedure_name): (
        PaymentRow,
        String,
        Option<Uuid>,
        String,
        String,
    ) = payments::table
        .inner_join(dossiers::table.inner_join(procedures::table))
        .filter(payments::reference.eq(reference))
        .filter(payments::receipt_no.is_not_null())
        .select((
            view_columns!(),
            dossiers::code,
            dossiers::applicant_id,
            dossiers::applicant_name,
            procedures::name_vi,
        ))
        .first(conn)
        .optional()?
        .ok_or(PaymentError::ReceiptNotFound)?;
    if !(official || applicant == Some(account)) {
        return Err(PaymentError::ReceiptNotFound);
    }
    Ok(Receipt {
        payment: view(row),
        dossier_code,
        procedure_name,
        applicant_name: name,
    })
}

/// Starts refunding the dossier's paid payment: `paid → refunding`, so only one refund is ever
/// under way. A refund left `refunding` for two minutes (its request died mid-way) may be
/// taken up again; the gateway refunds a reference once.
pub fn begin_refund(
    conn: &mut PgConnection,
    code: &DossierCode,
) -> Result<(Uuid, String, i64), PaymentError> {
    let dossier: Uuid = dossiers::table
        .filter(dossiers::code.eq(code.as_str()))
        .select(dossiers::id)
        .first(conn)
        .optional()?
        .ok_or(PaymentError::DossierNotFound)?;
    let stale = Utc::now() - chrono::Duration::minutes(2);
    let taken: Option<(Uuid, String, i64)> = diesel::update(
        payments::table
            .filter(payments::dossier_id.eq(dossier))
            .filter(
                payments::status.eq(IntentStatus::Paid).or(payments::status
                    .eq(IntentStatus::Refunding)
                    .and(payments::refunded_at.lt(stale))),
            ),
    )
    .set((
        payments::status.eq(IntentStatus::Refunding),
        payments::refunded_at.eq(Utc::now()),
    ))
    .returning((payments::id, payments::reference, payments::amount_vnd))
    .get_result(conn)
    .optional()?;
    taken.ok_or(PaymentError::NothingToRefund)
}

/// Ends a refund the gateway accepted (`refunded`) or refused (back to `paid`).
pub fn finish_refund(
    conn: &mut PgConnection,
    payment: Uuid,
    by: Uuid,
    reason: &str,
    raw: &Params,
    accepted: bool,
) -> Result<(), PaymentError> {
    if !accepted {
        diesel::update(payments::table.find(payment))
            .set((
                payments::status.eq(IntentStatus::Paid),
                payments::refunded_at.eq(None::<DateTime<Utc>>),
            ))
            .execute(conn)?;
        record(conn, Some(payment), "refund", raw, true, "refund_refused")?;
        return Ok(());
    }
    let dossier: Uuid = diesel::update(
        payments::table
            .filter(payments::id.eq(payment))
            .filter(payments::status.eq(IntentStatus::Refunding)),
    )
    .set((
        payments::status.eq(IntentStatus::Refunded),
        payments::refunded_at.eq(Utc::now()),
        payments::refund_reason.eq(reason),
        payments::refunded_by.eq(by),
    ))
    .returning(payments::dossier_id)
    .get_result(conn)?;
    diesel::update(dossiers::table.find(dossier))
        .set(dossiers::payment_status.eq(PaymentStatus::Refunded))
        .execute(conn)?;
    record(conn, Some(payment), "refund", raw, true, "refunded")?;
    Ok(())
}

/// References still pending after `older_than`, with their age (for the status query).
pub fn pending(
    conn: &mut PgConnection,
    older_than: DateTime<Utc>,
) -> QueryResult<Vec<(String, DateTime<Utc>)>> {
    payments::table
        .filter(payments::status.eq(IntentStatus::Pending))
        .filter(payments::created_at.lt(older_than))
        .order(payments::created_at)
        .limit(200)
        .select((payments::reference, payments::created_at))
        .load(conn)
}

/// An intent the gateway never saw decided, past its lifetime: `pending → cancelled`, so it
/// stops being queried (a new intent can be made).
pub fn expire(conn: &mut PgConnection, reference: &str) -> QueryResult<bool> {
    let id: Option<Uuid> = diesel::update(
        payments::table
            .filter(payments::reference.eq(reference))
            .filter(payments::status.eq(IntentStatus::Pending)),
    )
    .set((
        payments::status.eq(IntentStatus::Cancelled),
        payments::response_code.eq("expired"),
        payments::settled_at.eq(Utc::now()),
    ))
    .returning(payments::id)
    .get_result(conn)
    .optional()?;
    if let Some(id) = id {
        record(
            conn,
            Some(id),
            "query",
            &Params::from([("txn_ref".into(), reference.to_owned())]),
            true,
            "expired",
        )?;
    }
    Ok(id.is_some())
}

/// Payments created on a local day, for the reconciliation report.
pub fn of_day(
    conn: &mut PgConnection,
    day: chrono::NaiveDate,
) -> QueryResult<Vec<(String, IntentStatus, i64)>> {
    let start = calendar::end_of_working_day(day) - chrono::Duration::hours(17);
    let end = start + chrono::Duration::days(1);
    payments::table
        .filter(payments::created_at.ge(start))
        .filter(payments::created_at.lt(end))
        .order(payments::created_at)
        .select((payments::reference, payments::status, payments::amount_vnd))
        .load(conn)
}

pub fn status_of(
    conn: &mut PgConnection,
    reference: &str,
) -> Result<Option<IntentStatus>, PaymentError> {
    Ok(payments::table
        .filter(payments::reference.eq(reference))
        .select(payments::status)
        .first(conn)
        .optional()?)
}

/// Logs the browser's return (never settles: it is carried by the browser); the payment's
/// status, if it exists.
/// The dossier code and applicant a payment reference belongs to (the portal's return page
/// shows a payment only on its own dossier, to its own applicant).
pub fn owner_of(
    conn: &mut PgConnection,
    reference: &str,
) -> QueryResult<Option<(String, Option<Uuid>)>> {
    payments::table
        .inner_join(dossiers::table.on(dossiers::id.eq(payments::dossier_id)))
        .filter(payments::reference.eq(reference))
        .select((dossiers::code, dossiers::applicant_id))
        .first(conn)
        .optional()
}

pub fn note_return(
    conn: &mut PgConnection,
    reference: &str,
    raw: &Params,
    verified: bool,
) -> Result<Option<IntentStatus>, PaymentError> {
    let found: Option<(Uuid, IntentStatus)> = payments::table
        .filter(payments::reference.eq(reference))
        .select((payments::id, payments::status))
        .first(conn)
        .optional()?;
    record(
        conn,
        found.as_ref().map(|f| f.0),
        "return",
        raw,
        verified,
        if verified {
            "noted"
        } else {
            "invalid_signature"
        },
    )?;
    Ok(found.map(|f| f.1))
}

//! Fees and online payment against the sandbox gateway over HTTP (the same protocol as the real
//! gateways): approve, decline, cancel, IPN before and after the return, no IPN at all,
//! duplicates, forgeries, wrong amounts, replays, another tenant's secret, refunds,
//! reconciliation. Nothing is ever paid without a verified gateway message.

use crate::common::eventually;
use crate::world::{PAID, PHONE, SECRET_A, SECRET_B, World};
use dvc::services::payments::gateway::{self, Notification, Params};
use serde_json::json;
use std::time::Duration;

fn client() -> awc::Client {
    awc::Client::builder()
        .disable_redirects()
        .timeout(Duration::from_secs(30))
        .finish()
}

/// Submits a PAID dossier with `workers` listed; its code.
async fn submit(w: &World, tenant: &str, workers: usize, category: &str) -> String {
    let token = w.token(w.citizen, tenant, &[]);
    let names: Vec<String> = (0..workers)
        .map(|i| format!("Người lao động {i}"))
        .collect();
    let (s, b) = w
        .req(
            "POST",
            &format!("/t/{tenant}/api/v1/dossiers"),
            Some(&token),
            Some(json!({
                "procedure": PAID,
                "phone": PHONE,
                "form": { "doi_tuong": category, "nguoi_lao_dong": names }
            })),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    b["code"].as_str().unwrap().to_owned()
}

pub(crate) struct Attempt {
    reference: String,
    amount: i64,
    /// Where the gateway sends the browser back (with its signed parameters).
    back: String,
}

/// Starts a payment and decides it on the sandbox page, as a citizen's browser would.
pub(crate) async fn pay(w: &World, tenant: &str, code: &str, decision: &str, ipn: &str) -> Attempt {
    let token = w.token(w.citizen, tenant, &[]);
    let (s, c) = w
        .req(
            "POST",
            &format!("/t/{tenant}/api/v1/dossiers/{code}/payment"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(s, 200, "{c}");
    let url = c["checkout_url"].as_str().unwrap().to_owned();
    let mut page = client().get(&url).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = String::from_utf8(page.body().await.unwrap().to_vec()).unwrap();
    assert!(html.contains("Thanh toán"), "{html}");
    let query: Params = url::form_urlencoded::parse(url.split_once('?').unwrap().1.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let resp = client()
        .post(format!("{}/sandbox/gateway/pay", w.app.base))
        .send_form(&[
            ("merchant", query["merchant"].as_str()),
            ("txn_ref", query["txn_ref"].as_str()),
            ("return_url", query["return_url"].as_str()),
            ("decision", decision),
            ("ipn", ipn),
        ])
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    let back = resp
        .headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    Attempt {
        reference: c["reference"].as_str().unwrap().to_owned(),
        amount: c["amount_vnd"].as_i64().unwrap(),
        back,
    }
}

/// The browser coming back: the return URL on this server, whatever host the gateway used.
async fn come_back(w: &World, back: &str) -> serde_json::Value {
    let path = &back[back.find("/t/").unwrap()..];
    let (s, b) = w.req("GET", path, None, None).await;
    assert_eq!(s, 200, "{b}");
    b
}

fn status(w: &World, tenant: &str, reference: &str) -> String {
    let schema = format!("t_{}", tenant.replace('-', "_"));
    let mut conn = w.db.conn();
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct S {
        #[diesel(sql_type = diesel::sql_types::Text)]
        status: String,
    }
    diesel::sql_query(format!(
        "SELECT status FROM {schema}.payments WHERE reference = '{reference}'"
    ))
    .get_result::<S>(&mut conn)
    .unwrap()
    .status
}

fn dossier_payment_status(w: &World, tenant: &str, code: &str) -> String {
    let schema = format!("t_{}", tenant.replace('-', "_"));
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct S {
        #[diesel(sql_type = diesel::sql_types::Text)]
        payment_status: String,
    }
    diesel::sql_query(format!(
        "SELECT payment_status FROM {schema}.dossiers WHERE code = '{code}'"
    ))
    .get_result::<S>(&mut w.db.conn())
    .unwrap()
    .payment_status
}

async fn ipn(w: &World, tenant: &str, params: &Params) -> serde_json::Value {
    let (s, b) = w
        .req(
            "GET",
            &format!(
                "/t/{tenant}/api/v1/payments/ipn?{}",
                gateway::query_string(params)
            ),
            None,
            None,
        )
        .await;
    assert_eq!(s, 200, "{b}");
    b
}

fn signed(secret: &[u8], n: Notification) -> Params {
    let mut p = n.to_params();
    gateway::sign(secret, &mut p);
    p
}

#[actix_web::test]
async fn pay_then_process_with_receipt_and_mail_and_statistics() {
    let w = World::new(|_| {}).await;
    // Fee by rule: 100,000 + 3 × 50,000.
    let code = submit(&w, "tinh-a", 3, "thuong").await;
    assert_eq!(dossier_payment_status(&w, "tinh-a", &code), "due");
    assert!(
        eventually(Duration::from_secs(20), || async {
            w.subjects()
                .iter()
                .any(|s| s == &format!("Hồ sơ {code}: vui lòng nộp phí, lệ phí"))
        })
        .await,
        "{:?}",
        w.subjects()
    );
    // Processing of a full dossier starts only once it is paid.
    let (s, b) = w
        .act(
            "tinh-a",
            &code,
            w.officer_a,
            &["officer"],
            "receive",
            json!({}),
        )
        .await;
    assert_eq!((s, b["code"].as_str()), (409, Some("payment_required")));

    let a = pay(&w, "tinh-a", &code, "approve", "now").await;
    assert_eq!(a.amount, 250_000);
    assert!(
        eventually(Duration::from_secs(10), || async {
            status(&w, "tinh-a", &a.reference) == "paid"
        })
        .await
    );
    let back = come_back(&w, &a.back).await;
    assert_eq!(
        (back["status"].as_str(), back["verified"].as_bool()),
        (Some("paid"), Some(true))
    );
    assert_eq!(dossier_payment_status(&w, "tinh-a", &code), "paid");
    let (s, _) = w
        .act(
            "tinh-a",
            &code,
            w.officer_a,
            &["officer"],
            "receive",
            json!({}),
        )
        .await;
    assert_eq!(s, 200);

    // The receipt: HTML, printable, with its number; the applicant's mail.
    let token = w.token(w.citizen, "tinh-a", &[]);
    let mut r = client()
        .get(format!(
            "{}/t/tinh-a/api/v1/payments/{}/receipt",
            w.app.base, a.reference
        ))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let html = String::from_utf8(r.body().await.unwrap().to_vec()).unwrap();
    assert!(
        html.contains("TA-BL-") && html.contains("250.000 ₫"),
        "{html}"
    );
    let other = w.token(w.citizen2, "tinh-a", &[]);
    let (s, _) = w
        .req(
            "GET",
            &format!("/t/tinh-a/api/v1/payments/{}/receipt", a.reference),
            Some(&other),
            None,
        )
        .await;
    assert_eq!(s, 404);
    assert!(
        eventually(Duration::from_secs(20), || async {
            w.subjects()
                .iter()
                .any(|s| s.starts_with("Biên lai điện tử TA-BL-") && s.contains(&code))
        })
        .await,
        "{:?}",
        w.subjects()
    );

    // Paid online, in the statistics.
    let (_, st) = w
        .req(
            "GET",
            "/t/tinh-a/api/v1/stats",
            Some(&w.token(w.leader_a, "tinh-a", &["leader"])),
            None,
        )
        .await;
    assert_eq!(st["total"]["paid_count"], 1);
    assert_eq!(st["total"]["paid_amount"], 250_000);

    // A waived applicant owes nothing, and is processed at once.
    let waived = submit(&w, "tinh-a", 5, "ho_ngheo").await;
    assert_eq!(dossier_payment_status(&w, "tinh-a", &waived), "none");
    let (s, _) = w
        .req(
            "POST",
            &format!("/t/tinh-a/api/v1/dossiers/{waived}/payment"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(s, 409);
    let (s, _) = w
        .act(
            "tinh-a",
            &waived,
            w.officer_a,
            &["officer"],
            "receive",
            json!({}),
        )
        .await;
    assert_eq!(s, 200);
}

#[actix_web::test]
async fn declined_cancelled_and_the_return_before_or_without_the_ipn() {
    let w = World::new(|_| {}).await;
    let code = submit(&w, "tinh-a", 0, "thuong").await;

    let declined = pay(&w, "tinh-a", &code, "decline", "now").await;
    assert!(
        eventually(Duration::from_secs(10), || async {
            status(&w, "tinh-a", &declined.reference) == "failed"
        })
        .await
    );
    let cancelled = pay(&w, "tinh-a", &code, "cancel", "now").await;
    assert!(
        eventually(Duration::from_secs(10), || async {
            status(&w, "tinh-a", &cancelled.reference) == "cancelled"
        })
        .await
    );
    assert_eq!(dossier_payment_status(&w, "tinh-a", &code), "due");

    // The browser returns before the (delayed) IPN: the return settles nothing itself, it
    // asks the gateway, whose signed answer settles the payment; the late IPN is a duplicate.
    let late = pay(&w, "tinh-a", &code, "approve", "delayed").await;
    let back = come_back(&w, &late.back).await;
    assert_eq!(back["status"], "paid", "{back}");
    assert!(
        eventually(Duration::from_secs(15), || async {
            w.count(
                "tinh-a",
                "payment_notifications WHERE outcome = 'duplicate'",
            ) >= 1
        })
        .await
    );
    assert_eq!(dossier_payment_status(&w, "tinh-a", &code), "paid");

    // IPN never arrives and the citizen never comes back: the reconciliation job settles it.
    let code2 = submit(&w, "tinh-a", 1, "thuong").await;
    let lost = pay(&w, "tinh-a", &code2, "approve", "none").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(status(&w, "tinh-a", &lost.reference), "pending");
    let mut settings = crate::common::settings_for(&w.db);
    settings.payments.query_after_secs = 0;
    settings.auth.issuer = w.app.base.clone();
    let master = std::sync::Arc::new(
        dvc::auth::keys::MasterKey::parse(&base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            [7u8; 32],
        ))
        .unwrap(),
    );
    let pools = dvc::db::Pools::build(&settings.database);
    let queried = dvc::services::payments::reconcile::once(&pools, &settings, &master)
        .await
        .unwrap();
    assert!(queried >= 1);
    assert_eq!(status(&w, "tinh-a", &lost.reference), "paid");
    assert_eq!(dossier_payment_status(&w, "tinh-a", &code2), "paid");
}

#[actix_web::test]
async fn duplicates_forgeries_wrong_amounts_replays_and_other_tenants_secrets_change_nothing() {
    let w = World::new(|_| {}).await;
    let code = submit(&w, "tinh-a", 0, "thuong").await;

    // A declined attempt, then a paid one with a duplicated IPN.
    let first = pay(&w, "tinh-a", &code, "decline", "none").await;
    let old_ipn: Params =
        url::form_urlencoded::parse(first.back.split_once('?').unwrap().1.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    let second = pay(&w, "tinh-a", &code, "approve", "duplicate").await;
    assert!(
        eventually(Duration::from_secs(10), || async {
            w.count("tinh-a", "payment_notifications WHERE source = 'ipn'") >= 2
        })
        .await
    );
    assert_eq!(status(&w, "tinh-a", &second.reference), "paid");
    assert_eq!(
        w.count(
            "tinh-a",
            "payment_notifications WHERE outcome = 'duplicate'"
        ),
        1
    );
    assert_eq!(
        w.db.scalar_i64("SELECT sum(paid_count)::int8 AS n FROM platform.stats_daily"),
        1
    );

    // Starting the second attempt asked the gateway about the first (no IPN had come): it was
    // settled as failed. Its old IPN, replayed now, changes nothing, and neither does a
    // replayed success.
    let r = ipn(&w, "tinh-a", &old_ipn).await;
    assert_eq!(r["RspCode"], "02");
    assert_eq!(status(&w, "tinh-a", &first.reference), "failed");
    let success = signed(
        SECRET_A,
        Notification {
            merchant: "TA001".into(),
            reference: second.reference.clone(),
            amount_vnd: 100_000,
            response_code: "00".into(),
            transaction_no: "1".into(),
            bank_code: "NCB".into(),
        },
    );
    assert_eq!(ipn(&w, "tinh-a", &success).await["RspCode"], "02");

    // Forged: a pending payment, an IPN and a return signed with a wrong secret.
    let code3 = submit(&w, "tinh-a", 0, "thuong").await;
    let pending = pay(&w, "tinh-a", &code3, "decline", "none").await;
    let forged = |secret: &[u8], amount: i64, merchant: &str| {
        signed(
            secret,
            Notification {
                merchant: merchant.into(),
                reference: pending.reference.clone(),
                amount_vnd: amount,
                response_code: "00".into(),
                transaction_no: "999".into(),
                bank_code: "NCB".into(),
            },
        )
    };
    assert_eq!(
        ipn(&w, "tinh-a", &forged(b"guess", 100_000, "TA001")).await["RspCode"],
        "97"
    );
    // Tenant B's secret cannot settle tenant A's payment, at either address.
    assert_eq!(
        ipn(&w, "tinh-a", &forged(SECRET_B, 100_000, "TB001")).await["RspCode"],
        "97"
    );
    assert_eq!(
        ipn(&w, "tinh-b", &forged(SECRET_B, 100_000, "TB001")).await["RspCode"],
        "01"
    );
    // Rightly signed, but the wrong amount or another merchant.
    assert_eq!(
        ipn(&w, "tinh-a", &forged(SECRET_A, 1_000, "TA001")).await["RspCode"],
        "04"
    );
    assert_eq!(
        ipn(&w, "tinh-a", &forged(SECRET_A, 100_000, "TB001")).await["RspCode"],
        "04"
    );
    // A return URL the user edited (declined → "00") is not believed: the gateway is asked.
    let mut edited: Params =
        url::form_urlencoded::parse(pending.back.split_once('?').unwrap().1.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    edited.insert("response_code".into(), "00".into());
    let path = format!(
        "/t/tinh-a/api/v1/payments/return?{}",
        gateway::query_string(&edited)
    );
    let (s, b) = w.req("GET", &path, None, None).await;
    assert_eq!(s, 200);
    assert_eq!(
        (b["verified"].as_bool(), b["status"].as_str()),
        (Some(false), Some("failed"))
    );
    assert_eq!(dossier_payment_status(&w, "tinh-a", &code3), "due");
    // Every message was kept, verified or not.
    assert!(w.count("tinh-a", "payment_notifications WHERE NOT verified") >= 3);
    assert_eq!(
        w.db.scalar_i64("SELECT sum(paid_count)::int8 AS n FROM platform.stats_daily"),
        1
    );
}

#[actix_web::test]
async fn officers_refund_with_a_reason_and_reconciliation_lists_mismatches() {
    let w = World::new(|_| {}).await;
    let code = submit(&w, "tinh-a", 2, "thuong").await;
    let a = pay(&w, "tinh-a", &code, "approve", "now").await;
    assert!(
        eventually(Duration::from_secs(10), || async {
            status(&w, "tinh-a", &a.reference) == "paid"
        })
        .await
    );
    let officer = w.token(w.officer_a, "tinh-a", &["officer"]);
    let citizen = w.token(w.citizen, "tinh-a", &[]);
    let path = format!("/t/tinh-a/api/v1/dossiers/{code}/refund");
    let body = json!({ "reason": "Thu trùng phí" });
    assert_eq!(
        w.req("POST", &path, Some(&citizen), Some(body.clone()))
            .await
            .0,
        403
    );
    assert_eq!(
        w.req(
            "POST",
            &path,
            Some(&officer),
            Some(json!({ "reason": " " }))
        )
        .await
        .0,
        400
    );
    let (s, b) = w
        .req("POST", &path, Some(&officer), Some(body.clone()))
        .await;
    assert_eq!(s, 204, "{b}");
    assert_eq!(status(&w, "tinh-a", &a.reference), "refunded");
    assert_eq!(dossier_payment_status(&w, "tinh-a", &code), "refunded");
    assert_eq!(
        w.req("POST", &path, Some(&officer), Some(body)).await.0,
        409
    );
    assert_eq!(
        w.db.scalar_i64(
            "SELECT count(*) AS n FROM platform.sandbox_transactions WHERE status = 'refunded'"
        ),
        1
    );

    // Reconciliation: agrees today; then the gateway's book and ours disagree.
    let rec = "/t/tinh-a/api/v1/payments/reconciliation";
    let (s, r) = w.req("GET", rec, Some(&officer), None).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["mismatches"], json!([]), "{r}");
    let code2 = submit(&w, "tinh-a", 0, "thuong").await;
    let b2 = pay(&w, "tinh-a", &code2, "decline", "none").await;
    // The gateway says paid; dvc never heard: a mismatch to look into.
    {
        use diesel::connection::SimpleConnection;
        w.db.conn()
            .batch_execute(&format!(
                "UPDATE platform.sandbox_transactions SET status = 'approved' WHERE txn_ref = '{}'",
                b2.reference
            ))
            .unwrap();
    }
    let (_, r) = w.req("GET", rec, Some(&officer), None).await;
    let m = r["mismatches"].as_array().unwrap();
    assert_eq!(m.len(), 1, "{r}");
    assert_eq!(m[0]["reference"], b2.reference.as_str());
    assert_eq!(m[0]["ours"], "pending");
    assert_eq!(m[0]["gateway"], "paid");
}

#[actix_web::test]
async fn one_open_intent_one_refund_and_a_paid_fee_cannot_be_changed_by_new_data() {
    let w = World::new(|_| {}).await;
    let code = submit(&w, "tinh-a", 1, "thuong").await;
    let token = w.token(w.citizen, "tinh-a", &[]);
    let pay_path = format!("/t/tinh-a/api/v1/dossiers/{code}/payment");
    // Two tabs, or a second click: the same intent, so never two charges.
    let first = w.req("POST", &pay_path, Some(&token), None).await.1;
    let second = w.req("POST", &pay_path, Some(&token), None).await.1;
    assert_eq!(first["reference"], second["reference"]);
    assert_eq!(w.count("tinh-a", "payments"), 1);
    // With an Idempotency-Key, a retry gets the first answer; the key is for one dossier only.
    let keyed = |path: String| {
        let (base, token) = (w.app.base.clone(), token.clone());
        async move {
            let mut r = awc::Client::default()
                .post(format!("{base}{path}"))
                .insert_header(("Authorization", format!("Bearer {token}")))
                .insert_header(("Idempotency-Key", "pay-once-1"))
                .send()
                .await
                .unwrap();
            let body: serde_json::Value = r.json().await.unwrap();
            (r.status().as_u16(), body)
        }
    };
    let (s, k1) = keyed(pay_path.clone()).await;
    assert_eq!((s, &k1["reference"]), (200, &first["reference"]), "{k1}");
    assert_eq!(keyed(pay_path.clone()).await, (200, k1));
    let other = submit(&w, "tinh-a", 1, "thuong").await;
    let (s, reused) = keyed(format!("/t/tinh-a/api/v1/dossiers/{other}/payment")).await;
    assert_eq!(
        (s, reused["code"].as_str()),
        (422, Some("idempotency_key_reused"))
    );
    assert_eq!(w.count("tinh-a", "payments"), 1);

    let a = pay(&w, "tinh-a", &code, "approve", "now").await;
    assert_eq!(a.reference, first["reference"].as_str().unwrap());
    assert!(
        eventually(Duration::from_secs(10), || async {
            status(&w, "tinh-a", &a.reference) == "paid"
        })
        .await
    );
    // New data that changes a paid fee is refused; the same fee goes through.
    for action in ["receive", "start_review"] {
        let (s, _) = w
            .act(
                "tinh-a",
                &code,
                w.officer_a,
                &["officer"],
                action,
                json!({}),
            )
            .await;
        assert_eq!(s, 200, "{action}");
    }
    let (s, _) = w
        .act(
            "tinh-a",
            &code,
            w.officer_a,
            &["officer"],
            "request_supplement",
            json!({ "missing": ["Danh sách người lao động có chữ ký"] }),
        )
        .await;
    assert_eq!(s, 200);
    let supplement_path = format!("/t/tinh-a/api/v1/dossiers/{code}/supplement");
    let supplement = async |workers: usize| {
        let version = w.version("tinh-a", &code).await;
        let names: Vec<String> = (0..workers).map(|i| format!("Người {i}")).collect();
        w.req(
            "POST",
            &supplement_path,
            Some(&token),
            Some(json!({
                "version": version,
                "form": { "doi_tuong": "thuong", "nguoi_lao_dong": names }
            })),
        )
        .await
    };
    let (s, b) = supplement(4).await;
    assert_eq!((s, b["code"].as_str()), (409, Some("fee_changed")), "{b}");
    let (s, b) = supplement(1).await;
    assert_eq!(s, 200, "{b}");

    // Two officers refunding at once: one refund reaches the gateway.
    let officer = w.token(w.officer_a, "tinh-a", &["officer"]);
    let path = format!("/t/tinh-a/api/v1/dossiers/{code}/refund");
    let body = json!({ "reason": "Hồ sơ không thuộc thẩm quyền" });
    let (r1, r2) = tokio::join!(
        w.req("POST", &path, Some(&officer), Some(body.clone())),
        w.req("POST", &path, Some(&officer), Some(body.clone()))
    );
    let mut statuses = [r1.0, r2.0];
    statuses.sort();
    assert_eq!(statuses, [204, 409]);
    assert_eq!(status(&w, "tinh-a", &a.reference), "refunded");
    assert_eq!(
        w.count("tinh-a", "payment_notifications WHERE outcome = 'refunded'"),
        1
    );
}

#[actix_web::test]
async fn the_sandbox_never_signs_for_a_real_gateways_merchant() {
    let w = World::new(|_| {}).await;
    let master = dvc::auth::keys::MasterKey::parse(&base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        [7u8; 32],
    ))
    .unwrap();
    let tenant: uuid::Uuid = {
        use diesel::prelude::*;
        use dvc::db::schema::tenants::dsl as t;
        t::tenants
            .filter(t::slug.eq("tinh-b"))
            .select(t::id)
            .first(&mut w.db.conn())
            .unwrap()
    };
    dvc::services::payments::merchant::set(
        &mut w.db.conn(),
        &master,
        tenant,
        "gateway",
        "REALB01",
        "https://gateway.example.vn/v2",
        SECRET_B,
    )
    .unwrap();
    let mut p = Params::from([
        ("merchant".into(), "REALB01".into()),
        ("txn_ref".into(), "TBX1".into()),
        ("amount".into(), "10000000".into()),
        ("return_url".into(), "http://localhost/x".into()),
    ]);
    gateway::sign(SECRET_B, &mut p);
    let (s, _) = w
        .req(
            "GET",
            &format!("/sandbox/gateway/pay?{}", gateway::query_string(&p)),
            None,
            None,
        )
        .await;
    assert_eq!(s, 400);
    let resp = client()
        .post(format!("{}/sandbox/gateway/pay", w.app.base))
        .send_form(&[
            ("merchant", "REALB01"),
            ("txn_ref", "TBX1"),
            ("return_url", "http://localhost/x"),
            ("decision", "approve"),
            ("ipn", "now"),
        ])
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
}

//! Hostile input at the edge: multipart bodies that would hold the server's memory (parts sent
//! twice, endless parts, endless part headers, a declared length past the bound) are refused
//! with a problem and change nothing; pages rendered from applicants' data escape it.

use crate::common::eventually;
use crate::world::{PAID, PHONE, QUICK, World, account};
use actix_web::web::Bytes;
use dvc::services::payments::gateway::Params;
use serde_json::json;
use std::time::Duration;

const BOUNDARY: &str = "dvc-hardening-boundary";

fn client() -> awc::Client {
    awc::Client::builder()
        .disable_redirects()
        .timeout(Duration::from_secs(30))
        .finish()
}

fn part(name: &str, extra_headers: &str, body: &[u8]) -> Vec<u8> {
    let mut p = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n{extra_headers}\r\n"
    )
    .into_bytes();
    p.extend_from_slice(body);
    p.extend_from_slice(b"\r\n");
    p
}

fn empty_file(name: &str) -> Vec<u8> {
    format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n\r\n"
    )
    .into_bytes()
}

fn body(parts: impl IntoIterator<Item = Vec<u8>>) -> Vec<u8> {
    let mut b: Vec<u8> = parts.into_iter().flatten().collect();
    b.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    b
}

/// Posts a multipart submission to tinh-a: with its length declared, or chunked (no length);
/// the status, content type and JSON body.
async fn submit_raw(
    w: &World,
    token: &str,
    body: Vec<u8>,
    chunked: bool,
) -> (u16, String, serde_json::Value) {
    let req = client()
        .post(format!("{}/t/tinh-a/api/v1/dossiers", w.app.base))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .insert_header((
            "Content-Type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        ));
    let resp = if chunked {
        let chunks: Vec<Result<Bytes, std::io::Error>> = body
            .chunks(16 * 1024)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        req.send_stream(futures_util::stream::iter(chunks)).await
    } else {
        req.send_body(body).await
    };
    let mut resp = resp.expect("request");
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = resp.body().limit(1 << 20).await.expect("body");
    (
        resp.status().as_u16(),
        ctype,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

#[actix_web::test]
async fn hostile_multipart_bodies_are_refused_with_a_problem_and_change_nothing() {
    // Contents may total 1 MiB.
    let w = World::new(|s| s.dossiers.max_request_mb = 1).await;
    let token = w.token(w.citizen, "tinh-a", &[]);
    let good = json!({ "procedure": QUICK, "phone": PHONE }).to_string();
    let data = |extra_headers: &str| part("data", extra_headers, good.as_bytes());

    // `data` twice: which one would be filed?
    let (s, ct, b) = submit_raw(&w, &token, body([data(""), data("")]), false).await;
    assert_eq!(
        (s, b["code"].as_str()),
        (400, Some("duplicate_part")),
        "{b}"
    );
    assert!(ct.starts_with("application/problem+json"), "{ct}");

    // Thousands of empty file inputs: nothing to hold, everything to parse.
    let parts =
        std::iter::once(data("")).chain((0..2000).map(|i| empty_file(&format!("doc.{}", i % 100))));
    let (s, ct, b) = submit_raw(&w, &token, body(parts), false).await;
    assert_eq!(
        (s, b["code"].as_str()),
        (400, Some("too_many_parts")),
        "{b}"
    );
    assert!(ct.starts_with("application/problem+json"), "{ct}");

    // A part header two MiB long: no content at all, but a body past the bound. Sent chunked
    // (nothing declared, the stream is counted) and with its length declared (refused unread).
    let pad = format!("X-Pad: {}\r\n", "p".repeat(2 * 1024 * 1024));
    for chunked in [true, false] {
        let (s, ct, b) = submit_raw(&w, &token, body([data(&pad)]), chunked).await;
        assert_eq!(
            (s, b["code"].as_str()),
            (413, Some("payload_too_large")),
            "chunked {chunked}: {b}"
        );
        assert!(ct.starts_with("application/problem+json"), "{ct}");
    }

    // Nothing was filed, stored or sent.
    assert_eq!(w.count("tinh-a", "dossiers"), 0);
    assert_eq!(w.count("tinh-a", "attachments"), 0);
    assert_eq!(
        w.db.scalar_i64("SELECT count(*) AS n FROM platform.outbox"),
        0
    );
    // The same submission, well formed, goes through (with room for its headers).
    let (s, _, b) = submit_raw(
        &w,
        &token,
        body([data("Content-Type: application/json\r\n")]),
        true,
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(w.count("tinh-a", "dossiers"), 1);
}

const SCRIPT: &str = "<script>alert(1)</script>";

#[actix_web::test]
async fn a_receipt_escapes_the_applicants_name() {
    let w = World::new(|_| {}).await;
    // A name typed at sign-up is the applicant's to choose.
    let mallory = account(&w.db, "mallory@example.vn", SCRIPT);
    let token = w.token(mallory, "tinh-a", &[]);
    let (s, d) = w
        .req(
            "POST",
            "/t/tinh-a/api/v1/dossiers",
            Some(&token),
            Some(json!({
                "procedure": PAID,
                "phone": PHONE,
                "form": { "doi_tuong": "thuong", "nguoi_lao_dong": [] }
            })),
        )
        .await;
    assert_eq!(s, 201, "{d}");
    let code = d["code"].as_str().unwrap();

    // Paid at the sandbox gateway, as a browser would.
    let (s, c) = w
        .req(
            "POST",
            &format!("/t/tinh-a/api/v1/dossiers/{code}/payment"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(s, 200, "{c}");
    let url = c["checkout_url"].as_str().unwrap();
    let reference = c["reference"].as_str().unwrap();
    let mut page = client().get(url).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = String::from_utf8(page.body().await.unwrap().to_vec()).unwrap();
    assert!(!html.contains("<script"), "{html}");
    let query: Params = url::form_urlencoded::parse(url.split_once('?').unwrap().1.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let resp = client()
        .post(format!("{}/sandbox/gateway/pay", w.app.base))
        .send_form(&[
            ("merchant", query["merchant"].as_str()),
            ("txn_ref", query["txn_ref"].as_str()),
            ("return_url", query["return_url"].as_str()),
            ("decision", "approve"),
            ("ipn", "now"),
        ])
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 303);

    // The receipt names the payer as text, never as markup.
    let receipt = || async {
        let mut r = client()
            .get(format!(
                "{}/t/tinh-a/api/v1/payments/{reference}/receipt",
                w.app.base
            ))
            .insert_header(("Authorization", format!("Bearer {token}")))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let html = String::from_utf8(r.body().await.unwrap().to_vec()).unwrap();
        (status, html)
    };
    assert!(
        eventually(Duration::from_secs(10), || async {
            receipt().await.0 == 200
        })
        .await,
        "no receipt"
    );
    let (_, html) = receipt().await;
    assert!(html.contains("TA-BL-"), "{html}");
    assert!(
        !html.contains(SCRIPT) && !html.contains("<script"),
        "{html}"
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;"), "{html}");
}

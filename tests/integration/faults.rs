//! Faults: what a client hears while PostgreSQL drops its connections (issue 15, items 13–14).

use crate::world::World;
use diesel::connection::SimpleConnection;
use serde_json::json;

/// Ends every connection the server holds to its database, as a PostgreSQL restart would.
fn drop_server_connections(w: &World) {
    w.db.conn()
        .batch_execute(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = '{}' AND pid <> pg_backend_pid()",
            w.db.name
        ))
        .unwrap();
}

#[actix_web::test]
async fn a_dead_pooled_connection_is_a_retry_or_a_503_never_a_500() {
    let w = World::new(|s| {
        s.database.pool_size = 2;
        s.database.pool_shards = 1;
        s.dossiers.lookup_per_minute = 10_000;
    })
    .await;
    let code = w.submit_work_permit("tinh-a", w.citizen).await;
    let account = w.account_token(w.citizen);
    let lookup = || json!({ "code": code, "phone": "0900000009" });
    // Warm the pool: both connections open and idle.
    let (s, _) = w
        .req("POST", "/t/tinh-a/api/v1/lookup", None, Some(lookup()))
        .await;
    assert_eq!(s, 404);
    let (s, _) = w
        .req("GET", "/api/v1/account/dossiers", Some(&account), None)
        .await;
    assert_eq!(s, 200);

    for round in 0..3 {
        drop_server_connections(&w);
        let mut statuses = Vec::new();
        for _ in 0..4 {
            statuses.push(
                w.req("POST", "/t/tinh-a/api/v1/lookup", None, Some(lookup()))
                    .await
                    .0,
            );
            statuses.push(
                w.req("GET", "/api/v1/account/dossiers", Some(&account), None)
                    .await
                    .0,
            );
        }
        assert!(
            statuses.iter().all(|s| [404, 200, 503].contains(s)),
            "round {round}: {statuses:?}"
        );
        // Dead connections leave the pool: the service comes back by itself.
        assert_eq!(&statuses[statuses.len() - 2..], [404, 200], "{statuses:?}");
    }
}

fn work_permit(name: &str) -> serde_json::Value {
    json!({
        "procedure": crate::world::WORK_PERMIT,
        "phone": crate::world::PHONE,
        "form": { "ho_ten": name, "ngay_sinh": "1990-02-03", "so_ho_chieu": "B1234567" }
    })
}

#[actix_web::test]
async fn a_submission_retried_with_its_key_files_one_dossier() {
    use crate::world::{PDF, PNG};
    let w = World::new(|_| {}).await;
    let token = w.token(w.citizen, "tinh-a", &[]);
    let files: [(usize, &str, &[u8]); 2] = [(0, "Đơn.pdf", PDF), (1, "anh.png", PNG)];
    let path = "/t/tinh-a/api/v1/dossiers";
    let count = || {
        w.db.scalar_i64("SELECT count(*) AS n FROM t_tinh_a.dossiers")
    };
    let send = |key: &'static str, name: &'static str| {
        let (w, token, files) = (&w, &token, &files);
        async move {
            w.multipart_with(
                path,
                token,
                &work_permit(name),
                files,
                &[("Idempotency-Key", key)],
            )
            .await
        }
    };

    let (s, first) = send("retry-4f2a9c1e", "John Smith").await;
    assert_eq!(s, 201, "{first}");
    // The answer was lost; the client sends the same request again.
    let (s, again) = send("retry-4f2a9c1e", "John Smith").await;
    assert_eq!(s, 201, "{again}");
    assert_eq!(again["code"], first["code"]);
    assert_eq!(count(), 1);
    // The same key for another request is refused, and changes nothing.
    let (s, other) = send("retry-4f2a9c1e", "Jane Smith").await;
    assert_eq!(
        (s, other["code"].as_str()),
        (422, Some("idempotency_key_reused"))
    );
    assert_eq!(count(), 1);
    // A malformed key is refused before anything is read.
    let (s, bad) = send("khóa có dấu", "John Smith").await;
    assert_eq!(
        (s, bad["code"].as_str()),
        (400, Some("invalid_idempotency_key"))
    );
    // Four copies at once, as a flaky network sends them: one dossier.
    let answers = futures_util::future::join_all((0..4).map(|_| send("burst-77", "An Bình"))).await;
    let codes: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|(s, b)| {
            assert_eq!(*s, 201, "{b}");
            b["code"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    assert_eq!(codes.len(), 1, "{answers:?}");
    assert_eq!(count(), 2);
    // Without a key, a second send is a second dossier, as before.
    w.submit_work_permit("tinh-a", w.citizen).await;
    w.submit_work_permit("tinh-a", w.citizen).await;
    assert_eq!(count(), 4);
}

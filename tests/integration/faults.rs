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

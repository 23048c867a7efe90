//! `database.shared_writes = "relay"`: a tenant transaction writes the shared tables' rows into
//! its own `shared_relay`, and the drainer applies them, each exactly once. Runs on one
//! PostgreSQL here and against the coordinator in `scripts/test-citus`.

use crate::common::eventually;
use crate::world::World;
use dvc::config::SharedWrites;
use dvc::services::relay::{Drainer, apply_batch};
use dvc::tenancy::TenantSlug;
use serde_json::json;
use std::time::Duration;

/// A world in relay mode with no drainer running (no in-process worker): the test starts them.
async fn relaying_world() -> World {
    World::new(|s| {
        s.database.shared_writes = SharedWrites::Relay;
        s.mail.worker_in_process = false;
    })
    .await
}

fn drainer(w: &World) -> Drainer {
    let settings = &w.app.app_state.settings;
    Drainer::new(
        dvc::db::Pools::build(&settings.database),
        settings.database.url.clone(),
        Duration::from_secs(300),
    )
}

/// What the shared tables hold about `code`'s dossier at tinh-a.
struct Shared {
    index_rows: i64,
    index_status: String,
    webhooks: i64,
    received: i64,
    mails: i64,
}

fn shared_of(w: &World, code: &str) -> Shared {
    let dossier = w.db.scalar_text(&format!(
        "SELECT id::text AS s FROM t_tinh_a.dossiers WHERE code = '{code}'"
    ));
    Shared {
        index_rows: w.db.scalar_i64(&format!(
            "SELECT count(*) AS n FROM platform.dossier_index WHERE code = '{code}'"
        )),
        index_status: w.db.scalar_text(&format!(
            "SELECT coalesce(max(status), '') AS s FROM platform.dossier_index WHERE code = '{code}'"
        )),
        webhooks: w.db.scalar_i64(&format!(
            "SELECT count(*) AS n FROM platform.webhook_outbox WHERE ordering_key = '{dossier}'"
        )),
        received: w.db.scalar_i64(
            "SELECT coalesce(sum(received), 0)::int8 AS n FROM platform.stats_daily s \
             JOIN platform.tenants t ON t.id = s.tenant_id WHERE t.slug = 'tinh-a'",
        ),
        mails: w.db.scalar_i64(&format!(
            "SELECT count(*) AS n FROM platform.outbox \
             WHERE idempotency_key LIKE 'dossier:{dossier}:%' AND channel = 'email'"
        )),
    }
}

async fn submit_and_receive(w: &World) -> String {
    let code = w.submit_work_permit("tinh-a", w.citizen).await;
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
    assert_eq!(s, 200, "{b}");
    code
}

async fn drained(w: &World) -> bool {
    eventually(Duration::from_secs(20), || async {
        w.count("tinh-a", "shared_relay") == 0
    })
    .await
}

#[actix_web::test]
async fn relayed_writes_reach_the_shared_tables_once_and_only_through_the_drainer() {
    let w = relaying_world().await;
    let code = submit_and_receive(&w).await;
    // Submission: index entry, sync event, the notice of the fee due; receipt: index status,
    // sync event, counters, the notice of receipt. None of it is in the shared tables yet.
    assert_eq!(w.count("tinh-a", "shared_relay"), 7);
    let before = shared_of(&w, &code);
    assert_eq!(
        (
            before.index_rows,
            before.webhooks,
            before.received,
            before.mails
        ),
        (0, 0, 0, 0)
    );

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = drainer(&w).spawn(stopped);
    assert!(drained(&w).await, "the drainer empties the relay");
    let after = shared_of(&w, &code);
    assert_eq!(after.index_rows, 1);
    assert_eq!(after.index_status, "received");
    assert_eq!(
        after.webhooks, 2,
        "one sync event per dossier event, to the parent"
    );
    assert_eq!(after.received, 1);
    assert_eq!(after.mails, 2, "the fee due and the receipt, each once");

    // Once it runs, a new change arrives through its notification, not a sweep (five minutes).
    let (s, b) = w
        .act(
            "tinh-a",
            &code,
            w.officer_a,
            &["officer"],
            "start_review",
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert!(
        eventually(Duration::from_secs(10), || async {
            shared_of(&w, &code).index_status == "in_review"
        })
        .await,
        "the index follows the dossier within moments"
    );
    assert_eq!(shared_of(&w, &code).webhooks, 3);
    let _ = stop.send(true);
    task.await.unwrap();
}

#[actix_web::test]
async fn a_batch_applied_by_a_drainer_that_died_before_deleting_it_is_not_applied_twice() {
    let w = relaying_world().await;
    let code = submit_and_receive(&w).await;
    // A drainer applies the batch and dies before deleting it from the relay.
    let settings = &w.app.app_state.settings;
    let pools = dvc::db::Pools::build(&settings.database);
    let tenant = w
        .app
        .app_state
        .registry
        .by_slug(&TenantSlug::parse("tinh-a").unwrap())
        .unwrap();
    let id = tenant.id;
    let batch = tenant
        .db(&pools)
        .run_blocking(move |c| Ok(apply_batch(c, id, 500).unwrap()))
        .unwrap();
    assert_eq!(batch.ids.len(), 7);
    assert_eq!(w.count("tinh-a", "shared_relay"), 7, "still in the relay");
    let once = shared_of(&w, &code);
    assert_eq!((once.index_rows, once.received, once.mails), (1, 1, 2));

    // Two drainers start and race over the same rows.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let tasks = [
        drainer(&w).spawn(stopped.clone()),
        drainer(&w).spawn(stopped),
    ];
    assert!(drained(&w).await);
    let after = shared_of(&w, &code);
    assert_eq!(
        (
            after.index_rows,
            after.index_status.as_str(),
            after.webhooks,
            after.received,
            after.mails
        ),
        (1, "received", 2, 1, 2),
        "every write exactly once"
    );
    let _ = stop.send(true);
    for t in tasks {
        t.await.unwrap();
    }
}

#[actix_web::test]
async fn racing_drainers_keep_each_dossiers_writes_in_order_and_once() {
    let w = relaying_world().await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let tasks = [
        drainer(&w).spawn(stopped.clone()),
        drainer(&w).spawn(stopped),
    ];
    let mut codes = Vec::new();
    for _ in 0..6 {
        codes.push(submit_and_receive(&w).await);
    }
    assert!(drained(&w).await);
    for code in &codes {
        let s = shared_of(&w, code);
        assert_eq!(
            (s.index_rows, s.index_status.as_str(), s.webhooks, s.mails),
            (1, "received", 2, 2),
            "{code}"
        );
    }
    assert_eq!(shared_of(&w, &codes[0]).received, 6);
    let _ = stop.send(true);
    for t in tasks {
        t.await.unwrap();
    }
}

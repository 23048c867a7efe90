//! A tenant's archive: export, import into a fresh deployment, export again — every file
//! byte-identical; a tampered archive is refused and changes nothing; archive and purge.

use crate::common::TestDb;
use crate::world::{QUICK, World, tenant_file};
use diesel::connection::SimpleConnection;
use dvc::services::storage::{LocalDisk, Storage, StorageKey};
use dvc::tenancy::TenantSlug;
use dvc::tenancy::archive::{self, ArchiveError, Manifest};
use dvc::tenancy::lifecycle;
use dvc::tenancy::onboard::PortalAddress;
use std::path::{Path, PathBuf};

fn portal() -> PortalAddress {
    PortalAddress {
        base_domain: dvc::tenancy::HostName::parse("localhost").unwrap(),
        public_origin: "http://{host}:8080".into(),
    }
}

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("dvc-{name}-{}", uuid::Uuid::new_v4()))
}

/// A deployment with only the ministry, as a second dvc would have it.
fn fresh_deployment() -> TestDb {
    let db = TestDb::new();
    db.apply_texts(&[("bo.toml", tenant_file("bo", "BO", "ministry", None))]);
    db
}

fn comparable(m: &Manifest) -> Vec<(String, Option<u64>, u64, String)> {
    m.files
        .iter()
        .map(|f| (f.path.clone(), f.rows, f.bytes, f.sha256.clone()))
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in walk(from) {
        let target = to.join(entry.strip_prefix(from).unwrap());
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&entry, &target).unwrap();
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[actix_web::test]
async fn an_archive_round_trips_byte_for_byte_and_a_tampered_one_is_refused() {
    let w = World::new(|_| {}).await;
    // Dossiers with attachments, events, a rating-free quick one, a logo, statistics.
    let code = w.submit_work_permit("tinh-a", w.citizen).await;
    w.submit_work_permit("tinh-a", w.citizen2).await;
    let (s, b) = w
        .act(
            "tinh-a",
            &code,
            w.officer_a,
            &["officer"],
            "receive",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let token = w.token(w.citizen, "tinh-a", &[]);
    let (s, b) = w
        .multipart(
            "/t/tinh-a/api/v1/dossiers",
            &token,
            &serde_json::json!({ "procedure": QUICK, "phone": "0912345678", "form": {} }),
            &[],
        )
        .await;
    assert_eq!(s, 201, "{b}");
    w.db.conn()
        .batch_execute(
            "INSERT INTO platform.tenant_logos (tenant_id, media_type, bytes, sha256) \
             SELECT id, 'image/png', '\\x89504e47'::bytea, 'abc' FROM platform.tenants WHERE slug = 'tinh-a'",
        )
        .unwrap();
    let slug = TenantSlug::parse("tinh-a").unwrap();
    let storage_a = LocalDisk::new(&w.storage);
    let dir = temp("export");
    let exported = archive::export(&w.db.pool(5), &storage_a, &slug, &dir).unwrap();
    let count = |path: &str| {
        exported
            .manifest
            .files
            .iter()
            .find(|f| f.path == path)
            .and_then(|f| f.rows)
            .unwrap()
    };
    assert_eq!(count("tenant/dossiers.jsonl"), 3);
    assert_eq!(count("tenant/attachments.jsonl"), 4);
    assert!(count("tenant/dossier_events.jsonl") >= 4);
    assert_eq!(count("platform/tenant_logos.jsonl"), 1);
    assert!(count("platform/stats_daily.jsonl") >= 1);
    assert_eq!(count("platform/dossier_index.jsonl"), 3);
    let files = exported
        .manifest
        .files
        .iter()
        .filter(|f| f.path.starts_with("attachments/"))
        .count();
    assert_eq!(files, 4);
    let accounts = std::fs::read_to_string(dir.join("platform/accounts.jsonl")).unwrap();
    assert!(
        !accounts.contains("password_hash"),
        "password hashes never leave"
    );
    // Exporting twice gives the same bytes.
    let again = temp("export-again");
    let second = archive::export(&w.db.pool(5), &storage_a, &slug, &again).unwrap();
    assert_eq!(comparable(&exported.manifest), comparable(&second.manifest));

    // Into a fresh deployment, and out again: identical.
    let b = fresh_deployment();
    let storage_b_dir = temp("storage-b");
    let storage_b = LocalDisk::new(&storage_b_dir);
    let imported = archive::import(
        &mut b.conn(),
        &storage_b,
        &dir,
        Some(&exported.manifest_sha256),
        &portal(),
    )
    .unwrap();
    assert_eq!(imported.attachments, 4);
    let round = temp("export-b");
    let from_b = archive::export(&b.pool(5), &storage_b, &slug, &round).unwrap();
    assert_eq!(comparable(&exported.manifest), comparable(&from_b.manifest));
    assert_eq!(
        b.scalar_i64(
            "SELECT count(*) AS n FROM platform.tenants t JOIN platform.tenants p ON p.id = t.parent_id \
             WHERE t.slug = 'tinh-a' AND p.slug = 'bo'"
        ),
        1,
        "the parent is found again by its slug"
    );
    // Serial columns continue after the restored rows (a stale sequence would collide).
    b.conn()
        .batch_execute(
            "INSERT INTO t_tinh_a.dossier_events (dossier_id, seq, actor_role, to_status) \
             SELECT id, 99, 'system', status FROM t_tinh_a.dossiers LIMIT 1",
        )
        .expect("the event sequence continues after the imported events");
    // A second import of the same tenant is refused.
    let twice = archive::import(&mut b.conn(), &storage_b, &dir, None, &portal());
    assert!(matches!(twice, Err(ArchiveError::Exists(_))), "{twice:?}");

    // Tampered: one byte of one file. Refused before anything is written.
    let c = fresh_deployment();
    let tampered = temp("tampered");
    copy_dir(&dir, &tampered);
    let target = tampered.join("tenant/dossiers.jsonl");
    let mut bytes = std::fs::read(&target).unwrap();
    let at = bytes.iter().position(|b| *b == b'J').unwrap();
    bytes[at] = b'K';
    std::fs::write(&target, bytes).unwrap();
    let storage_c_dir = temp("storage-c");
    let refused = archive::import(
        &mut c.conn(),
        &LocalDisk::new(&storage_c_dir),
        &tampered,
        None,
        &portal(),
    );
    assert!(
        matches!(&refused, Err(ArchiveError::Refused(why)) if why.contains("tenant/dossiers.jsonl")),
        "{refused:?}"
    );
    // A manifest edited to match (checksum given by the exporter differs): refused too.
    let wrong = archive::import(
        &mut c.conn(),
        &LocalDisk::new(&storage_c_dir),
        &dir,
        Some("00"),
        &portal(),
    );
    assert!(matches!(wrong, Err(ArchiveError::Refused(_))), "{wrong:?}");
    assert_eq!(
        c.scalar_i64("SELECT count(*) AS n FROM platform.tenants WHERE slug = 'tinh-a'"),
        0
    );
    assert_eq!(
        c.scalar_i64(
            "SELECT count(*) AS n FROM information_schema.schemata WHERE schema_name = 't_tinh_a'"
        ),
        0
    );
    assert!(!storage_c_dir.exists(), "no attachment was written");

    // Archive with no grace, then purge: the schema, shared rows and files are gone, the audit
    // stays, and the archive restores it into the same deployment.
    let key: String = {
        #[derive(diesel::QueryableByName)]
        struct K {
            #[diesel(sql_type = diesel::sql_types::Text)]
            storage_key: String,
        }
        use diesel::RunQueryDsl;
        diesel::sql_query("SELECT storage_key FROM t_tinh_a.attachments LIMIT 1")
            .get_result::<K>(&mut w.db.conn())
            .unwrap()
            .storage_key
    };
    let key = StorageKey::parse(&key).unwrap();
    assert!(storage_a.get(&key).is_ok());
    let mut conn = w.db.conn();
    assert!(
        matches!(
            lifecycle::archive(
                &mut conn,
                &TenantSlug::parse("bo").unwrap(),
                chrono::Duration::zero()
            ),
            Err(lifecycle::LifecycleError::Invalid { .. })
        ),
        "a tenant with live children stays"
    );
    lifecycle::archive(&mut conn, &slug, chrono::Duration::zero()).unwrap();
    let due = lifecycle::due_for_purge(&mut conn).unwrap();
    assert_eq!(due.len(), 1);
    let keys = lifecycle::purge(&mut conn, &due[0]).unwrap();
    assert_eq!(keys.len(), 4);
    for k in &keys {
        storage_a.delete(&StorageKey::parse(k).unwrap()).unwrap();
    }
    assert!(storage_a.get(&key).is_err());
    for sql in [
        "SELECT count(*) AS n FROM information_schema.schemata WHERE schema_name = 't_tinh_a'",
        "SELECT count(*) AS n FROM platform.tenants WHERE slug = 'tinh-a'",
        "SELECT count(*) AS n FROM platform.memberships m WHERE NOT EXISTS \
         (SELECT 1 FROM platform.tenants t WHERE t.id = m.tenant_id)",
        "SELECT count(*) AS n FROM platform.dossier_index d WHERE NOT EXISTS \
         (SELECT 1 FROM platform.tenants t WHERE t.id = d.tenant_id)",
    ] {
        assert_eq!(w.db.scalar_i64(sql), 0, "{sql}");
    }
    assert_eq!(
        w.db.scalar_i64(
            "SELECT count(*) AS n FROM platform.audit_log WHERE action = 'operator.tenant_purged'"
        ),
        1
    );
    archive::import(&mut conn, &storage_a, &dir, None, &portal()).unwrap();
    assert!(storage_a.get(&key).is_ok());
    assert_eq!(
        w.db.scalar_i64("SELECT count(*) AS n FROM t_tinh_a.dossiers"),
        3
    );
    for d in [dir, again, round, tampered, storage_b_dir] {
        let _ = std::fs::remove_dir_all(d);
    }
}

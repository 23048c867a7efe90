//! A tenant's archive: export, import into a fresh deployment, export again — every file
//! byte-identical; a tampered archive is refused and changes nothing; archive and purge.
//! An archive is trusted with nothing it does not prove: its manifest must be signed with the
//! deployment's key (or imported with `allow_unsigned`), and whatever it says, it restores only
//! its own tenant — its registry row, shared rows, memberships and attachment keys — from plain
//! files and folders, refused before anything is written.

use crate::common::TestDb;
use crate::world::{QUICK, World, account, tenant_file};
use base64::Engine;
use diesel::connection::SimpleConnection;
use dvc::hosting::archive::{
    self, ArchiveError, Exported, Manifest, ManifestKey, SIGNATURE_FILE, Signature, Trust,
};
use dvc::hosting::lifecycle;
use dvc::hosting::onboard::PortalAddress;
use dvc::services::storage::{LocalDisk, Storage, StorageKey};
use dvc::tenancy::TenantSlug;
use std::path::{Path, PathBuf};
use uuid::Uuid;

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

/// The manifest key of the test world's deployment, whose master key is 32 bytes of 7.
fn world_key() -> ManifestKey {
    key_of(7)
}

fn key_of(byte: u8) -> ManifestKey {
    ManifestKey::from_master(&base64::engine::general_purpose::STANDARD.encode([byte; 32])).unwrap()
}

/// Import checking the signature with `key`.
fn signed(key: &ManifestKey) -> Trust<'_> {
    Trust {
        key: Some(key),
        ..Trust::default()
    }
}

/// Import with `--allow-unsigned`: every check but the signature.
fn unsigned_allowed(key: &ManifestKey) -> Trust<'_> {
    Trust {
        allow_unsigned: true,
        ..signed(key)
    }
}

fn tenant_id(db: &TestDb, slug: &str) -> Uuid {
    use diesel::prelude::*;
    use dvc::db::schema::tenants::dsl as t;
    t::tenants
        .filter(t::slug.eq(slug))
        .select(t::id)
        .first(&mut db.conn())
        .unwrap()
}

/// A world whose `tinh-a` has two dossiers with two attachment files each, exported signed.
async fn exported_world() -> (World, PathBuf, Exported) {
    let w = World::new(|_| {}).await;
    w.submit_work_permit("tinh-a", w.citizen).await;
    w.submit_work_permit("tinh-a", w.citizen2).await;
    let dir = temp("export");
    let exported = archive::export(
        &w.db.pool(5),
        &LocalDisk::new(&w.storage),
        &TenantSlug::parse("tinh-a").unwrap(),
        &dir,
        Some(&world_key()),
    )
    .unwrap();
    (w, dir, exported)
}

/// Recomputes the manifest's entry for `path` (added when missing) from the file as it is now,
/// as anyone who edits an archive can; the signature is left as it was.
fn rechecksum(dir: &Path, path: &str) {
    use sha2::Digest;
    let manifest = dir.join("manifest.json");
    let mut m: Manifest = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    let bytes = std::fs::read(dir.join(path)).unwrap();
    let entry = archive::FileEntry {
        path: path.to_owned(),
        rows: path.ends_with(".jsonl").then(|| {
            bytes
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .count() as u64
        }),
        bytes: bytes.len() as u64,
        sha256: dvc::services::text::hex(&sha2::Sha256::digest(&bytes)),
    };
    match m.files.iter_mut().find(|f| f.path == path) {
        Some(f) => *f = entry,
        None => m.files.push(entry),
    }
    std::fs::write(&manifest, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
}

/// Signs the manifest again with `key`, as a holder of the key could.
fn resign(dir: &Path, key: &ManifestKey) {
    let text = std::fs::read(dir.join("manifest.json")).unwrap();
    std::fs::write(dir.join(SIGNATURE_FILE), key.sign(&text)).unwrap();
}

/// A copy of the archive `dir` with the JSON lines of `path` rewritten by `edit` and the
/// manifest's checksums recomputed (its signature is then stale).
fn edited(dir: &Path, path: &str, edit: impl FnOnce(&mut Vec<serde_json::Value>)) -> PathBuf {
    let copy = temp("edited");
    copy_dir(dir, &copy);
    let target = copy.join(path);
    let mut rows: Vec<serde_json::Value> = std::fs::read_to_string(&target)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    edit(&mut rows);
    let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(&target, text).unwrap();
    rechecksum(&copy, path);
    copy
}

/// Asserts an import was refused with a message holding every one of `words`.
#[track_caller]
fn assert_refused(result: Result<archive::Imported, ArchiveError>, words: &[&str]) {
    match &result {
        Err(ArchiveError::Refused(why)) if words.iter().all(|w| why.contains(w)) => {}
        _ => panic!("expected a refusal naming {words:?}, got {result:?}"),
    }
}

/// What a deployment holds that an import could write: tenants, tenant schemas, accounts,
/// memberships and the other shared rows.
fn footprint(db: &TestDb) -> Vec<i64> {
    [
        "SELECT count(*) AS n FROM platform.tenants",
        "SELECT count(*) AS n FROM information_schema.schemata WHERE schema_name LIKE 't\\_%'",
        "SELECT count(*) AS n FROM platform.accounts",
        "SELECT count(*) AS n FROM platform.memberships",
        "SELECT count(*) AS n FROM platform.tenant_logos",
        "SELECT count(*) AS n FROM platform.tenant_domains",
        "SELECT count(*) AS n FROM platform.dossier_index",
        "SELECT count(*) AS n FROM platform.audit_log",
    ]
    .iter()
    .map(|sql| db.scalar_i64(sql))
    .collect()
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
    let key = world_key();
    let exported = archive::export(&w.db.pool(5), &storage_a, &slug, &dir, Some(&key)).unwrap();
    assert!(exported.signed && dir.join(SIGNATURE_FILE).is_file());
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
    let second = archive::export(&w.db.pool(5), &storage_a, &slug, &again, Some(&key)).unwrap();
    assert_eq!(comparable(&exported.manifest), comparable(&second.manifest));

    // Into a fresh deployment, and out again: identical.
    let b = fresh_deployment();
    let storage_b_dir = temp("storage-b");
    let storage_b = LocalDisk::new(&storage_b_dir);
    let imported = archive::import(
        &mut b.conn(),
        &storage_b,
        &dir,
        Trust {
            checksum: Some(&exported.manifest_sha256),
            ..signed(&key)
        },
        &portal(),
    )
    .unwrap();
    assert_eq!(imported.attachments, 4);
    assert_eq!(imported.signature, Signature::Verified);
    let round = temp("export-b");
    let from_b = archive::export(&b.pool(5), &storage_b, &slug, &round, Some(&key)).unwrap();
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
    let twice = archive::import(&mut b.conn(), &storage_b, &dir, signed(&key), &portal());
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
        signed(&key),
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
        Trust {
            checksum: Some("00"),
            ..signed(&key)
        },
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
    archive::import(&mut conn, &storage_a, &dir, signed(&world_key()), &portal()).unwrap();
    assert!(storage_a.get(&key).is_ok());
    assert_eq!(
        w.db.scalar_i64("SELECT count(*) AS n FROM t_tinh_a.dossiers"),
        3
    );
    for d in [dir, again, round, tampered, storage_b_dir] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[actix_web::test]
async fn a_manifest_rechecksummed_without_the_key_is_refused() {
    let (w, dir, exported) = exported_world().await;
    let key = world_key();
    assert!(exported.signed);
    // Whoever edits a row can recompute every checksum in the manifest, but not its signature.
    let forged = edited(&dir, "tenant/dossiers.jsonl", |rows| {
        rows[0]["applicant_name"] = "Người Khác".into();
    });
    let c = fresh_deployment();
    let storage_c_dir = temp("storage-c");
    let storage_c = LocalDisk::new(&storage_c_dir);
    let before = footprint(&c);
    let import = |dir: &Path, trust: Trust| {
        archive::import(&mut c.conn(), &storage_c, dir, trust, &portal())
    };
    assert_refused(
        import(&forged, signed(&key)),
        &[
            SIGNATURE_FILE,
            "does not sign this manifest",
            "--allow-unsigned",
        ],
    );
    // Its new checksum, given as --checksum, vouches for nothing either.
    let forged_sha = {
        use sha2::Digest;
        dvc::services::text::hex(&sha2::Sha256::digest(
            std::fs::read(forged.join("manifest.json")).unwrap(),
        ))
    };
    assert_refused(
        import(
            &forged,
            Trust {
                checksum: Some(&forged_sha),
                ..signed(&key)
            },
        ),
        &["does not sign this manifest"],
    );
    // The signature removed: missing.
    let stripped = temp("stripped");
    copy_dir(&forged, &stripped);
    std::fs::remove_file(stripped.join(SIGNATURE_FILE)).unwrap();
    assert_refused(
        import(&stripped, signed(&key)),
        &[SIGNATURE_FILE, "missing"],
    );
    // The genuine archive, checked with another deployment's key, or with none.
    assert_refused(
        import(&dir, signed(&key_of(8))),
        &["does not sign this manifest"],
    );
    assert_refused(
        import(&dir, Trust::default()),
        &["auth.master_key is not set", "--allow-unsigned"],
    );
    assert_eq!(footprint(&c), before, "nothing was written");
    assert!(!storage_c_dir.exists(), "no attachment was written");

    // With --allow-unsigned the edited archive loads (every other check passed).
    let imported = import(&stripped, unsigned_allowed(&key)).unwrap();
    assert!(
        matches!(&imported.signature, Signature::Unverified(why) if why.contains("missing")),
        "{:?}",
        imported.signature
    );
    assert_eq!(
        c.scalar_i64(
            "SELECT count(*) AS n FROM t_tinh_a.dossiers WHERE applicant_name = 'Người Khác'"
        ),
        1
    );

    // A deployment without a master key exports unsigned; importing that needs the flag.
    let plain = temp("export-unsigned");
    let unsigned = archive::export(
        &w.db.pool(5),
        &LocalDisk::new(&w.storage),
        &TenantSlug::parse("tinh-a").unwrap(),
        &plain,
        None,
    )
    .unwrap();
    assert!(!unsigned.signed && !plain.join(SIGNATURE_FILE).exists());
    let d = fresh_deployment();
    let storage_d_dir = temp("storage-d");
    let storage_d = LocalDisk::new(&storage_d_dir);
    assert_refused(
        archive::import(&mut d.conn(), &storage_d, &plain, signed(&key), &portal()),
        &["missing"],
    );
    archive::import(
        &mut d.conn(),
        &storage_d,
        &plain,
        unsigned_allowed(&key),
        &portal(),
    )
    .unwrap();
    for p in [
        dir,
        forged,
        stripped,
        plain,
        storage_c_dir,
        storage_d_dir,
        w.storage.clone(),
    ] {
        let _ = std::fs::remove_dir_all(p);
    }
}

#[actix_web::test]
async fn an_archive_restores_only_its_own_tenants_shared_rows() {
    let (w, dir, exported) = exported_world().await;
    let key = world_key();
    let own = exported.manifest.tenant.id;
    let c = fresh_deployment();
    let bo = tenant_id(&c, "bo");
    c.conn()
        .batch_execute(&format!(
            "INSERT INTO platform.tenant_domains (domain, tenant_id, verified_at) \
             VALUES ('dichvucong.bo.gov.vn', '{bo}', now())"
        ))
        .unwrap();
    let stranger = account(&c, "nguoi.la@example.vn", "Người Lạ");
    let storage_c_dir = temp("storage-c");
    let storage_c = LocalDisk::new(&storage_c_dir);
    let before = footprint(&c);
    // Every edit is signed again with the real key: a signature vouches for the archive's
    // origin, never for rows of other tenants.
    let try_edit = |path: &str, edit: &dyn Fn(&mut Vec<serde_json::Value>), words: &[&str]| {
        let copy = edited(&dir, path, |rows| edit(rows));
        resign(&copy, &key);
        let result = archive::import(&mut c.conn(), &storage_c, &copy, signed(&key), &portal());
        assert_refused(result, words);
        let _ = std::fs::remove_dir_all(copy);
    };
    // A second registry row: a tenant of the attacker's making, on the ministry's schema.
    try_edit(
        "platform/tenants.jsonl",
        &|rows| {
            let mut other = rows[0].clone();
            other["id"] = Uuid::new_v4().to_string().into();
            other["slug"] = "tinh-x".into();
            other["code"] = "TX".into();
            other["schema_name"] = "t_bo".into();
            rows.push(other);
        },
        &[
            "platform/tenants.jsonl line 2",
            "tinh-x",
            "only its own tenant",
        ],
    );
    // Its own row pointed at another tenant's schema.
    try_edit(
        "platform/tenants.jsonl",
        &|rows| rows[0]["schema_name"] = "t_bo".into(),
        &["platform/tenants.jsonl line 1", "schema_name", "t_bo"],
    );
    // Its own row under another id.
    try_edit(
        "platform/tenants.jsonl",
        &|rows| rows[0]["id"] = bo.to_string().into(),
        &["platform/tenants.jsonl line 1", &bo.to_string()],
    );
    // A membership in the ministry for one of the archive's accounts.
    try_edit(
        "platform/memberships.jsonl",
        &|rows| {
            let mut admin = rows[0].clone();
            admin["tenant_id"] = bo.to_string().into();
            admin["role"] = "tenant_admin".into();
            rows.push(admin);
        },
        &[
            "platform/memberships.jsonl line",
            "tenant_id",
            &bo.to_string(),
        ],
    );
    // A role in the imported tenant for an account of this deployment the archive does not carry.
    try_edit(
        "platform/memberships.jsonl",
        &|rows| {
            let mut admin = rows[0].clone();
            admin["account_id"] = stranger.to_string().into();
            admin["role"] = "tenant_admin".into();
            rows.push(admin);
        },
        &[
            "platform/memberships.jsonl line",
            &stranger.to_string(),
            "not among the archive's accounts",
        ],
    );
    // A logo for the ministry, and a dossier of the ministry's in the citizens' index.
    try_edit(
        "platform/tenant_logos.jsonl",
        &|rows| {
            rows.push(serde_json::json!({
                "tenant_id": bo, "media_type": "image/png", "bytes": "\\x89504e47",
                "sha256": "abc", "updated_at": "2026-01-01T00:00:00+00:00"
            }));
        },
        &["platform/tenant_logos.jsonl line 1", "tenant_id"],
    );
    try_edit(
        "platform/dossier_index.jsonl",
        &|rows| rows[1]["tenant_id"] = bo.to_string().to_uppercase().into(),
        &["platform/dossier_index.jsonl line 2", "tenant_id"],
    );
    // Two readings of one row: PostgreSQL would take the last `tenant_id`.
    {
        let copy = temp("duplicate-key");
        copy_dir(&dir, &copy);
        let path = copy.join("platform/stats_open.jsonl");
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str(&format!(
            "{{\"tenant_id\":\"{own}\",\"procedure_code\":\"x\",\"field_code\":\"y\",\
             \"in_progress\":1,\"tenant_id\":\"{bo}\"}}\n"
        ));
        std::fs::write(&path, text).unwrap();
        rechecksum(&copy, "platform/stats_open.jsonl");
        resign(&copy, &key);
        assert_refused(
            archive::import(&mut c.conn(), &storage_c, &copy, signed(&key), &portal()),
            &["platform/stats_open.jsonl line", "appears twice"],
        );
        let _ = std::fs::remove_dir_all(copy);
    }
    // The ministry's domain, spelt so that it slips past the key, and as it is.
    for (domain, words) in [
        (
            "DichVuCong.Bo.Gov.Vn.",
            "not a host name as dvc writes them",
        ),
        ("dichvucong.bo.gov.vn", "already leads to another tenant"),
    ] {
        try_edit(
            "platform/tenant_domains.jsonl",
            &|rows| {
                rows.push(serde_json::json!({
                    "domain": domain, "tenant_id": own,
                    "verified_at": "2026-01-01T00:00:00+00:00"
                }));
            },
            &[domain, words],
        );
    }
    assert_eq!(footprint(&c), before, "nothing was written");
    assert!(!storage_c_dir.exists(), "no attachment was written");

    // The archive as exported loads, with its own tenant's rows only.
    archive::import(&mut c.conn(), &storage_c, &dir, signed(&key), &portal()).unwrap();
    assert_eq!(
        c.scalar_i64("SELECT count(*) AS n FROM platform.tenants"),
        2
    );
    assert_eq!(
        c.scalar_i64(&format!(
            "SELECT count(*) AS n FROM platform.memberships WHERE tenant_id = '{own}'"
        )),
        4
    );
    assert_eq!(
        c.scalar_i64(&format!(
            "SELECT count(*) AS n FROM platform.memberships WHERE tenant_id <> '{own}'"
        )),
        0
    );
    for p in [dir, storage_c_dir, w.storage.clone()] {
        let _ = std::fs::remove_dir_all(p);
    }
}

#[actix_web::test]
async fn attachment_keys_must_be_the_tenants_own() {
    let (w, dir, exported) = exported_world().await;
    let key = world_key();
    let own = exported.manifest.tenant.id;
    let c = fresh_deployment();
    let bo = tenant_id(&c, "bo");
    // A file of the ministry's in the target deployment's storage.
    let storage_c_dir = temp("storage-c");
    let storage_c = LocalDisk::new(&storage_c_dir);
    let theirs = StorageKey::generate(bo, 2026);
    storage_c.put(&theirs, b"the ministry's own file").unwrap();
    let before = footprint(&c);
    let import =
        |dir: &Path| archive::import(&mut c.conn(), &storage_c, dir, signed(&key), &portal());

    // An attachment file under the ministry's key: it would overwrite the ministry's file.
    let overwrite = temp("overwrite");
    copy_dir(&dir, &overwrite);
    let path = format!("attachments/{}", theirs.as_str());
    std::fs::create_dir_all(overwrite.join(&path).parent().unwrap()).unwrap();
    std::fs::write(overwrite.join(&path), b"%PDF-1.4 replaced").unwrap();
    rechecksum(&overwrite, &path);
    resign(&overwrite, &key);
    assert_refused(
        import(&overwrite),
        &[&path, "not a file of this tenant's", &own.to_string()],
    );

    // An attachment row pointing at the ministry's file (downloadable through the imported
    // tenant, deleted with it on purge), or climbing out of the tenant's prefix.
    for bad in [
        theirs.as_str().to_owned(),
        format!("{own}/2026/../../{}", theirs.as_str()),
        format!("{own}/../{}", theirs.as_str()),
    ] {
        let copy = edited(&dir, "tenant/attachments.jsonl", |rows| {
            rows[0]["storage_key"] = bad.clone().into();
        });
        resign(&copy, &key);
        assert_refused(
            import(&copy),
            &["tenant/attachments.jsonl line 1", "storage key", &bad],
        );
        let _ = std::fs::remove_dir_all(copy);
    }
    assert_eq!(footprint(&c), before, "nothing was written");
    assert_eq!(storage_c.get(&theirs).unwrap(), b"the ministry's own file");
    let stored: Vec<_> = walk(&storage_c_dir);
    assert_eq!(stored.len(), 1, "no attachment was written: {stored:?}");
    for p in [dir, overwrite, storage_c_dir, w.storage.clone()] {
        let _ = std::fs::remove_dir_all(p);
    }
}

#[actix_web::test]
async fn links_and_special_files_in_an_archive_are_refused() {
    use std::os::unix::fs::symlink;
    let (w, dir, _) = exported_world().await;
    let key = world_key();
    let c = fresh_deployment();
    let storage_c_dir = temp("storage-c");
    let storage_c = LocalDisk::new(&storage_c_dir);
    let before = footprint(&c);
    let outside = temp("outside");
    copy_dir(&dir, &outside);
    let import =
        |dir: &Path| archive::import(&mut c.conn(), &storage_c, dir, signed(&key), &portal());
    let copy = || {
        let copy = temp("linked");
        copy_dir(&dir, &copy);
        copy
    };
    // A file replaced by a link to identical bytes elsewhere: every checksum and the
    // signature still hold, and still it is refused.
    let file_link = copy();
    std::fs::remove_file(file_link.join("tenant/dossiers.jsonl")).unwrap();
    symlink(
        outside.join("tenant/dossiers.jsonl"),
        file_link.join("tenant/dossiers.jsonl"),
    )
    .unwrap();
    assert_refused(
        import(&file_link),
        &["`tenant/dossiers.jsonl`", "symbolic link"],
    );
    // A folder replaced by a link.
    let dir_link = copy();
    std::fs::remove_dir_all(dir_link.join("attachments")).unwrap();
    symlink(outside.join("attachments"), dir_link.join("attachments")).unwrap();
    assert_refused(import(&dir_link), &["`attachments`", "symbolic link"]);
    // A link the manifest does not even name.
    let stray = copy();
    symlink("/etc/passwd", stray.join("platform/passwd.jsonl")).unwrap();
    assert_refused(
        import(&stray),
        &["`platform/passwd.jsonl`", "symbolic link"],
    );
    // A named pipe.
    let fifo = copy();
    let made = std::process::Command::new("mkfifo")
        .arg(fifo.join("tenant/pipe"))
        .status()
        .unwrap();
    assert!(made.success());
    assert_refused(import(&fifo), &["`tenant/pipe`", "not a regular file"]);
    assert_eq!(footprint(&c), before, "nothing was written");
    assert!(!storage_c_dir.exists(), "no attachment was written");
    // The folder itself may be reached through a link: the operator named it.
    let via = temp("via-link");
    symlink(&dir, &via).unwrap();
    archive::import(&mut c.conn(), &storage_c, &via, signed(&key), &portal()).unwrap();
    for p in [
        dir,
        outside,
        file_link,
        dir_link,
        stray,
        fifo,
        storage_c_dir,
        w.storage.clone(),
    ] {
        let _ = std::fs::remove_dir_all(p);
    }
    let _ = std::fs::remove_file(via);
}

//! The portal in a real browser (Debian's Chromium driven by `tests/e2e/portal.mjs`): sign-up
//! with the mail from the real SMTP server, an application with an upload, single sign-on
//! across two tenants, processing by an officer and a leader, the rating, axe-core on every
//! main page in both languages, screenshots. Afterwards the database must hold exactly what the
//! browser did: one dossier, returned and rated, and nothing from the refused attempts.
//!
//! The one-stop desk in a real browser too (`tests/e2e/desk.mjs`): an officer registers a
//! walk-in's dossier with two scans, asks for it to be completed, receives it, the slips read
//! back with pdftotext; the applicant signs up with what the desk recorded and claims it.
//!
//! A declared process in a real browser as well (`tests/e2e/steps.mjs`): the units that hold
//! the steps receive, forward, ask and give an opinion, decide and finish a dossier; the
//! database and the processing record name every hand-over.

use crate::world::{PHONE, QUICK, WORK_PERMIT, World};
use base64::Engine;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use std::process::Command;
use uuid::Uuid;

pub(crate) const PASSWORD: &str = "mat-khau-du-dai-2026";

/// Gives an account of the world a password and a confirmed authenticator; returns its secret
/// in base32, as an authenticator app would hold it.
pub(crate) fn sign_in_with_totp(w: &World, account: Uuid) -> String {
    let master = dvc::auth::keys::MasterKey::parse(
        &base64::engine::general_purpose::STANDARD.encode([7u8; 32]),
    )
    .unwrap();
    let mut conn = w.db.conn();
    let email: String = dvc::db::schema::accounts::table
        .find(account)
        .select(dvc::db::schema::accounts::email)
        .first(&mut conn)
        .unwrap();
    let password = dvc::auth::password::Password::parse(PASSWORD, &email).unwrap();
    let hash = dvc::auth::password::hash(&password);
    diesel::update(dvc::db::schema::accounts::table.find(account))
        .set(dvc::db::schema::accounts::password_hash.eq(hash))
        .execute(&mut conn)
        .unwrap();
    dvc::auth::totp::enroll(&mut conn, &master, account, &email).unwrap();
    conn.batch_execute(&format!(
        "UPDATE platform.account_totp SET confirmed_at = now() WHERE account_id = '{account}'"
    ))
    .unwrap();
    use dvc::db::schema::account_totp as t;
    let (sealed, nonce): (Vec<u8>, Vec<u8>) = t::table
        .filter(t::account_id.eq(account))
        .select((t::secret_enc, t::nonce))
        .first(&mut conn)
        .unwrap();
    let secret = master.open(&sealed, &nonce).unwrap();
    base32(&secret)
}

/// RFC 4648 base32 without padding, as authenticator apps take secrets.
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut out, mut buffer, mut bits) = (String::new(), 0u32, 0);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// A world served on a real port, its tenants' portals at `{slug}.localhost:{port}` and
/// registered with the single sign-on; returns it with the port.
pub(crate) async fn browser_world() -> (World, String) {
    let w = World::new(|s| {
        let port = s.server.port;
        s.server.public_origin = format!("http://{{host}}:{port}");
        s.auth.issuer = format!("http://localhost:{port}");
    })
    .await;
    let port = w.app.base.rsplit(':').next().unwrap().to_owned();
    let state = w.app.app_state.clone();
    for slug in ["bo", "tinh-a", "tinh-b"] {
        let tenant = state
            .registry
            .by_slug(&dvc::tenancy::TenantSlug::parse(slug).unwrap())
            .unwrap();
        dvc::auth::sso::register_tenant_portal(
            &mut w.db.conn(),
            &tenant,
            &state.base_domain,
            &state.settings.server.public_origin,
        )
        .unwrap();
    }
    (w, port)
}

/// An access token for tinh-a's API as this world's single sign-on issues it (`World::token`
/// names the default issuer, which a browser world does not have).
pub(crate) fn api_token(w: &World, port: &str, account: Uuid, roles: &[&str]) -> String {
    let now = chrono::Utc::now().timestamp();
    dvc::auth::tokens::issue(
        &w.ring,
        &dvc::auth::tokens::AccessClaims {
            iss: format!("http://localhost:{port}"),
            sub: account,
            aud: "tinh-a".into(),
            client_id: "portal-tinh-a".into(),
            sid: Uuid::new_v4(),
            iat: now,
            exp: now + 600,
            nbf: None,
            jti: Uuid::new_v4(),
            roles: roles.iter().map(std::string::ToString::to_string).collect(),
        },
    )
    .unwrap()
}

/// Where the scripts put screenshots and downloads.
pub(crate) fn artifacts() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/e2e-artifacts")
}

/// Runs a browser script (`node tests/e2e/...`) to its end; returns its `RESULT` line's JSON.
pub(crate) async fn run_script(mut cmd: Command) -> serde_json::Value {
    cmd.env("E2E_ARTIFACTS", artifacts());
    // The server runs on this thread's runtime: wait for the browser off it.
    let out = actix_web::rt::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .expect("node (scripts/test installs it with ensure_browser)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "browser run failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("RESULT "))
        .map(|j| serde_json::from_str(j).unwrap())
        .expect("a RESULT line")
}

#[actix_web::test]
async fn a_citizen_applies_and_officials_process_in_a_real_browser() {
    let (w, port) = browser_world().await;
    let officer_totp = sign_in_with_totp(&w, w.officer_a);
    let leader_totp = sign_in_with_totp(&w, w.leader_a);
    let ministry_totp = sign_in_with_totp(&w, w.leader_bo);
    let admin_totp = sign_in_with_totp(&w, w.admin_a);
    let operator = Uuid::new_v4();
    w.db.conn()
        .batch_execute(&format!(
            "INSERT INTO platform.accounts (id, kind, email, full_name, locale, password_hash, \
             email_verified_at) VALUES ('{operator}', 'citizen', 'vanhanh@example.vn', 'Vận hành', 'vi', 'x', now())"
        ))
        .unwrap();
    dvc::auth::roles::grant_operator(&mut w.db.conn(), operator).unwrap();
    let operator_totp = sign_in_with_totp(&w, operator);
    let citizen = format!("cong.dan.{}@example.vn", Uuid::new_v4().simple());
    let artifacts = artifacts();
    let mut cmd = Command::new("node");
    cmd.arg("tests/e2e/portal.mjs")
        .env("BASE_A", format!("http://tinh-a.localhost:{port}"))
        .env("BASE_B", format!("http://tinh-b.localhost:{port}"))
        .env("MAILDIR", &w.smtp.maildir)
        .env("CITIZEN_EMAIL", &citizen)
        .env("PASSWORD", PASSWORD)
        .env("OFFICER_EMAIL", "canbo.a@example.vn")
        .env("OFFICER_TOTP", officer_totp)
        .env("LEADER_EMAIL", "lanhdao.a@example.vn")
        .env("LEADER_TOTP", leader_totp)
        .env("PROCEDURE", WORK_PERMIT)
        .env("BASE_MINISTRY", format!("http://bo.localhost:{port}"))
        .env("ADMIN_EMAIL", "quantri.a@example.vn")
        .env("ISSUER", format!("http://localhost:{port}"))
        .env("OPERATOR_EMAIL", "vanhanh@example.vn")
        .env("OPERATOR_TOTP", operator_totp)
        .env("ADMIN_TOTP", admin_totp)
        .env("MINISTRY_LEADER_EMAIL", "lanhdao.bo@example.vn")
        .env("MINISTRY_LEADER_TOTP", ministry_totp);
    let result = run_script(cmd).await;
    let code = result["code"].as_str().unwrap();
    assert_eq!(result["silent_sign_in"], true);
    assert_eq!(result["signed_out_everywhere"], true);
    assert_eq!(result["paid"], true);
    assert_eq!(result["language_follows_account"], true);
    assert_eq!(result["password_reset"], true);
    assert_eq!(result["notification_choices"], true);
    // The refused choice (no channel) changed nothing: e-mail only, as saved before it.
    let choices = w.db.scalar_text(&format!(
        "SELECT array_to_string(channels, ',') AS s FROM platform.notification_preferences p \
         JOIN platform.accounts a ON a.id = p.account_id WHERE a.email = '{citizen}'"
    ));
    assert_eq!(choices, "email");

    // Exactly what the browser did: one dossier (the refused form and upload kept nothing),
    // returned and rated 5, with its one PDF.
    assert_eq!(w.count("tinh-a", "dossiers"), 1);
    assert_eq!(w.count("tinh-b", "dossiers"), 0);
    // The application's PDF and the supplement's photo (the refused files kept nothing).
    assert_eq!(w.count("tinh-a", "attachments"), 2);
    let status = w.db.scalar_i64(&format!(
        "SELECT count(*) AS n FROM t_tinh_a.dossiers WHERE code = '{code}' AND status = 'returned'"
    ));
    assert_eq!(status, 1);
    let rating = w.db.scalar_i64(&format!(
        "SELECT rating::bigint AS n FROM t_tinh_a.feedback f JOIN t_tinh_a.dossiers d ON d.id = f.dossier_id WHERE d.code = '{code}'"
    ));
    assert_eq!(rating, 5);
    let paid = w.db.scalar_i64(&format!(
        "SELECT count(*) AS n FROM t_tinh_a.dossiers WHERE code = '{code}' AND payment_status = 'paid'"
    ));
    assert_eq!(paid, 1, "the fee paid through the portal");
    // The admin's valid colour was saved, the malformed one changed nothing; the new officer
    // holds the role.
    let primary = w.db.scalar_i64(
        "SELECT count(*) AS n FROM platform.tenants WHERE slug = 'tinh-a' AND branding->>'primary_color' = '#ffe066'",
    );
    assert_eq!(primary, 1);
    let granted = w.db.scalar_i64(
        "SELECT count(*) AS n FROM platform.memberships m JOIN platform.accounts a ON a.id = m.account_id \
         WHERE a.email = 'canbo.a2@example.vn' AND m.role = 'leader'",
    );
    assert_eq!(granted, 1, "a member's new role");
    let stranger = w.db.scalar_i64(
        "SELECT (SELECT count(*) FROM platform.invitations WHERE email = 'hang@example.vn' \
           AND role = 'officer' AND accepted_at IS NULL) \
         * 10 + (SELECT count(*) FROM platform.memberships m JOIN platform.accounts a \
           ON a.id = m.account_id WHERE a.email = 'hang@example.vn') AS n",
    );
    assert_eq!(
        stranger, 10,
        "a citizen not yet a member is invited, not granted"
    );
    // One pending invitation and one domain waiting for its TXT record.
    let invited = w.db.scalar_i64(
        "SELECT count(*) AS n FROM platform.invitations WHERE email = 'moi.canbo@example.vn' \
         AND role = 'leader' AND accepted_at IS NULL",
    );
    assert_eq!(invited, 1);
    let claims = w.db.scalar_i64(
        "SELECT count(*) AS n FROM platform.domain_claims WHERE domain = 'dichvucong.tinh-a.gov.vn' \
         AND verified_at IS NULL",
    );
    assert_eq!(claims, 1);
    let logos =
        w.db.scalar_i64("SELECT count(*) AS n FROM platform.tenant_logos");
    assert_eq!(logos, 1, "the PNG only");
    // The operator's suspension and resumption are in the audit log, and B is active again.
    let audited = w.db.scalar_i64(
        "SELECT count(*) AS n FROM platform.audit_log WHERE action = 'operator.tenant_status'",
    );
    assert_eq!(audited, 2);
    let active = w.db.scalar_i64(
        "SELECT count(*) AS n FROM platform.tenants WHERE slug = 'tinh-b' AND status = 'active'",
    );
    assert_eq!(active, 1);
    let files = std::fs::read_dir(&w.storage).map_or(0, std::iter::Iterator::count);
    assert!(files > 0, "the accepted PDF is stored");
    for shot in [
        "phone/home",
        "phone/dossier",
        "desktop/home",
        "desktop/dossier",
        "desktop/inbox",
        "desktop/dashboard",
        "desktop/console",
    ] {
        assert!(artifacts.join(format!("{shot}.png")).exists(), "{shot}");
    }
}

#[actix_web::test]
async fn a_desk_officer_registers_a_walk_in_and_the_applicant_claims_it_in_a_real_browser() {
    let (w, port) = browser_world().await;
    let officer_totp = sign_in_with_totp(&w, w.officer_a);
    // The address the desk records, and the applicant later signs up with.
    let applicant = format!("hoa.{}@example.vn", Uuid::new_v4().simple());
    let mut cmd = Command::new("node");
    cmd.arg("tests/e2e/desk.mjs")
        .env("BASE_A", format!("http://tinh-a.localhost:{port}"))
        .env("MAILDIR", &w.smtp.maildir)
        .env("PASSWORD", PASSWORD)
        .env("OFFICER_EMAIL", "canbo.a@example.vn")
        .env("OFFICER_TOTP", officer_totp)
        .env("PROCEDURE", WORK_PERMIT)
        .env("APPLICANT_EMAIL", &applicant);
    let result = run_script(cmd).await;
    let code = result["code"].as_str().unwrap();
    assert!(code.starts_with("TA-"), "{code}");
    assert_eq!(result["refused_cccd"], true);
    assert_eq!(result["receipt_pdf"], true);
    assert_eq!(result["claimed"], true);
    assert_eq!(result["applicant_sees_receipt"], true);

    // The account the applicant created in the browser.
    let account: Uuid = dvc::db::schema::accounts::table
        .filter(dvc::db::schema::accounts::email.eq(&applicant))
        .select(dvc::db::schema::accounts::id)
        .first(&mut w.db.conn())
        .expect("the applicant's account");
    // Exactly one dossier (the refused step stored nothing): at the counter, received, with
    // both scans, and now the account's.
    assert_eq!(w.count("tinh-a", "dossiers"), 1);
    assert_eq!(w.count("tinh-b", "dossiers"), 0);
    let dossier = w.db.scalar_i64(&format!(
        "SELECT count(*) AS n FROM t_tinh_a.dossiers WHERE code = '{code}' AND channel = 'counter' \
         AND status = 'received' AND applicant_id = '{account}' AND due_date IS NOT NULL"
    ));
    assert_eq!(dossier, 1, "the counter dossier, received and claimed");
    let scans = w.db.scalar_i64(&format!(
        "SELECT count(*) AS n FROM t_tinh_a.attachments a JOIN t_tinh_a.dossiers d \
         ON d.id = a.dossier_id WHERE d.code = '{code}'"
    ));
    assert_eq!(scans, 2, "two scans of the application");
    assert_eq!(w.count("tinh-a", "attachments"), 2);
    let indexed = w.db.scalar_i64(&format!(
        "SELECT count(*) AS n FROM platform.dossier_index WHERE code = '{code}' \
         AND account_id = '{account}'"
    ));
    assert_eq!(indexed, 1, "the shared index knows whose it is now");
    for shot in [
        "desktop/desk-intake",
        "desktop/desk-intake-errors",
        "desktop/desk-scans",
        "desktop/desk-processing-received",
        "desktop/desk-slip-completion",
        "phone/desk-claimed",
    ] {
        assert!(artifacts().join(format!("{shot}.png")).exists(), "{shot}");
    }
    for pdf in ["bo-sung", "tiep-nhan"] {
        assert!(
            artifacts().join(format!("desk/{code}-{pdf}.pdf")).exists(),
            "{pdf}"
        );
    }
}

#[actix_web::test]
async fn officials_process_a_dossier_step_by_step_in_a_real_browser() {
    use crate::unit_processes::{step_of, tinh_a_with_process};
    let (w, port) = browser_world().await;
    w.db.apply_texts(&[("tinh-a.toml", tinh_a_with_process())]);
    for (unit, who, role) in [
        ("mot-cua", w.officer_a, "officer"),
        ("phong-viec-lam", w.officer_a2, "officer"),
        ("phap-che", w.officer_a, "officer"),
        ("lanh-dao", w.leader_a, "leader"),
        ("van-thu", w.officer_a, "officer"),
    ] {
        w.db.conn()
            .batch_execute(&format!(
                "INSERT INTO t_tinh_a.unit_members VALUES ('{unit}', '{who}', '{role}')"
            ))
            .unwrap();
    }
    let officer_totp = sign_in_with_totp(&w, w.officer_a);
    let specialist_totp = sign_in_with_totp(&w, w.officer_a2);
    let leader_totp = sign_in_with_totp(&w, w.leader_a);
    // Filed online by a citizen (as `file_quick` in unit_processes.rs does); the desk
    // receives it in the browser.
    let (s, b) = w
        .req(
            "POST",
            "/t/tinh-a/api/v1/dossiers",
            Some(&api_token(&w, &port, w.citizen, &[])),
            Some(serde_json::json!({ "procedure": QUICK, "phone": PHONE, "form": {} })),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let code = b["code"].as_str().unwrap().to_owned();
    assert_eq!(step_of(&w, &code), -1, "no step before receipt");
    let mut cmd = Command::new("node");
    cmd.arg("tests/e2e/steps.mjs")
        .env("BASE_A", format!("http://tinh-a.localhost:{port}"))
        .env("PASSWORD", PASSWORD)
        .env("CODE", &code)
        .env("OFFICER_EMAIL", "canbo.a@example.vn")
        .env("OFFICER_TOTP", officer_totp)
        .env("SPECIALIST_EMAIL", "canbo.a2@example.vn")
        .env("SPECIALIST_TOTP", specialist_totp)
        .env("LEADER_EMAIL", "lanhdao.a@example.vn")
        .env("LEADER_TOTP", leader_totp);
    let result = run_script(cmd).await;
    assert_eq!(result["code"], code.as_str());
    for done in [
        "not_yours",
        "opinion_given",
        "fixed_path_hidden",
        "approved",
        "returned",
    ] {
        assert_eq!(result[done], true, "{done}");
    }

    // Exactly what the browser did: the one dossier, returned, and six hand-overs in its
    // history (forward, ask, opinion, forward, decide, finish).
    assert_eq!(w.count("tinh-a", "dossiers"), 1);
    let returned = w.db.scalar_i64(&format!(
        "SELECT count(*) AS n FROM t_tinh_a.dossiers WHERE code = '{code}' AND status = 'returned'"
    ));
    assert_eq!(returned, 1);
    let steps = w.db.scalar_i64(&format!(
        "SELECT count(*) AS n FROM t_tinh_a.dossier_events e JOIN t_tinh_a.dossiers d \
         ON d.id = e.dossier_id WHERE d.code = '{code}' AND e.details ? 'step'"
    ));
    assert_eq!(steps, 6, "forward, ask, opinion, forward, decide, finish");
    let opinion = w.db.scalar_i64(&format!(
        "SELECT count(*) AS n FROM t_tinh_a.dossier_events e JOIN t_tinh_a.dossiers d \
         ON d.id = e.dossier_id WHERE d.code = '{code}' AND e.details->>'opinion_of' = 'phap-che'"
    ));
    assert_eq!(opinion, 1, "the legal unit's opinion is in the history");

    // The processing-control record names every hand-over.
    let text = processing_record(&w, &port, &code).await;
    for expected in [
        code.as_str(),
        "tiep-nhan → tham-dinh",
        "tham-dinh: xin ý kiến phap-che",
        "tham-dinh: ý kiến của phap-che",
        "tham-dinh → ky-duyet",
        "ky-duyet → van-thu",
    ] {
        assert!(
            text.contains(expected),
            "`{expected}` missing from:\n{text}"
        );
    }
    for shot in [
        "desktop/steps-desk",
        "desktop/steps-not-yours",
        "desktop/steps-specialist",
        "desktop/steps-opinion",
        "desktop/steps-leader",
        "desktop/steps-returned",
    ] {
        assert!(artifacts().join(format!("{shot}.png")).exists(), "{shot}");
    }
}

/// The processing-control record slip as an officer downloads it from the API, read back by
/// poppler's pdftotext, words joined by single spaces (table cells wrap).
async fn processing_record(w: &World, port: &str, code: &str) -> String {
    let token = api_token(w, port, w.officer_a, &["officer"]);
    let mut resp = awc::Client::default()
        .get(format!(
            "{}/t/tinh-a/api/v1/dossiers/{code}/slips/processing_record",
            w.app.base
        ))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .send()
        .await
        .unwrap();
    let bytes = resp.body().limit(10 << 20).await.unwrap();
    assert_eq!(
        resp.status().as_u16(),
        200,
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
    let dir = artifacts().join("steps");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{code}-processing-record.pdf"));
    std::fs::write(&path, &bytes).unwrap();
    let out = Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) must be installed: scripts/services.sh installs it");
    assert!(out.status.success(), "pdftotext failed");
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// `SELECT {expr} AS n FROM t_tinh_a.procedures WHERE code = QUICK` as an integer.
fn quick_process(w: &World, expr: &str) -> i64 {
    w.db.scalar_i64(&format!(
        "SELECT ({expr})::bigint AS n FROM t_tinh_a.procedures WHERE code = '{QUICK}'"
    ))
}

/// The tenant admin's "Đơn vị và quy trình xử lý" page (`tests/e2e/admin_processes.mjs`):
/// units, officials put in them and the quick procedure's process declared step by step, the
/// refused attempts changing nothing; the database and the catalog API hold exactly that, and
/// after "Bỏ quy trình…" the fixed path again.
#[actix_web::test]
async fn admin_processes_units_officials_and_a_process_set_in_a_real_browser() {
    let (w, port) = browser_world().await;
    let admin_totp = sign_in_with_totp(&w, w.admin_a);
    std::fs::create_dir_all(artifacts()).unwrap();
    // The signed-in admin's cookies, from the first phase to the second.
    let state = artifacts().join(format!("admin-processes-{}.json", Uuid::new_v4().simple()));
    let script = |phase: &str| {
        let mut cmd = Command::new("node");
        cmd.arg("tests/e2e/admin_processes.mjs")
            .env("PHASE", phase)
            .env("STATE_FILE", &state)
            .env("BASE_A", format!("http://tinh-a.localhost:{port}"))
            .env("PASSWORD", PASSWORD)
            .env("ADMIN_EMAIL", "quantri.a@example.vn")
            .env("ADMIN_TOTP", &admin_totp)
            .env("OFFICER_EMAIL", "canbo.a@example.vn")
            .env("LEADER_EMAIL", "lanhdao.a@example.vn")
            .env("CITIZEN_EMAIL", "dan@example.vn")
            .env("PROCEDURE", QUICK);
        cmd
    };
    assert_eq!(
        quick_process(&w, "(process IS NULL)::int"),
        1,
        "no process yet"
    );
    assert_eq!(w.count("tinh-a", "agencies"), 0, "no units yet");

    let result = run_script(script("set")).await;
    for done in [
        "bad_unit_refused",
        "citizen_refused",
        "over_budget_refused",
        "saved",
        "shown_back",
    ] {
        assert_eq!(result[done], true, "{done}: {result}");
    }
    assert_eq!(result["units"], serde_json::json!(["lanh-dao", "mot-cua"]));

    // Exactly the two units (the bad code created nothing), named as typed.
    let units = w.db.scalar_i64(
        "SELECT count(*) AS n FROM t_tinh_a.agencies WHERE (code, name_vi, coalesce(name_en, '')) \
         IN (('mot-cua', 'Bộ phận một cửa', 'One-stop desk'), ('lanh-dao', 'Lãnh đạo Sở', ''))",
    );
    assert_eq!(units, 2);
    assert_eq!(
        w.count("tinh-a", "agencies"),
        2,
        "nothing from the refused code"
    );
    // Exactly the two memberships (the citizen was refused).
    let members = w.db.scalar_i64(&format!(
        "SELECT count(*) AS n FROM t_tinh_a.unit_members WHERE (unit_code, account_id, role) IN \
         (('mot-cua', '{}'::uuid, 'officer'), ('lanh-dao', '{}'::uuid, 'leader'))",
        w.officer_a, w.leader_a
    ));
    assert_eq!(members, 2);
    assert_eq!(
        w.count("tinh-a", "unit_members"),
        2,
        "the citizen is in no unit"
    );

    // The stored process: the two steps as filled in (the refused 4 days left no trace).
    assert_eq!(quick_process(&w, "jsonb_array_length(process->'steps')"), 2);
    let stored = quick_process(
        &w,
        "(process->'steps' = '[\
           {\"code\": \"tiep-nhan\", \"name_vi\": \"Tiếp nhận\", \"unit\": \"mot-cua\", \
            \"role\": \"officer\", \"actions\": [\"forward\"], \"budget\": {\"hours\": 4}}, \
           {\"code\": \"ky-duyet\", \"name_vi\": \"Ký duyệt\", \"unit\": \"lanh-dao\", \
            \"role\": \"leader\", \"actions\": [\"decide\"], \"budget\": {\"days\": 2}}]'::jsonb)::int",
    );
    assert_eq!(stored, 1, "stored steps: {}", stored_steps(&w));
    // The catalog API serves it.
    let (s, body) = w
        .req(
            "GET",
            &format!("/t/tinh-a/api/v1/procedures/{QUICK}"),
            None,
            None,
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let steps = body["process"]["steps"].as_array().expect("process.steps");
    assert_eq!(steps.len(), 2, "{body}");
    assert_eq!(steps[0]["code"], "tiep-nhan");
    assert_eq!(steps[0]["budget"], serde_json::json!({ "hours": 4 }));
    assert_eq!(steps[1]["unit"], "lanh-dao");
    assert_eq!(steps[1]["role"], "leader");
    assert_eq!(steps[1]["actions"], serde_json::json!(["decide"]));
    assert_eq!(steps[1]["budget"], serde_json::json!({ "days": 2 }));
    // Audited once, by the admin (the refused save wrote nothing).
    let audited = |steps: &str| {
        w.db.scalar_i64(&format!(
            "SELECT count(*) AS n FROM platform.audit_log WHERE action = 'procedure.process_set' \
             AND actor_id = '{}' AND detail->>'procedure' = '{QUICK}' AND detail->'steps' = '{steps}'::jsonb",
            w.admin_a
        ))
    };
    assert_eq!(audited("2"), 1);
    assert_eq!(
        w.db.scalar_i64(
            "SELECT count(*) AS n FROM platform.audit_log WHERE action = 'procedure.process_set'"
        ),
        1
    );

    // "Bỏ quy trình…": the fixed path again, in the database, the API and the audit log.
    let result = run_script(script("clear")).await;
    assert_eq!(result["cleared"], true, "{result}");
    let _ = std::fs::remove_file(&state);
    assert_eq!(
        quick_process(&w, "(process IS NULL)::int"),
        1,
        "{}",
        stored_steps(&w)
    );
    let (s, body) = w
        .req(
            "GET",
            &format!("/t/tinh-a/api/v1/procedures/{QUICK}"),
            None,
            None,
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert!(body["process"].is_null(), "{body}");
    assert_eq!(audited("null"), 1);
    assert_eq!(w.count("tinh-a", "unit_members"), 2, "the units stay");
    for shot in [
        "desktop/admin-processes",
        "desktop/admin-processes-refused-unit",
        "desktop/admin-processes-members",
        "desktop/admin-process-refused",
        "desktop/admin-process",
        "desktop/admin-processes-cleared",
    ] {
        assert!(artifacts().join(format!("{shot}.png")).exists(), "{shot}");
    }
}

/// The quick procedure's stored process as text, for failure messages.
fn stored_steps(w: &World) -> String {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        process: String,
    }
    diesel::sql_query(format!(
        "SELECT coalesce(process::text, 'NULL') AS process FROM t_tinh_a.procedures \
         WHERE code = '{QUICK}'"
    ))
    .get_result::<Row>(&mut w.db.conn())
    .map_or_else(|e| e.to_string(), |r| r.process)
}

/// xa-a, a commune under tinh-a whose quick procedure is decided by tinh-a: desk → transfer to
/// tinh-a → desk (as `commune_file` in transfers.rs), with the applicant's PDF.
fn commune_transferring_to_tinh_a() -> String {
    let process = r#"
[procedures.process]
steps = [
  { code = "tiep-nhan", name = { vi = "Tiếp nhận" }, unit = "mot-cua", role = "officer", actions = ["forward"], budget = { hours = 4 } },
  { code = "chuyen-tinh", name = { vi = "Chuyển Sở giải quyết", en = "Forward to the department" }, unit = "mot-cua", role = "officer", actions = ["transfer"], transfer_to = "tinh-a", budget = { days = 2 } },
  { code = "tra-ket-qua", name = { vi = "Trả kết quả" }, unit = "mot-cua", role = "officer", actions = ["forward"], budget = { hours = 4 } },
]
"#;
    crate::world::tenant_file("xa-a", "XA", "commune", Some("tinh-a")).replacen(
        "decide_role = \"officer\"\n",
        &format!(
            "decide_role = \"officer\"\ndocuments = [{{ name = \"Đơn đề nghị\", accept = [\"pdf\"] }}]\n{process}"
        ),
        1,
    ) + "\n[[units]]\ncode = \"mot-cua\"\nname = { vi = \"Bộ phận một cửa xã\" }\n"
}

/// An access token for `tenant`'s API as a browser world's single sign-on issues it.
pub(crate) fn tenant_api_token(
    w: &World,
    port: &str,
    account: Uuid,
    tenant: &str,
    roles: &[&str],
) -> String {
    let now = chrono::Utc::now().timestamp();
    dvc::auth::tokens::issue(
        &w.ring,
        &dvc::auth::tokens::AccessClaims {
            iss: format!("http://localhost:{port}"),
            sub: account,
            aud: tenant.into(),
            client_id: format!("portal-{tenant}"),
            sid: Uuid::new_v4(),
            iat: now,
            exp: now + 600,
            nbf: None,
            jti: Uuid::new_v4(),
            roles: roles.iter().map(std::string::ToString::to_string).collect(),
        },
    )
    .unwrap()
}

/// `POST /t/{tenant}/api/v1/dossiers/{code}/{what}` with `body`, at the version the caller sees.
async fn dossier_api_action(
    w: &World,
    tenant: &str,
    code: &str,
    token: &str,
    what: &str,
    mut body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let base = format!("/t/{tenant}/api/v1/dossiers/{code}");
    let (s, d) = w.req("GET", &base, Some(token), None).await;
    assert_eq!(s, 200, "{d}");
    body["version"] = d["version"].clone();
    w.req("POST", &format!("{base}/{what}"), Some(token), Some(body))
        .await
}

/// Waits (a bounded while) until no transfer of `code` is pending; returns how many there are.
async fn transfers_of_delivered(w: &World, code: &str) -> i64 {
    let count = |extra: &str| {
        w.db.scalar_i64(&format!(
            "SELECT count(*) AS n FROM platform.dossier_transfers WHERE dossier_code = '{code}'{extra}"
        ))
    };
    for _ in 0..150 {
        if count(" AND delivered_at IS NULL") == 0 {
            return count("");
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("transfers of {code} still pending");
}

/// Inter-agency dossiers (liên thông) in a real browser (`tests/e2e/transfers.mjs`): a dossier
/// filed at the commune xa-a is transferred by its desk to the province tinh-a, which takes it
/// with "Chuyển đến từ", forwards it in the browser and decides it through the API; the result
/// comes back to the commune, and the applicant follows the province's steps where they applied,
/// without the officials' notes. The database holds one copy at the province, returned, the
/// commune's dossier at the step after the transfer, and both transfer rows delivered.
#[actix_web::test]
async fn a_commune_transfers_a_dossier_to_its_province_and_the_applicant_follows_it_in_a_real_browser()
 {
    use crate::unit_processes::tinh_a_with_process;
    use crate::world::{PDF, account};
    use serde_json::json;
    let (w, port) = browser_world().await;
    w.db.apply_texts(&[
        ("tinh-a.toml", tinh_a_with_process()),
        ("xa-a.toml", commune_transferring_to_tinh_a()),
    ]);
    let desk = account(&w.db, "motcua.xa@example.vn", "Cán bộ một cửa xã");
    let xa: Uuid = dvc::db::schema::tenants::table
        .filter(dvc::db::schema::tenants::slug.eq("xa-a"))
        .select(dvc::db::schema::tenants::id)
        .first(&mut w.db.conn())
        .unwrap();
    dvc::auth::roles::grant(
        &mut w.db.conn(),
        desk,
        xa,
        dvc::auth::roles::Role::Officer,
        None,
    )
    .unwrap();
    let mut sql =
        format!("INSERT INTO t_xa_a.unit_members VALUES ('mot-cua', '{desk}', 'officer');");
    for (unit, who, role) in [
        ("mot-cua", w.officer_a, "officer"),
        ("phong-viec-lam", w.officer_a2, "officer"),
        ("phap-che", w.officer_a, "officer"),
        ("lanh-dao", w.leader_a, "leader"),
        ("van-thu", w.officer_a, "officer"),
    ] {
        sql += &format!("INSERT INTO t_tinh_a.unit_members VALUES ('{unit}', '{who}', '{role}');");
    }
    w.db.conn().batch_execute(&sql).unwrap();
    // The running server learns about the commune, whose portal signs in with the SSO.
    let state = w.app.app_state.clone();
    state.registry.reload(&mut w.db.conn()).unwrap();
    let commune = state
        .registry
        .by_slug(&dvc::tenancy::TenantSlug::parse("xa-a").unwrap())
        .expect("xa-a in the reloaded registry");
    dvc::auth::sso::register_tenant_portal(
        &mut w.db.conn(),
        &commune,
        &state.base_domain,
        &state.settings.server.public_origin,
    )
    .unwrap();
    let desk_totp = sign_in_with_totp(&w, desk);
    let officer_totp = sign_in_with_totp(&w, w.officer_a);
    let citizen_totp = sign_in_with_totp(&w, w.citizen);

    // Filed online with its PDF, received and forwarded to the transfer step by the desk.
    let citizen_token = tenant_api_token(&w, &port, w.citizen, "xa-a", &[]);
    let (s, b) = w
        .multipart(
            "/t/xa-a/api/v1/dossiers",
            &citizen_token,
            &json!({ "procedure": QUICK, "phone": PHONE, "form": {} }),
            &[(0, "de-nghi.pdf", PDF)],
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let code = b["code"].as_str().unwrap().to_owned();
    let desk_token = tenant_api_token(&w, &port, desk, "xa-a", &["officer"]);
    let (s, b) = dossier_api_action(
        &w,
        "xa-a",
        &code,
        &desk_token,
        "actions",
        json!({ "action": "receive" }),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = dossier_api_action(
        &w,
        "xa-a",
        &code,
        &desk_token,
        "step",
        json!({ "action": "forward" }),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let at_commune = |what: &str| {
        w.db.scalar_i64(&format!(
            "SELECT ({what})::bigint AS n FROM t_xa_a.dossiers WHERE code = '{code}'"
        ))
    };
    assert_eq!(at_commune("step"), 1, "at the transfer step");
    assert_eq!(w.count("tinh-a", "dossiers"), 0);

    let notes = [
        "Hồ sơ liên thông đủ thành phần, chuyển thẩm định.",
        "Thẩm định đạt, ghi chú nội bộ của phòng.",
        "Đồng ý cấp, ý kiến riêng của lãnh đạo.",
    ];
    std::fs::create_dir_all(artifacts()).unwrap();
    let state_file = artifacts().join(format!("transfers-{}.json", Uuid::new_v4().simple()));
    let script = |phase: &str| {
        let mut cmd = Command::new("node");
        cmd.arg("tests/e2e/transfers.mjs")
            .env("PHASE", phase)
            .env("STATE_FILE", &state_file)
            .env("BASE_XA", format!("http://xa-a.localhost:{port}"))
            .env("BASE_TA", format!("http://tinh-a.localhost:{port}"))
            .env("PASSWORD", PASSWORD)
            .env("CODE", &code)
            .env("DESK_EMAIL", "motcua.xa@example.vn")
            .env("DESK_TOTP", &desk_totp)
            .env("OFFICER_EMAIL", "canbo.a@example.vn")
            .env("OFFICER_TOTP", &officer_totp)
            .env("DESK_NOTE", notes[0])
            .env("CITIZEN_EMAIL", "dan@example.vn")
            .env("CITIZEN_TOTP", &citizen_totp)
            .env("PROVINCE_NOTES", notes.join("|"))
            .env("OFFICIAL_NAMES", "Cán bộ A|Lãnh đạo A");
        cmd
    };

    // The commune's desk transfers it in the browser; the in-process deliverer takes it over.
    let result = run_script(script("transfer")).await;
    for done in ["transfer_offered", "held_elsewhere", "taken_shown"] {
        assert_eq!(result[done], true, "{done}: {result}");
    }
    assert_eq!(transfers_of_delivered(&w, &code).await, 1);
    let at_province = |what: &str| {
        w.db.scalar_i64(&format!(
            "SELECT ({what})::bigint AS n FROM t_tinh_a.dossiers WHERE code = '{code}'"
        ))
    };
    assert_eq!(
        at_province("(status = 'received' AND step = 0)::int"),
        1,
        "received at the province's first step"
    );
    assert_eq!(
        at_commune("step"),
        1,
        "the commune keeps it at the transfer step"
    );
    let held = w.db.scalar_i64(&format!(
        "SELECT count(*) AS n FROM t_xa_a.dossier_handovers h JOIN t_xa_a.dossiers d \
         ON d.id = h.dossier_id WHERE d.code = '{code}' AND h.held_by IS NOT NULL"
    ));
    assert_eq!(held, 1, "held by the province");

    // The province's desk finds it and forwards it in the browser.
    let result = run_script(script("province")).await;
    for done in ["in_inbox", "from_commune", "file_copied", "forwarded"] {
        assert_eq!(result[done], true, "{done}: {result}");
    }
    assert_eq!(at_province("step"), 1, "at Thẩm định");
    let noted = w.db.scalar_i64(&format!(
        "SELECT count(*) AS n FROM t_tinh_a.dossier_events e JOIN t_tinh_a.dossiers d \
         ON d.id = e.dossier_id WHERE d.code = '{code}' AND e.note = '{}'",
        notes[0]
    ));
    assert_eq!(noted, 1, "the desk's note in the province's history");

    // The province decides through the API; its part ends and the result goes back.
    let specialist = tenant_api_token(&w, &port, w.officer_a2, "tinh-a", &["officer"]);
    let leader = tenant_api_token(&w, &port, w.leader_a, "tinh-a", &["leader"]);
    let clerk = tenant_api_token(&w, &port, w.officer_a, "tinh-a", &["officer"]);
    for (token, body) in [
        (
            &specialist,
            json!({ "action": "forward", "note": notes[1] }),
        ),
        (
            &leader,
            json!({ "action": "decide", "outcome": "approve", "note": notes[2] }),
        ),
        // No note here: the note of the action that ends the province's part travels back
        // with the result into the commune's own history, which the applicant reads.
        (&clerk, json!({ "action": "forward" })),
    ] {
        let (s, b) = dossier_api_action(&w, "tinh-a", &code, token, "step", body).await;
        assert_eq!(s, 200, "{b}");
    }
    assert_eq!(
        at_province("(status = 'returned')::int"),
        1,
        "decided and sent back"
    );
    assert_eq!(transfers_of_delivered(&w, &code).await, 2);
    let (s, d) = w
        .req(
            "GET",
            &format!("/t/xa-a/api/v1/dossiers/{code}"),
            Some(&desk_token),
            None,
        )
        .await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["step"]["code"], "tra-ket-qua", "{d}");
    assert_eq!(d["step"]["held_elsewhere"], false);

    // The applicant follows it where they applied; the commune's desk has it back.
    let result = run_script(script("citizen")).await;
    let _ = std::fs::remove_file(&state_file);
    for done in [
        "citizen_sees_transfer",
        "no_notes_in_transfers",
        "back_at_commune",
    ] {
        assert_eq!(result[done], true, "{done}: {result}");
    }
    assert_eq!(
        result["province_steps"], 6,
        "received, three hand-overs, approved, returned: {result}"
    );
    assert_eq!(
        result["leaked"],
        json!([]),
        "no official's note or name on the applicant's page"
    );

    // Exactly one copy at the province, returned; the commune's at its step after the transfer;
    // the hand-over and the result both delivered, their payloads emptied.
    assert_eq!(
        w.db.scalar_i64(&format!(
            "SELECT count(*) AS n FROM t_tinh_a.dossiers WHERE code = '{code}' AND status = 'returned'"
        )),
        1
    );
    assert_eq!(w.count("tinh-a", "dossiers"), 1);
    assert_eq!(
        at_commune("(step = 2 AND status = 'in_review')::int"),
        1,
        "at Trả kết quả"
    );
    assert_eq!(
        w.db.scalar_i64(&format!(
            "SELECT count(*) AS n FROM platform.dossier_transfers WHERE dossier_code = '{code}' \
             AND delivered_at IS NOT NULL AND payload = '{{}}'::jsonb AND kind IN ('dossier', 'result')"
        )),
        2
    );
    assert_eq!(
        w.db.scalar_i64(
            "SELECT count(*) AS n FROM platform.dossier_transfers WHERE delivered_at IS NULL"
        ),
        0
    );
    for shot in [
        "desktop/transfers-desk",
        "desktop/transfers-held",
        "desktop/transfers-province",
        "phone/transfers-citizen",
        "desktop/transfers-back",
    ] {
        assert!(artifacts().join(format!("{shot}.png")).exists(), "{shot}");
    }
}

//! A small public-services world for dossier tests: a ministry (`bo`) with two provinces below
//! it (`tinh-a`, `tinh-b`), citizens and officials with tokens, a real SMTP server, upward sync
//! on, the worker in process.

use crate::common::{SmtpServer, TestApp, TestDb};
use base64::Engine;
use diesel::connection::SimpleConnection;
use dvc::auth::keys::{Keyring, MasterKey, rotate};
use dvc::auth::roles::{Role, grant};
use dvc::auth::tokens::{AccessClaims, issue};
use std::sync::Arc;
use uuid::Uuid;

pub const WORK_PERMIT: &str = "1.000105";
/// A procedure with no documents and no form, decided by officers: the quickest path.
pub const QUICK: &str = "2.000001";
/// A paid procedure: 100,000 đ plus 50,000 đ per worker listed, waived for poor households;
/// processing starts once paid.
pub const PAID: &str = "3.000001";
pub const SECRET_A: &[u8] = b"merchant-secret-of-tinh-a-0123456789";
pub const SECRET_B: &[u8] = b"merchant-secret-of-tinh-b-9876543210";
pub const PHONE: &str = "0912 345 678";
pub const SYNC_SECRET: &str = "test-sync-secret-0123456789";

/// Minimal files their sniffers recognise.
pub const PDF: &[u8] = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
pub const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";

pub fn tenant_file(slug: &str, code: &str, kind: &str, parent: Option<&str>) -> String {
    let parent = parent.map_or(String::new(), |p| format!("parent = \"{p}\"\n"));
    format!(
        r#"slug = "{slug}"
code = "{code}"
kind = "{kind}"
{parent}name = {{ vi = "Đơn vị {code}", en = "Unit {code}" }}

[contact]
address = "1 Phố Thử, Hà Nội"

[[fields]]
code = "viec-lam"
name = {{ vi = "Việc làm", en = "Employment" }}

[[fields]]
code = "bao-tro"
name = {{ vi = "Bảo trợ xã hội", en = "Social protection" }}

[[procedures]]
code = "{WORK_PERMIT}"
field = "viec-lam"
name = {{ vi = "Cấp giấy phép lao động cho người nước ngoài", en = "Work permit for foreign workers" }}
online_level = "full"
processing_days = 5
fee_vnd = 600000
pay_before_processing = false
documents = [
  {{ name = "Đơn đề nghị", name_en = "Application", accept = ["pdf"], max_size_mb = 1 }},
  {{ name = "Ảnh 4x6", name_en = "Photo", required = false, accept = ["jpeg", "png"], max_size_mb = 1 }},
]

[procedures.form_schema]
type = "object"
required = ["ho_ten", "ngay_sinh"]

[procedures.form_schema.properties.ho_ten]
type = "string"
title = "Họ và tên"
title_en = "Full name"
maxLength = 100

[procedures.form_schema.properties.ngay_sinh]
type = "string"
format = "date"
title = "Ngày sinh"

[procedures.form_schema.properties.so_ho_chieu]
type = "string"
title = "Số hộ chiếu"
pattern = "[A-Z][0-9]{{7}}"

[[procedures]]
code = "{QUICK}"
field = "bao-tro"
name = {{ vi = "Xác nhận thông tin hộ gia đình", en = "Household confirmation" }}
online_level = "partial"
processing_days = 3
decide_role = "officer"

[[procedures]]
code = "{PAID}"
field = "viec-lam"
name = {{ vi = "Cấp giấy phép hoạt động dịch vụ việc làm", en = "Licensing employment services" }}
online_level = "full"
processing_days = 7
fee_vnd = 100000
decide_role = "officer"
fee_rule = {{ per_item = {{ field = "nguoi_lao_dong", amount_vnd = 50000 }}, waiver = {{ field = "doi_tuong", values = ["ho_ngheo"] }} }}

[procedures.form_schema]
type = "object"

[procedures.form_schema.properties.doi_tuong]
type = "string"
title = "Đối tượng"
enum = ["thuong", "ho_ngheo"]

[procedures.form_schema.properties.nguoi_lao_dong]
type = "array"
title = "Danh sách người lao động"
maxItems = 20

[procedures.form_schema.properties.nguoi_lao_dong.items]
type = "string"
title = "Họ tên"
"#
    )
}

pub struct World {
    pub app: TestApp,
    pub db: Arc<TestDb>,
    pub smtp: SmtpServer,
    pub ring: Keyring,
    pub citizen: Uuid,
    pub citizen2: Uuid,
    pub officer_a: Uuid,
    pub officer_a2: Uuid,
    pub leader_a: Uuid,
    pub admin_a: Uuid,
    pub officer_b: Uuid,
    pub leader_bo: Uuid,
    pub storage: std::path::PathBuf,
    client: awc::Client,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn account(db: &TestDb, email: &str, name: &str) -> Uuid {
    let id = Uuid::new_v4();
    db.conn()
        .batch_execute(&format!(
            "INSERT INTO platform.accounts (id, kind, email, full_name, locale, password_hash, \
             email_verified_at) VALUES ('{id}', 'citizen', '{email}', '{name}', 'vi', 'x', now())"
        ))
        .unwrap();
    id
}

/// An access token as the SSO would issue, signed with `ring`, for `account` at `tenant` with
/// `roles`; for worlds of a test's own making as well as [`World`].
pub fn access_token(ring: &Keyring, account: Uuid, tenant: &str, roles: &[&str]) -> String {
    let now = chrono::Utc::now().timestamp();
    issue(
        ring,
        &AccessClaims {
            iss: "http://localhost:8080".into(),
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

impl World {
    pub async fn new(tweak: impl FnOnce(&mut dvc::config::Settings)) -> Self {
        Self::with_dns(tweak, Arc::new(dvc::hosting::domains::NoResolver)).await
    }

    /// A world whose custom-domain checks ask `dns`.
    pub async fn with_dns(
        tweak: impl FnOnce(&mut dvc::config::Settings),
        dns: Arc<dyn dvc::hosting::domains::TxtResolver>,
    ) -> Self {
        let db = TestDb::new();
        db.apply_texts(&[
            ("bo.toml", tenant_file("bo", "BO", "ministry", None)),
            (
                "tinh-a.toml",
                tenant_file("tinh-a", "TA", "province", Some("bo")),
            ),
            (
                "tinh-b.toml",
                tenant_file("tinh-b", "TB", "province", Some("bo")),
            ),
        ]);
        let master_b64 = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let master = MasterKey::parse(&master_b64).unwrap();
        let mut conn = db.conn();
        rotate(&mut conn, &master).unwrap();
        let ring = Keyring::load(&mut conn, Some(&master)).unwrap();
        let tenant = |slug: &str| -> Uuid {
            use diesel::prelude::*;
            use dvc::db::schema::tenants::dsl as t;
            t::tenants
                .filter(t::slug.eq(slug))
                .select(t::id)
                .first(&mut db.conn())
                .unwrap()
        };
        let (a, b, bo) = (tenant("tinh-a"), tenant("tinh-b"), tenant("bo"));
        let citizen = account(&db, "dan@example.vn", "Nguyễn Văn Dân");
        let citizen2 = account(&db, "hang@example.vn", "Trần Thị Hằng");
        let officer_a = account(&db, "canbo.a@example.vn", "Cán bộ A");
        let officer_a2 = account(&db, "canbo.a2@example.vn", "Cán bộ A2");
        let leader_a = account(&db, "lanhdao.a@example.vn", "Lãnh đạo A");
        let admin_a = account(&db, "quantri.a@example.vn", "Quản trị A");
        let officer_b = account(&db, "canbo.b@example.vn", "Cán bộ B");
        let leader_bo = account(&db, "lanhdao.bo@example.vn", "Lãnh đạo Bộ");
        for (who, t, role) in [
            (officer_a, a, Role::Officer),
            (officer_a2, a, Role::Officer),
            (leader_a, a, Role::Leader),
            (admin_a, a, Role::TenantAdmin),
            (officer_b, b, Role::Officer),
            (leader_bo, bo, Role::Leader),
        ] {
            grant(&mut conn, who, t, role, None).unwrap();
        }
        let smtp = SmtpServer::start();
        let smtp_port = smtp.port;
        let port = free_port();
        let storage = std::env::temp_dir().join(format!("dvc-attachments-{}", Uuid::new_v4()));
        let storage_root = storage.to_string_lossy().into_owned();
        let db = Arc::new(db);
        let app = TestApp::spawn_with_dns(
            db.clone(),
            move |s| {
                s.server.port = port;
                s.auth.master_key = Some(master_b64.into());
                s.smtp.port = smtp_port;
                s.mail.worker_in_process = true;
                s.sync.secret = Some(SYNC_SECRET.into());
                s.sync.receiver_base = Some(format!("http://127.0.0.1:{port}"));
                s.sync.max_backoff_secs = 1;
                s.dossiers.storage_root = storage_root;
                s.payments.sandbox = true;
                tweak(s);
            },
            dns,
        )
        .await;
        // Each province's merchant account at the sandbox gateway of this very server.
        for (tenant_id, merchant_id, secret) in [(a, "TA001", SECRET_A), (b, "TB001", SECRET_B)] {
            dvc::services::payments::merchant::set(
                &mut conn,
                &master,
                tenant_id,
                "sandbox",
                merchant_id,
                &format!("{}/sandbox/gateway", app.base),
                secret,
            )
            .unwrap();
        }
        Self {
            app,
            db,
            smtp,
            ring,
            citizen,
            citizen2,
            officer_a,
            officer_a2,
            leader_a,
            admin_a,
            officer_b,
            leader_bo,
            storage,
            client: awc::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .finish(),
        }
    }

    /// An access token as the SSO would issue for `account` at `tenant` with `roles`.
    pub fn token(&self, account: Uuid, tenant: &str, roles: &[&str]) -> String {
        access_token(&self.ring, account, tenant, roles)
    }

    /// An access token of the platform's own app (registered with `account_api`), the only
    /// kind the account API takes.
    pub fn account_token(&self, account: Uuid) -> String {
        dvc::auth::sso::register_client(
            &mut self.db.conn(),
            &dvc::auth::sso::ClientSpec {
                client_id: "dvc-app",
                name: "Ứng dụng dvc",
                tenant: None,
                redirect_uris: &["http://app.localhost/cb".to_owned()],
                post_logout_redirect_uris: &[],
                account_api: true,
                ..Default::default()
            },
        )
        .unwrap();
        let now = chrono::Utc::now().timestamp();
        issue(
            &self.ring,
            &AccessClaims {
                iss: "http://localhost:8080".into(),
                sub: account,
                aud: "dvc-app".into(),
                client_id: "dvc-app".into(),
                sid: Uuid::new_v4(),
                iat: now,
                exp: now + 600,
                nbf: None,
                jti: Uuid::new_v4(),
                roles: Vec::new(),
            },
        )
        .unwrap()
    }

    /// A portal page on `host` (e.g. `tinh-a.localhost`): status and HTML.
    pub async fn page(&self, host: &str, path: &str) -> (u16, String) {
        let mut resp = self
            .client
            .get(format!("{}{path}", self.app.base))
            .insert_header(("Host", host))
            .insert_header(("Accept", "text/html"))
            .send()
            .await
            .expect("request");
        let body = resp.body().limit(1 << 20).await.unwrap();
        (
            resp.status().as_u16(),
            String::from_utf8_lossy(&body).into_owned(),
        )
    }

    pub async fn req(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let method = awc::http::Method::from_bytes(method.as_bytes()).unwrap();
        let mut r = self
            .client
            .request(method, format!("{}{}", self.app.base, path));
        if let Some(t) = token {
            r = r.insert_header(("Authorization", format!("Bearer {t}")));
        }
        let resp = match body {
            Some(b) => r.send_json(&b).await,
            None => r.send().await,
        };
        read(resp.expect("request")).await
    }

    /// A multipart submission: a `data` part and `doc.{index}` files.
    pub async fn multipart(
        &self,
        path: &str,
        token: &str,
        data: &serde_json::Value,
        files: &[(usize, &str, &[u8])],
    ) -> (u16, serde_json::Value) {
        self.multipart_with(path, token, data, files, &[]).await
    }

    /// [`multipart`](Self::multipart) with extra headers.
    pub async fn multipart_with(
        &self,
        path: &str,
        token: &str,
        data: &serde_json::Value,
        files: &[(usize, &str, &[u8])],
        headers: &[(&str, &str)],
    ) -> (u16, serde_json::Value) {
        let boundary = format!("----dvc{}", Uuid::new_v4().simple());
        let mut body = Vec::new();
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"data\"\r\n\
                 Content-Type: application/json\r\n\r\n{data}\r\n"
            )
            .as_bytes(),
        );
        for (i, name, bytes) in files {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"doc.{i}\"; \
                     filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let mut req = self
            .client
            .post(format!("{}{}", self.app.base, path))
            .insert_header(("Authorization", format!("Bearer {token}")))
            .insert_header((
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            ));
        for (name, value) in headers {
            req = req.insert_header((*name, *value));
        }
        let resp = req.send_body(body).await.expect("request");
        read(resp).await
    }

    /// Submits a valid work-permit dossier at `tenant`; returns its code.
    pub async fn submit_work_permit(&self, tenant: &str, citizen: Uuid) -> String {
        let (status, body) = self.try_submit_work_permit(tenant, citizen).await;
        assert_eq!(status, 201, "{body}");
        body["code"].as_str().unwrap().to_owned()
    }

    /// The same submission, with whatever the server answered (status and body).
    pub async fn try_submit_work_permit(
        &self,
        tenant: &str,
        citizen: Uuid,
    ) -> (u16, serde_json::Value) {
        let token = self.token(citizen, tenant, &[]);
        self.multipart(
            &format!("/t/{tenant}/api/v1/dossiers"),
            &token,
            &serde_json::json!({
                "procedure": WORK_PERMIT,
                "phone": PHONE,
                "form": { "ho_ten": "John Smith", "ngay_sinh": "1990-02-03", "so_ho_chieu": "B1234567" }
            }),
            &[(0, "Đơn đề nghị.pdf", PDF), (1, "anh.png", PNG)],
        )
        .await
    }

    /// Takes `action` on `code` at `tenant` as `who` with `roles`, at the dossier's current
    /// version; returns the status and body.
    pub async fn act(
        &self,
        tenant: &str,
        code: &str,
        who: Uuid,
        roles: &[&str],
        action: &str,
        extra: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let token = self.token(who, tenant, roles);
        let version = self.version(tenant, code).await;
        let mut body = serde_json::json!({ "action": action, "version": version });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        self.req(
            "POST",
            &format!("/t/{tenant}/api/v1/dossiers/{code}/actions"),
            Some(&token),
            Some(body),
        )
        .await
    }

    /// The dossier's current version, read as an officer of the tenant would.
    pub async fn version(&self, tenant: &str, code: &str) -> i64 {
        let officer = if tenant == "tinh-a" {
            self.officer_a
        } else {
            self.officer_b
        };
        let token = self.token(officer, tenant, &["officer"]);
        let (_, d) = self
            .req(
                "GET",
                &format!("/t/{tenant}/api/v1/dossiers/{code}"),
                Some(&token),
                None,
            )
            .await;
        d["version"].as_i64().unwrap_or(0)
    }

    /// Subjects of the mail received so far.
    pub fn subjects(&self) -> Vec<String> {
        self.smtp
            .messages()
            .iter()
            .filter_map(|m| {
                mail_parser::MessageParser::default()
                    .parse(m)
                    .and_then(|p| p.subject().map(str::to_owned))
            })
            .collect()
    }

    /// Rows in a tenant table, counted through the tenant's schema.
    pub fn count(&self, tenant: &str, table: &str) -> i64 {
        self.db.scalar_i64(&format!(
            "SELECT count(*) AS n FROM t_{}.{table}",
            tenant.replace('-', "_")
        ))
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.storage);
    }
}

async fn read<S>(mut resp: awc::ClientResponse<S>) -> (u16, serde_json::Value)
where
    S: futures_util::Stream<Item = Result<actix_web::web::Bytes, awc::error::PayloadError>> + Unpin,
{
    let status = resp.status().as_u16();
    let body = resp.body().limit(8 << 20).await.expect("body");
    (
        status,
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
    )
}

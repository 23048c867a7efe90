//! Single sign-on end to end, driven as a browser would (cookies, forms, redirects): sign in
//! on one tenant's portal, the next portal signs in silently; tokens carry only the audience
//! tenant's roles.

use crate::common::{TestApp, TestDb};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use diesel::connection::SimpleConnection;
use std::collections::HashMap;
use std::sync::Arc;

const PASSWORD: &str = "mật khẩu của cán bộ";

struct Browser {
    base: String,
    client: awc::Client,
    cookies: HashMap<String, String>,
}

struct Reply {
    status: u16,
    location: Option<String>,
    body: String,
}

impl Browser {
    fn new(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            client: awc::Client::builder().disable_redirects().finish(),
            cookies: HashMap::new(),
        }
    }

    /// A browser that introduces itself as `agent`.
    fn with_agent(base: &str, agent: &str) -> Self {
        Self {
            base: base.to_owned(),
            client: awc::Client::builder()
                .disable_redirects()
                .add_default_header(("User-Agent", agent.to_owned()))
                .finish(),
            cookies: HashMap::new(),
        }
    }

    /// A browser behind a proxy that says it speaks for `client` (`X-Forwarded-For`).
    fn forwarded_for(base: &str, client: &str) -> Self {
        Self {
            base: base.to_owned(),
            client: awc::Client::builder()
                .disable_redirects()
                .add_default_header(("X-Forwarded-For", client.to_owned()))
                .finish(),
            cookies: HashMap::new(),
        }
    }

    /// A browser on another machine: its connections come from `ip` (any 127.x address works
    /// on loopback), so the server sees a different client address.
    fn from_address(base: &str, ip: &str) -> Self {
        Self {
            base: base.to_owned(),
            client: awc::Client::builder()
                .disable_redirects()
                .local_address(ip.parse().unwrap())
                .finish(),
            cookies: HashMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn finish(
        &mut self,
        mut resp: awc::ClientResponse<
            impl futures_util::Stream<Item = Result<actix_web::web::Bytes, awc::error::PayloadError>>
            + Unpin,
        >,
    ) -> Reply {
        for c in resp.headers().get_all("set-cookie") {
            let raw = c.to_str().unwrap();
            let pair = raw.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            self.cookies.insert(k.to_owned(), v.to_owned());
        }
        let location = resp
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        let status = resp.status().as_u16();
        let body = String::from_utf8_lossy(&resp.body().await.unwrap()).to_string();
        Reply {
            status,
            location,
            body,
        }
    }

    async fn get(&mut self, path: &str) -> Reply {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .insert_header(("Cookie", self.cookie_header()))
            .send()
            .await
            .unwrap();
        self.finish(resp).await
    }

    async fn post_form(&mut self, path: &str, form: &[(&str, &str)]) -> Reply {
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .insert_header(("Cookie", self.cookie_header()))
            .send_form(&form)
            .await
            .unwrap();
        self.finish(resp).await
    }
}

/// Signs out as a person would: the sign-in host asks, the person confirms.
async fn sign_out(b: &mut Browser) -> Reply {
    let page = b.get("/oauth/logout").await;
    if !page.body.contains("action=\"/oauth/logout\"") {
        return page;
    }
    let csrf = hidden_value(&page.body, "csrf");
    let done = b.post_form("/oauth/logout", &[("csrf", &csrf)]).await;
    assert_eq!(done.status, 200, "{}", done.body);
    done
}

fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A hidden field's value as a browser submits it (HTML entities decoded).
fn hidden_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    html[at..]
        .split('"')
        .next()
        .unwrap()
        .replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The authenticator code of `email`, `offset` seconds from now (the test holds the master key).
fn totp_code(db: &TestDb, email: &str, offset: i64) -> String {
    use diesel::prelude::*;
    use dvc::db::schema::{account_totp as t, accounts as a};
    let (sealed, nonce): (Vec<u8>, Vec<u8>) = t::table
        .inner_join(a::table.on(a::id.eq(t::account_id)))
        .filter(a::email.eq(email))
        .select((t::secret_enc, t::nonce))
        .first(&mut db.conn())
        .unwrap();
    let master = dvc::auth::keys::MasterKey::parse(&STANDARD.encode([9u8; 32])).unwrap();
    let secret = master.open(&sealed, &nonce).unwrap();
    let totp = totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::from(secret))
        .build()
        .unwrap();
    totp.generate((chrono::Utc::now().timestamp() + offset) as u64)
        .to_string()
}

struct Portal {
    client_id: &'static str,
    redirect: &'static str,
}

/// Outside systems bound to a tenant (as an operator registers them): their codes are
/// redeemed at the public token endpoint and their tokens carry that tenant's roles.
const ALPHA: Portal = Portal {
    client_id: "site-alpha",
    redirect: "http://alpha.localhost/auth/callback",
};
const BETA: Portal = Portal {
    client_id: "site-beta",
    redirect: "http://beta.localhost/auth/callback",
};
/// Where a logout from ALPHA may return.
const ALPHA_SIGNED_OUT: &str = "http://alpha.localhost/da-dang-xuat";
/// The platform's own app, allowed into the account API.
const APP: Portal = Portal {
    client_id: "dvc-app",
    redirect: "http://app.localhost/cb",
};

fn authorize_path(p: &Portal, verifier: &str, state: &str) -> String {
    let challenge = dvc::auth::pkce::challenge_of(verifier);
    let mut url = url::Url::parse("http://x/oauth/authorize").unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", p.client_id)
        .append_pair("redirect_uri", p.redirect)
        .append_pair("scope", "openid")
        .append_pair("state", state)
        .append_pair("nonce", "n-0S6_WzA2Mj")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    format!("{}?{}", url.path(), url.query().unwrap())
}

async fn exchange(b: &mut Browser, p: &Portal, code: &str, verifier: &str) -> Reply {
    b.post_form(
        "/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", p.redirect),
            ("client_id", p.client_id),
            ("code_verifier", verifier),
        ],
    )
    .await
}

async fn setup() -> (TestApp, Arc<TestDb>) {
    let db = Arc::new(TestDb::new());
    let report = db.apply_two(1, 1);
    let master_b64 = STANDARD.encode([9u8; 32]);
    let master = dvc::auth::keys::MasterKey::parse(&master_b64).unwrap();
    let mut conn = db.conn();
    dvc::auth::keys::rotate(&mut conn, &master).unwrap();
    let id = |slug: &str| {
        report
            .tenants
            .iter()
            .find(|t| t.slug.as_str() == slug)
            .unwrap()
            .id
    };
    for (p, tenant) in [(&ALPHA, id("alpha")), (&BETA, id("beta"))] {
        dvc::auth::sso::register_client(
            &mut conn,
            &dvc::auth::sso::ClientSpec {
                client_id: p.client_id,
                name: p.client_id,
                tenant: Some(tenant),
                redirect_uris: &[p.redirect.to_owned()],
                post_logout_redirect_uris: &[ALPHA_SIGNED_OUT.to_owned()],
                account_api: false,
                ..Default::default()
            },
        )
        .unwrap();
    }
    dvc::auth::sso::register_client(
        &mut conn,
        &dvc::auth::sso::ClientSpec {
            client_id: APP.client_id,
            name: "Ứng dụng dvc",
            tenant: None,
            redirect_uris: &[APP.redirect.to_owned()],
            post_logout_redirect_uris: &[],
            account_api: true,
            ..Default::default()
        },
    )
    .unwrap();
    let reg = dvc::auth::accounts::Registration {
        email: dvc::mail::Email::parse("canbo@example.vn").unwrap(),
        password: dvc::auth::password::Password::parse(PASSWORD, "canbo@example.vn").unwrap(),
        full_name: "Phạm Văn Cán Bộ".into(),
        kind: dvc::auth::accounts::AccountKind::Citizen,
        citizen_id: None,
        tax_code: None,
        phone: None,
        locale: dvc::locale::Locale::Vi,
    };
    let hash = dvc::auth::password::hash(&reg.password);
    let links = dvc::auth::accounts::Links {
        base: "http://localhost".into(),
    };
    let account = dvc::auth::accounts::register(&mut conn, &reg, &hash, &links, None, None)
        .unwrap()
        .unwrap();
    conn.batch_execute("UPDATE platform.accounts SET email_verified_at = now()")
        .unwrap();
    dvc::auth::roles::grant(
        &mut conn,
        account,
        id("alpha"),
        dvc::auth::roles::Role::Officer,
        None,
    )
    .unwrap();
    // Officials need a second factor: canbo has an authenticator set up.
    dvc::auth::totp::enroll(&mut conn, &master, account, "canbo@example.vn").unwrap();
    conn.batch_execute("UPDATE platform.account_totp SET confirmed_at = now()")
        .unwrap();
    // A citizen, without roles and without a second factor.
    let citizen = dvc::auth::accounts::Registration {
        email: dvc::mail::Email::parse("dan@example.vn").unwrap(),
        password: dvc::auth::password::Password::parse(PASSWORD, "dan@example.vn").unwrap(),
        full_name: "Lê Thị Dân".into(),
        kind: dvc::auth::accounts::AccountKind::Citizen,
        citizen_id: None,
        tax_code: None,
        phone: None,
        locale: dvc::locale::Locale::Vi,
    };
    dvc::auth::accounts::register(&mut conn, &citizen, &hash, &links, None, None).unwrap();
    conn.batch_execute("UPDATE platform.accounts SET email_verified_at = now()")
        .unwrap();
    let app = TestApp::spawn_on(db.clone(), move |s| {
        s.auth.master_key = Some(master_b64.into());
    })
    .await;
    (app, db)
}

#[actix_web::test]
async fn sign_in_once_and_the_second_portal_signs_in_silently() {
    let (app, _db) = setup().await;
    let mut b = Browser::new(&app.base);
    let verifier = "a-very-long-random-verifier-string-0123456789-abcdefghijk";

    // Portal alpha: no session yet, so the sign-in page.
    let page = b.get(&authorize_path(&ALPHA, verifier, "st-alpha")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Đăng nhập một lần"));
    let csrf = hidden_value(&page.body, "csrf");
    let mut form: Vec<(String, String)> = [
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
    ]
    .iter()
    .map(|n| (n.to_string(), hidden_value(&page.body, n)))
    .collect();
    form.push(("email".into(), "canbo@example.vn".into()));
    form.push(("password".into(), PASSWORD.into()));
    form.push(("totp".into(), totp_code(&app.db, "canbo@example.vn", 0)));
    form.push(("csrf".into(), csrf));
    let form_ref: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let signed_in = b.post_form("/oauth/authorize", &form_ref).await;
    assert_eq!(signed_in.status, 302, "{}", signed_in.body);
    let location = signed_in.location.unwrap();
    assert!(location.starts_with(ALPHA.redirect));
    assert_eq!(query_param(&location, "state").as_deref(), Some("st-alpha"));
    assert!(b.cookies.contains_key("dvc_sso"));
    let code = query_param(&location, "code").unwrap();
    let tokens = exchange(&mut b, &ALPHA, &code, verifier).await;
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    assert_eq!(
        app.db.scalar_i64(
            "SELECT count(*) AS n FROM platform.usage_accounts u JOIN platform.tenants t \
             ON t.id = u.tenant_id WHERE t.slug = 'alpha'"
        ),
        1,
        "a portal sign-in counts the account as active at that tenant this month"
    );
    let tokens: serde_json::Value = serde_json::from_str(&tokens.body).unwrap();
    let alpha_token = tokens["access_token"].as_str().unwrap().to_owned();
    let id_token = tokens["id_token"].as_str().unwrap().to_owned();
    let id_token_for_check = id_token.clone();
    // A code works once (a replay ends the sign-in: see a_replayed_code_revokes_…).
    // Portal beta: the SSO cookie signs in with no password prompt.
    let silent = b.get(&authorize_path(&BETA, verifier, "st-beta")).await;
    assert_eq!(silent.status, 302, "no sign-in page: {}", silent.body);
    let location = silent.location.unwrap();
    assert!(location.starts_with(BETA.redirect));
    let beta = exchange(
        &mut b,
        &BETA,
        &query_param(&location, "code").unwrap(),
        verifier,
    )
    .await;
    let beta: serde_json::Value = serde_json::from_str(&beta.body).unwrap();
    let beta_token = beta["access_token"].as_str().unwrap().to_owned();

    // Each token works at its own tenant with that tenant's roles only.
    let me = |host: &'static str, token: String| {
        let app = &app;
        async move {
            app.call(
                "GET",
                "/api/v1/me",
                &[
                    ("Host", host),
                    ("Authorization", &format!("Bearer {token}")),
                ],
            )
            .await
        }
    };
    let (status, _, body) = me("alpha.localhost", alpha_token.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["roles"], serde_json::json!(["officer"]));
    let (status, _, body) = me("beta.localhost", beta_token.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["roles"],
        serde_json::json!([]),
        "a role in alpha grants nothing in beta"
    );
    assert_eq!(me("beta.localhost", alpha_token.clone()).await.0, 401);
    assert_eq!(me("alpha.localhost", beta_token).await.0, 401);
    assert_eq!(
        me("alpha.localhost", id_token).await.0,
        401,
        "an ID token is not an access token"
    );
    let (status, _, _) = app
        .call("GET", "/api/v1/me", &[("Host", "alpha.localhost")])
        .await;
    assert_eq!(status, 401);

    // The ID token is RS256 (OpenID Connect's default), verifiable from the JWKS alone.
    let header = jsonwebtoken::decode_header(&id_token_for_check).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    let (_, _, jwks) = app.get(None, "/.well-known/jwks.json").await;
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header.kid.clone().unwrap().as_str())
        .unwrap();
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk.clone()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[ALPHA.client_id]);
    validation.set_issuer(&["http://localhost:8080"]);
    let id_claims = jsonwebtoken::decode::<serde_json::Value>(
        &id_token_for_check,
        &jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap(),
        &validation,
    )
    .unwrap()
    .claims;
    assert_eq!(id_claims["nonce"], "n-0S6_WzA2Mj");

    let (status, _, info) = app
        .call(
            "GET",
            "/oauth/userinfo",
            &[("Authorization", &format!("Bearer {alpha_token}"))],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(info["email"], "canbo@example.vn");
    assert_eq!(info["email_verified"], true);
}

#[actix_web::test]
async fn bad_authorization_requests_and_exchanges_are_refused() {
    let (app, _db) = setup().await;
    let mut b = Browser::new(&app.base);
    let verifier = "another-long-random-verifier-string-0123456789-abcdefghij";
    // An unregistered redirect URI gets a page, never a redirect.
    let evil = authorize_path(&ALPHA, verifier, "s")
        .replace("alpha.localhost%2Fauth", "evil.example%2Fauth");
    let r = b.get(&evil).await;
    assert_eq!((r.status, r.location.is_none()), (400, true));
    let unknown = authorize_path(&ALPHA, verifier, "s").replace("site-alpha", "site-nobody");
    assert_eq!(b.get(&unknown).await.status, 400);
    // Without PKCE: back to the client with an error.
    let no_pkce = authorize_path(&ALPHA, verifier, "s").replace("S256", "plain");
    let r = b.get(&no_pkce).await;
    assert_eq!(r.status, 302);
    assert_eq!(
        query_param(&r.location.unwrap(), "error").as_deref(),
        Some("invalid_request")
    );

    // Wrong password, then a forged CSRF token.
    let page = b.get(&authorize_path(&ALPHA, verifier, "s")).await;
    let field = |n: &str| hidden_value(&page.body, n);
    let names = [
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
    ];
    let mut form: Vec<(String, String)> = names.iter().map(|n| (n.to_string(), field(n))).collect();
    form.push(("email".into(), "canbo@example.vn".into()));
    form.push(("csrf".into(), field("csrf")));
    let mut wrong = form.clone();
    wrong.push(("password".into(), "not the password".into()));
    let refs: Vec<(&str, &str)> = wrong
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = b.post_form("/oauth/authorize", &refs).await;
    assert_eq!(r.status, 401);
    assert!(r.body.contains("không đúng"));
    assert!(!b.cookies.contains_key("dvc_sso"));
    let mut forged = form.clone();
    forged.retain(|(k, _)| k != "csrf");
    forged.push(("csrf".into(), "forged".into()));
    forged.push(("password".into(), PASSWORD.into()));
    let refs: Vec<(&str, &str)> = forged
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(b.post_form("/oauth/authorize", &refs).await.status, 400);
    assert_eq!(
        app.db.scalar_i64(
            "SELECT count(*) AS n FROM platform.audit_log WHERE action = 'login.failed'"
        ),
        1
    );

    // A code exchanged with the wrong verifier or by another client is refused.
    let page = b.get(&authorize_path(&ALPHA, verifier, "s")).await;
    let field = |n: &str| hidden_value(&page.body, n);
    let mut form: Vec<(String, String)> = names.iter().map(|n| (n.to_string(), field(n))).collect();
    form.push(("email".into(), "canbo@example.vn".into()));
    form.push(("password".into(), PASSWORD.into()));
    form.push(("totp".into(), totp_code(&app.db, "canbo@example.vn", 0)));
    form.push(("csrf".into(), field("csrf")));
    let refs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = b.post_form("/oauth/authorize", &refs).await;
    let code = query_param(&r.location.unwrap(), "code").unwrap();
    let wrong_verifier = exchange(
        &mut b,
        &ALPHA,
        &code,
        "x-wrong-verifier-that-is-long-enough-to-be-valid-000000",
    )
    .await;
    assert_eq!(wrong_verifier.status, 400);
    assert!(wrong_verifier.body.contains("invalid_grant"));
}

const NAMES: [&str; 8] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
];

/// Signs in on `portal` through the form (or silently with the cookie) and returns the token
/// response.
async fn sign_in(
    b: &mut Browser,
    db: &TestDb,
    portal: &Portal,
    verifier: &str,
) -> serde_json::Value {
    let first = b.get(&authorize_path(portal, verifier, "s")).await;
    let location = if first.status == 302 {
        first.location.unwrap()
    } else {
        let mut form: Vec<(String, String)> = NAMES
            .iter()
            .map(|n| (n.to_string(), hidden_value(&first.body, n)))
            .collect();
        form.push(("email".into(), "canbo@example.vn".into()));
        form.push(("password".into(), PASSWORD.into()));
        form.push(("totp".into(), totp_code(db, "canbo@example.vn", 0)));
        form.push(("csrf".into(), hidden_value(&first.body, "csrf")));
        let refs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let r = b.post_form("/oauth/authorize", &refs).await;
        assert_eq!(r.status, 302, "{}", r.body);
        r.location.unwrap()
    };
    let code = query_param(&location, "code").unwrap();
    let r = exchange(b, portal, &code, verifier).await;
    assert_eq!(r.status, 200, "{}", r.body);
    serde_json::from_str(&r.body).unwrap()
}

async fn refresh(b: &mut Browser, portal: &Portal, token: &str) -> Reply {
    b.post_form(
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", token),
            ("client_id", portal.client_id),
        ],
    )
    .await
}

async fn me_status(app: &TestApp, token: &str) -> u16 {
    app.call(
        "GET",
        "/api/v1/me",
        &[
            ("Host", "alpha.localhost"),
            ("Authorization", &format!("Bearer {token}")),
        ],
    )
    .await
    .0
}

const VERIFIER: &str = "refresh-test-verifier-0123456789-abcdefghijklmnopqrstuvw";

#[actix_web::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_family() {
    let (app, db) = setup().await;
    let mut b = Browser::new(&app.base);
    let first = sign_in(&mut b, &app.db, &ALPHA, VERIFIER).await;
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();
    let rotated = refresh(&mut b, &ALPHA, &r1).await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let rotated: serde_json::Value = serde_json::from_str(&rotated.body).unwrap();
    let r2 = rotated["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    assert_eq!(
        me_status(&app, rotated["access_token"].as_str().unwrap()).await,
        200
    );
    // Another client cannot use it.
    assert_eq!(refresh(&mut b, &BETA, &r2).await.status, 400);
    // A retry of r1 inside the grace window still works (lost response, two tabs)...
    let retry = refresh(&mut b, &ALPHA, &r1).await;
    assert_eq!(retry.status, 200, "{}", retry.body);
    // ...but after it, presenting r1 again revokes the whole family, r2 included.
    use diesel::connection::SimpleConnection;
    db.conn()
        .batch_execute("UPDATE platform.refresh_tokens SET used_at = now() - interval '1 minute' WHERE used_at IS NOT NULL")
        .unwrap();
    let reuse = refresh(&mut b, &ALPHA, &r1).await;
    assert_eq!(reuse.status, 400);
    assert!(reuse.body.contains("reused"));
    assert_eq!(refresh(&mut b, &ALPHA, &r2).await.status, 400);
    assert_eq!(
        db.scalar_i64("SELECT count(*) AS n FROM platform.audit_log WHERE action = 'token.reuse'"),
        1
    );
}

#[actix_web::test]
async fn logout_revokes_access_and_refresh_tokens_at_once() {
    let (app, _db) = setup().await;
    let mut b = Browser::new(&app.base);
    let tokens = sign_in(&mut b, &app.db, &ALPHA, VERIFIER).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(me_status(&app, &access).await, 200);
    // A second instance, to show the revocation reaches every instance.
    let other = TestApp::spawn_on(app.db.clone(), {
        let master = app.app_state.settings.auth.master_key.clone();
        move |s| s.auth.master_key = master
    })
    .await;
    assert_eq!(me_status(&other, &access).await, 200);
    let logout = format!(
        "/oauth/logout?client_id={}&post_logout_redirect_uri={}&state=bye",
        ALPHA.client_id,
        url::form_urlencoded::byte_serialize(ALPHA_SIGNED_OUT.as_bytes()).collect::<String>()
    );
    // A link alone (no id_token_hint of this sign-in) only asks.
    let asked = b.get(&logout).await;
    assert_eq!(asked.status, 200);
    assert!(
        asked.body.contains("action=\"/oauth/logout\""),
        "{}",
        asked.body
    );
    assert_eq!(me_status(&app, &access).await, 200, "nobody signed out yet");
    let hint = tokens["id_token"].as_str().unwrap();
    let out = b.get(&format!("{logout}&id_token_hint={hint}")).await;
    assert_eq!(out.status, 302);
    assert!(out.location.unwrap().starts_with(ALPHA_SIGNED_OUT));
    assert_eq!(
        me_status(&app, &access).await,
        401,
        "the unexpired access token is dead"
    );
    assert_eq!(me_status(&other, &access).await, 401, "on every instance");
    assert_eq!(refresh(&mut b, &ALPHA, &refresh_token).await.status, 400);
    // The next portal visit asks for the password again.
    let page = b.get(&authorize_path(&BETA, VERIFIER, "s")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Mật khẩu"));
}

#[actix_web::test]
async fn revocation_endpoint_and_password_reset_end_tokens() {
    let (app, db) = setup().await;
    let mut b = Browser::new(&app.base);
    let tokens = sign_in(&mut b, &app.db, &ALPHA, VERIFIER).await;
    let r1 = tokens["refresh_token"].as_str().unwrap().to_owned();
    let revoked = b
        .post_form(
            "/oauth/revoke",
            &[("token", &r1), ("client_id", ALPHA.client_id)],
        )
        .await;
    assert_eq!(revoked.status, 200);
    assert_eq!(refresh(&mut b, &ALPHA, &r1).await.status, 400);

    // A password reset ends the account's sessions.
    let tokens = sign_in(&mut b, &app.db, &ALPHA, VERIFIER).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let r2 = tokens["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(me_status(&app, &access).await, 200);
    let (token, hash) = dvc::auth::accounts::new_token();
    {
        use diesel::prelude::*;
        use dvc::db::schema::{account_tokens as t, accounts as a};
        let mut conn = db.conn();
        let account: uuid::Uuid = a::table.select(a::id).first(&mut conn).unwrap();
        diesel::insert_into(t::table)
            .values((
                t::token_hash.eq(hash),
                t::account_id.eq(account),
                t::purpose.eq("reset_password"),
                t::expires_at.eq(chrono::Utc::now() + chrono::Duration::minutes(5)),
            ))
            .execute(&mut conn)
            .unwrap();
    }
    let (status, _, _) = app
        .call_json(
            "POST",
            "/api/v1/auth/password/reset",
            &serde_json::json!({"token": token, "password": "một mật khẩu hoàn toàn mới"}),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(me_status(&app, &access).await, 401);
    assert_eq!(refresh(&mut b, &ALPHA, &r2).await.status, 400);
}

#[actix_web::test]
async fn tenant_admins_manage_roles_in_their_own_tenant_only() {
    let (app, db) = setup().await;
    let mut conn = db.conn();
    {
        use diesel::prelude::*;
        use dvc::db::schema::{accounts as a, tenants as t};
        let canbo: uuid::Uuid = a::table.select(a::id).first(&mut conn).unwrap();
        let alpha: uuid::Uuid = t::table
            .filter(t::slug.eq("alpha"))
            .select(t::id)
            .first(&mut conn)
            .unwrap();
        dvc::auth::roles::grant(
            &mut conn,
            canbo,
            alpha,
            dvc::auth::roles::Role::TenantAdmin,
            None,
        )
        .unwrap();
        let reg = dvc::auth::accounts::Registration {
            email: dvc::mail::Email::parse("lanhdao@example.vn").unwrap(),
            password: dvc::auth::password::Password::parse(
                "một mật khẩu khác dài",
                "lanhdao@example.vn",
            )
            .unwrap(),
            full_name: "Trần Lãnh Đạo".into(),
            kind: dvc::auth::accounts::AccountKind::Citizen,
            citizen_id: None,
            tax_code: None,
            phone: None,
            locale: dvc::locale::Locale::Vi,
        };
        let links = dvc::auth::accounts::Links {
            base: "http://localhost".into(),
        };
        dvc::auth::accounts::register(&mut conn, &reg, "x", &links, None, None).unwrap();
    }
    let mut b = Browser::new(&app.base);
    let alpha_tokens = sign_in(&mut b, &app.db, &ALPHA, VERIFIER).await;
    let admin = format!("Bearer {}", alpha_tokens["access_token"].as_str().unwrap());
    let beta_tokens = sign_in(&mut b, &app.db, &BETA, VERIFIER).await;
    let nobody_in_beta = format!("Bearer {}", beta_tokens["access_token"].as_str().unwrap());
    let call = |host: &'static str, method: &'static str, auth: String, body: serde_json::Value| {
        let app = &app;
        async move {
            let method = awc::http::Method::from_bytes(method.as_bytes()).unwrap();
            let mut resp = awc::Client::default()
                .request(method, format!("{}/api/v1/members", app.base))
                .insert_header(("Host", host))
                .insert_header(("Authorization", auth))
                .send_json(&body)
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let json: serde_json::Value =
                serde_json::from_slice(&resp.body().await.unwrap()).unwrap_or_default();
            (status, json)
        }
    };
    let leader = serde_json::json!({"email": "lanhdao@example.vn", "role": "leader"});
    // Issue 15, item 8: someone who is not a member yet is invited, not granted — whether or
    // not the address has an account, the answer is the same and nobody is signed out.
    let invitations = || {
        db.scalar_i64("SELECT count(*) AS n FROM platform.invitations WHERE accepted_at IS NULL")
    };
    assert_eq!(
        call("alpha.localhost", "POST", admin.clone(), leader.clone())
            .await
            .0,
        202
    );
    let stranger = serde_json::json!({"email": "khong-ai@example.vn", "role": "leader"});
    assert_eq!(
        call("alpha.localhost", "POST", admin.clone(), stranger)
            .await
            .0,
        202
    );
    assert_eq!(invitations(), 2);
    assert_eq!(
        db.scalar_i64(
            "SELECT count(*) AS n FROM platform.memberships m JOIN platform.accounts a \
             ON a.id = m.account_id WHERE a.email = 'lanhdao@example.vn'"
        ),
        0
    );
    // Once a member (an accepted invitation; here granted directly), roles are granted at once.
    {
        use diesel::prelude::*;
        use dvc::db::schema::{accounts as a, tenants as t};
        let mut conn = db.conn();
        let lanhdao: uuid::Uuid = a::table
            .filter(a::email.eq("lanhdao@example.vn"))
            .select(a::id)
            .first(&mut conn)
            .unwrap();
        let alpha: uuid::Uuid = t::table
            .filter(t::slug.eq("alpha"))
            .select(t::id)
            .first(&mut conn)
            .unwrap();
        dvc::auth::roles::grant(
            &mut conn,
            lanhdao,
            alpha,
            dvc::auth::roles::Role::Officer,
            None,
        )
        .unwrap();
    }
    assert_eq!(
        call("alpha.localhost", "POST", admin.clone(), leader.clone())
            .await
            .0,
        201
    );
    assert_eq!(
        call("alpha.localhost", "POST", admin.clone(), leader.clone())
            .await
            .0,
        200,
        "already granted"
    );
    let (status, list) = call(
        "alpha.localhost",
        "GET",
        admin.clone(),
        serde_json::Value::Null,
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|m| m["email"] == "lanhdao@example.vn" && m["role"] == "leader")
    );
    // Alpha's admin token means nothing at beta; beta's token carries no admin role there.
    assert_eq!(
        call("beta.localhost", "POST", admin.clone(), leader.clone())
            .await
            .0,
        401
    );
    assert_eq!(
        call("beta.localhost", "POST", nobody_in_beta, leader.clone())
            .await
            .0,
        403
    );
    let (status, json) = call(
        "alpha.localhost",
        "POST",
        admin.clone(),
        serde_json::json!({"email": "lanhdao@example.vn", "role": "operator"}),
    )
    .await;
    assert_eq!((status, json["code"].as_str()), (400, Some("invalid_role")));
    assert_eq!(
        call("alpha.localhost", "DELETE", admin.clone(), leader.clone())
            .await
            .0,
        204
    );
    assert_eq!(
        call("alpha.localhost", "DELETE", admin.clone(), leader)
            .await
            .0,
        404
    );
    // A role change ends the member's sessions: here the admin takes their own officer role
    // away, and their token stops working at once.
    let own = serde_json::json!({"email": "canbo@example.vn", "role": "officer"});
    assert_eq!(
        call("alpha.localhost", "DELETE", admin.clone(), own)
            .await
            .0,
        204
    );
    assert_eq!(
        call("alpha.localhost", "GET", admin, serde_json::Value::Null)
            .await
            .0,
        401
    );
    assert_eq!(
        db.scalar_i64("SELECT count(*) AS n FROM platform.outbox WHERE template = 'role_granted'"),
        1
    );
    assert_eq!(
        db.scalar_i64("SELECT count(*) AS n FROM platform.memberships m JOIN platform.tenants t ON t.id = m.tenant_id WHERE t.slug = 'beta'"),
        0
    );
}

async fn try_login(b: &mut Browser, password: &str) -> Reply {
    try_login_as(b, "dan@example.vn", password).await
}

async fn try_login_as(b: &mut Browser, email: &str, password: &str) -> Reply {
    let page = b.get(&authorize_path(&ALPHA, VERIFIER, "s")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let mut form: Vec<(String, String)> = NAMES
        .iter()
        .map(|n| (n.to_string(), hidden_value(&page.body, n)))
        .collect();
    form.push(("email".into(), email.into()));
    form.push(("password".into(), password.into()));
    form.push(("csrf".into(), hidden_value(&page.body, "csrf")));
    let refs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    b.post_form("/oauth/authorize", &refs).await
}

/// Signs the citizen in through the form and returns `Bearer <access token>` for alpha.
async fn citizen_bearer(b: &mut Browser) -> String {
    let signed_in = try_login(b, PASSWORD).await;
    assert_eq!(signed_in.status, 302, "{}", signed_in.body);
    let code = query_param(&signed_in.location.unwrap(), "code").unwrap();
    let tokens = exchange(b, &ALPHA, &code, VERIFIER).await;
    let tokens: serde_json::Value = serde_json::from_str(&tokens.body).unwrap();
    format!("Bearer {}", tokens["access_token"].as_str().unwrap())
}

/// With a live sign-in, `Bearer <access token>` of `client` got silently.
async fn silent_bearer(b: &mut Browser, client: &Portal) -> String {
    let r = b.get(&authorize_path(client, VERIFIER, "s")).await;
    assert_eq!(r.status, 302, "{}", r.body);
    let code = query_param(&r.location.unwrap(), "code").unwrap();
    let tokens = exchange(b, client, &code, VERIFIER).await;
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    let tokens: serde_json::Value = serde_json::from_str(&tokens.body).unwrap();
    format!("Bearer {}", tokens["access_token"].as_str().unwrap())
}

/// The citizen signed in, with a token of the platform's own app (account API).
async fn citizen_app_bearer(b: &mut Browser) -> String {
    citizen_bearer(b).await;
    silent_bearer(b, &APP).await
}

#[actix_web::test]
async fn guessing_locks_briefly_and_a_password_reset_lifts_it() {
    let (app, db) = setup().await;
    let mut b = Browser::new(&app.base);
    for _ in 0..5 {
        assert_eq!(try_login(&mut b, "wrong guess 123").await.status, 401);
    }
    // Locked now: even the right password is not looked at.
    let locked = try_login(&mut b, PASSWORD).await;
    assert_eq!(locked.status, 429, "{}", locked.body);
    // The first lock is short; then the right password works.
    tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
    let ok = try_login(&mut b, PASSWORD).await;
    assert_eq!(ok.status, 302, "{}", ok.body);
    b.cookies.remove("dvc_sso");
    for _ in 0..5 {
        assert_eq!(try_login(&mut b, "wrong guess 456").await.status, 401);
    }
    assert_eq!(try_login(&mut b, PASSWORD).await.status, 429);
    // The owner resets the password: every lock of the account is gone at once.
    let (token, hash) = dvc::auth::accounts::new_token();
    {
        use diesel::prelude::*;
        use dvc::db::schema::{account_tokens as t, accounts as a};
        let mut conn = db.conn();
        let account: uuid::Uuid = a::table
            .filter(a::email.eq("dan@example.vn"))
            .select(a::id)
            .first(&mut conn)
            .unwrap();
        diesel::insert_into(t::table)
            .values((
                t::token_hash.eq(hash),
                t::account_id.eq(account),
                t::purpose.eq("reset_password"),
                t::expires_at.eq(chrono::Utc::now() + chrono::Duration::minutes(5)),
            ))
            .execute(&mut conn)
            .unwrap();
    }
    let (status, _, _) = app
        .call_json(
            "POST",
            "/api/v1/auth/password/reset",
            &serde_json::json!({"token": token, "password": "mật khẩu sau khi bị khóa"}),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        try_login(&mut b, "mật khẩu sau khi bị khóa").await.status,
        302
    );
    assert!(
        db.scalar_i64("SELECT count(*) AS n FROM platform.audit_log WHERE action = 'login.locked'")
            >= 2
    );
}

/// Signs canbo in through the form with an optional authenticator code.
async fn canbo_login(b: &mut Browser, code: Option<String>) -> Reply {
    let page = b.get(&authorize_path(&ALPHA, VERIFIER, "s")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let mut form: Vec<(String, String)> = NAMES
        .iter()
        .map(|n| (n.to_string(), hidden_value(&page.body, n)))
        .collect();
    form.push(("email".into(), "canbo@example.vn".into()));
    form.push(("password".into(), PASSWORD.into()));
    form.push(("csrf".into(), hidden_value(&page.body, "csrf")));
    if let Some(code) = code {
        form.push(("totp".into(), code));
    }
    let refs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    b.post_form("/oauth/authorize", &refs).await
}

async fn roles_after(b: &mut Browser, app: &TestApp, signed_in: Reply) -> serde_json::Value {
    let code = query_param(&signed_in.location.unwrap(), "code").unwrap();
    let tokens = exchange(b, &ALPHA, &code, VERIFIER).await;
    let tokens: serde_json::Value = serde_json::from_str(&tokens.body).unwrap();
    let token = tokens["access_token"].as_str().unwrap().to_owned();
    let (_, _, me) = app
        .call(
            "GET",
            "/api/v1/me",
            &[
                ("Host", "alpha.localhost"),
                ("Authorization", &format!("Bearer {token}")),
            ],
        )
        .await;
    me["roles"].clone()
}

#[actix_web::test]
async fn officials_get_their_roles_only_with_a_second_factor() {
    let (app, db) = setup().await;
    use diesel::connection::SimpleConnection;
    db.conn()
        .batch_execute("DELETE FROM platform.account_totp")
        .unwrap();
    let mut b = Browser::new(&app.base);
    // No authenticator yet: signed in, but the officer role is withheld.
    let first = canbo_login(&mut b, None).await;
    assert_eq!(first.status, 302, "{}", first.body);
    let code = query_param(first.location.as_ref().unwrap(), "code").unwrap();
    let tokens = exchange(&mut b, &ALPHA, &code, VERIFIER).await;
    let tokens: serde_json::Value = serde_json::from_str(&tokens.body).unwrap();
    let bearer = format!("Bearer {}", tokens["access_token"].as_str().unwrap());
    let (_, _, me) = app
        .call(
            "GET",
            "/api/v1/me",
            &[("Host", "alpha.localhost"), ("Authorization", &bearer)],
        )
        .await;
    assert_eq!(me["roles"], serde_json::json!([]));
    // A tenant's token does not open the account API; the platform app's does.
    let refused = awc::Client::default()
        .post(format!("{}/api/v1/auth/totp", app.base))
        .insert_header(("Authorization", bearer.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 401);
    let bearer = silent_bearer(&mut b, &APP).await;

    // Set up the authenticator with that token.
    let mut enroll = awc::Client::default()
        .post(format!("{}/api/v1/auth/totp", app.base))
        .insert_header(("Authorization", bearer.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(enroll.status().as_u16(), 200);
    let enrolled: serde_json::Value = enroll.json().await.unwrap();
    assert!(
        enrolled["otpauth_url"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    assert_eq!(
        db.scalar_i64(&format!(
            "SELECT count(*) AS n FROM platform.account_totp WHERE position('{}'::bytea in secret_enc) > 0",
            enrolled["secret"].as_str().unwrap()
        )),
        0,
        "the secret is stored encrypted"
    );
    let confirm = |code: String| {
        let app = &app;
        let bearer = bearer.clone();
        async move {
            awc::Client::default()
                .post(format!("{}/api/v1/auth/totp/confirm", app.base))
                .insert_header(("Authorization", bearer))
                .send_json(&serde_json::json!({ "code": code }))
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(confirm("000000x".into()).await, 400);
    let now_code = totp_code(&db, "canbo@example.vn", 0);
    assert_eq!(confirm(now_code.clone()).await, 204);
    assert_eq!(confirm(now_code).await, 400, "a code works once");

    // From now on the password alone is not enough, and a used code is refused.
    sign_out(&mut b).await;
    assert_eq!(canbo_login(&mut b, None).await.status, 401);
    let next = totp_code(&db, "canbo@example.vn", 30);
    let ok = canbo_login(&mut b, Some(next.clone())).await;
    assert_eq!(ok.status, 302, "{}", ok.body);
    assert_eq!(
        roles_after(&mut b, &app, ok).await,
        serde_json::json!(["officer"])
    );
    sign_out(&mut b).await;
    assert_eq!(
        canbo_login(&mut b, Some(next)).await.status,
        401,
        "replayed code"
    );
    assert!(
        db.scalar_i64("SELECT count(*) AS n FROM platform.audit_log WHERE action = 'totp.enabled'")
            == 1
    );
}

#[actix_web::test]
async fn changing_the_password_needs_the_current_one_and_ends_sessions() {
    let (app, _db) = setup().await;
    let mut b = Browser::new(&app.base);
    let bearer = citizen_app_bearer(&mut b).await;
    let change = |current: &'static str, new: &'static str| {
        let app = &app;
        let bearer = bearer.clone();
        async move {
            awc::Client::default()
                .post(format!("{}/api/v1/auth/password/change", app.base))
                .insert_header(("Authorization", bearer))
                .send_json(&serde_json::json!({"current_password": current, "new_password": new}))
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(change("not my password", "mật khẩu mới toanh").await, 403);
    assert_eq!(change(PASSWORD, "ngắn").await, 400);
    assert_eq!(change(PASSWORD, "mật khẩu mới toanh").await, 204);
    let (status, _, _) = app
        .call("GET", "/oauth/userinfo", &[("Authorization", &bearer)])
        .await;
    assert_eq!(status, 401, "the session ended");
    b.cookies.remove("dvc_sso");
    assert_eq!(try_login(&mut b, PASSWORD).await.status, 401);
    assert_eq!(try_login(&mut b, "mật khẩu mới toanh").await.status, 302);
}

#[actix_web::test]
async fn changing_the_address_goes_through_a_link_to_the_new_one() {
    let (app, db) = setup().await;
    let mut b = Browser::new(&app.base);
    let bearer = citizen_app_bearer(&mut b).await;
    let change = |new: &'static str, password: &'static str| {
        let app = &app;
        let bearer = bearer.clone();
        async move {
            awc::Client::default()
                .post(format!("{}/api/v1/auth/email/change", app.base))
                .insert_header(("Authorization", bearer))
                .send_json(&serde_json::json!({"new_email": new, "current_password": password}))
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(change("dan.moi@example.vn", "wrong password!").await, 403);
    assert_eq!(change("not an address", PASSWORD).await, 400);
    // A taken address answers the same and sends nothing.
    assert_eq!(change("canbo@example.vn", PASSWORD).await, 202);
    assert_eq!(change("dan.moi@example.vn", PASSWORD).await, 202);
    let outbox = |to: &str| {
        db.scalar_i64(&format!(
            "SELECT count(*) AS n FROM platform.outbox WHERE recipient = '{to}' AND payload::text LIKE '%confirm-email%'"
        ))
    };
    assert_eq!(outbox("canbo@example.vn"), 0);
    assert_eq!(outbox("dan.moi@example.vn"), 1);
    // Nothing changed yet.
    assert_eq!(
        db.scalar_i64("SELECT count(*) AS n FROM platform.accounts WHERE email = 'dan@example.vn'"),
        1
    );
    let link: String = {
        use diesel::prelude::*;
        use dvc::db::schema::outbox as o;
        let payload: serde_json::Value = o::table
            .filter(o::recipient.eq("dan.moi@example.vn"))
            .select(o::payload)
            .first(&mut db.conn())
            .unwrap();
        payload["secret"]["link"].as_str().unwrap().to_owned()
    };
    assert!(link.contains("/confirm-email?token="));
    let token = link.rsplit('=').next().unwrap().to_owned();
    let confirm = |token: String| {
        let app = &app;
        async move {
            app.call_json(
                "POST",
                "/api/v1/auth/email/confirm",
                &serde_json::json!({"token": token}),
            )
            .await
            .0
        }
    };
    assert_eq!(confirm(token.clone()).await, 204);
    assert_eq!(confirm(token).await, 400, "the link works once");
    assert_eq!(db.scalar_i64("SELECT count(*) AS n FROM platform.accounts WHERE email = 'dan.moi@example.vn' AND email_verified_at IS NOT NULL"), 1);
    let (status, _, _) = app
        .call("GET", "/oauth/userinfo", &[("Authorization", &bearer)])
        .await;
    assert_eq!(status, 401, "sessions ended with the change");
}

#[actix_web::test]
async fn an_attacker_guessing_from_one_address_cannot_lock_the_owner_out_from_another() {
    let (app, db) = setup().await;
    let mut attacker = Browser::from_address(&app.base, "127.0.0.2");
    let mut owner = Browser::from_address(&app.base, "127.0.0.3");
    for _ in 0..8 {
        let r = try_login(&mut attacker, "guess guess guess").await;
        assert!(r.status == 401 || r.status == 429, "{}", r.status);
    }
    // The attacker's address is locked out of the account, even with the right password...
    assert_eq!(try_login(&mut attacker, PASSWORD).await.status, 429);
    // ...the owner, elsewhere, is not.
    assert_eq!(try_login(&mut owner, PASSWORD).await.status, 302);
    assert!(
        db.scalar_i64("SELECT count(*) AS n FROM platform.audit_log WHERE action = 'login.failed' AND ip = '127.0.0.2'")
            >= 5
    );
}

#[actix_web::test]
async fn concurrent_refreshes_inside_the_grace_window_both_succeed() {
    let (app, _db) = setup().await;
    let mut b = Browser::new(&app.base);
    let tokens = sign_in(&mut b, &app.db, &ALPHA, VERIFIER).await;
    let token = tokens["refresh_token"].as_str().unwrap().to_owned();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", token.as_str()),
        ("client_id", ALPHA.client_id),
    ];
    let client = awc::Client::default();
    let one = client
        .post(format!("{}/oauth/token", app.base))
        .send_form(&form);
    let two = client
        .post(format!("{}/oauth/token", app.base))
        .send_form(&form);
    let (one, two) = futures_util::future::join(one, two).await;
    assert_eq!(one.unwrap().status().as_u16(), 200);
    assert_eq!(two.unwrap().status().as_u16(), 200);
}

#[actix_web::test]
async fn a_sign_in_from_a_new_device_is_reported_by_mail() {
    let (app, db) = setup().await;
    let count = || {
        db.scalar_i64(
            "SELECT count(*) AS n FROM platform.outbox WHERE template = 'new_device_sign_in' AND recipient = 'dan@example.vn'",
        )
    };
    let mut laptop = Browser::with_agent(&app.base, "Mozilla/5.0 (X11; Linux) Firefox/140");
    assert_eq!(try_login(&mut laptop, PASSWORD).await.status, 302);
    assert_eq!(count(), 0, "the first sign-in ever is not news");
    sign_out(&mut laptop).await;
    assert_eq!(try_login(&mut laptop, PASSWORD).await.status, 302);
    assert_eq!(count(), 0, "same device again");
    let mut phone = Browser::with_agent(&app.base, "Mozilla/5.0 (Android 15) Chrome/150 Mobile");
    assert_eq!(try_login(&mut phone, PASSWORD).await.status, 302);
    assert_eq!(count(), 1);
}

#[actix_web::test]
async fn operators_reach_the_operator_api_with_their_sso_token() {
    let (app, db) = setup().await;
    {
        use diesel::prelude::*;
        use dvc::db::schema::accounts as a;
        let canbo: uuid::Uuid = a::table
            .filter(a::email.eq("canbo@example.vn"))
            .select(a::id)
            .first(&mut db.conn())
            .unwrap();
        dvc::auth::roles::grant_operator(&mut db.conn(), canbo).unwrap();
    }
    let mut b = Browser::new(&app.base);
    let outbox = |bearer: String| {
        let app = &app;
        async move {
            app.call(
                "GET",
                "/api/v1/operator/outbox",
                &[("Authorization", &bearer)],
            )
            .await
        }
    };
    // The operator's token for a tenant's site is not the operator API's audience.
    let tenant_token = sign_in(&mut b, &app.db, &ALPHA, VERIFIER).await;
    let (status, _, _) = outbox(format!(
        "Bearer {}",
        tenant_token["access_token"].as_str().unwrap()
    ))
    .await;
    assert_eq!(status, 401);
    // The console's own audience is.
    let bearer = silent_bearer(&mut b, &CONSOLE).await;
    let (status, _, counts) = outbox(bearer).await;
    assert_eq!(status, 200, "{counts}");
    assert!(counts.is_array());
    // A citizen's valid console token is not enough.
    let mut other = Browser::new(&app.base);
    citizen_bearer(&mut other).await;
    let citizen = silent_bearer(&mut other, &CONSOLE).await;
    assert_eq!(outbox(citizen).await.0, 403);
}

/// The operator console, registered by the server at start.
const CONSOLE: Portal = Portal {
    client_id: "operator-console",
    redirect: "http://localhost:8080/van-hanh",
};

/// Issue 15, item 1: a tenant admin who routes a proven domain to a server of their own
/// receives codes of the tenant's portal there, and must get nothing out of them.
#[actix_web::test]
async fn a_code_sent_to_a_tenants_own_domain_buys_no_token() {
    let (app, db) = setup().await;
    // Alpha's own portal, with a custom domain its admin controls.
    let alpha = app
        .app_state
        .registry
        .by_slug(&dvc::tenancy::TenantSlug::parse("alpha").unwrap())
        .unwrap();
    let mut owned = (*alpha).clone();
    owned
        .domains
        .push(dvc::tenancy::HostName::parse("evil.example").unwrap());
    let base = dvc::tenancy::HostName::parse("localhost").unwrap();
    let portal_id =
        dvc::auth::sso::register_tenant_portal(&mut db.conn(), &owned, &base, "http://{host}")
            .unwrap();
    let portal = Portal {
        client_id: "portal-alpha",
        redirect: "http://evil.example/auth/callback",
    };
    assert_eq!(portal_id, portal.client_id);

    // The victim is signed in (an operator with a second factor, the worst case).
    {
        use diesel::prelude::*;
        use dvc::db::schema::accounts as a;
        let canbo: uuid::Uuid = a::table
            .filter(a::email.eq("canbo@example.vn"))
            .select(a::id)
            .first(&mut db.conn())
            .unwrap();
        dvc::auth::roles::grant_operator(&mut db.conn(), canbo).unwrap();
    }
    let mut victim = Browser::new(&app.base);
    let site = sign_in(&mut victim, &app.db, &ALPHA, VERIFIER).await;
    let site_bearer = format!("Bearer {}", site["access_token"].as_str().unwrap());

    // The attacker's link: the code still goes to the registered domain...
    let attacker_verifier = "attacker-chosen-verifier-0123456789-abcdefghijklmnopq";
    let r = victim
        .get(&authorize_path(&portal, attacker_verifier, "x"))
        .await;
    assert_eq!(r.status, 302, "{}", r.body);
    let location = r.location.unwrap();
    assert!(location.starts_with(portal.redirect), "{location}");
    let code = query_param(&location, "code").unwrap();
    // ...but the public token endpoint never redeems a portal's code,
    let mut attacker = Browser::new(&app.base);
    let r = exchange(&mut attacker, &portal, &code, attacker_verifier).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("unauthorized_client"), "{}", r.body);
    // nor a portal's refresh token, nor an unknown client's.
    let r = refresh(&mut attacker, &portal, &"x".repeat(43)).await;
    assert!(r.body.contains("unauthorized_client"), "{}", r.body);
    let r = refresh(
        &mut attacker,
        &Portal {
            client_id: "nobody",
            redirect: "http://x/",
        },
        &"x".repeat(43),
    )
    .await;
    assert!(r.body.contains("invalid_client"), "{}", r.body);

    // A token of a tenant's audience opens neither the account API nor the operator API.
    for (method, path) in [
        ("GET", "/api/v1/account/dossiers"),
        ("POST", "/api/v1/auth/totp"),
        ("GET", "/api/v1/operator/outbox"),
    ] {
        let (status, _, body) = app
            .call(method, path, &[("Authorization", &site_bearer)])
            .await;
        assert_eq!(status, 401, "{method} {path}: {body}");
    }
    // Userinfo, which every relying party calls with its own token, still answers.
    let (status, _, me) = app
        .call("GET", "/oauth/userinfo", &[("Authorization", &site_bearer)])
        .await;
    assert_eq!(
        (status, me["email"].as_str()),
        (200, Some("canbo@example.vn"))
    );

    // The sign-out page of a portal is a logout return, not a place codes are sent to...
    let signed_out = "http://evil.example/da-dang-xuat";
    let sneaky = authorize_path(
        &Portal {
            client_id: "portal-alpha",
            redirect: signed_out,
        },
        attacker_verifier,
        "x",
    );
    assert_eq!(victim.get(&sneaky).await.status, 400);
    // ...and a redirect URI is not a logout return.
    let out = victim
        .get(&format!(
            "/oauth/logout?client_id=portal-alpha&post_logout_redirect_uri={}&id_token_hint={}",
            url::form_urlencoded::byte_serialize(portal.redirect.as_bytes()).collect::<String>(),
            site["id_token"].as_str().unwrap()
        ))
        .await;
    assert_eq!(out.status, 200, "no redirect to {:?}", out.location);
}

/// RFC 6749 §4.1.2: a code presented twice revokes what it was exchanged for.
#[actix_web::test]
async fn a_replayed_code_revokes_the_tokens_issued_from_it() {
    let (app, _db) = setup().await;
    let mut b = Browser::new(&app.base);
    let r = try_login(&mut b, PASSWORD).await;
    assert_eq!(r.status, 302, "{}", r.body);
    let code = query_param(&r.location.unwrap(), "code").unwrap();
    let first = exchange(&mut b, &ALPHA, &code, VERIFIER).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let tokens: serde_json::Value = serde_json::from_str(&first.body).unwrap();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(me_status(&app, &access).await, 200);

    let again = exchange(&mut b, &ALPHA, &code, VERIFIER).await;
    assert_eq!(again.status, 400);
    assert!(again.body.contains("invalid_grant"), "{}", again.body);
    assert_eq!(me_status(&app, &access).await, 401, "the access token died");
    assert_eq!(refresh(&mut b, &ALPHA, &refresh_token).await.status, 400);
    assert_eq!(
        app.db.scalar_i64(
            "SELECT count(*) AS n FROM platform.audit_log WHERE action = 'code.replayed'"
        ),
        1
    );
}

/// Issue 15, item 2: a token alone cannot swap a confirmed authenticator for the thief's.
#[actix_web::test]
async fn replacing_a_confirmed_authenticator_needs_the_password_and_a_current_code() {
    let (app, db) = setup().await;
    let mut b = Browser::new(&app.base);
    sign_in(&mut b, &app.db, &ALPHA, VERIFIER).await;
    let bearer = silent_bearer(&mut b, &APP).await;
    let enroll = |body: Option<serde_json::Value>| {
        let app = &app;
        let bearer = bearer.clone();
        async move {
            let req = awc::Client::default()
                .post(format!("{}/api/v1/auth/totp", app.base))
                .insert_header(("Authorization", bearer));
            let mut resp = match body {
                Some(b) => req.send_json(&b).await.unwrap(),
                None => req.send().await.unwrap(),
            };
            let status = resp.status().as_u16();
            let json: serde_json::Value = resp.json().await.unwrap_or_default();
            (status, json)
        }
    };
    let stored = || {
        db.scalar_i64(
            "SELECT count(*) AS n FROM platform.account_totp \
             WHERE confirmed_at IS NOT NULL AND pending_enc IS NULL",
        )
    };
    let old_secret = || {
        use diesel::prelude::*;
        use dvc::db::schema::account_totp as t;
        t::table
            .select(t::secret_enc)
            .first::<Vec<u8>>(&mut db.conn())
            .unwrap()
    };
    let before = old_secret();
    assert_eq!(enroll(None).await.0, 403, "the token alone is not enough");
    let next = totp_code(&db, "canbo@example.vn", 30);
    let wrong_password = serde_json::json!({ "current_password": "not it", "code": next });
    assert_eq!(enroll(Some(wrong_password)).await.0, 403);
    let wrong_code = serde_json::json!({ "current_password": PASSWORD, "code": "000000" });
    assert_eq!(enroll(Some(wrong_code)).await.0, 403);
    assert_eq!(stored(), 1, "nothing changed");

    let proof = serde_json::json!({ "current_password": PASSWORD, "code": next });
    let (status, started) = enroll(Some(proof)).await;
    assert_eq!(status, 200, "{started}");
    // Pending: the old factor still guards sign-in, and the new one does not open it.
    assert_eq!(old_secret(), before);
    let new = totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(started["secret"].as_str().unwrap()).unwrap())
        .build()
        .unwrap();
    let new_code = new
        .generate(chrono::Utc::now().timestamp() as u64)
        .to_string();
    let mut other = Browser::new(&app.base);
    assert_eq!(
        canbo_login(&mut other, Some(new_code.clone())).await.status,
        401
    );
    // Confirmed with its first code, the new one takes over.
    let confirmed = awc::Client::default()
        .post(format!("{}/api/v1/auth/totp/confirm", app.base))
        .insert_header(("Authorization", bearer.clone()))
        .send_json(&serde_json::json!({ "code": new_code }))
        .await
        .unwrap();
    assert_eq!(confirmed.status().as_u16(), 204);
    assert_ne!(old_secret(), before);
    assert_eq!(stored(), 1);
}

/// Issue 15, item 8: the lockout answers the same for addresses with and without an account.
#[actix_web::test]
async fn guessing_at_an_unknown_address_locks_like_a_known_one() {
    let (app, _db) = setup().await;
    let mut seen = Vec::new();
    for (email, ip) in [
        ("dan@example.vn", "127.0.0.21"),
        ("khong-ai-ca@example.vn", "127.0.0.22"),
    ] {
        let mut b = Browser::from_address(&app.base, ip);
        let mut statuses = Vec::new();
        for _ in 0..7 {
            statuses.push(try_login_as(&mut b, email, "sai mật khẩu rồi").await.status);
        }
        seen.push(statuses);
    }
    assert!(seen[0].contains(&429), "{seen:?}");
    assert_eq!(seen[0], seen[1]);
}

/// Issue 15, item 8: an address change's link has a page, and a reset proves the address.
#[actix_web::test]
async fn the_address_change_link_opens_a_page_and_a_reset_proves_the_address() {
    let (app, db) = setup().await;
    let mut b = Browser::new(&app.base);
    let bearer = citizen_app_bearer(&mut b).await;
    let r = awc::Client::default()
        .post(format!("{}/api/v1/auth/email/change", app.base))
        .insert_header(("Authorization", bearer))
        .send_json(
            &serde_json::json!({"new_email": "dan.2@example.vn", "current_password": PASSWORD}),
        )
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let link: String = {
        use diesel::prelude::*;
        use dvc::db::schema::outbox as o;
        let payload: serde_json::Value = o::table
            .filter(o::recipient.eq("dan.2@example.vn"))
            .select(o::payload)
            .first(&mut db.conn())
            .unwrap();
        payload["secret"]["link"].as_str().unwrap().to_owned()
    };
    let path = &link[link.find("/confirm-email").unwrap()..];
    let page = b.get(path).await;
    assert_eq!(page.status, 200, "the mailed link has a page");
    let token = hidden_value(&page.body, "token");
    let csrf = hidden_value(&page.body, "csrf");
    let done = b
        .post_form("/confirm-email", &[("csrf", &csrf), ("token", &token)])
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(
        db.scalar_i64(
            "SELECT count(*) AS n FROM platform.accounts WHERE email = 'dan.2@example.vn'"
        ),
        1
    );

    // An address never confirmed is proven by a completed password reset.
    db.conn()
        .batch_execute("UPDATE platform.accounts SET email_verified_at = NULL WHERE email = 'dan.2@example.vn'")
        .unwrap();
    // The right password on an unconfirmed address sends the link again.
    let mut c = Browser::new(&app.base);
    let r = try_login_as(&mut c, "dan.2@example.vn", PASSWORD).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        db.scalar_i64(
            "SELECT count(*) AS n FROM platform.audit_log WHERE action = 'verification.resent'"
        ),
        1
    );
    let (s, _, _) = app
        .call_json(
            "POST",
            "/api/v1/auth/password/forgot",
            &serde_json::json!({ "email": "dan.2@example.vn" }),
        )
        .await;
    assert_eq!(s, 202);
    let reset_token: String = {
        use diesel::prelude::*;
        use dvc::db::schema::outbox as o;
        let payload: serde_json::Value = o::table
            .filter(o::recipient.eq("dan.2@example.vn"))
            .filter(o::template.eq("password_reset"))
            .select(o::payload)
            .first(&mut db.conn())
            .unwrap();
        let link = payload["secret"]["link"].as_str().unwrap().to_owned();
        link.rsplit('=').next().unwrap().to_owned()
    };
    let (s, _, body) = app
        .call_json(
            "POST",
            "/api/v1/auth/password/reset",
            &serde_json::json!({ "token": reset_token, "password": "một mật khẩu mới dài" }),
        )
        .await;
    assert_eq!(s, 204, "{body}");
    assert_eq!(
        db.scalar_i64("SELECT count(*) AS n FROM platform.accounts WHERE email = 'dan.2@example.vn' AND email_verified_at IS NOT NULL"),
        1
    );
    let (s, _, _) = app
        .call_json(
            "POST",
            "/api/v1/auth/verify-email/resend",
            &serde_json::json!({ "email": "nobody@example.vn" }),
        )
        .await;
    assert_eq!(s, 202, "the same answer for any address");
}

/// Issue 15, item 12: confidential clients prove themselves with a secret or a signed
/// assertion (signed here by PyJWT, as an outside system would), exactly as registered.
#[actix_web::test]
async fn confidential_clients_authenticate_as_registered() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use dvc::auth::client_auth::{AuthMethod, new_secret};
    let (app, db) = setup().await;
    let (secret, digest) = new_secret();
    // An ES256 key of the outside system; dvc gets only its public half.
    let key = p256::SecretKey::random(&mut rand_core::OsRng);
    let point = {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        key.public_key().to_encoded_point(false)
    };
    let jwks = serde_json::json!({ "keys": [{
        "kty": "EC", "crv": "P-256", "kid": "bo-key-1", "use": "sig", "alg": "ES256",
        "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
        "y": URL_SAFE_NO_PAD.encode(point.y().unwrap()),
    }]});
    for (p, method, hash, keys) in [
        (
            &SECRET_CLIENT,
            AuthMethod::SecretBasic,
            Some(digest.as_slice()),
            None,
        ),
        (&JWT_CLIENT, AuthMethod::PrivateKeyJwt, None, Some(&jwks)),
    ] {
        dvc::auth::sso::register_client(
            &mut db.conn(),
            &dvc::auth::sso::ClientSpec {
                client_id: p.client_id,
                name: p.client_id,
                redirect_uris: &[p.redirect.to_owned()],
                auth_method: method,
                secret_hash: hash,
                jwks: keys,
                ..Default::default()
            },
        )
        .unwrap();
    }
    let (_, _, discovery) = app.get(None, "/.well-known/openid-configuration").await;
    for m in [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
    ] {
        assert!(
            discovery["token_endpoint_auth_methods_supported"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x == m),
            "{discovery}"
        );
    }

    let mut b = Browser::new(&app.base);
    citizen_bearer(&mut b).await;
    let post = |form: Vec<(&'static str, String)>, basic: Option<String>| {
        let base = app.base.clone();
        async move {
            let mut req = awc::Client::default().post(format!("{base}/oauth/token"));
            if let Some(basic) = basic {
                req = req.insert_header(("Authorization", format!("Basic {basic}")));
            }
            let mut resp = req.send_form(&form).await.unwrap();
            let body: serde_json::Value = resp.json().await.unwrap_or_default();
            (resp.status().as_u16(), body)
        }
    };
    let exchange_form = |p: &Portal, code: &str| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("redirect_uri", p.redirect.to_owned()),
            ("client_id", p.client_id.to_owned()),
            ("code_verifier", VERIFIER.to_owned()),
        ]
    };

    // A secret client: nothing, the wrong method or the wrong secret is 401; Basic is it.
    let code = silent_code(&mut b, &SECRET_CLIENT).await;
    let (s, body) = post(exchange_form(&SECRET_CLIENT, &code), None).await;
    assert_eq!((s, body["error"].as_str()), (401, Some("invalid_client")));
    let mut as_post = exchange_form(&SECRET_CLIENT, &code);
    as_post.push(("client_secret", secret.clone()));
    assert_eq!(post(as_post, None).await.0, 401, "registered for Basic");
    let wrong = base64::engine::general_purpose::STANDARD.encode(format!("bo-app:{secret}x"));
    assert_eq!(
        post(exchange_form(&SECRET_CLIENT, &code), Some(wrong))
            .await
            .0,
        401
    );
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("bo-app:{secret}"));
    let (s, tokens) = post(exchange_form(&SECRET_CLIENT, &code), Some(basic.clone())).await;
    assert_eq!(s, 200, "{tokens}");
    let refresh_form = |p: &Portal, t: &str| {
        vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", t.to_owned()),
            ("client_id", p.client_id.to_owned()),
        ]
    };
    let rt = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(post(refresh_form(&SECRET_CLIENT, rt), None).await.0, 401);
    assert_eq!(
        post(refresh_form(&SECRET_CLIENT, rt), Some(basic)).await.0,
        200
    );

    // A key client: PyJWT signs the assertion; each assertion works once.
    let dir = std::env::temp_dir().join(format!("dvc-assert-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let pem = dir.join("key.pem");
    {
        use p256::pkcs8::EncodePrivateKey;
        std::fs::write(
            &pem,
            key.to_pkcs8_pem(p256::pkcs8::LineEnding::LF)
                .unwrap()
                .as_bytes(),
        )
        .unwrap();
    }
    let sign = |aud: &str| {
        let out = std::process::Command::new("/usr/bin/python3")
            .args([
                "tests/auth/client_assertion.py",
                pem.to_str().unwrap(),
                "cong-quoc-gia",
                aud,
                "bo-key-1",
            ])
            .output()
            .expect("python3 with PyJWT (scripts/test installs python3-jwt)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let with_assertion = |mut form: Vec<(&'static str, String)>, assertion: String| {
        form.push((
            "client_assertion_type",
            dvc::auth::client_auth::JWT_BEARER.to_owned(),
        ));
        form.push(("client_assertion", assertion));
        form
    };
    let endpoint = "http://localhost:8080/oauth/token";
    let code = silent_code(&mut b, &JWT_CLIENT).await;
    let other_audience = sign("http://elsewhere.example/token");
    let (s, _) = post(
        with_assertion(exchange_form(&JWT_CLIENT, &code), other_audience),
        None,
    )
    .await;
    assert_eq!(s, 401, "an assertion for another server");
    let assertion = sign(endpoint);
    let (s, tokens) = post(
        with_assertion(exchange_form(&JWT_CLIENT, &code), assertion.clone()),
        None,
    )
    .await;
    assert_eq!(s, 200, "{tokens}");
    let rt = tokens["refresh_token"].as_str().unwrap();
    let (s, _) = post(
        with_assertion(refresh_form(&JWT_CLIENT, rt), assertion),
        None,
    )
    .await;
    assert_eq!(s, 401, "a replayed assertion");
    let (s, _) = post(
        with_assertion(refresh_form(&JWT_CLIENT, rt), sign(endpoint)),
        None,
    )
    .await;
    assert_eq!(s, 200);
    std::fs::remove_dir_all(dir).ok();
}

/// A ministry's own app, registered for `client_secret_basic`.
const SECRET_CLIENT: Portal = Portal {
    client_id: "bo-app",
    redirect: "http://bo-app.localhost/cb",
};
/// The national portal, registered for `private_key_jwt`.
const JWT_CLIENT: Portal = Portal {
    client_id: "cong-quoc-gia",
    redirect: "http://dvcqg.localhost/cb",
};

/// With a live sign-in, a code for `client`.
async fn silent_code(b: &mut Browser, client: &Portal) -> String {
    let r = b.get(&authorize_path(client, VERIFIER, "s")).await;
    assert_eq!(r.status, 302, "{}", r.body);
    query_param(&r.location.unwrap(), "code").unwrap()
}

/// Issue 15, item 5: behind the chart's ingress, the client is who the trusted proxy says it
/// is, and nobody else's word counts.
#[actix_web::test]
async fn behind_a_trusted_proxy_each_client_is_counted_apart() {
    let (direct, db) = setup().await;
    let master = direct.app_state.settings.auth.master_key.clone();
    let proxied = TestApp::spawn_on(db.clone(), move |s| {
        s.auth.master_key = master;
        s.server.trusted_proxies = vec!["127.0.0.0/8".into()];
    })
    .await;
    // Through the trusted proxy: the guesser at 198.51.100.1 locks only itself out.
    let mut guesser = Browser::forwarded_for(&proxied.base, "198.51.100.1");
    let mut last = 0;
    for _ in 0..6 {
        last = try_login(&mut guesser, "sai mật khẩu rồi").await.status;
    }
    assert_eq!(last, 429);
    let mut owner = Browser::forwarded_for(&proxied.base, "198.51.100.2");
    assert_eq!(try_login(&mut owner, PASSWORD).await.status, 302);
    // Without trusted proxies the header is a client's own claim: ignored, so a guesser
    // cannot slip out of its lock by naming another address.
    let mut liar = Browser::forwarded_for(&direct.base, "203.0.113.1");
    for _ in 0..6 {
        last = try_login(&mut liar, "sai mật khẩu rồi").await.status;
    }
    assert_eq!(last, 429);
    let mut liar_again = Browser::forwarded_for(&direct.base, "203.0.113.2");
    assert_eq!(
        try_login(&mut liar_again, "sai mật khẩu rồi").await.status,
        429
    );
    assert!(
        db.scalar_i64(
            "SELECT count(*) AS n FROM platform.audit_log \
             WHERE action = 'login.failed' AND ip = '198.51.100.1'"
        ) >= 5,
        "the audit log names the real client"
    );
}

//! The portal over plain HTTP (the browser test covers the journeys): headers every page
//! carries, the stored public pages (a different form token per browser, and a catalog change
//! seen at once), refused forms that change nothing, branded error pages.

use crate::world::{QUICK, World};

async fn get(
    w: &World,
    host: &str,
    path: &str,
    cookie: Option<&str>,
) -> (u16, awc::http::header::HeaderMap, String) {
    // Redirects are looked at, not followed.
    let client = awc::Client::builder().disable_redirects().finish();
    let mut r = client
        .get(format!("{}{path}", w.app.base))
        .insert_header(("Host", host))
        .insert_header(("Accept", "text/html"));
    if let Some(c) = cookie {
        r = r.insert_header(("Cookie", c));
    }
    let mut resp = r.send().await.unwrap();
    let body = resp.body().limit(1 << 20).await.unwrap();
    (
        resp.status().as_u16(),
        resp.headers().clone(),
        String::from_utf8_lossy(&body).into_owned(),
    )
}

fn form_token(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a form token") + 19;
    html[at..at + 43].to_owned()
}

#[actix_web::test]
async fn public_pages_carry_strict_headers_and_a_token_of_their_own() {
    let w = World::new(|_| {}).await;
    let (status, headers, first) = get(&w, "tinh-a.localhost", "/", None).await;
    assert_eq!(status, 200);
    let csp = headers
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("style-src 'self'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(headers.get("x-frame-options").unwrap(), "DENY");
    assert_eq!(headers.get("cache-control").unwrap(), "no-store");
    let cookie = headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(
        cookie.starts_with("dvc_form=") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    // The second visitor is served the stored page, with their own token in it.
    let (_, _, second) = get(&w, "tinh-a.localhost", "/", None).await;
    let (a, b) = (form_token(&first), form_token(&second));
    assert_ne!(a, b);
    for html in [&first, &second] {
        assert!(!html.contains(dvc::services::catalog::pages::TOKEN_HOLE));
        assert!(!html.contains("style=") && !html.contains("<script"));
    }
    // A browser that has a token keeps it.
    let (_, headers, third) =
        get(&w, "tinh-a.localhost", "/", Some(&format!("dvc_form={a}"))).await;
    assert_eq!(form_token(&third), a);
    assert!(headers.get("set-cookie").is_none());
}

#[actix_web::test]
async fn a_withdrawn_procedure_leaves_the_stored_pages_at_once() {
    let w = World::new(|_| {}).await;
    let (_, _, before) = get(&w, "tinh-a.localhost", "/", None).await;
    assert!(before.contains(&format!("/thu-tuc/{QUICK}")));
    let (status, _, _) = get(&w, "tinh-a.localhost", &format!("/thu-tuc/{QUICK}"), None).await;
    assert_eq!(status, 200);
    let admin = w.token(w.admin_a, "tinh-a", &["tenant_admin"]);
    let (status, _) = w
        .req(
            "DELETE",
            &format!("/t/tinh-a/api/v1/procedures/{QUICK}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (_, _, after) = get(&w, "tinh-a.localhost", "/", None).await;
    assert!(
        !after.contains(&format!("/thu-tuc/{QUICK}")),
        "still listed"
    );
    let (status, _, page) = get(&w, "tinh-a.localhost", &format!("/thu-tuc/{QUICK}"), None).await;
    assert_eq!(status, 404);
    assert!(
        page.contains("Không tìm thấy trang") && page.contains("Đơn vị TA"),
        "branded 404"
    );
    // The other tenant's pages are their own.
    let (_, _, b) = get(&w, "tinh-b.localhost", "/", None).await;
    assert!(b.contains(&format!("/thu-tuc/{QUICK}")) && b.contains("Đơn vị TB"));
}

#[actix_web::test]
async fn a_form_without_its_token_is_refused_and_changes_nothing() {
    let w = World::new(|_| {}).await;
    let client = awc::Client::default();
    let mut resp = client
        .post(format!("{}/ngon-ngu", w.app.base))
        .insert_header(("Host", "tinh-a.localhost"))
        .insert_header((
            "Cookie",
            "dvc_form=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ))
        .send_form(&[("csrf", "forged"), ("lang", "en"), ("next", "/")])
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert!(
        resp.headers()
            .get("set-cookie")
            .is_none_or(|c| !c.to_str().unwrap().contains("dvc_lang"))
    );
    let body = String::from_utf8_lossy(&resp.body().await.unwrap()).into_owned();
    assert!(body.contains("Biểu mẫu đã hết hạn"), "{body}");
    // A lookup with a malformed code is answered on the page, not as an error.
    let token = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
    let mut resp = client
        .post(format!("{}/tra-cuu", w.app.base))
        .insert_header(("Host", "tinh-a.localhost"))
        .insert_header(("Cookie", format!("dvc_form={token}")))
        .send_form(&[
            ("csrf", token),
            ("code", "<script>"),
            ("phone", "0912345678"),
        ])
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 422);
    let body = String::from_utf8_lossy(&resp.body().await.unwrap()).into_owned();
    assert!(
        body.contains("Mã hồ sơ không đúng định dạng") && !body.contains("<script>"),
        "{body}"
    );
    // Pages that need a sign-in send the browser to sign in, and come back after.
    let (status, headers, _) = get(&w, "tinh-a.localhost", "/ho-so", None).await;
    assert_eq!(status, 303);
    assert_eq!(headers.get("location").unwrap(), "/dang-nhap?next=%2Fho-so");
}

#[actix_web::test]
async fn a_sign_in_callback_carried_to_another_browser_is_refused() {
    let w = World::new(|_| {}).await;
    let (status, headers, _) = get(&w, "tinh-a.localhost", "/dang-nhap?next=/ho-so", None).await;
    assert_eq!(status, 303);
    let cookies: Vec<String> = headers
        .get_all("set-cookie")
        .map(|c| c.to_str().unwrap().to_owned())
        .collect();
    let login = cookies
        .iter()
        .find(|c| c.starts_with("dvc_login="))
        .expect("the browser is marked");
    assert!(
        login.contains("Path=/auth/callback") && login.contains("HttpOnly"),
        "{login}"
    );
    let location = headers.get("location").unwrap().to_str().unwrap();
    let state = url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    // Another browser (no `dvc_login` cookie) arriving with that state is turned away before
    // any code is exchanged, and gets no session.
    let code = "C".repeat(43);
    let (status, headers, body) = get(
        &w,
        "tinh-a.localhost",
        &format!("/auth/callback?code={code}&state={state}"),
        None,
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("Biểu mẫu đã hết hạn"), "{body}");
    assert!(
        headers
            .get_all("set-cookie")
            .all(|c| !c.to_str().unwrap().starts_with("dvc_portal=")
                || c.to_str().unwrap().contains("Max-Age=0"))
    );
}

#[actix_web::test]
async fn a_form_sent_twice_counts_once() {
    use dvc::web::session::Once;
    let w = World::new(|_| {}).await;
    let state = &w.app.app_state;
    let tenant = uuid::Uuid::new_v4();
    let nonce = "N".repeat(43);
    let first = Once::claim(state, tenant, &nonce).await.unwrap();
    assert!(first.already_done().is_none());
    // While the first is running, a second press is refused (409).
    let running = Once::claim(state, tenant, &nonce).await;
    assert!(matches!(
        running,
        Err(dvc::error::AppError::Conflict { .. })
    ));
    first.settle(state, Some("TA-261129-0042")).await.unwrap();
    let again = Once::claim(state, tenant, &nonce).await.unwrap();
    assert_eq!(again.already_done(), Some("TA-261129-0042"));
    // A refused send frees its nonce for the corrected form.
    let other = "M".repeat(43);
    Once::claim(state, tenant, &other)
        .await
        .unwrap()
        .settle(state, None)
        .await
        .unwrap();
    assert!(
        Once::claim(state, tenant, &other)
            .await
            .unwrap()
            .already_done()
            .is_none()
    );
    // A nonce of the wrong shape is a forged form.
    assert!(Once::claim(state, tenant, "short").await.is_err());
}

//! Signing keys and access tokens: rotation, the JWKS, verification that pins everything, and
//! an independent verifier (PyJWT) that knows only the JWKS.

use crate::common::{TestApp, TestDb};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use dvc::auth::keys::{Keyring, MasterKey, rotate};
use dvc::auth::tokens::{AccessClaims, TokenError, issue, verify};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use std::sync::Arc;
use uuid::Uuid;

const ISS: &str = "http://localhost:8080";

fn master() -> (String, MasterKey) {
    let b64 = STANDARD.encode([42u8; 32]);
    let key = MasterKey::parse(&b64).unwrap();
    (b64, key)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn claims(aud: &str) -> AccessClaims {
    AccessClaims {
        iss: ISS.into(),
        sub: Uuid::new_v4(),
        aud: aud.into(),
        client_id: format!("portal-{aud}"),
        sid: Uuid::new_v4(),
        iat: now(),
        exp: now() + 600,
        nbf: None,
        jti: Uuid::new_v4(),
        roles: vec!["officer".into()],
    }
}

fn b64(v: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

#[test]
fn tokens_verify_and_every_forgery_is_rejected() {
    let db = TestDb::new();
    db.apply_two(1, 1);
    let (_, master) = master();
    rotate(&mut db.conn(), &master).unwrap();
    let ring = Keyring::load(&mut db.conn(), Some(&master)).unwrap();
    let good = claims("alpha");
    let token = issue(&ring, &good).unwrap();
    assert_eq!(verify(&ring, &token, ISS, "alpha").unwrap(), good);

    let (kid, signer) = ring.signer().unwrap();
    let sign = |header: Header, body: &serde_json::Value| {
        jsonwebtoken::encode(&header, body, signer).unwrap()
    };
    let es256 = |typ: &str| {
        let mut h = Header::new(Algorithm::ES256);
        h.kid = Some(kid.to_owned());
        h.typ = Some(typ.to_owned());
        h
    };
    let body = serde_json::to_value(&good).unwrap();
    let with = |k: &str, v: serde_json::Value| {
        let mut b = body.clone();
        b[k] = v;
        b
    };
    let mut rejected: Vec<(&str, String)> = Vec::new();
    // alg none
    let none = format!(
        "{}.{}.",
        b64(&serde_json::json!({"alg": "none", "typ": "at+jwt", "kid": kid})),
        b64(&body)
    );
    rejected.push(("alg none", none));
    // HS256 keyed with the public key, the classic confusion attack
    let public = serde_json::to_vec(
        ring.jwks()["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["alg"] == "ES256")
            .unwrap(),
    )
    .unwrap();
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some(kid.to_owned());
    hs.typ = Some("at+jwt".into());
    rejected.push((
        "HS256 with the public key",
        jsonwebtoken::encode(&hs, &body, &EncodingKey::from_secret(&public)).unwrap(),
    ));
    // a key that is not ours
    let stranger = p256::SecretKey::random(&mut rand_core::OsRng);
    let stranger_pem = {
        use p256::pkcs8::EncodePrivateKey;
        stranger
            .to_pkcs8_pem(p256::pkcs8::LineEnding::LF)
            .unwrap()
            .to_string()
    };
    let mut unknown = Header::new(Algorithm::ES256);
    unknown.kid = Some("es256-not-ours".into());
    unknown.typ = Some("at+jwt".into());
    rejected.push((
        "unknown kid",
        jsonwebtoken::encode(
            &unknown,
            &body,
            &EncodingKey::from_ec_pem(stranger_pem.as_bytes()).unwrap(),
        )
        .unwrap(),
    ));
    let mut our_kid_their_key = unknown.clone();
    our_kid_their_key.kid = Some(kid.to_owned());
    rejected.push((
        "our kid, another key",
        jsonwebtoken::encode(
            &our_kid_their_key,
            &body,
            &EncodingKey::from_ec_pem(stranger_pem.as_bytes()).unwrap(),
        )
        .unwrap(),
    ));
    rejected.push((
        "ID token (typ JWT) as access token",
        sign(es256("JWT"), &body),
    ));
    rejected.push(("no typ", {
        let mut h = es256("at+jwt");
        h.typ = None;
        sign(h, &body)
    }));
    rejected.push((
        "wrong issuer",
        sign(es256("at+jwt"), &with("iss", "https://evil.example".into())),
    ));
    rejected.push((
        "expired",
        sign(es256("at+jwt"), &with("exp", (now() - 120).into())),
    ));
    rejected.push((
        "not yet valid",
        sign(es256("at+jwt"), &with("nbf", (now() + 3600).into())),
    ));
    rejected.push((
        "exp as a string",
        sign(
            es256("at+jwt"),
            &with("exp", (now() + 600).to_string().into()),
        ),
    ));
    rejected.push((
        "role of tenant beta presented at alpha",
        issue(&ring, &claims("beta")).unwrap(),
    ));
    // tampered payload: roles changed after signing
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[1] = b64(&with("roles", serde_json::json!(["tenant_admin"])));
    rejected.push(("tampered payload", parts.join(".")));
    rejected.push(("garbage", "not.a.token".into()));
    for (what, forged) in rejected {
        let result = verify(&ring, &forged, ISS, "alpha");
        assert!(result.is_err(), "{what} was accepted");
    }
    assert!(matches!(
        verify(&ring, &sign(es256("JWT"), &body), ISS, "alpha"),
        Err(TokenError::WrongType)
    ));
}

#[test]
fn rotation_publishes_before_signing_and_verifies_after() {
    let db = TestDb::new();
    db.apply_two(1, 1);
    let (master_b64, master) = master();
    let run = |args: &[&str], with_master: bool| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_dvc"));
        cmd.args(args)
            .env("DVC__DATABASE__URL", &db.url)
            .env("DVC__REDIS__PREFIX", &db.name)
            .env("DVC__LOG__FILTER", "off")
            .env("DVC_CONFIG_DIR", "/nonexistent");
        if with_master {
            cmd.env("DVC__AUTH__MASTER_KEY", &master_b64);
        }
        cmd.output().unwrap()
    };
    let refused = run(&["keys", "rotate"], false);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("DVC__AUTH__MASTER_KEY"));
    assert!(run(&["keys", "rotate"], true).status.success());
    let first = Keyring::load(&mut db.conn(), Some(&master)).unwrap();
    let (k1, _) = first.signer().unwrap();
    let k1 = k1.to_owned();
    // current and next are both published; next does not sign yet.
    // The access-token (ES256) keys; RS256 ID-token keys rotate alongside.
    let kids = |ring: &Keyring| -> Vec<String> {
        ring.jwks()["keys"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| k["alg"] == "ES256")
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(kids(&first).len(), 2);
    let next = kids(&first).into_iter().find(|k| *k != k1).unwrap();
    let old_token = issue(&first, &claims("alpha")).unwrap();

    assert!(run(&["keys", "rotate"], true).status.success());
    let second = Keyring::load(&mut db.conn(), Some(&master)).unwrap();
    assert_eq!(
        second.signer().unwrap().0,
        next,
        "the published next key now signs"
    );
    assert_eq!(kids(&second).len(), 3);
    assert!(
        verify(&second, &old_token, ISS, "alpha").is_ok(),
        "previous key still verifies"
    );

    assert!(run(&["keys", "rotate"], true).status.success());
    let third = Keyring::load(&mut db.conn(), Some(&master)).unwrap();
    assert!(!kids(&third).contains(&k1));
    assert!(
        verify(&third, &old_token, ISS, "alpha").is_err(),
        "retired key no longer verifies"
    );

    // Private keys are not stored in the clear, and another master key cannot open them.
    assert_eq!(
        db.scalar_i64("SELECT count(*) AS n FROM platform.signing_keys WHERE position('PRIVATE KEY'::bytea in private_key_enc) > 0"),
        0
    );
    let wrong = MasterKey::parse(&STANDARD.encode([1u8; 32])).unwrap();
    assert!(Keyring::load(&mut db.conn(), Some(&wrong)).is_err());
    let list = String::from_utf8_lossy(&run(&["keys", "list"], false).stdout).to_string();
    assert_eq!(
        // One retired key per algorithm.
        list.lines().filter(|l| l.contains("retired")).count(),
        2,
        "{list}"
    );
}

#[actix_web::test]
async fn an_independent_verifier_accepts_our_tokens_from_the_jwks_alone() {
    let db = Arc::new(TestDb::new());
    db.apply_two(1, 1);
    let (master_b64, master) = master();
    rotate(&mut db.conn(), &master).unwrap();
    let app = TestApp::spawn_on(db.clone(), move |s| {
        s.auth.master_key = Some(master_b64.into());
    })
    .await;
    let (status, _, jwks) = app.get(None, "/.well-known/jwks.json").await;
    assert_eq!(status, 200);
    let algs: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["alg"].as_str().unwrap())
        .collect();
    assert_eq!(algs.iter().filter(|a| **a == "ES256").count(), 2);
    assert_eq!(algs.iter().filter(|a| **a == "RS256").count(), 2);
    assert!(
        jwks.to_string().find("\"d\"").is_none(),
        "no private parts in the JWKS"
    );
    let ring = app.app_state.keyring();
    let good = claims("alpha");
    let token = issue(&ring, &good).unwrap();
    let url = format!("{}/.well-known/jwks.json", app.base);
    let check = |token: String, aud: &'static str| {
        let url = url.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new("/usr/bin/python3")
                .args(["tests/auth/verify_jwt.py", &url, &token, ISS, aud])
                .output()
                .unwrap()
        })
    };
    let ok = check(token.clone(), "alpha").await.unwrap();
    assert!(
        ok.status.success(),
        "{}{}",
        String::from_utf8_lossy(&ok.stdout),
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&ok.stdout).trim(),
        good.sub.to_string()
    );
    let wrong_aud = check(token, "beta").await.unwrap();
    assert!(!wrong_aud.status.success());
}

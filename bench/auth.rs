//! Auth benchmarks, driven by `bench/auth.sh`.
//!
//! ```text
//! cargo run --release --example auth -- serve <port>   # dvc's state, two routes over one read
//! cargo run --release --example auth -- token          # prints a token for bench-0001 (stdin: nothing)
//! cargo run --release --example auth -- argon2 <n>     # raw argon2id verifications per second
//! cargo run --release --example auth -- seed-login     # an account and a client for login runs
//! ```
//!
//! `serve` mounts the same tenant-scoped read (the uncached catalog page, one SQL transaction)
//! twice: `/open/…` resolves the tenant only; `/auth/…` also requires a verified access token
//! for that tenant and checks its session against Redis — the authentication cost, side by side.

#![allow(clippy::unwrap_used)] // a panic here is a failed test or bench, not an outage

use actix_web::{App, HttpResponse, HttpServer, web};
use dvc::auth::principal::Principal;
use dvc::config::Settings;
use dvc::services::catalog::{ProcedureQuery, store};
use dvc::tenancy::CurrentTenant;

async fn read(tenant: &CurrentTenant) -> Result<HttpResponse, dvc::error::AppError> {
    let page = tenant
        .db
        .run(|conn| Ok(store::query_page(conn, &ProcedureQuery::default())?))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

async fn open(tenant: CurrentTenant) -> Result<HttpResponse, dvc::error::AppError> {
    read(&tenant).await
}

async fn authenticated(principal: Principal) -> Result<HttpResponse, dvc::error::AppError> {
    read(&principal.tenant).await
}

fn settings() -> Settings {
    Settings::load().expect("settings from the environment")
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") => {
            let port: u16 = args.get(1).and_then(|p| p.parse().ok()).unwrap_or(18095);
            actix_web::rt::System::new().block_on(async move {
                let mut s = settings();
                s.server.port = 0;
                let app = dvc::Application::build(s.clone()).await?;
                let state = app.state();
                let workers =
                    std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
                HttpServer::new(move || {
                    App::new()
                        .app_data(state.clone())
                        .route("/open/t/{tenant}/read", web::get().to(open))
                        .route("/auth/t/{tenant}/read", web::get().to(authenticated))
                })
                .workers(workers)
                .worker_max_blocking_threads((s.database.pool_size as usize / workers).max(1))
                .bind(("127.0.0.1", port))?
                .run()
                .await?;
                Ok(())
            })
        }
        Some("token") => {
            use diesel::prelude::*;
            let s = settings();
            let master = dvc::auth::keys::MasterKey::parse(
                s.auth
                    .master_key
                    .as_ref()
                    .map_or("", secrecy::ExposeSecret::expose_secret),
            )?;
            let mut conn = PgConnection::establish(&s.database.url)?;
            let ring = dvc::auth::keys::Keyring::load(&mut conn, Some(&master))?;
            let now = chrono::Utc::now().timestamp();
            let token = dvc::auth::tokens::issue(
                &ring,
                &dvc::auth::tokens::AccessClaims {
                    iss: s.auth.issuer.trim_end_matches('/').to_owned(),
                    sub: uuid::Uuid::new_v4(),
                    aud: "bench-0001".into(),
                    client_id: "bench".into(),
                    sid: uuid::Uuid::new_v4(),
                    iat: now,
                    exp: now + 3600,
                    nbf: None,
                    jti: uuid::Uuid::new_v4(),
                    roles: vec!["officer".into()],
                },
            )?;
            println!("{token}");
            Ok(())
        }
        Some("seed-login") => {
            use diesel::connection::SimpleConnection;
            use diesel::prelude::*;
            let s = settings();
            let mut conn = PgConnection::establish(&s.database.url)?;
            let reg = dvc::auth::accounts::Registration {
                email: dvc::mail::Email::parse("bench@example.vn")?,
                password: dvc::auth::password::Password::parse(
                    "một mật khẩu đủ dài",
                    "bench@example.vn",
                )?,
                full_name: "Bench".into(),
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
            dvc::auth::accounts::register(&mut conn, &reg, &hash, &links, None, None)?;
            conn.batch_execute("UPDATE platform.accounts SET email_verified_at = now()")?;
            dvc::auth::sso::upsert_client(
                &mut conn,
                "bench",
                "bench",
                None,
                &["http://bench.localhost/cb".into()],
            )?;
            Ok(())
        }
        Some("argon2") => {
            let n: usize = args.get(1).and_then(|p| p.parse().ok()).unwrap_or(200);
            let p = dvc::auth::password::Password::parse("một mật khẩu đủ dài", "a@b.vn")?;
            let hash = dvc::auth::password::hash(&p);
            let threads = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
            let started = std::time::Instant::now();
            std::thread::scope(|scope| {
                for _ in 0..threads {
                    scope.spawn(|| {
                        for _ in 0..n / threads {
                            let ok = dvc::auth::password::verify(
                                &dvc::auth::password::Password::attempt("một mật khẩu đủ dài"),
                                Some(&hash),
                            );
                            assert!(ok);
                        }
                    });
                }
            });
            println!(
                "{:.1}",
                (n / threads * threads) as f64 / started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        _ => {
            eprintln!("usage: see the comment at the top of bench/auth.rs");
            Ok(())
        }
    }
}

//! Baseline for the benchmarks: a bare actix-web JSON "hello" with the same worker count as dvc.
//! `cargo run --release --example hello -- 18081`

#![allow(clippy::unwrap_used)] // a panic here is a failed test or bench, not an outage

use actix_web::{App, HttpResponse, HttpServer, web};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(18081);
    HttpServer::new(|| {
        App::new().route(
            "/hello",
            web::get()
                .to(|| async { HttpResponse::Ok().json(serde_json::json!({"hello": "world"})) }),
        )
    })
    .bind(("127.0.0.1", port))?
    .run()
    .await
}

//! `dvc serve`, `dvc worker` and `dvc health`: the long-running processes.

use super::*;

pub(super) fn serve(settings: Settings) -> anyhow::Result<ExitCode> {
    actix_web::rt::System::new().block_on(async move {
        let app = dvc::Application::build(settings).await?;
        // Tests and scripts read this line to learn the port.
        println!("dvc listening on port {}", app.port());
        app.run_until_stopped().await?;
        Ok(ExitCode::SUCCESS)
    })
}

pub(super) fn worker(mut settings: Settings) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        // A connection for every message in flight (and the claim): a message the server
        // accepted is recorded as sent at once, not after waiting for a connection, which is
        // the window in which a killed worker leaves it to be delivered again.
        let pool = build_pool_sized(&settings.database, settings.mail.concurrency as u32 + 2);
        let worker = std::sync::Arc::new(dvc::mail::worker::Worker::new(&settings, pool)?);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let run = tokio::spawn(worker.clone().run(stopped.clone()));
        let webhooks = dvc::services::sync::delivery::Deliverer::new(
            build_pool_sized(&settings.database, 2),
            settings.sync.clone(),
        )
        .spawn(stopped.clone());
        let texts =
            dvc::texts::worker::TextWorker::new(&settings, build_pool_sized(&settings.database, 6));
        let texts_id = texts.id().to_owned();
        let texts = texts.spawn(stopped.clone());
        let pools = dvc::db::Pools::build(&settings.database);
        settings.database.shared_writes = {
            let (setting, pool) = (settings.database.shared_writes, pools.shared().clone());
            tokio::task::spawn_blocking(move || {
                dvc::db::citus::resolve_shared_writes(setting, &pool)
            })
            .await?
        };
        let relay = dvc::services::relay::Drainer::when_relaying(&pools, &settings.database)
            .map(|d| d.spawn(stopped.clone()));
        let master = settings
            .auth
            .master_key
            .as_ref()
            .map(dvc::auth::keys::MasterKey::from_secret)
            .transpose()?
            .map(std::sync::Arc::new);
        let payments = dvc::services::payments::reconcile::spawn(
            pools.clone(),
            settings.clone(),
            master,
            stopped.clone(),
        );
        let reminders = tokio::spawn(dvc::services::reminders::run(
            pools,
            settings.dossiers.digest_hour,
            stopped,
        ));
        println!(
            "{} delivering mail and webhooks, {texts_id} texts",
            worker.id()
        );
        shutdown_signal().await;
        eprintln!("dvc worker: finishing messages in flight");
        let _ = stop.send(true);
        run.await?;
        reminders.await?;
        if let Some(relay) = relay {
            relay.await?;
        }
        let _ = tokio::task::spawn_blocking(move || {
            let _ = webhooks.join();
            let _ = texts.join();
            payments.map(std::thread::JoinHandle::join)
        })
        .await;
        Ok(ExitCode::SUCCESS)
    })
}

pub(super) async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let term = async {
            match term.as_mut() {
                Some(t) => {
                    t.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! { _ = ctrl_c => {}, () = term => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

pub(super) fn health(port: u16) -> anyhow::Result<ExitCode> {
    use std::io::{Read, Write};
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let timeout = std::time::Duration::from_secs(3);
    let mut stream = std::net::TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head)?;
    Ok(if head.ends_with(b" 200") {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

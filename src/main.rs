//! The `dvc` command line: serve, migrate and manage tenants.

use clap::{Parser, Subcommand};
use dvc::config::Settings;
use dvc::db::build_pool_sized;
use dvc::tenancy::apply::{ApplyAction, apply_path};
use dvc::tenancy::lifecycle::set_status;
use dvc::tenancy::migrator::{migrate_platform, migrate_tenants};
use dvc::tenancy::notify::{Notifier, TenancyEvent};
use dvc::tenancy::provision::TENANT_MIGRATIONS;
use dvc::tenancy::registry::load_all;
use dvc::tenancy::{TenantSlug, TenantStatus};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "dvc",
    version,
    about = "Cổng dịch vụ công trực tuyến — multi-tenant public services platform"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web application and API.
    Serve,
    /// Migrate the shared schema, then every tenant schema.
    Migrate,
    /// Manage tenants.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create or update tenants from a tenant file or a folder of them (never destroys).
    Apply { path: PathBuf },
    /// List tenants with their status and schema version.
    List,
    /// Suspend a tenant: its portal and API answer 403, its data is kept.
    Suspend { slug: String },
    /// Resume a suspended tenant.
    Resume { slug: String },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("dvc: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    dvc::telemetry::init(&settings.log);
    let result = match cli.command {
        Command::Serve => serve(settings),
        Command::Migrate => migrate(&settings),
        Command::Tenant { command } => tenant(&settings, command),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("dvc: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(settings: Settings) -> anyhow::Result<ExitCode> {
    actix_web::rt::System::new().block_on(async move {
        let app = dvc::Application::build(settings).await?;
        // Tests and scripts read this line to learn the port.
        println!("dvc listening on port {}", app.port());
        app.run_until_stopped().await?;
        Ok(ExitCode::SUCCESS)
    })
}

fn migrate(settings: &Settings) -> anyhow::Result<ExitCode> {
    let url = &settings.database.url;
    let applied = migrate_platform(url).map_err(|e| anyhow::anyhow!("platform schema: {e}"))?;
    println!("platform: {applied} migration(s) applied");
    let report = migrate_tenants(url, settings.migrate.concurrency, || TENANT_MIGRATIONS)
        .map_err(|e| anyhow::anyhow!("tenant migrations: {e}"))?;
    for t in &report.tenants {
        match &t.result {
            Ok(v) => println!(
                "{:<30} ok      {} applied, at {}",
                t.slug.as_str(),
                t.applied,
                v.as_deref().unwrap_or("-")
            ),
            Err(e) => println!("{:<30} FAILED  {e}", t.slug.as_str()),
        }
    }
    let failed = report.failed().count();
    println!(
        "{} tenant(s): {} ok, {failed} failed",
        report.tenants.len(),
        report.tenants.len() - failed
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn publish(settings: &Settings, events: &[TenancyEvent]) {
    let sent = Notifier::new(&settings.redis.url, &settings.redis.prefix)
        .and_then(|n| n.publish_blocking(events));
    if let Err(e) = sent {
        // Servers also reload periodically, so the change still arrives, only later.
        eprintln!("dvc: warning: could not announce the change through Redis: {e}");
    }
}

fn tenant(settings: &Settings, command: TenantCommand) -> anyhow::Result<ExitCode> {
    let pool = build_pool_sized(&settings.database, 2);
    match command {
        TenantCommand::Apply { path } => match apply_path(&pool, &path) {
            Ok(report) => {
                for t in &report.tenants {
                    let action = match t.action {
                        ApplyAction::Created => "created",
                        ApplyAction::Updated => "updated",
                    };
                    println!(
                        "{:<30} {action:<8} {:>4} procedure(s) in {:.1} ms",
                        t.slug.as_str(),
                        t.procedures,
                        t.elapsed.as_secs_f64() * 1e3
                    );
                }
                publish(settings, &report.events());
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                for p in e.problems() {
                    eprintln!("{p}");
                }
                eprintln!("dvc: {e}");
                Ok(ExitCode::FAILURE)
            }
        },
        TenantCommand::List => {
            let mut conn = pool.get()?;
            println!(
                "{:<30} {:<10} {:<11} {:<8} name",
                "slug", "kind", "status", "code"
            );
            for t in load_all(&mut conn)? {
                println!(
                    "{:<30} {:<10} {:<11} {:<8} {}",
                    t.slug.as_str(),
                    t.kind.as_str(),
                    t.status.as_str(),
                    t.code.as_str(),
                    t.name_vi
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        TenantCommand::Suspend { slug } => {
            change_status(settings, &pool, &slug, TenantStatus::Suspended)
        }
        TenantCommand::Resume { slug } => {
            change_status(settings, &pool, &slug, TenantStatus::Active)
        }
    }
}

fn change_status(
    settings: &Settings,
    pool: &dvc::db::PgPool,
    slug: &str,
    status: TenantStatus,
) -> anyhow::Result<ExitCode> {
    let slug = TenantSlug::parse(slug)?;
    let mut conn = pool.get()?;
    let id = set_status(&mut conn, &slug, status)?;
    publish(settings, &[TenancyEvent::TenantChanged(id)]);
    println!("{slug}: {}", status.as_str());
    Ok(ExitCode::SUCCESS)
}

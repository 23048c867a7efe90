//! The `dvc` command line, one file per command group. Each command takes the settings and
//! calls into the library; nothing here is used by the server.

mod client;
mod keys;
mod mail;
mod payment;
mod progress;
mod serve;
mod setup;
mod tenant;
mod texts;
mod transfers;
mod usage;
mod user;

pub(crate) use clap::{Parser, Subcommand};
use client::*;
pub(crate) use dvc::config::Settings;
pub(crate) use dvc::db::build_pool_sized;
pub(crate) use dvc::hosting::apply::ApplyAction;
pub(crate) use dvc::hosting::lifecycle::set_status;
pub(crate) use dvc::tenancy::migrator::{migrate_platform, migrate_tenants_showing};
pub(crate) use dvc::tenancy::notify::{Notifier, TenancyEvent};
pub(crate) use dvc::tenancy::provision::TENANT_MIGRATIONS;
pub(crate) use dvc::tenancy::registry::load_all;
pub(crate) use dvc::tenancy::{TenantSlug, TenantStatus};
use keys::*;
use mail::*;
use payment::*;
pub(crate) use progress::Bar;
use serve::*;
use setup::*;
pub(crate) use std::path::PathBuf;
pub(crate) use std::process::ExitCode;
use tenant::*;
use texts::*;
use transfers::*;
use usage::*;
use user::*;

#[derive(Parser)]
#[command(
    name = "dvc",
    version,
    about = "Cổng dịch vụ công trực tuyến — multi-tenant public services platform"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Serve the web application and API.
    Serve,
    /// Migrate the shared schema, then every tenant schema.
    Migrate,
    /// Manage tenants.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Deliver queued notification mail until stopped (SIGINT/SIGTERM).
    Worker,
    /// Inspect and manage the notification outbox.
    Mail {
        #[command(subcommand)]
        command: MailCommand,
    },
    /// Text messages (SMS, Zalo): a test text, the sandbox's messages.
    Texts {
        #[command(subcommand)]
        command: TextsCommand,
    },
    /// Accounts' roles.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// OAuth / OpenID Connect clients.
    Client {
        #[command(subcommand)]
        command: ClientCommand,
    },
    /// Token signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Exit 0 when the local server answers `/healthz` (container health checks: the image
    /// has no curl).
    Health {
        /// Port on 127.0.0.1 (default: server.port).
        #[arg(long)]
        port: Option<u16>,
    },
    /// First start of a deployment without a shell (the image has none): migrate, apply a
    /// folder of tenant files, create signing keys if there are none, and register sandbox
    /// merchants. Safe to run again.
    Setup {
        /// Folder (or file) of tenant files to apply.
        #[arg(long)]
        tenants: Option<PathBuf>,
        /// `slug=MERCHANT_ID`: a sandbox merchant for that tenant (needs payments.sandbox).
        #[arg(long = "sandbox-merchant")]
        sandbox_merchants: Vec<String>,
    },
    /// Usage per tenant for a month: dossiers submitted, active accounts, mail sent, API calls,
    /// storage (as measured hourly by the serving instances).
    Usage {
        /// YYYY-MM (default: this month, Vietnam time).
        #[arg(long)]
        month: Option<String>,
        /// Print CSV instead of a table.
        #[arg(long)]
        csv: bool,
    },
    /// Online payment: a tenant's merchant account at its gateway.
    Payment {
        #[command(subcommand)]
        command: PaymentCommand,
    },
    /// Dossiers handed between tenants (liên thông) that wait for delivery.
    Transfers {
        #[command(subcommand)]
        command: TransferCommand,
    },
}

/// Runs one command.
pub(crate) fn run(command: Command, settings: Settings) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve => serve(settings),
        Command::Migrate => migrate(&settings),
        Command::Tenant { command } => tenant(&settings, command),
        Command::Worker => worker(settings),
        Command::Mail { command } => mail(&settings, command),
        Command::Texts { command } => texts(&settings, command),
        Command::Keys { command } => keys(&settings, command),
        Command::User { command } => user(&settings, command),
        Command::Client { command } => client(&settings, command),
        Command::Payment { command } => payment(&settings, command),
        Command::Transfers { command } => transfers(settings, command),
        Command::Usage { month, csv } => usage(&settings, month.as_deref(), csv),
        Command::Health { port } => health(port.unwrap_or(settings.server.port)),
        Command::Setup {
            tenants,
            sandbox_merchants,
        } => setup(&settings, tenants, sandbox_merchants),
    }
}

pub(super) fn publish(settings: &Settings, events: &[TenancyEvent]) {
    let sent = Notifier::new(&settings.redis.url, &settings.redis.prefix)
        .and_then(|n| n.publish_blocking(events));
    if let Err(e) = sent {
        // Servers also reload periodically, so the change still arrives, only later.
        eprintln!("dvc: warning: could not announce the change through Redis: {e}");
    }
}

/// Operator actions from the command line are audited like the console's; the actor is the
/// operating-system user, since no account signed in.
pub(super) fn cli_audit(
    conn: &mut diesel::PgConnection,
    tenant: Option<uuid::Uuid>,
    action: &str,
    mut detail: serde_json::Value,
) -> anyhow::Result<()> {
    if let Some(map) = detail.as_object_mut() {
        map.insert("via".into(), "cli".into());
        map.insert(
            "os_user".into(),
            std::env::var("USER").unwrap_or_default().into(),
        );
    }
    dvc::auth::accounts::audit(conn, None, tenant, None, action, detail)?;
    Ok(())
}

pub(super) fn tenant_by_slug(
    conn: &mut diesel::PgConnection,
    slug: &str,
) -> anyhow::Result<dvc::tenancy::Tenant> {
    let slug = TenantSlug::parse(slug)?;
    load_all(conn)?
        .into_iter()
        .find(|t| t.slug == slug)
        .ok_or_else(|| anyhow::anyhow!("no tenant `{slug}`"))
}

/// Tokens carry roles, so a role change signs the account out everywhere.
pub(super) fn end_sessions(
    settings: &Settings,
    conn: &mut diesel::PgConnection,
    account: uuid::Uuid,
) -> anyhow::Result<()> {
    let sessions = dvc::auth::sso::end_account_sessions(conn, account)?;
    let client = redis::Client::open(settings.redis.url.as_str())?;
    let ttl = std::time::Duration::from_secs(settings.auth.access_token_ttl_secs + 60);
    for sid in sessions {
        dvc::auth::revocation::revoke_blocking(&client, &settings.redis.prefix, sid, ttl)?;
    }
    Ok(())
}

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
    /// Deliver queued notification mail until stopped (SIGINT/SIGTERM).
    Worker,
    /// Inspect and manage the notification outbox.
    Mail {
        #[command(subcommand)]
        command: MailCommand,
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
}

#[derive(Subcommand)]
enum PaymentCommand {
    /// Set a tenant's merchant account. The secret comes from `DVC_PAYMENT_SECRET` (never an
    /// argument); `--sandbox` makes one for the sandbox gateway instead.
    Merchant {
        slug: String,
        #[arg(long)]
        merchant_id: String,
        /// The gateway's base URL (its `/pay`, `/query`, `/refund`).
        #[arg(long)]
        gateway_url: Option<String>,
        /// Use the sandbox gateway of this deployment with a fresh random secret.
        #[arg(long)]
        sandbox: bool,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Give an account a role in a tenant (officer, leader, tenant_admin), or `operator`.
    Grant {
        email: String,
        role: String,
        /// Tenant slug (not for `operator`).
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Take a tenant role away.
    Revoke {
        email: String,
        role: String,
        #[arg(long)]
        tenant: String,
    },
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Register (or update) a client with its exact redirect URIs.
    Add {
        client_id: String,
        #[arg(long)]
        name: String,
        /// The tenant whose portal this is (its tokens carry that tenant's roles).
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// Where a logout may send the browser back (never a redirect URI of its own).
        #[arg(long = "post-logout-uri")]
        post_logout_uris: Vec<String>,
        /// Its tokens open the account API (password, address, second factor, dossiers in
        /// every tenant): only for the platform's own apps, never a tenant's client.
        #[arg(long, conflicts_with = "tenant")]
        account_api: bool,
        /// How it proves itself at the token endpoint: none (PKCE only), client_secret_basic,
        /// client_secret_post (a secret printed once) or private_key_jwt (with --jwks-file).
        #[arg(long = "auth-method", default_value = "none")]
        auth_method: String,
        /// Its public keys (a JWK set, JSON), for private_key_jwt.
        #[arg(long = "jwks-file")]
        jwks_file: Option<std::path::PathBuf>,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Promote the next key to signing, keep the old one verifying, publish a new next key.
    Rotate,
    /// Published keys and their states.
    List,
    /// Create the first keys when there are none; otherwise change nothing.
    Ensure,
}

#[derive(Subcommand)]
enum MailCommand {
    /// Counts by tenant and status, then the most recent failed messages.
    Status,
    /// Queue a failed message again.
    Retry { id: i64 },
    /// Queue a branded test message through the outbox.
    Test {
        address: String,
        #[arg(long)]
        tenant: Option<String>,
        /// vi or en (default: the tenant's language).
        #[arg(long)]
        locale: Option<String>,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create or update tenants from a tenant file or a folder of them (never destroys).
    Apply {
        path: PathBuf,
        /// Print what would be created or changed, and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// List tenants with their status and schema version.
    List,
    /// Create a tenant as a draft under its parent: schema, the parent's catalog, its portal
    /// as a sign-in client, and an invitation mailed to its first admin.
    Create {
        slug: String,
        #[arg(long)]
        code: String,
        #[arg(long)]
        kind: String,
        #[arg(long)]
        parent: Option<String>,
        /// Vietnamese name.
        #[arg(long)]
        name: String,
        #[arg(long)]
        name_en: Option<String>,
        #[arg(long)]
        locale: Option<String>,
        #[arg(long)]
        admin_email: String,
    },
    /// Write a tenant's complete archive (rows as JSON lines, attachments, a manifest with
    /// checksums, signed with a key derived from auth.master_key) into a new or empty folder.
    Export { slug: String, dir: PathBuf },
    /// Restore a tenant from its archive into this deployment; the manifest's signature, every
    /// checksum and every row's tenant are checked before anything is written.
    Import {
        dir: PathBuf,
        /// SHA-256 of manifest.json as `export` printed it: proves the manifest itself whole.
        #[arg(long)]
        checksum: Option<String>,
        /// Import an archive whose manifest is not signed with this deployment's master key
        /// (exported before archives were signed, or elsewhere); every other check still applies.
        #[arg(long)]
        allow_unsigned: bool,
    },
    /// Export a tenant, then close it: its portal answers 410, and `purge` drops its schema
    /// once the grace period has passed.
    Archive {
        slug: String,
        #[arg(long)]
        export_to: PathBuf,
        #[arg(long, default_value_t = 30)]
        grace_days: u32,
    },
    /// Drop the schema and data of archived tenants whose grace period is over.
    Purge {
        #[arg(long)]
        dry_run: bool,
    },
    /// Mail an invitation to a role in a tenant (e.g. a new first admin for a draft whose
    /// invitation expired).
    Invite {
        slug: String,
        #[arg(long)]
        email: String,
        /// officer, leader or tenant_admin
        #[arg(long, default_value = "tenant_admin")]
        role: String,
    },
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
    // A server that cannot sign or open secrets would start and answer 503: stop here instead,
    // with one line naming the key and its environment variable.
    if matches!(cli.command, Command::Serve)
        && let Err(e) = settings.validate_for_serve()
    {
        eprintln!("dvc: configuration error: {e}");
        return ExitCode::from(2);
    }
    dvc::telemetry::init(&settings.log);
    let result = match cli.command {
        Command::Serve => serve(settings),
        Command::Migrate => migrate(&settings),
        Command::Tenant { command } => tenant(&settings, command),
        Command::Worker => worker(settings),
        Command::Mail { command } => mail(&settings, command),
        Command::Keys { command } => keys(&settings, command),
        Command::User { command } => user(&settings, command),
        Command::Client { command } => client(&settings, command),
        Command::Payment { command } => payment(&settings, command),
        Command::Usage { month, csv } => usage(&settings, month.as_deref(), csv),
        Command::Health { port } => health(port.unwrap_or(settings.server.port)),
        Command::Setup {
            tenants,
            sandbox_merchants,
        } => setup(&settings, tenants, sandbox_merchants),
    };
    dvc::telemetry::shutdown();
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

fn setup(
    settings: &Settings,
    tenants: Option<PathBuf>,
    sandbox_merchants: Vec<String>,
) -> anyhow::Result<ExitCode> {
    let mut steps: Vec<Box<dyn FnOnce() -> anyhow::Result<ExitCode> + '_>> =
        vec![Box::new(|| migrate(settings))];
    if let Some(path) = tenants {
        steps.push(Box::new(move || {
            tenant(
                settings,
                TenantCommand::Apply {
                    path,
                    dry_run: false,
                },
            )
        }));
    }
    steps.push(Box::new(|| keys(settings, KeysCommand::Ensure)));
    for pair in sandbox_merchants {
        let (slug, merchant_id) = pair
            .split_once('=')
            .map(|(s, m)| (s.to_owned(), m.to_owned()))
            .ok_or_else(|| anyhow::anyhow!("--sandbox-merchant wants slug=MERCHANT_ID"))?;
        steps.push(Box::new(move || {
            payment(
                settings,
                PaymentCommand::Merchant {
                    slug,
                    merchant_id,
                    gateway_url: None,
                    sandbox: true,
                },
            )
        }));
    }
    for step in steps {
        let code = step()?;
        if code != ExitCode::SUCCESS {
            return Ok(code);
        }
    }
    Ok(ExitCode::SUCCESS)
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
    // Export reads with several connections at once (one snapshot).
    let pool = build_pool_sized(&settings.database, 6);
    match command {
        TenantCommand::Apply {
            path,
            dry_run: true,
        } => match dvc::tenancy::apply::plan_path(&pool, &path) {
            Ok(plan) => {
                for t in &plan {
                    let verdict = if t.create {
                        "create"
                    } else if t.unchanged() {
                        "unchanged"
                    } else {
                        "update"
                    };
                    println!("{:<30} {verdict}", t.slug);
                    for c in &t.changes {
                        println!("    {c}");
                    }
                }
                println!("(dry run: nothing was written)");
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
        TenantCommand::Apply { path, .. } => match apply_path(&pool, &path) {
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
                register_portals(settings, &pool, &report)?;
                let mut conn = pool.get()?;
                for t in &report.tenants {
                    cli_audit(
                        &mut conn,
                        Some(t.id),
                        "operator.tenant_applied",
                        serde_json::json!({ "action": format!("{:?}", t.action).to_lowercase() }),
                    )?;
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
        TenantCommand::Create {
            slug,
            code,
            kind,
            parent,
            name,
            name_en,
            locale,
            admin_email,
        } => {
            use dvc::tenancy::onboard::{NewTenant, NewTenantRequest, PortalAddress};
            let new = NewTenant::parse(NewTenantRequest {
                slug,
                code,
                kind,
                parent,
                name_vi: name,
                name_en,
                locale,
                admin_email,
                plan: None,
            })
            .map_err(|p| anyhow::anyhow!(p.join("\n")))?;
            let portal = PortalAddress {
                base_domain: dvc::tenancy::HostName::parse(&settings.server.base_domain)?,
                public_origin: settings.server.public_origin.clone(),
            };
            let started = std::time::Instant::now();
            let created =
                dvc::tenancy::onboard::create_draft(&mut *pool.get()?, &new, None, &portal)?;
            publish(settings, &[TenancyEvent::TenantChanged(created.id)]);
            println!(
                "{}: draft created in {} ms, {} inherited procedure(s), invitation mailed to {}",
                new.slug,
                started.elapsed().as_millis(),
                created.procedures,
                new.admin_email.as_str()
            );
            Ok(ExitCode::SUCCESS)
        }
        TenantCommand::Export { slug, dir } => {
            let slug = TenantSlug::parse(&slug)?;
            let storage = dvc::services::storage::LocalDisk::new(&settings.dossiers.storage_root);
            let key = manifest_key(settings)?;
            let started = std::time::Instant::now();
            let done = dvc::tenancy::archive::export(&pool, &storage, &slug, &dir, key.as_ref())?;
            let mut conn = pool.get()?;
            let id = done.manifest.tenant.id;
            cli_audit(
                &mut conn,
                Some(id),
                "operator.tenant_exported",
                serde_json::json!({
                    "manifest_sha256": done.manifest_sha256,
                    "bytes": done.bytes,
                    "signed": done.signed
                }),
            )?;
            report_archive(&done, started.elapsed());
            Ok(ExitCode::SUCCESS)
        }
        TenantCommand::Import {
            dir,
            checksum,
            allow_unsigned,
        } => {
            let storage = dvc::services::storage::LocalDisk::new(&settings.dossiers.storage_root);
            let portal = dvc::tenancy::onboard::PortalAddress {
                base_domain: dvc::tenancy::HostName::parse(&settings.server.base_domain)?,
                public_origin: settings.server.public_origin.clone(),
            };
            let key = manifest_key(settings)?;
            let trust = dvc::tenancy::archive::Trust {
                key: key.as_ref(),
                checksum: checksum.as_deref(),
                allow_unsigned,
            };
            let started = std::time::Instant::now();
            let done =
                dvc::tenancy::archive::import(&mut *pool.get()?, &storage, &dir, trust, &portal)?;
            publish(settings, &[TenancyEvent::TenantChanged(done.id)]);
            if let dvc::tenancy::archive::Signature::Unverified(why) = &done.signature {
                eprintln!(
                    "warning: imported without a verified signature (--allow-unsigned): {why}"
                );
            }
            println!(
                "{}: imported {} rows and {} attachment(s) in {} ms ({} account(s) already here kept as they were)",
                done.slug,
                done.rows,
                done.attachments,
                started.elapsed().as_millis(),
                done.accounts_kept
            );
            Ok(ExitCode::SUCCESS)
        }
        TenantCommand::Archive {
            slug,
            export_to,
            grace_days,
        } => {
            let slug = TenantSlug::parse(&slug)?;
            let storage = dvc::services::storage::LocalDisk::new(&settings.dossiers.storage_root);
            let key = manifest_key(settings)?;
            let started = std::time::Instant::now();
            let done =
                dvc::tenancy::archive::export(&pool, &storage, &slug, &export_to, key.as_ref())?;
            let mut conn = pool.get()?;
            report_archive(&done, started.elapsed());
            let id = dvc::tenancy::lifecycle::archive(
                &mut conn,
                &slug,
                chrono::Duration::days(i64::from(grace_days)),
            )?;
            cli_audit(
                &mut conn,
                Some(id),
                "operator.tenant_archived",
                serde_json::json!({ "manifest_sha256": done.manifest_sha256, "grace_days": grace_days }),
            )?;
            publish(settings, &[TenancyEvent::TenantChanged(id)]);
            println!(
                "{slug}: archived; its data is dropped after {grace_days} day(s) by `dvc tenant purge`"
            );
            Ok(ExitCode::SUCCESS)
        }
        TenantCommand::Purge { dry_run } => {
            let storage = dvc::services::storage::LocalDisk::new(&settings.dossiers.storage_root);
            let mut conn = pool.get()?;
            for due in dvc::tenancy::lifecycle::due_for_purge(&mut conn)? {
                if dry_run {
                    println!("{}: would be purged", due.slug);
                    continue;
                }
                let keys = dvc::tenancy::lifecycle::purge(&mut conn, &due)?;
                for key in keys
                    .iter()
                    .filter_map(|k| dvc::services::storage::StorageKey::parse(k))
                {
                    use dvc::services::storage::Storage;
                    storage.delete(&key)?;
                }
                publish(settings, &[TenancyEvent::TenantChanged(due.id)]);
                println!(
                    "{}: purged ({} attachment(s) deleted)",
                    due.slug,
                    keys.len()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        TenantCommand::Invite { slug, email, role } => {
            let slug = TenantSlug::parse(&slug)?;
            let email = dvc::mail::Email::parse(&email)?;
            let role = dvc::auth::roles::Role::parse(&role)
                .ok_or_else(|| anyhow::anyhow!("--role: officer, leader or tenant_admin"))?;
            let mut conn = pool.get()?;
            let tenant = load_all(&mut conn)?
                .into_iter()
                .find(|t| t.slug == slug)
                .ok_or_else(|| anyhow::anyhow!("no tenant `{slug}`"))?;
            let portal = dvc::tenancy::onboard::PortalAddress {
                base_domain: dvc::tenancy::HostName::parse(&settings.server.base_domain)?,
                public_origin: settings.server.public_origin.clone(),
            };
            dvc::tenancy::onboard::invite(&mut conn, &tenant, &email, role, &portal, None)?;
            println!(
                "{slug}: invitation as {} mailed to {}",
                role.as_str(),
                email.as_str()
            );
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
    cli_audit(
        &mut conn,
        Some(id),
        "operator.tenant_status",
        serde_json::json!({ "status": status.as_str() }),
    )?;
    publish(settings, &[TenancyEvent::TenantChanged(id)]);
    println!("{slug}: {}", status.as_str());
    Ok(ExitCode::SUCCESS)
}

fn usage(settings: &Settings, month: Option<&str>, csv: bool) -> anyhow::Result<ExitCode> {
    use dvc::tenancy::usage;
    let month = match month {
        None => usage::month_of(chrono::Utc::now()),
        Some(m) => usage::parse_month(m).ok_or_else(|| anyhow::anyhow!("--month: YYYY-MM"))?,
    };
    let pool = build_pool_sized(&settings.database, 1);
    let rows = usage::report(&mut *pool.get()?, month)?;
    if csv {
        print!("{}", usage::to_csv(&rows));
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<30} {:>9} {:>9} {:>9} {:>11} {:>14}",
        "tenant", "dossiers", "accounts", "mails", "api calls", "storage bytes"
    );
    for r in rows {
        println!(
            "{:<30} {:>9} {:>9} {:>9} {:>11} {:>14}",
            r.tenant,
            r.dossiers_submitted,
            r.active_accounts,
            r.mails_sent,
            r.api_calls,
            r.storage_bytes
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The key that signs and checks archive manifests, derived from `auth.master_key`; `None`
/// when no master key is set (export then writes no signature; import refuses the archive
/// unless `--allow-unsigned`).
fn manifest_key(settings: &Settings) -> anyhow::Result<Option<dvc::tenancy::archive::ManifestKey>> {
    match settings.auth.master_key.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(master) => Ok(Some(dvc::tenancy::archive::ManifestKey::from_master(
            master,
        )?)),
    }
}

fn report_archive(done: &dvc::tenancy::archive::Exported, elapsed: std::time::Duration) {
    let rows: u64 = done.manifest.files.iter().filter_map(|f| f.rows).sum();
    let secs = elapsed.as_secs_f64().max(1e-6);
    println!(
        "{}: {} files, {} rows, {:.1} MB in {:.2} s ({:.1} MB/s)\nmanifest sha256 {}",
        done.manifest.tenant.slug,
        done.manifest.files.len() + 1 + usize::from(done.signed),
        rows,
        done.bytes as f64 / 1e6,
        secs,
        done.bytes as f64 / 1e6 / secs,
        done.manifest_sha256
    );
    if !done.signed {
        eprintln!(
            "warning: auth.master_key is not set (DVC__AUTH__MASTER_KEY), so the manifest cannot \
             be signed; importing this archive will need --allow-unsigned"
        );
    }
}

/// Operator actions from the command line are audited like the console's; the actor is the
/// operating-system user, since no account signed in.
fn cli_audit(
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

fn worker(settings: Settings) -> anyhow::Result<ExitCode> {
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
        let pools = dvc::db::Pools::build(&settings.database);
        let master = settings
            .auth
            .master_key
            .as_deref()
            .map(dvc::auth::keys::MasterKey::parse)
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
        println!("{} delivering mail and webhooks", worker.id());
        shutdown_signal().await;
        eprintln!("dvc worker: finishing messages in flight");
        let _ = stop.send(true);
        run.await?;
        reminders.await?;
        let _ = tokio::task::spawn_blocking(move || {
            let _ = webhooks.join();
            payments.map(|p| p.join())
        })
        .await;
        Ok(ExitCode::SUCCESS)
    })
}

async fn shutdown_signal() {
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
        tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

fn mail(settings: &Settings, command: MailCommand) -> anyhow::Result<ExitCode> {
    use dvc::mail::outbox;
    let pool = build_pool_sized(&settings.database, 1);
    let mut pooled = pool.get()?;
    let conn: &mut diesel::PgConnection = &mut pooled;
    match command {
        MailCommand::Status => {
            println!(
                "{:<30} {:<8} {:>8} {:>14}",
                "tenant", "status", "count", "oldest unsent"
            );
            for row in outbox::status_counts(conn)? {
                println!(
                    "{:<30} {:<8} {:>8} {:>14}",
                    row.tenant.as_deref().unwrap_or("(platform)"),
                    row.status,
                    row.count,
                    row.oldest_unsent_secs
                        .map_or("-".to_string(), |s| format!("{s:.0} s"))
                );
            }
            let failed = outbox::failed(conn, 20)?;
            if !failed.is_empty() {
                println!("\nfailed (most recent first):");
                for f in failed {
                    println!(
                        "#{:<8} {:<20} {:<22} {:<30} attempts {} — {}",
                        f.id,
                        f.tenant.as_deref().unwrap_or("(platform)"),
                        f.template,
                        f.recipient,
                        f.attempts,
                        f.last_error.as_deref().unwrap_or("")
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        MailCommand::Retry { id } => {
            if outbox::retry(conn, id)? {
                cli_audit(
                    conn,
                    None,
                    "operator.mail_retry",
                    serde_json::json!({ "outbox_id": id }),
                )?;
                println!("#{id} queued again");
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("dvc: no failed message #{id}");
                Ok(ExitCode::FAILURE)
            }
        }
        MailCommand::Test {
            address,
            tenant,
            locale,
        } => {
            let recipient = dvc::mail::Email::parse(&address)?;
            let tenant = match tenant {
                Some(slug) => {
                    let slug = TenantSlug::parse(&slug)?;
                    let found = load_all(conn)?
                        .into_iter()
                        .find(|t| t.slug == slug)
                        .ok_or_else(|| anyhow::anyhow!("no tenant `{slug}`"))?;
                    Some(found)
                }
                None => None,
            };
            let locale = match locale {
                Some(l) => Some(
                    dvc::locale::Locale::parse(&l)
                        .ok_or_else(|| anyhow::anyhow!("locale must be vi or en"))?,
                ),
                None => None,
            };
            let tenant_locale = tenant
                .as_ref()
                .and_then(|t| dvc::locale::Locale::parse(&t.locale));
            let mail = outbox::NewMail {
                tenant_id: tenant.as_ref().map(|t| t.id),
                template: dvc::mail::TemplateKey::Test,
                locale: dvc::locale::Locale::resolve(locale, tenant_locale),
                recipient,
                payload: serde_json::json!({}),
                idempotency_key: format!("test:{}", uuid::Uuid::new_v4()),
            };
            outbox::enqueue(conn, &mail)?;
            println!("test message to {} queued", mail.recipient);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn keys(settings: &Settings, command: KeysCommand) -> anyhow::Result<ExitCode> {
    use diesel::prelude::*;
    use dvc::db::schema::signing_keys as k;
    let pool = build_pool_sized(&settings.database, 1);
    let mut pooled = pool.get()?;
    let conn: &mut diesel::PgConnection = &mut pooled;
    match command {
        KeysCommand::Ensure
            if k::table
                .filter(k::state.eq("current"))
                .count()
                .get_result::<i64>(conn)?
                > 0 =>
        {
            println!("signing keys present");
        }
        KeysCommand::Rotate | KeysCommand::Ensure => {
            let master =
                settings.auth.master_key.as_deref().ok_or_else(|| {
                    anyhow::anyhow!("set DVC__AUTH__MASTER_KEY (base64 of 32 bytes)")
                })?;
            let master = dvc::auth::keys::MasterKey::parse(master)?;
            let kid = dvc::auth::keys::rotate(conn, &master)?;
            dvc::auth::accounts::audit(
                conn,
                None,
                None,
                None,
                "keys.rotated",
                serde_json::json!({ "signing": kid }),
            )?;
            publish(settings, &[TenancyEvent::KeysChanged]);
            println!("signing with {kid}");
        }
        KeysCommand::List => {
            let rows: Vec<(String, String, chrono::DateTime<chrono::Utc>)> = k::table
                .order(k::created_at.desc())
                .select((k::kid, k::state, k::created_at))
                .load(conn)?;
            for (kid, state, created) in rows {
                println!(
                    "{kid:<24} {state:<9} created {}",
                    created.format("%Y-%m-%d %H:%M")
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn tenant_by_slug(
    conn: &mut diesel::PgConnection,
    slug: &str,
) -> anyhow::Result<dvc::tenancy::Tenant> {
    let slug = TenantSlug::parse(slug)?;
    load_all(conn)?
        .into_iter()
        .find(|t| t.slug == slug)
        .ok_or_else(|| anyhow::anyhow!("no tenant `{slug}`"))
}

fn user(settings: &Settings, command: UserCommand) -> anyhow::Result<ExitCode> {
    use diesel::prelude::*;
    use dvc::auth::roles::{self, Role};
    use dvc::db::schema::accounts as a;
    let pool = build_pool_sized(&settings.database, 1);
    let mut pooled = pool.get()?;
    let conn: &mut diesel::PgConnection = &mut pooled;
    let find = |conn: &mut diesel::PgConnection,
                email: &str|
     -> anyhow::Result<(uuid::Uuid, String, String)> {
        let email = dvc::mail::Email::parse(email)?;
        dvc::auth::sso::find_login(conn, email.as_str())?
            .map(|l| l.id)
            .and_then(|id| {
                a::table
                    .find(id)
                    .select((a::id, a::full_name, a::locale))
                    .first(conn)
                    .ok()
            })
            .ok_or_else(|| anyhow::anyhow!("no account `{email}`"))
    };
    match command {
        UserCommand::Grant {
            email,
            role,
            tenant,
        } => {
            let (id, full_name, locale) = find(conn, &email)?;
            if role == "operator" {
                roles::grant_operator(conn, id)?;
                dvc::auth::accounts::audit(
                    conn,
                    None,
                    None,
                    None,
                    "role.granted",
                    serde_json::json!({"account": id, "role": "operator"}),
                )?;
                println!("{email}: operator");
                return Ok(ExitCode::SUCCESS);
            }
            let role = Role::parse(&role).ok_or_else(|| {
                anyhow::anyhow!("role must be officer, leader, tenant_admin or operator")
            })?;
            let tenant = tenant_by_slug(
                conn,
                tenant
                    .as_deref()
                    .ok_or_else(|| anyhow::anyhow!("--tenant is required"))?,
            )?;
            let recipient = dvc::mail::Email::parse(&email)?;
            let issuer = settings.auth.issuer.clone();
            conn.transaction(|conn| {
                if roles::grant(conn, id, tenant.id, role, None)? {
                    dvc::auth::accounts::audit(conn, None, Some(tenant.id), None, "role.granted", serde_json::json!({"account": id, "role": role.as_str()}))?;
                    dvc::mail::outbox::enqueue(conn, &dvc::mail::outbox::NewMail {
                        tenant_id: Some(tenant.id),
                        template: dvc::mail::TemplateKey::RoleGranted,
                        locale: dvc::locale::Locale::parse(&locale).unwrap_or_default(),
                        recipient,
                        payload: serde_json::json!({"full_name": full_name, "role": role.label_vi(), "link": issuer}),
                        idempotency_key: format!("role:{id}:{}:{}:{}", tenant.id, role.as_str(), uuid::Uuid::new_v4()),
                    })?;
                }
                Ok::<_, diesel::result::Error>(())
            })?;
            end_sessions(settings, conn, id)?;
            println!("{email}: {} in {}", role.as_str(), tenant.slug);
        }
        UserCommand::Revoke {
            email,
            role,
            tenant,
        } => {
            let (id, _, _) = find(conn, &email)?;
            let role = Role::parse(&role)
                .ok_or_else(|| anyhow::anyhow!("role must be officer, leader or tenant_admin"))?;
            let tenant = tenant_by_slug(conn, &tenant)?;
            if roles::revoke(conn, id, tenant.id, role)? {
                dvc::auth::accounts::audit(
                    conn,
                    None,
                    Some(tenant.id),
                    None,
                    "role.revoked",
                    serde_json::json!({"account": id, "role": role.as_str()}),
                )?;
                end_sessions(settings, conn, id)?;
                println!("{email}: no longer {} in {}", role.as_str(), tenant.slug);
            } else {
                println!("{email} was not {} in {}", role.as_str(), tenant.slug);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn health(port: u16) -> anyhow::Result<ExitCode> {
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

fn payment(settings: &Settings, command: PaymentCommand) -> anyhow::Result<ExitCode> {
    let PaymentCommand::Merchant {
        slug,
        merchant_id,
        gateway_url,
        sandbox,
    } = command;
    let master = dvc::auth::keys::MasterKey::parse(
        settings
            .auth
            .master_key
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("set DVC__AUTH__MASTER_KEY (base64 of 32 bytes)"))?,
    )?;
    if merchant_id.is_empty()
        || merchant_id.len() > 32
        || !merchant_id.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        anyhow::bail!("merchant id: 1–32 letters and digits");
    }
    if sandbox && !settings.payments.sandbox {
        anyhow::bail!("--sandbox needs payments.sandbox = true (never in production)");
    }
    let (url, secret) = if sandbox {
        let url = format!(
            "{}/sandbox/gateway",
            settings.auth.issuer.trim_end_matches('/')
        );
        let secret: String = (0..32)
            .map(|_| format!("{:02x}", rand::random::<u8>()))
            .collect();
        (url, secret)
    } else {
        let url = gateway_url.ok_or_else(|| anyhow::anyhow!("--gateway-url is required"))?;
        url::Url::parse(&url).map_err(|e| anyhow::anyhow!("--gateway-url: {e}"))?;
        let secret = std::env::var("DVC_PAYMENT_SECRET")
            .map_err(|_| anyhow::anyhow!("set DVC_PAYMENT_SECRET to the merchant's secret"))?;
        (url, secret)
    };
    let pool = build_pool_sized(&settings.database, 1);
    let mut conn = pool.get()?;
    let tenant = tenant_by_slug(&mut conn, &slug)?;
    dvc::services::payments::merchant::set(
        &mut conn,
        &master,
        tenant.id,
        if sandbox { "sandbox" } else { "gateway" },
        &merchant_id,
        &url,
        secret.as_bytes(),
    )?;
    dvc::auth::accounts::audit(
        &mut conn,
        None,
        Some(tenant.id),
        None,
        "payment.merchant_set",
        serde_json::json!({ "merchant_id": merchant_id, "gateway_url": url }),
    )?;
    println!("{slug}: merchant {merchant_id} at {url}");
    Ok(ExitCode::SUCCESS)
}

fn client(settings: &Settings, command: ClientCommand) -> anyhow::Result<ExitCode> {
    let pool = build_pool_sized(&settings.database, 1);
    let mut pooled = pool.get()?;
    let conn: &mut diesel::PgConnection = &mut pooled;
    match command {
        ClientCommand::Add {
            client_id,
            name,
            tenant,
            redirect_uris,
            post_logout_uris,
            account_api,
            auth_method,
            jwks_file,
        } => {
            use dvc::auth::client_auth::{self, AuthMethod};
            let method = AuthMethod::parse(&auth_method).ok_or_else(|| {
                anyhow::anyhow!("--auth-method: one of {}", client_auth::METHODS.join(", "))
            })?;
            let jwks: Option<serde_json::Value> = match (method, &jwks_file) {
                (AuthMethod::PrivateKeyJwt, Some(path)) => {
                    let text = std::fs::read_to_string(path)
                        .map_err(|e| anyhow::anyhow!("--jwks-file {}: {e}", path.display()))?;
                    let value: serde_json::Value = serde_json::from_str(&text)?;
                    serde_json::from_value::<jsonwebtoken::jwk::JwkSet>(value.clone())
                        .map_err(|e| anyhow::anyhow!("--jwks-file: not a JWK set: {e}"))?;
                    Some(value)
                }
                (AuthMethod::PrivateKeyJwt, None) => {
                    anyhow::bail!("private_key_jwt needs --jwks-file with the client's public keys")
                }
                (_, Some(_)) => anyhow::bail!("--jwks-file is for private_key_jwt only"),
                _ => None,
            };
            let secret = method.uses_secret().then(client_auth::new_secret);
            if client_id.starts_with("portal-") {
                anyhow::bail!(
                    "client ids `portal-…` belong to tenant portals, which dvc registers itself"
                );
            }
            for uri in redirect_uris.iter().chain(&post_logout_uris) {
                let parsed = url::Url::parse(uri)
                    .map_err(|e| anyhow::anyhow!("redirect URI `{uri}`: {e}"))?;
                let local = matches!(parsed.host_str(), Some(h) if h == "localhost" || h.ends_with(".localhost") || h == "127.0.0.1");
                if parsed.fragment().is_some()
                    || !(parsed.scheme() == "https" || (parsed.scheme() == "http" && local))
                {
                    anyhow::bail!(
                        "redirect URI `{uri}`: https (http only for localhost), no fragment"
                    );
                }
            }
            let tenant_id = tenant
                .map(|t| tenant_by_slug(conn, &t))
                .transpose()?
                .map(|t| t.id);
            dvc::auth::sso::register_client(
                conn,
                &dvc::auth::sso::ClientSpec {
                    client_id: &client_id,
                    name: &name,
                    tenant: tenant_id,
                    redirect_uris: &redirect_uris,
                    post_logout_redirect_uris: &post_logout_uris,
                    account_api,
                    auth_method: method,
                    secret_hash: secret.as_ref().map(|(_, hash)| hash.as_slice()),
                    jwks: jwks.as_ref(),
                },
            )?;
            cli_audit(
                conn,
                tenant_id,
                "operator.client_registered",
                serde_json::json!({
                    "client_id": client_id,
                    "redirect_uris": redirect_uris,
                    "post_logout_redirect_uris": post_logout_uris,
                    "account_api": account_api,
                    "auth_method": method.as_str(),
                }),
            )?;
            if let Some((secret, _)) = &secret {
                // Shown this once: only its digest is kept.
                println!("client_secret: {secret}");
            }
            println!(
                "client {client_id}: {} redirect URI(s)",
                redirect_uris.len()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Tokens carry roles, so a role change signs the account out everywhere.
fn end_sessions(
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

/// Every applied tenant's portal becomes (or stays) an OpenID Connect client.
fn register_portals(
    settings: &Settings,
    pool: &dvc::db::PgPool,
    report: &dvc::tenancy::apply::ApplyReport,
) -> anyhow::Result<()> {
    let base = dvc::tenancy::HostName::parse(&settings.server.base_domain)?;
    let mut pooled = pool.get()?;
    let conn: &mut diesel::PgConnection = &mut pooled;
    let all = load_all(conn)?;
    let portal = dvc::tenancy::onboard::PortalAddress {
        base_domain: base,
        public_origin: settings.server.public_origin.clone(),
    };
    for applied in &report.tenants {
        if let Some(t) = all.iter().find(|t| t.id == applied.id) {
            portal.register(conn, t)?;
            // A draft from a file: its first admin is invited like one made by the API.
            if let Some(email) = &applied.invite {
                dvc::tenancy::onboard::invite(
                    conn,
                    t,
                    email,
                    dvc::auth::roles::Role::TenantAdmin,
                    &portal,
                    None,
                )?;
                println!("{}: draft; invitation mailed to {}", t.slug, email.as_str());
            }
        }
    }
    Ok(())
}

//! `dvc tenant …`: tenant files, onboarding, lifecycle, archives.
//!
//! Over 400 lines: one match arm per subcommand, each a few calls into `dvc::tenancy`; split
//! further when an arm grows logic of its own.

use super::*;
use secrecy::ExposeSecret;

#[derive(Subcommand)]
pub(crate) enum TenantCommand {
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
    /// Give a tenant the certificate its results are signed with: a PKCS#12 file from its CA
    /// (`--p12`, its password in the environment variable `--password-env` names), or, for
    /// demos and tests only, one issued by a local test CA (`--local-ca`).
    SigningIdentity {
        slug: String,
        #[arg(
            long,
            conflicts_with = "local_ca",
            required_unless_present = "local_ca"
        )]
        p12: Option<PathBuf>,
        #[arg(long, default_value = "DVC_P12_PASSWORD")]
        password_env: String,
        #[arg(long)]
        local_ca: bool,
        /// Do nothing when the tenant already has a certificate in use (for scripts).
        #[arg(long)]
        if_missing: bool,
    },
    /// Import procedures from the national procedure database's published list (CSV or .xlsx):
    /// creates new ones, updates names, levels, time limits, fees, legal basis and documents of
    /// the others; one bad row refuses the whole file.
    ImportCatalog {
        slug: String,
        file: PathBuf,
        /// Print what would be created or changed, and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Suspend a tenant: its portal and API answer 403, its data is kept.
    Suspend { slug: String },
    /// Resume a suspended tenant.
    Resume { slug: String },
}

/// A tenant's scoped handle for a command run outside the server.
fn current_tenant(settings: &Settings, slug: &str) -> anyhow::Result<dvc::tenancy::CurrentTenant> {
    use dvc::tenancy::{CurrentTenant, registry::Registry};
    let slug = TenantSlug::parse(slug)?;
    let pools = dvc::db::Pools::build(&settings.database);
    let registry = Registry::new();
    registry.reload(&mut *pools.shared().get()?)?;
    let tenant = registry
        .by_slug(&slug)
        .ok_or_else(|| anyhow::anyhow!("no tenant `{slug}`"))?;
    Ok(CurrentTenant {
        db: dvc::db::TenantDb::for_tenant(&pools, tenant.id, &tenant.schema),
        tenant,
    })
}

/// Prints a use case's refusal (one line per problem, both languages); other errors go up.
fn refusal(e: dvc::error::AppError) -> anyhow::Result<ExitCode> {
    match e {
        dvc::error::AppError::Invalid { errors } => {
            for e in errors {
                eprintln!("dvc: {} / {}", e.message, e.message_en);
            }
            Ok(ExitCode::FAILURE)
        }
        e => Err(anyhow::anyhow!("{}", e.chain())),
    }
}

/// `dvc tenant import-catalog`: through the same use case as the API. Running servers see the
/// change when their catalog cache next refreshes.
fn import_catalog(
    settings: &Settings,
    slug: &str,
    file: &std::path::Path,
    dry_run: bool,
) -> anyhow::Result<ExitCode> {
    let current = current_tenant(settings, slug)?;
    let bytes = std::fs::read(file)?;
    let started = std::time::Instant::now();
    let report = actix_web::rt::System::new().block_on(async move {
        dvc::app::catalog_import::import_catalog(&current, None, bytes, dry_run).await
    });
    let report = match report {
        Ok(r) => r,
        Err(e) => return refusal(e),
    };
    for item in &report.items {
        let change = match &item.change {
            dvc::services::catalog::import::Change::Create => "create".to_owned(),
            dvc::services::catalog::import::Change::Update(parts) => {
                format!("update: {}", parts.join(", "))
            }
            dvc::services::catalog::import::Change::Unchanged => continue,
        };
        println!("{:<14} {change}", item.code);
    }
    for (code, name) in &report.new_fields {
        println!("field {code} ({name}): create");
    }
    let (created, updated, unchanged) = (report.created, report.updated, report.unchanged);
    let seconds = started.elapsed().as_secs_f64();
    if dry_run {
        println!(
            "{slug} (dry run, nothing written): {created} to create, {updated} to update, \
             {unchanged} unchanged ({seconds:.2} s)"
        );
    } else {
        println!(
            "{slug}: {created} created, {updated} updated, {unchanged} unchanged ({seconds:.2} s)"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `dvc tenant signing-identity`: through the same use case as the API.
fn signing_identity(
    settings: &Settings,
    slug: &str,
    p12: Option<PathBuf>,
    password_env: &str,
    if_missing: bool,
) -> anyhow::Result<ExitCode> {
    let master =
        dvc::auth::keys::MasterKey::from_secret(settings.auth.master_key.as_ref().ok_or_else(
            || anyhow::anyhow!("auth.master_key is not set: the key cannot be kept"),
        )?)?;
    let current = current_tenant(settings, slug)?;
    let file = match &p12 {
        Some(path) => Some(std::fs::read(path)?),
        None => None,
    };
    let password = std::env::var(password_env).unwrap_or_default();
    let summary = actix_web::rt::System::new().block_on(async move {
        if if_missing && let Some(s) = dvc::app::results::identity(&current).await? {
            return Ok(s);
        }
        match file {
            Some(bytes) => {
                dvc::app::results::import_identity_with(
                    &master,
                    &current,
                    None,
                    bytes,
                    password,
                    chrono::Utc::now(),
                )
                .await
            }
            None => dvc::app::results::generate_local_identity(&master, &current).await,
        }
    });
    match summary {
        Ok(s) => {
            println!(
                "{slug}: {} ({}), valid until {}, SHA-256 {}",
                s.subject,
                s.algorithm,
                s.not_after.format("%d/%m/%Y"),
                s.fingerprint
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => refusal(e),
    }
}

pub(super) fn tenant(settings: &Settings, command: TenantCommand) -> anyhow::Result<ExitCode> {
    // Export reads with several connections at once (one snapshot).
    let pool = build_pool_sized(&settings.database, 6);
    match command {
        TenantCommand::SigningIdentity {
            slug,
            p12,
            password_env,
            if_missing,
            ..
        } => signing_identity(settings, &slug, p12, &password_env, if_missing),
        TenantCommand::ImportCatalog {
            slug,
            file,
            dry_run,
        } => import_catalog(settings, &slug, &file, dry_run),
        TenantCommand::Apply {
            path,
            dry_run: true,
        } => match dvc::hosting::apply::plan_path(&pool, &path) {
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
        TenantCommand::Apply { path, .. } => {
            let applied = {
                // The bar is gone before the lines below are printed.
                let bar = Bar::new();
                dvc::hosting::apply::apply_path_showing(&pool, &path, &bar)
            };
            match applied {
                Ok(report) => {
                    // Each tenant's line where someone reads it; one line for the whole anyway.
                    if Bar::on_terminal() {
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
                    }
                    let created = report
                        .tenants
                        .iter()
                        .filter(|t| t.action == ApplyAction::Created)
                        .count();
                    let elapsed: std::time::Duration =
                        report.tenants.iter().map(|t| t.elapsed).sum();
                    println!(
                        "applied {} tenant(s): {created} created, {} updated, {} procedure(s), in {:.1} s",
                        report.tenants.len(),
                        report.tenants.len() - created,
                        report.tenants.iter().map(|t| t.procedures).sum::<usize>(),
                        elapsed.as_secs_f64()
                    );
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
            }
        }
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
            use dvc::hosting::onboard::{NewTenant, NewTenantRequest, PortalAddress};
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
                dvc::hosting::onboard::create_draft(&mut *pool.get()?, &new, None, &portal)?;
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
            let done = dvc::hosting::archive::export_showing(
                &pool,
                &storage,
                &slug,
                &dir,
                key.as_ref(),
                &Bar::new(),
            )?;
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
            let portal = dvc::hosting::onboard::PortalAddress {
                base_domain: dvc::tenancy::HostName::parse(&settings.server.base_domain)?,
                public_origin: settings.server.public_origin.clone(),
            };
            let key = manifest_key(settings)?;
            let trust = dvc::hosting::archive::Trust {
                key: key.as_ref(),
                checksum: checksum.as_deref(),
                allow_unsigned,
            };
            let started = std::time::Instant::now();
            let done = dvc::hosting::archive::import_showing(
                &mut *pool.get()?,
                &storage,
                &dir,
                trust,
                &portal,
                &Bar::new(),
            )?;
            publish(settings, &[TenancyEvent::TenantChanged(done.id)]);
            if let dvc::hosting::archive::Signature::Unverified(why) = &done.signature {
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
            let done = dvc::hosting::archive::export_showing(
                &pool,
                &storage,
                &slug,
                &export_to,
                key.as_ref(),
                &Bar::new(),
            )?;
            let mut conn = pool.get()?;
            report_archive(&done, started.elapsed());
            let id = dvc::hosting::lifecycle::archive(
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
            for due in dvc::hosting::lifecycle::due_for_purge(&mut conn)? {
                if dry_run {
                    println!("{}: would be purged", due.slug);
                    continue;
                }
                let keys = dvc::hosting::lifecycle::purge(&mut conn, &due)?;
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
            let portal = dvc::hosting::onboard::PortalAddress {
                base_domain: dvc::tenancy::HostName::parse(&settings.server.base_domain)?,
                public_origin: settings.server.public_origin.clone(),
            };
            dvc::hosting::onboard::invite(&mut conn, &tenant, &email, role, &portal, None)?;
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

pub(super) fn change_status(
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

/// The key that signs and checks archive manifests, derived from `auth.master_key`; `None`
/// when no master key is set (export then writes no signature; import refuses the archive
/// unless `--allow-unsigned`).
pub(super) fn manifest_key(
    settings: &Settings,
) -> anyhow::Result<Option<dvc::hosting::archive::ManifestKey>> {
    match settings
        .auth
        .master_key
        .as_ref()
        .map(|master| master.expose_secret().trim())
    {
        None | Some("") => Ok(None),
        Some(master) => Ok(Some(dvc::hosting::archive::ManifestKey::from_master(
            master,
        )?)),
    }
}

pub(super) fn report_archive(done: &dvc::hosting::archive::Exported, elapsed: std::time::Duration) {
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

/// Every applied tenant's portal becomes (or stays) an OpenID Connect client.
pub(super) fn register_portals(
    settings: &Settings,
    pool: &dvc::db::PgPool,
    report: &dvc::hosting::apply::ApplyReport,
) -> anyhow::Result<()> {
    let base = dvc::tenancy::HostName::parse(&settings.server.base_domain)?;
    let mut pooled = pool.get()?;
    let conn: &mut diesel::PgConnection = &mut pooled;
    let all = load_all(conn)?;
    let portal = dvc::hosting::onboard::PortalAddress {
        base_domain: base,
        public_origin: settings.server.public_origin.clone(),
    };
    for applied in &report.tenants {
        if let Some(t) = all.iter().find(|t| t.id == applied.id) {
            portal.register(conn, t)?;
            // A draft from a file: its first admin is invited like one made by the API.
            if let Some(email) = &applied.invite {
                dvc::hosting::onboard::invite(
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

//! `dvc setup` and `dvc migrate`: bringing a deployment's schemas up to date.

use super::*;

pub(super) fn setup(
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

/// On a Citus coordinator: how the tenant schemas are placed, and every tenant table Citus does
/// not distribute (each should sit, with its schema, on one worker). Returns their number.
/// On Citus: prints every tenant table left undistributed, and returns how many with the
/// clause the summary line ends with. Elsewhere: nothing.
fn citus_check(url: &str) -> anyhow::Result<(usize, String)> {
    use diesel::Connection;
    let mut conn = diesel::PgConnection::establish(url)?;
    if !dvc::db::citus::is_citus(&mut conn)? {
        return Ok((0, String::new()));
    }
    let (schemas, nodes) = dvc::db::citus::distributed_schemas(&mut conn)?;
    let left = dvc::db::citus::undistributed_tenant_tables(&mut conn)?;
    for table in &left {
        println!("citus: NOT DISTRIBUTED  {table}");
    }
    Ok((
        left.len(),
        format!("; citus: {schemas} tenant schema(s) distributed over {nodes} worker(s)"),
    ))
}

pub(super) fn migrate(settings: &Settings) -> anyhow::Result<ExitCode> {
    let url = &settings.database.url;
    let started = std::time::Instant::now();
    let platform = migrate_platform(url).map_err(|e| anyhow::anyhow!("platform schema: {e}"))?;
    let report = {
        let bar = Bar::new();
        migrate_tenants_showing(
            url,
            settings.migrate.concurrency,
            || TENANT_MIGRATIONS,
            &bar,
        )
        .map_err(|e| anyhow::anyhow!("tenant migrations: {e}"))?
    };
    // Only what needs the operator: the tenants that failed, then one line for the whole.
    for t in &report.tenants {
        if let Err(e) = &t.result {
            println!("{:<30} FAILED  {e}", t.slug.as_str());
        }
    }
    let (undistributed, citus) = citus_check(url)?;
    let failed = report.failed().count();
    let applied: usize = report.tenants.iter().map(|t| t.applied).sum();
    println!(
        "migrated: platform {platform} migration(s) applied; {} tenant(s): {} ok, {failed} failed, {applied} migration(s) applied, in {:.1} s{citus}",
        report.tenants.len(),
        report.tenants.len() - failed,
        started.elapsed().as_secs_f64()
    );
    Ok(if failed == 0 && undistributed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

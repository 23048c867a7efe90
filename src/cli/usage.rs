//! `dvc usage`: what each tenant used in a month.

use super::*;

pub(super) fn usage(
    settings: &Settings,
    month: Option<&str>,
    csv: bool,
) -> anyhow::Result<ExitCode> {
    use dvc::hosting::usage;
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
        "{:<30} {:>9} {:>9} {:>9} {:>9} {:>11} {:>14}",
        "tenant", "dossiers", "accounts", "mails", "texts", "api calls", "storage bytes"
    );
    for r in rows {
        println!(
            "{:<30} {:>9} {:>9} {:>9} {:>9} {:>11} {:>14}",
            r.tenant,
            r.dossiers_submitted,
            r.active_accounts,
            r.mails_sent,
            r.texts_sent,
            r.api_calls,
            r.storage_bytes
        );
    }
    Ok(ExitCode::SUCCESS)
}

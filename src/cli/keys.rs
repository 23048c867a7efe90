//! `dvc keys …`: token signing keys.

use super::*;

#[derive(Subcommand)]
pub(crate) enum KeysCommand {
    /// Promote the next key to signing, keep the old one verifying, publish a new next key.
    Rotate,
    /// Published keys and their states.
    List,
    /// Create the first keys when there are none; otherwise change nothing.
    Ensure,
}

pub(super) fn keys(settings: &Settings, command: KeysCommand) -> anyhow::Result<ExitCode> {
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
                settings.auth.master_key.as_ref().ok_or_else(|| {
                    anyhow::anyhow!("set DVC__AUTH__MASTER_KEY (base64 of 32 bytes)")
                })?;
            let master = dvc::auth::keys::MasterKey::from_secret(master)?;
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

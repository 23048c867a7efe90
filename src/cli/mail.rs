//! `dvc mail …`: the notification outbox.

use super::*;

#[derive(Subcommand)]
pub(crate) enum MailCommand {
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

pub(super) fn mail(settings: &Settings, command: MailCommand) -> anyhow::Result<ExitCode> {
    use dvc::mail::outbox;
    let pool = build_pool_sized(&settings.database, 1);
    let mut pooled = pool.get()?;
    let conn: &mut diesel::PgConnection = &mut pooled;
    match command {
        MailCommand::Status => {
            println!(
                "{:<30} {:<7} {:<8} {:>8} {:>14}",
                "tenant", "channel", "status", "count", "oldest unsent"
            );
            for row in outbox::status_counts(conn)? {
                println!(
                    "{:<30} {:<7} {:<8} {:>8} {:>14}",
                    row.tenant.as_deref().unwrap_or("(platform)"),
                    row.channel.as_str(),
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
                        "#{:<8} {:<20} {:<5} {:<22} {:<30} attempts {} — {}",
                        f.id,
                        f.tenant.as_deref().unwrap_or("(platform)"),
                        f.channel.as_str(),
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

//! `dvc texts …`: text messages (SMS, Zalo). Status and retries are `dvc mail status|retry`:
//! texts are rows of the same outbox.

use super::*;

#[derive(Subcommand)]
pub(crate) enum TextsCommand {
    /// Queue a test SMS through the outbox (delivered by `dvc worker`).
    Test {
        /// A Vietnamese mobile number, e.g. 0912345678.
        phone: String,
        #[arg(long)]
        tenant: Option<String>,
        /// vi or en (default: the tenant's language).
        #[arg(long)]
        locale: Option<String>,
    },
    /// What the sandbox provider has "sent" (texts.sandbox_dir), newest first.
    Sandbox {
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
}

pub(super) fn texts(settings: &Settings, command: TextsCommand) -> anyhow::Result<ExitCode> {
    match command {
        TextsCommand::Test {
            phone,
            tenant,
            locale,
        } => {
            let recipient = dvc::texts::MobileNumber::parse(&phone)?;
            let pool = build_pool_sized(&settings.database, 1);
            let mut pooled = pool.get()?;
            let conn: &mut diesel::PgConnection = &mut pooled;
            let tenant = match tenant {
                Some(slug) => {
                    let slug = TenantSlug::parse(&slug)?;
                    Some(
                        load_all(conn)?
                            .into_iter()
                            .find(|t| t.slug == slug)
                            .ok_or_else(|| anyhow::anyhow!("no tenant `{slug}`"))?,
                    )
                }
                None => None,
            };
            let locale = locale
                .map(|l| {
                    dvc::locale::Locale::parse(&l)
                        .ok_or_else(|| anyhow::anyhow!("locale must be vi or en"))
                })
                .transpose()?;
            let tenant_locale = tenant
                .as_ref()
                .and_then(|t| dvc::locale::Locale::parse(&t.locale));
            let text = dvc::texts::outbox::NewText {
                tenant_id: tenant.as_ref().map(|t| t.id),
                channel: dvc::texts::Channel::Sms,
                template: dvc::mail::TemplateKey::Test,
                locale: dvc::locale::Locale::resolve(locale, tenant_locale),
                recipient,
                payload: serde_json::json!({}),
                idempotency_key: format!("test-text:{}", uuid::Uuid::new_v4()),
            };
            dvc::texts::outbox::enqueue(conn, &text)?;
            println!("test text to {} queued", text.recipient.national());
            Ok(ExitCode::SUCCESS)
        }
        TextsCommand::Sandbox { limit } => {
            let dir = &settings.texts.sandbox_dir;
            let mut texts = dvc::texts::provider::Sandbox::read_all(dir);
            texts.sort_by(|a, b| b["at"].as_str().cmp(&a["at"].as_str()));
            if texts.is_empty() {
                println!("no texts in {}", dir.display());
            }
            for t in texts.into_iter().take(limit) {
                let s = |k: &str| t[k].as_str().unwrap_or_default().to_owned();
                let body = if s("channel") == "zalo" {
                    format!("[Zalo {}] {}", s("zalo_template"), t["zalo_data"])
                } else {
                    s("body")
                };
                println!("{}  {} → {}\n  {body}", s("at"), s("sender"), s("to"));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

//! `dvc payment …`: tenants' merchant accounts.

use super::*;

#[derive(Subcommand)]
pub(crate) enum PaymentCommand {
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

pub(super) fn payment(settings: &Settings, command: PaymentCommand) -> anyhow::Result<ExitCode> {
    let PaymentCommand::Merchant {
        slug,
        merchant_id,
        gateway_url,
        sandbox,
    } = command;
    let master = dvc::auth::keys::MasterKey::from_secret(
        settings
            .auth
            .master_key
            .as_ref()
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

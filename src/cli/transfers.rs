//! `dvc transfers …`: inter-agency transfers (liên thông) waiting for delivery.

use super::*;

#[derive(Subcommand)]
pub(crate) enum TransferCommand {
    /// Deliver every transfer that is due now (serving instances also do this on their own,
    /// unless `dossiers.transfers_in_process` is off); prints how many were delivered.
    Deliver,
    /// Transfers not delivered yet: where from and to, attempts, last error.
    Pending,
}

pub(super) fn transfers(settings: Settings, command: TransferCommand) -> anyhow::Result<ExitCode> {
    match command {
        TransferCommand::Deliver => actix_web::rt::System::new().block_on(async move {
            let deliverer = dvc::app::transfers::Deliverer::standalone(settings)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let n = deliverer
                .deliver_due()
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{n} transfer(s) delivered");
            Ok(ExitCode::SUCCESS)
        }),
        TransferCommand::Pending => {
            let pool = build_pool_sized(&settings.database, 1);
            let mut conn = pool.get()?;
            let rows = dvc::services::transfers::store::pending(&mut conn, 100)?;
            println!(
                "{:<36} {:<8} {:<28} {:<20} {:<20} {:>8}  last error",
                "id", "kind", "dossier", "from", "to", "attempts"
            );
            for r in rows {
                println!(
                    "{:<36} {:<8} {:<28} {:<20} {:<20} {:>8}  {}",
                    r.id,
                    r.kind,
                    r.dossier_code,
                    r.from_slug,
                    r.to_slug,
                    r.attempts,
                    r.last_error.as_deref().unwrap_or("")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

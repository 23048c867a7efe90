//! A tenant admin changes how the tenant shows itself (colours, contact, logo): the change and
//! its audit entry commit together, then every instance sees it.

use crate::error::AppError;
use crate::state::AppState;
use crate::tenancy::notify::TenancyEvent;
use diesel::Connection;
use uuid::Uuid;

/// Writes a change of `tenant`'s registry row (and whatever goes with it) in one transaction
/// with its audit entry, then makes every instance see it: this one reloads its registry at
/// once (the redirect that follows must show the change), the others hear of it.
pub(crate) async fn change_tenant<F>(
    state: &AppState,
    tenant: Uuid,
    by: Uuid,
    action: &'static str,
    detail: serde_json::Value,
    write: F,
) -> Result<(), AppError>
where
    F: FnOnce(&mut diesel::PgConnection) -> diesel::QueryResult<()> + Send + 'static,
{
    let registry = state.registry.clone();
    state
        .shared
        .run(move |c| {
            c.transaction(|c| {
                write(c)?;
                crate::auth::accounts::audit(c, Some(by), Some(tenant), None, action, detail)
            })?;
            registry.reload(c)?;
            Ok(())
        })
        .await?;
    if let Err(e) = state
        .notifier
        .publish(&[TenancyEvent::TenantChanged(tenant)])
        .await
    {
        // Other instances reload within the registry refresh period anyway.
        tracing::warn!(error = %e, action, "tenant change not announced");
    }
    Ok(())
}

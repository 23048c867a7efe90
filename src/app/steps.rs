//! Acting at a dossier's step, for the API and the processing page alike. A `transfer` is
//! checked against the receiving tenant's catalog first (nothing changes when it does not offer
//! the procedure); a transfer handed over, or a result to send back, is delivered straight
//! after the commit (the sweep delivers it otherwise).

use crate::app::dossiers::scope;
use crate::app::transfers::{Deliverer, check_receiver};
use crate::error::AppError;
use crate::services::dossiers::store::{self, StepRequest};
use crate::services::dossiers::workflow::Status;
use crate::services::dossiers::{Caller, DossierCode, DossierSummary};
use crate::services::processes::StepAction;
use crate::state::AppState;
use crate::tenancy::CurrentTenant;

pub async fn act(
    state: &AppState,
    tenant: &CurrentTenant,
    who: Caller,
    code: DossierCode,
    req: StepRequest,
) -> Result<DossierSummary, AppError> {
    if req.action == StepAction::Transfer {
        let c = code.clone();
        let target = tenant
            .db
            .run(move |conn| Ok(store::transfer_target(conn, &c, &who)?))
            .await?;
        if let Some((slug, procedure)) = target {
            check_receiver(state, tenant.tenant.id, &slug, &procedure).await?;
        }
    }
    let (scope, now) = (scope(state, tenant), state.now());
    let handed = req.action == StepAction::Transfer;
    let summary = tenant
        .db
        .run(move |conn| Ok(store::act_at_step(conn, &scope, &code, &who, &req, now)?))
        .await?;
    if handed || summary.status == Status::Returned {
        deliver_soon(state);
    }
    Ok(summary)
}

/// Delivers what is due in the background, when this instance delivers transfers at all.
pub fn deliver_soon(state: &AppState) {
    if state.settings.dossiers.transfers_in_process {
        let d = Deliverer::of(state);
        actix_web::rt::spawn(async move {
            if let Err(e) = d.deliver_due().await {
                tracing::warn!(error = %e, "transfers not delivered now; the sweep will");
            }
        });
    }
}

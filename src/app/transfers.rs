//! Delivering inter-agency transfers (liên thông): the dossier a step handed over, into the
//! receiving tenant's inbox; its result, back into the sender's process. The rows and what
//! they mean are in `services::transfers`; what a delivery writes in the receiver's schema is
//! in the dossier store; this is the schedule and the files.
//!
//! A delivery copies the dossier's files into the receiver's storage first (idempotent: a
//! retry copies again under new keys, and a failed attempt deletes its copies), then runs one
//! transaction in the receiver's schema that locks the transfer, writes the receiver's side
//! and marks the transfer delivered. A process killed in between leaves the transfer pending:
//! the next sweep (every instance runs one, and `dvc transfers deliver`) delivers it.

use crate::clock::Clock;
use crate::config::Settings;
use crate::db::{Pools, SharedDb};
use crate::error::AppError;
use crate::services::attachments::FileKind;
use crate::services::dossiers::StoredFile;
use crate::services::dossiers::store::{self, Accepted};
use crate::services::storage::{Storage, StorageKey};
use crate::services::transfers::{
    self, DossierPayload, Kind, NewTransfer, ResultOutcome, ResultPayload,
};
use crate::state::AppState;
use crate::tenancy::{Registry, Tenant, TenantSlug};
use chrono::Datelike;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// What a delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The receiver took the dossier in.
    Taken,
    /// The receiver could not take it; it went back to the sender with the reason.
    Refused,
    /// The result is back in the sender's process.
    ResultApplied,
    /// Nothing to do: delivered already (by another instance, or before a crash).
    AlreadyDone,
}

/// Everything a delivery needs, from a running server or from the CLI.
#[derive(Clone)]
pub struct Deliverer {
    settings: Settings,
    pools: Pools,
    shared: SharedDb,
    registry: Arc<Registry>,
    storage: Arc<dyn Storage>,
    clock: Arc<dyn Clock>,
}

impl Deliverer {
    pub fn of(state: &AppState) -> Self {
        Self {
            settings: state.settings.clone(),
            pools: state.pools.clone(),
            shared: state.shared.clone(),
            registry: state.registry.clone(),
            storage: state.storage.clone(),
            clock: state.clock.clone(),
        }
    }

    /// For `dvc transfers deliver`: its own pools, registry and storage.
    pub async fn standalone(settings: Settings) -> Result<Self, AppError> {
        let pools = Pools::build(&settings.database);
        let shared = SharedDb::new(pools.shared().clone());
        let registry = Arc::new(Registry::new());
        let r = registry.clone();
        shared.run(move |c| Ok(r.reload(c)?)).await?;
        Ok(Self {
            storage: Arc::new(crate::services::storage::LocalDisk::new(
                &settings.dossiers.storage_root,
            )),
            settings,
            pools,
            shared,
            registry,
            clock: Arc::new(crate::clock::SystemClock),
        })
    }

    fn tenant(&self, id: Uuid) -> Result<Arc<Tenant>, String> {
        self.registry
            .by_id(id)
            .ok_or_else(|| format!("tenant {id} is not in the registry"))
    }

    /// Delivers the transfers that are due, oldest first; returns how many were delivered.
    /// One that fails is tried again later (see `transfers::store::failed`).
    pub async fn deliver_due(&self) -> Result<usize, AppError> {
        let now = self.clock.now();
        let due = self
            .shared
            .run(move |c| Ok(transfers::store::due(c, now, 200)?))
            .await?;
        let mut delivered = 0;
        for id in due {
            match self.deliver(id).await {
                Ok(Delivery::AlreadyDone) => {}
                Ok(_) => delivered += 1,
                Err(e) => tracing::warn!(transfer = %id, error = %e, "transfer not delivered"),
            }
        }
        Ok(delivered)
    }

    /// Delivers one transfer; a failure is recorded on it (and returned) for a later retry.
    pub async fn deliver(&self, id: Uuid) -> Result<Delivery, AppError> {
        let found = self
            .shared
            .run(move |c| Ok(transfers::store::find(c, id)?))
            .await?;
        let Some(t) = found.filter(|t| t.delivered_at.is_none()) else {
            return Ok(Delivery::AlreadyDone);
        };
        let outcome = match t.kind() {
            Some(Kind::Dossier) => self.deliver_dossier(&t).await,
            Some(Kind::Result) => self.deliver_result(&t).await,
            None => Err(format!("unknown transfer kind `{}`", t.kind)),
        };
        match outcome {
            Ok(d) => Ok(d),
            Err(error) => {
                let now = self.clock.now();
                let e = error.clone();
                self.shared
                    .run(move |c| Ok(transfers::store::failed(c, id, &e, now)?))
                    .await?;
                Err(AppError::internal(anyhow::anyhow!(
                    "transfer {id} not delivered: {error}"
                )))
            }
        }
    }

    async fn deliver_dossier(&self, t: &transfers::Transfer) -> Result<Delivery, String> {
        let payload: DossierPayload =
            serde_json::from_value(t.payload.clone()).map_err(|e| format!("payload: {e}"))?;
        let receiver = self.tenant(t.to_tenant)?;
        let scope = crate::app::dossiers::scope_of(&self.settings, &self.registry, &receiver);
        // Checked when handed over; again here, for a tree that changed meanwhile.
        let unrelated = (!transfers::may_receive(
            &self.registry.ancestors(t.from_tenant),
            receiver.id,
            receiver.parent_id,
        ))
        .then(|| "không thuộc cây hành chính của nơi gửi / not in the sender's tree".to_owned());
        let files = if unrelated.is_some() {
            Vec::new()
        } else {
            self.copy_files(receiver.id, &payload).await?
        };
        let keys: Vec<StorageKey> = files.iter().map(|f| f.key.clone()).collect();
        let (id, from, now) = (t.id, t.from_tenant, self.clock.now());
        let result = receiver
            .db(&self.pools)
            .run(move |conn| {
                let Some(t) = transfers::store::claim(conn, id)? else {
                    return Ok(Delivery::AlreadyDone);
                };
                let accepted = match unrelated {
                    Some(reason) => Accepted::Refused(reason),
                    None => store::accept_transfer(conn, &scope, &t, &payload, &files, now)?,
                };
                let delivery = match accepted {
                    Accepted::Taken => Delivery::Taken,
                    Accepted::Refused(reason) => {
                        bounce(conn, &t, from, &reason, now)?;
                        Delivery::Refused
                    }
                };
                // The copy is written, the transfer not yet marked: the moment a crash test
                // kills the process at.
                crate::faults::point("transfer.before_commit");
                transfers::store::delivered(conn, id, now)?;
                Ok(delivery)
            })
            .await;
        match result {
            Ok(Delivery::Taken) => Ok(Delivery::Taken),
            Ok(other) => {
                self.discard(keys).await;
                Ok(other)
            }
            Err(e) => {
                self.discard(keys).await;
                Err(format!("{e}"))
            }
        }
    }

    async fn deliver_result(&self, t: &transfers::Transfer) -> Result<Delivery, String> {
        let result: ResultPayload =
            serde_json::from_value(t.payload.clone()).map_err(|e| format!("payload: {e}"))?;
        let sender = self.tenant(t.to_tenant)?;
        let scope = crate::app::dossiers::scope_of(&self.settings, &self.registry, &sender);
        let (id, now) = (t.id, self.clock.now());
        sender
            .db(&self.pools)
            .run(move |conn| {
                let Some(t) = transfers::store::claim(conn, id)? else {
                    return Ok(Delivery::AlreadyDone);
                };
                if !store::accept_result(conn, &scope, &t, &result, now)? {
                    tracing::warn!(transfer = %id, code = %t.dossier_code,
                        "no dossier waits for this result; marked delivered");
                }
                transfers::store::delivered(conn, id, now)?;
                Ok(Delivery::ResultApplied)
            })
            .await
            .map_err(|e| format!("{e}"))
    }

    /// The sender's files, copied under the receiver's storage keys.
    async fn copy_files(
        &self,
        receiver: Uuid,
        payload: &DossierPayload,
    ) -> Result<Vec<StoredFile>, String> {
        let storage = self.storage.clone();
        let refs = payload.files.clone();
        let year = self.clock.now().year();
        crate::telemetry::spawn_blocking_in_span(move || {
            let mut out: Vec<StoredFile> = Vec::with_capacity(refs.len());
            for f in refs {
                let copied = (|| {
                    let from = StorageKey::parse(&f.storage_key)
                        .ok_or_else(|| format!("file `{}`: bad storage key", f.file_name))?;
                    let kind = FileKind::from_media_type(&f.media_type)
                        .ok_or_else(|| format!("file `{}`: unknown type", f.file_name))?;
                    let bytes = storage.get(&from).map_err(|e| format!("read: {e}"))?;
                    let key = StorageKey::generate(receiver, year);
                    storage
                        .put(&key, &bytes)
                        .map_err(|e| format!("write: {e}"))?;
                    Ok::<_, String>(StoredFile {
                        document_index: f.document_index,
                        file_name: f.file_name.clone(),
                        kind,
                        size: f.size_bytes,
                        sha256: f.sha256.clone(),
                        key,
                        digitised: false,
                        provenance: None,
                    })
                })();
                match copied {
                    Ok(s) => out.push(s),
                    Err(e) => {
                        for s in &out {
                            let _ = storage.delete(&s.key);
                        }
                        return Err(e);
                    }
                }
            }
            Ok(out)
        })
        .await
        .map_err(|e| format!("{e}"))?
    }

    async fn discard(&self, keys: Vec<StorageKey>) {
        let storage = self.storage.clone();
        let _ = crate::telemetry::spawn_blocking_in_span(move || {
            for k in keys {
                let _ = storage.delete(&k);
            }
        })
        .await;
    }

    /// Delivers what is due every `every`, until the process ends.
    pub async fn run(self, every: Duration) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = self.deliver_due().await {
                tracing::warn!(error = %e, "transfer sweep failed");
            }
        }
    }
}

/// The receiver could not take the dossier: its refusal goes back as the result.
fn bounce(
    conn: &mut diesel::PgConnection,
    t: &transfers::Transfer,
    sender: Uuid,
    reason: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), AppError> {
    transfers::store::queue(
        conn,
        &NewTransfer {
            kind: Kind::Result,
            answers: Some(t.id),
            dossier_code: &t.dossier_code,
            procedure_code: &t.procedure_code,
            from_tenant: t.to_tenant,
            to_tenant: sender,
            payload: serde_json::to_value(ResultPayload {
                outcome: ResultOutcome::NotAccepted,
                note: Some(reason.to_owned()),
                at: now,
            })
            .map_err(AppError::internal)?,
        },
        now,
    )?;
    Ok(())
}

/// Before a `transfer` is taken at a step: the tenant the step names must offer the
/// procedure now (checked in its own catalog), or the action is refused with nothing changed.
/// The deliverer checks again, in the receiver's transaction.
pub async fn check_receiver(
    state: &AppState,
    sender: Uuid,
    target: &TenantSlug,
    procedure: &str,
) -> Result<(), AppError> {
    let refused = |why: String| AppError::Conflict {
        code: "transfer_refused",
        detail: format!("transfer: {why}"),
    };
    let tenant = state
        .registry
        .by_slug(target)
        .ok_or_else(|| refused(format!("`{target}` is not a tenant")))?;
    if tenant.status != crate::tenancy::TenantStatus::Active {
        return Err(refused(format!("`{target}` is not active")));
    }
    if !transfers::may_receive(
        &state.registry.ancestors(sender),
        tenant.id,
        tenant.parent_id,
    ) {
        return Err(refused(format!(
            "`{target}` is neither above this tenant nor a unit of a tenant above it"
        )));
    }
    let code = procedure.to_owned();
    let offered = tenant
        .db(&state.pools)
        .run(move |c| Ok(crate::services::catalog::store::find_active(c, &code)?))
        .await?;
    match offered {
        Some(_) => Ok(()),
        None => Err(refused(format!(
            "`{target}` does not offer procedure `{procedure}`"
        ))),
    }
}

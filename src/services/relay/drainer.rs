//! Applies tenants' relayed shared writes: the tenants a `NOTIFY` names at once, every tenant
//! at start, after the `LISTEN` connection was lost, and on a slow sweep (a notification can
//! be missed while no drainer listens).

use super::{DrainError, NOTIFY_CHANNEL, apply_batch, forget_batch, prune_ledger};
use crate::db::schema::tenants;
use crate::db::{Pools, SchemaName, TenantDb};
use crate::error::AppError;
use crate::mail::worker::{Heard, spawn_listener};
use diesel::prelude::*;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, watch};
use uuid::Uuid;

/// Rows applied per transaction: a batch is one two-phase commit on Citus.
const BATCH: i64 = 500;

pub struct Drainer {
    pools: Pools,
    db_url: String,
    sweep_every: Duration,
}

/// What the listener has heard since the last round.
#[derive(Default)]
struct Due {
    tenants: HashSet<Uuid>,
    everyone: bool,
}

impl Drainer {
    pub fn new(pools: Pools, db_url: String, sweep_every: Duration) -> Self {
        Self {
            pools,
            db_url,
            sweep_every,
        }
    }

    /// The drainer a process that works the outboxes runs: one when shared writes are
    /// relayed (`database.shared_writes` as resolved at start-up), none otherwise.
    pub fn when_relaying(pools: &Pools, db: &crate::config::DatabaseSettings) -> Option<Self> {
        (db.shared_writes == crate::config::SharedWrites::Relay).then(|| {
            Self::new(
                pools.clone(),
                db.url.clone(),
                Duration::from_secs(db.relay_sweep_secs.max(1)),
            )
        })
    }

    pub fn spawn(self, shutdown: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.run(shutdown))
    }

    async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let due = Arc::new(Mutex::new(Due::default()));
        let wake = Arc::new(Notify::new());
        let stop = Arc::new(AtomicBool::new(false));
        let listener = {
            let (due, wake) = (due.clone(), wake.clone());
            spawn_listener(
                self.db_url.clone(),
                NOTIFY_CHANNEL,
                move |heard| {
                    let mut d = due
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    match heard {
                        Heard::Subscribed => d.everyone = true,
                        Heard::Payload(p) => match p.parse() {
                            Ok(id) => drop(d.tenants.insert(id)),
                            Err(_) => tracing::warn!(payload = p, "relay notice of no tenant"),
                        },
                    }
                    wake.notify_one();
                },
                stop.clone(),
            )
        };
        tracing::info!("shared-write relay drainer started");
        let mut known: HashMap<Uuid, SchemaName> = HashMap::new();
        let mut sweep = tokio::time::interval(self.sweep_every);
        sweep.tick().await;
        while !*shutdown.borrow() {
            tokio::select! {
                () = wake.notified() => {}
                _ = sweep.tick() => {
                    due.lock().unwrap_or_else(std::sync::PoisonError::into_inner).everyone = true;
                }
                _ = shutdown.changed() => continue,
            }
            let round = std::mem::take(
                &mut *due
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            );
            let pools = self.pools.clone();
            let mut schemas = std::mem::take(&mut known);
            let drained = tokio::task::spawn_blocking(move || {
                let applied = drain_round(&pools, &mut schemas, round);
                (schemas, applied)
            })
            .await;
            let failed = match drained {
                Ok((schemas, applied)) => {
                    known = schemas;
                    match applied {
                        Ok(n) => {
                            tracing::debug!(applied = n, "relayed shared writes applied");
                            false
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "relay round failed");
                            true
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "relay round panicked");
                    true
                }
            };
            if failed {
                // The tenants this round took are looked at again in the next one.
                due.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .everyone = true;
            }
        }
        stop.store(true, Ordering::Relaxed);
        let _ = tokio::task::spawn_blocking(move || listener.join()).await;
    }
}

/// Drains every tenant of the round; returns the writes applied. One tenant's failure is
/// logged and left for the next sweep, the others go on.
fn drain_round(
    pools: &Pools,
    known: &mut HashMap<Uuid, SchemaName>,
    round: Due,
) -> Result<usize, AppError> {
    if round.everyone || round.tenants.iter().any(|t| !known.contains_key(t)) {
        *known = tenant_schemas(pools)?;
    }
    if round.everyone {
        let mut pooled = pools.shared().get()?;
        prune_ledger(&mut pooled)?;
    }
    let ids: Vec<Uuid> = if round.everyone {
        known.keys().copied().collect()
    } else {
        round.tenants.into_iter().collect()
    };
    let mut applied = 0;
    for id in ids {
        let Some(schema) = known.get(&id) else {
            continue;
        };
        match drain_tenant(&TenantDb::for_tenant(pools, id, schema), id) {
            Ok(n) => applied += n,
            Err(e) => tracing::warn!(tenant = %id, error = %e, "relay drain failed"),
        }
    }
    Ok(applied)
}

fn drain_tenant(db: &TenantDb, tenant: Uuid) -> Result<usize, AppError> {
    let mut total = 0;
    loop {
        let batch = db.run_blocking(|c| {
            apply_batch(c, tenant, BATCH).map_err(|e| match e {
                DrainError::Db(e) => AppError::from(e),
                e @ DrainError::Unreadable { .. } => AppError::internal(e),
            })
        })?;
        if batch.ids.is_empty() {
            return Ok(total);
        }
        db.run_blocking(|c| Ok(forget_batch(c, &batch)?))?;
        total += batch.ids.len();
        if batch.ids.len() < BATCH as usize {
            return Ok(total);
        }
    }
}

/// Every tenant's schema but archived ones' (closed after export, the schema on its way out);
/// suspended tenants' too: their relayed writes were accepted before.
fn tenant_schemas(pools: &Pools) -> Result<HashMap<Uuid, SchemaName>, AppError> {
    let mut pooled = pools.shared().get()?;
    let conn: &mut PgConnection = &mut pooled;
    let rows: Vec<(Uuid, String)> = tenants::table
        .filter(tenants::status.ne("archived"))
        .select((tenants::id, tenants::schema_name))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, s)| Some((id, SchemaName::parse(&s).ok()?)))
        .collect())
}

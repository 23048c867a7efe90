//! The officers' daily digest: every officer with overdue dossiers (assigned to them, or not
//! yet assigned to anyone) gets one mail a day. The outbox idempotency key holds it to once a
//! day however many workers run the job.

use crate::db::Pools;
use crate::db::schema::{accounts, memberships};
use crate::error::AppError;
use crate::locale::Locale;
use crate::mail::outbox::{self, NewMail};
use crate::mail::{Email, TemplateKey};
use crate::services::calendar;
use crate::services::dossiers::store;
use chrono::{NaiveDate, Timelike, Utc};
use diesel::prelude::*;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::watch;
use uuid::Uuid;

/// Queues the digests of `today` for every tenant; returns how many mails were queued now.
pub fn send_digests(pools: &Pools, today: NaiveDate) -> Result<usize, AppError> {
    let tenants = {
        let mut conn = pools.shared().get()?;
        crate::tenancy::registry::load_all(&mut conn)?
    };
    let mut queued = 0;
    for tenant in tenants
        .iter()
        .filter(|t| t.status == crate::tenancy::TenantStatus::Active)
    {
        let tenant_id = tenant.id;
        queued += tenant.db(pools).run_blocking(|conn| {
            let overdue = store::overdue_by_assignee(conn, today)?;
            let new_count = store::awaiting_receipt(conn)?;
            let officers: Vec<Uuid> = memberships::table
                .filter(memberships::tenant_id.eq(tenant_id))
                .filter(memberships::role.eq("officer"))
                .select(memberships::account_id)
                .load(conn)?;
            // Dossiers of nobody — not yet assigned, or assigned to someone who is no longer
            // an officer here — are every officer's concern.
            let mut unowned = 0;
            let mut per_officer: BTreeMap<Uuid, i64> = BTreeMap::new();
            for (assignee, n) in &overdue {
                match assignee.filter(|a| officers.contains(a)) {
                    Some(a) => *per_officer.entry(a).or_default() += n,
                    None => unowned += n,
                }
            }
            if unowned > 0 {
                for o in &officers {
                    *per_officer.entry(*o).or_default() += unowned;
                }
            }
            let mut n = 0;
            for (officer, overdue_count) in per_officer {
                let Some((name, email, locale)) = accounts::table
                    .find(officer)
                    .select((accounts::full_name, accounts::email, accounts::locale))
                    .first::<(String, String, String)>(conn)
                    .optional()?
                else {
                    continue;
                };
                let Ok(recipient) = Email::parse(&email) else {
                    continue;
                };
                let locale = Locale::parse(&locale).unwrap_or_default();
                let date = match locale {
                    Locale::Vi => today.format("%d/%m/%Y").to_string(),
                    Locale::En => today.format("%Y-%m-%d").to_string(),
                };
                let fresh = outbox::enqueue(
                    conn,
                    &NewMail {
                        tenant_id: Some(tenant_id),
                        template: TemplateKey::OfficerDigest,
                        locale,
                        recipient,
                        payload: serde_json::json!({
                            "officer_name": name,
                            "date": date,
                            "new_count": new_count,
                            "overdue_count": overdue_count,
                        }),
                        idempotency_key: format!("digest:{tenant_id}:{officer}:{today}"),
                    },
                )?;
                n += usize::from(fresh);
            }
            Ok(n)
        })?;
    }
    Ok(queued)
}

/// Runs the digest once a day after `digest_hour` (Vietnam time), checking every few minutes.
pub async fn run(pools: Pools, digest_hour: u32, mut shutdown: watch::Receiver<bool>) {
    let mut last: Option<NaiveDate> = None;
    while !*shutdown.borrow() {
        let now = Utc::now();
        let today = calendar::local_date(now);
        let local_hour = (now.hour() + 7) % 24;
        if last != Some(today) && local_hour >= digest_hour {
            let pools = pools.clone();
            match tokio::task::spawn_blocking(move || send_digests(&pools, today)).await {
                Ok(Ok(n)) => {
                    tracing::info!(queued = n, "officer digests queued");
                    last = Some(today);
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "officer digests failed"),
                Err(e) => tracing::warn!(error = %e, "officer digest task failed"),
            }
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(300)) => {}
            _ = shutdown.changed() => {}
        }
    }
}

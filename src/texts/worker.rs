//! The text worker: claims due SMS and Zalo rows of the outbox, keeps each tenant within its
//! monthly quota and per-minute rate, renders, sends through the configured provider and
//! records the outcome — a batch at a time, so the database costs a few statements per batch
//! rather than per text. Runs on its own thread with its own small runtime, because the HTTP
//! client (awc) is single-threaded.

use super::outbox::{self as texts_outbox, Accepted};
use super::provider::{
    AnyProvider, BrandnameGateway, Outgoing, Sandbox, TextProvider, ZaloNotifications, http_client,
};
use super::templates::{TextRenderer, TextRules};
use super::{Channel, MobileNumber};
use crate::config::{Settings, TextProviderKind, TextSettings};
use crate::db::PgPool;
use crate::db::schema::tenants;
use crate::locale::Locale;
use crate::mail::TemplateKey;
use crate::mail::backoff::{Next, after_failure};
use crate::mail::outbox::{self, Claimed};
use crate::mail::transport::SendFailure;
use crate::tenancy::Plan;
use diesel::prelude::*;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, watch};
use uuid::Uuid;

/// Claim-send-record loops per worker; `texts.concurrency` is shared among them.
const LANES: usize = 4;

/// What the worker needs to know of a tenant.
#[derive(Debug, Clone)]
struct TenantTexts {
    sender: Option<String>,
    plan: Plan,
}

/// What happens to one claimed row.
#[derive(Debug)]
enum Outcome {
    Sent(Accepted),
    Failed(SendFailure),
    /// Not attempted (rate limit, shutdown): give it back to be due after the wait.
    Released(Duration),
    /// No longer this worker's row.
    Lost,
}

pub struct TextWorker {
    id: String,
    pool: PgPool,
    db_url: String,
    settings: TextSettings,
    renderer: TextRenderer,
    redis: Option<crate::redis_conn::Redis>,
    redis_prefix: String,
    /// Where providers send delivery reports, when reports are on.
    callback_base: Option<String>,
}

impl TextWorker {
    pub fn new(settings: &Settings, pool: PgPool) -> Self {
        let redis = redis::Client::open(settings.redis.url.as_str())
            .ok()
            .map(crate::redis_conn::Redis::new);
        let callback_base = settings.texts.report_token.as_ref().map(|token| {
            use secrecy::ExposeSecret;
            format!(
                "{}/hooks/texts/sms/{}",
                settings.auth.issuer.trim_end_matches('/'),
                token.expose_secret()
            )
        });
        Self {
            id: format!("texts-{}", &Uuid::new_v4().simple().to_string()[..12]),
            pool,
            db_url: settings.database.url.clone(),
            settings: settings.texts.clone(),
            renderer: TextRenderer::new(),
            redis,
            redis_prefix: settings.redis.prefix.clone(),
            callback_base,
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Starts the worker thread; it finishes the batch in hand and stops when `shutdown`
    /// turns true.
    pub fn spawn(self, shutdown: watch::Receiver<bool>) -> std::thread::JoinHandle<()> {
        std::thread::Builder::new()
            .name("dvc-texts".into())
            .spawn(move || {
                actix_web::rt::System::new().block_on(self.run(shutdown));
            })
            .expect("spawn text worker thread")
    }

    fn providers(&self) -> (AnyProvider, AnyProvider) {
        let t = &self.settings;
        match t.provider {
            TextProviderKind::Sandbox => (
                AnyProvider::Sandbox(Sandbox {
                    dir: t.sandbox_dir.clone(),
                }),
                AnyProvider::Sandbox(Sandbox {
                    dir: t.sandbox_dir.clone(),
                }),
            ),
            TextProviderKind::Http => (
                AnyProvider::Gateway(BrandnameGateway {
                    client: http_client(),
                    url: t.sms_url.clone().unwrap_or_default(),
                    api_key: t.sms_api_key.clone(),
                    secret_key: t.sms_secret_key.clone(),
                    callback_url: self.callback_base.clone(),
                }),
                AnyProvider::Zalo(ZaloNotifications {
                    client: http_client(),
                    url: t.zalo_url.clone().unwrap_or_default(),
                    access_token: t.zalo_access_token.clone(),
                }),
            ),
        }
    }

    async fn run(self, shutdown: watch::Receiver<bool>) {
        let (sms, zalo) = self.providers();
        let wake = Arc::new(Notify::new());
        let stop_listener = Arc::new(AtomicBool::new(false));
        let listener = crate::mail::worker::spawn_listener(
            self.db_url.clone(),
            wake.clone(),
            stop_listener.clone(),
        );
        tracing::info!(worker = %self.id, "text worker started");
        futures_util::future::join_all(
            (0..LANES).map(|_| self.lane(&sms, &zalo, &wake, shutdown.clone())),
        )
        .await;
        stop_listener.store(true, Ordering::Relaxed);
        let _ = tokio::task::spawn_blocking(move || listener.join()).await;
        tracing::info!(worker = %self.id, "text worker stopped");
    }

    /// One claim-send-record loop. Several run side by side, so one lane's database work
    /// (claiming, recording) overlaps the others' sends instead of stalling them.
    async fn lane(
        &self,
        sms: &AnyProvider,
        zalo: &AnyProvider,
        wake: &Notify,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let poll = Duration::from_secs(self.settings.poll_interval_secs.max(1));
        while !*shutdown.borrow() {
            let batch = match self.claim().await {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming texts failed");
                    Vec::new()
                }
            };
            if batch.is_empty() {
                tokio::select! {
                    () = wake.notified() => {}
                    () = tokio::time::sleep(poll) => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            // A full batch means more may wait: wake another lane to take them.
            if batch.len() >= self.settings.batch_size.max(1) as usize {
                wake.notify_one();
            }
            if let Err(e) = self.process(batch, sms, zalo, &shutdown).await {
                // The rows stay leased and come due again when the lease runs out.
                tracing::warn!(error = %e, "a batch of texts was not finished");
            }
        }
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut PgConnection) -> QueryResult<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        crate::db::blocking(&self.pool, f).await
    }

    fn lease(&self) -> Duration {
        Duration::from_secs(self.settings.lease_secs.max(1))
    }

    async fn claim(&self) -> anyhow::Result<Vec<Claimed>> {
        let (id, limit, lease) = (
            self.id.clone(),
            self.settings.batch_size.max(1),
            self.lease(),
        );
        self.blocking(move |c| outbox::claim(c, &id, &Channel::TEXTS, limit, lease))
            .await
    }

    async fn process(
        &self,
        batch: Vec<Claimed>,
        sms: &AnyProvider,
        zalo: &AnyProvider,
        shutdown: &watch::Receiver<bool>,
    ) -> anyhow::Result<()> {
        let tenant_ids: Vec<Uuid> = {
            let mut ids: Vec<Uuid> = batch.iter().filter_map(|r| r.tenant_id).collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        let since = month_start(chrono::Utc::now());
        let ids = tenant_ids.clone();
        let (tenants, sent) = self
            .blocking(move |c| {
                Ok((
                    load_tenants(c, &ids)?,
                    texts_outbox::sent_since(c, &ids, since)?,
                ))
            })
            .await?;
        let mut left: HashMap<Uuid, i64> = HashMap::new();
        for (id, t) in &tenants {
            if let Some(quota) = t.plan.texts_per_month {
                let used = sent.iter().find(|(t, _)| t == id).map_or(0, |(_, n)| *n);
                left.insert(*id, i64::from(quota) - used);
            }
        }
        let allowed = self.within_rate(&batch, &tenants).await;

        let mut outcomes: Vec<(Claimed, Outcome)> = Vec::with_capacity(batch.len());
        let mut ready: Vec<(Claimed, Outgoing, i16)> = Vec::new();
        for row in batch {
            if *shutdown.borrow() {
                outcomes.push((row, Outcome::Released(Duration::ZERO)));
                continue;
            }
            if let Some(wait) = allowed.get(&row.id).copied().flatten() {
                outcomes.push((row, Outcome::Released(wait)));
                continue;
            }
            if let Some(n) = row.tenant_id.and_then(|t| left.get_mut(&t)) {
                if *n <= 0 {
                    let e = "hạn mức tin nhắn trong tháng đã hết / monthly text quota reached";
                    outcomes.push((row, Outcome::Failed(SendFailure::Permanent(e.into()))));
                    continue;
                }
                *n -= 1;
            }
            let tenant = row.tenant_id.and_then(|t| tenants.get(&t));
            match self.compose(&row, tenant) {
                Ok((text, segments)) => ready.push((row, text, segments)),
                Err(e) => outcomes.push((row, Outcome::Failed(SendFailure::Permanent(e)))),
            }
        }

        // The claim just leased these rows. A row whose send starts after half the lease
        // (a slow provider ahead of it in the batch) renews its lease first: if another worker
        // took it meanwhile, it is not sent a second time.
        let (claimed, lease) = (std::time::Instant::now(), self.lease());
        let sends = futures_util::stream::iter(ready)
            .map(|(row, text, segments)| async move {
                if claimed.elapsed() > lease / 2 {
                    let (id, worker) = (row.id, self.id.clone());
                    let still_ours = self
                        .blocking(move |c| texts_outbox::renew(c, &[id], &worker, lease))
                        .await
                        .is_ok_and(|ids| ids == [id]);
                    if !still_ours {
                        return (row, Outcome::Lost);
                    }
                }
                let provider = if row.channel == Channel::Zalo {
                    zalo
                } else {
                    sms
                };
                let outcome = match provider.send(&text).await {
                    Ok(delivery_ref) => Outcome::Sent(Accepted {
                        id: row.id,
                        delivery_ref,
                        segments,
                    }),
                    Err(f) => Outcome::Failed(f),
                };
                (row, outcome)
            })
            .buffer_unordered((self.settings.concurrency / LANES).max(1))
            .collect::<Vec<_>>()
            .await;
        outcomes.extend(sends);
        self.record(outcomes).await
    }

    /// The rendered text (or Zalo values) for a row, or why it can never be sent.
    fn compose(
        &self,
        row: &Claimed,
        tenant: Option<&TenantTexts>,
    ) -> Result<(Outgoing, i16), String> {
        let key = TemplateKey::parse(&row.template)
            .ok_or_else(|| format!("unknown template `{}`", row.template))?;
        let locale = Locale::parse(&row.locale).unwrap_or_default();
        let to = MobileNumber::parse(&row.recipient).map_err(|e| e.to_string())?;
        let sender = tenant
            .and_then(|t| t.sender.clone())
            .unwrap_or_else(|| self.settings.default_sender.clone());
        let mut payload = row.payload.clone();
        if let Some(object) = payload.as_object_mut() {
            object
                .entry("sender")
                .or_insert_with(|| serde_json::Value::String(sender.clone()));
        }
        let mut text = Outgoing {
            id: row.id,
            channel: row.channel,
            to,
            sender,
            body: String::new(),
            encoding: super::encoding::Encoding::Gsm7,
            zalo_template: None,
            zalo_data: serde_json::Map::new(),
        };
        if row.channel == Channel::Zalo {
            text.zalo_template = Some(
                self.settings
                    .zalo_templates
                    .get(key.as_str())
                    .cloned()
                    .ok_or_else(|| {
                        format!("no Zalo template is configured for `{}`", key.as_str())
                    })?,
            );
            text.zalo_data = zalo_values(&payload);
            return Ok((text, 0));
        }
        let rules = TextRules {
            plain: self.settings.sms_plain,
            max_segments: usize::from(self.settings.sms_max_segments.clamp(1, 2)),
        };
        let rendered = self
            .renderer
            .render(key, locale, &payload, rules)
            .map_err(|e| e.to_string())?;
        text.body = rendered.body;
        text.encoding = rendered.encoding;
        Ok((text, rendered.segments as i16))
    }

    /// Per tenant and minute over every worker (a Redis counter): which rows of the batch must
    /// wait, and how long. While Redis is away the rate is not enforced: notices matter more.
    async fn within_rate(
        &self,
        batch: &[Claimed],
        tenants: &HashMap<Uuid, TenantTexts>,
    ) -> HashMap<i64, Option<Duration>> {
        let mut waits = HashMap::new();
        let Some(redis) = &self.redis else {
            return waits;
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let mut by_tenant: HashMap<Uuid, Vec<i64>> = HashMap::new();
        for row in batch {
            if let Some(t) = row.tenant_id {
                by_tenant.entry(t).or_default().push(row.id);
            }
        }
        let Ok(mut conn) = redis.conn().await else {
            tracing::warn!("text rate limit unavailable");
            return waits;
        };
        for (tenant, rows) in by_tenant {
            let limit = tenants
                .get(&tenant)
                .and_then(|t| t.plan.texts_per_minute)
                .unwrap_or(self.settings.per_tenant_per_minute);
            if limit == 0 {
                continue;
            }
            let key = format!("{}:{tenant}:text-rate:{}", self.redis_prefix, now / 60);
            let asked = rows.len() as u64;
            let counted: redis::RedisResult<(u64,)> = redis::pipe()
                .atomic()
                .incr(&key, asked)
                .expire(&key, 120)
                .ignore()
                .query_async(&mut conn)
                .await;
            let Ok((count,)) = counted else {
                continue;
            };
            let before = count - asked;
            let room = u64::from(limit).saturating_sub(before).min(asked) as usize;
            if room < rows.len() {
                let over = (rows.len() - room) as u64;
                // What will not go this minute is not counted against it.
                let _: redis::RedisResult<()> = redis::cmd("DECRBY")
                    .arg(&key)
                    .arg(over)
                    .query_async(&mut conn)
                    .await;
                let wait = Duration::from_secs(60 - now % 60 + 1);
                for id in &rows[room..] {
                    waits.insert(*id, Some(wait));
                }
            }
        }
        waits
    }

    /// Records a batch's outcomes: the sent in one statement (retried at once if it fails: until
    /// it is written, a crash means a second delivery), the rest one by one.
    async fn record(&self, outcomes: Vec<(Claimed, Outcome)>) -> anyhow::Result<()> {
        let mut sent = Vec::new();
        let mut released: HashMap<u64, Vec<i64>> = HashMap::new();
        let mut failed = Vec::new();
        for (row, outcome) in outcomes {
            match outcome {
                Outcome::Sent(a) => sent.push(a),
                Outcome::Released(wait) => released.entry(wait.as_secs()).or_default().push(row.id),
                Outcome::Failed(f) => failed.push((row, f)),
                Outcome::Lost => {}
            }
        }
        let worker = self.id.clone();
        let mut last = None;
        for wait in [0u64, 100, 500, 2000] {
            tokio::time::sleep(Duration::from_millis(wait)).await;
            let (w, s) = (worker.clone(), sent.clone());
            match self
                .blocking(move |c| texts_outbox::mark_sent(c, &w, &s))
                .await
            {
                Ok(_) => {
                    last = None;
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        if let Some(e) = last {
            tracing::error!(error = %e, texts = sent.len(), "recording sent texts failed");
        }
        for (secs, ids) in released {
            let w = worker.clone();
            self.blocking(move |c| outbox::release(c, &ids, &w, Duration::from_secs(secs)))
                .await?;
        }
        for (row, failure) in failed {
            let permanent = matches!(failure, SendFailure::Permanent(_));
            let error = failure.message().to_owned();
            let next = after_failure(
                permanent,
                row.attempts.max(0) as u32,
                self.settings.max_attempts,
                Duration::from_secs(self.settings.backoff_base_secs),
                Duration::from_secs(self.settings.backoff_max_secs),
                rand::random::<f64>(),
            );
            tracing::warn!(
                outbox_id = row.id,
                attempts = row.attempts,
                permanent,
                error,
                "text not sent"
            );
            let (id, w) = (row.id, worker.clone());
            match next {
                Next::Park => {
                    self.blocking(move |c| outbox::mark_failed(c, id, &w, &error))
                        .await?
                }
                Next::RetryIn(delay) => {
                    self.blocking(move |c| outbox::mark_retry(c, id, &w, &error, delay))
                        .await?
                }
            };
        }
        Ok(())
    }
}

/// Zalo template values: the payload's text and numbers as strings (ZNS takes strings).
fn zalo_values(payload: &serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    payload
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.as_str() != "secret")
        .filter_map(|(k, v)| {
            let s = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Array(items) => items
                    .iter()
                    .filter_map(|i| i.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                _ => return None,
            };
            Some((k.clone(), serde_json::Value::String(s)))
        })
        .collect()
}

/// The first instant of this month in Vietnam (UTC+7, no daylight saving), where quotas are
/// counted.
fn month_start(now: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    use chrono::Datelike;
    let vietnam = chrono::FixedOffset::east_opt(7 * 3600).expect("UTC+7");
    let local = now.with_timezone(&vietnam).date_naive();
    let first = local.with_day(1).unwrap_or(local);
    first
        .and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(vietnam).single())
        .map_or(now, |t| t.with_timezone(&chrono::Utc))
}

fn load_tenants(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<HashMap<Uuid, TenantTexts>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(Uuid, serde_json::Value, serde_json::Value)> = tenants::table
        .filter(tenants::id.eq_any(ids))
        .select((tenants::id, tenants::branding, tenants::plan))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, branding, plan)| {
            let sender = branding
                .get("sms_sender")
                .and_then(|s| s.as_str())
                .map(str::to_owned);
            let plan = serde_json::from_value(plan).unwrap_or_default();
            (id, TenantTexts { sender, plan })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quota_month_starts_at_midnight_in_vietnam() {
        let at = |s: &str| s.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
        // 30 Nov 18:00 UTC is already 1 December in Hà Nội.
        assert_eq!(
            month_start(at("2026-11-30T18:00:00Z")),
            at("2026-11-30T17:00:00Z")
        );
        assert_eq!(
            month_start(at("2026-12-15T08:00:00Z")),
            at("2026-11-30T17:00:00Z")
        );
    }

    #[test]
    fn zalo_values_are_strings() {
        let v = zalo_values(&serde_json::json!({"dossier_code": "X", "amount": 5,
            "missing": ["A", "B"], "pickup": true, "secret": {"k": 1}}));
        assert_eq!(v["dossier_code"], "X");
        assert_eq!(v["amount"], "5");
        assert_eq!(v["missing"], "A, B");
        assert!(!v.contains_key("pickup") && !v.contains_key("secret"));
    }
}

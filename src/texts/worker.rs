//! The text worker: locks due SMS and Zalo rows of the outbox a batch at a time, keeps each
//! tenant within its monthly quota and per-minute rate, renders, sends through the configured
//! provider and records the outcomes.
//!
//! It is a pipeline, so the provider never waits on the database: while `texts.concurrency`
//! sends are in flight, the next batch is already being locked and the last one recorded. A
//! batch's rows stay locked by its own transaction (held on a connection of the pool) from
//! the claim until its outcomes are written, so claiming writes nothing and each text costs
//! one row update. Runs on its own thread with its own small runtime, because the HTTP client
//! (awc) is single-threaded.

use super::outbox::{self as texts_outbox, DueText, Finish};
use super::provider::{
    AnyProvider, BrandnameGateway, Outgoing, Sandbox, TextProvider, ZaloNotifications, http_client,
};
use super::templates::{TextRenderer, TextRules};
use super::{Channel, MobileNumber};
use crate::config::{Settings, TextProviderKind, TextSettings};
use crate::db::{PgPool, PgPooled};
use crate::locale::Locale;
use crate::mail::TemplateKey;
use crate::mail::backoff::{Next, after_failure};
use crate::mail::transport::SendFailure;
use crate::tenancy::Plan;
use diesel::connection::SimpleConnection;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, watch};
use uuid::Uuid;

/// Batches open at once: one being locked, one being sent, one being recorded.
const OPEN_BATCHES: usize = 3;

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

/// A pooled connection inside the transaction that locks a batch. Dropped before its commit
/// (an error, a shutdown), it is not given back to the pool: the pool closes it, PostgreSQL
/// rolls the transaction back, and the batch's texts are due again at once.
struct Held {
    conn: PgPooled,
    in_transaction: bool,
}

impl Held {
    /// Opens the transaction on a connection of the pool.
    fn begin(pool: &PgPool) -> anyhow::Result<Self> {
        let mut conn = pool.get()?;
        conn.batch_execute("BEGIN")?;
        Ok(Self {
            conn,
            in_transaction: true,
        })
    }

    /// Commits; the connection goes back to the pool.
    fn commit(mut self) -> diesel::QueryResult<()> {
        self.conn.batch_execute("COMMIT")?;
        self.in_transaction = false;
        Ok(())
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if self.in_transaction {
            self.conn.mark_broken();
        }
    }
}

/// A batch the worker has locked: what is left to hear back from, and the outcomes so far.
struct Batch {
    held: Held,
    outstanding: usize,
    outcomes: Vec<(i64, Finish)>,
}

/// A text ready for the provider.
struct Ready {
    batch: u64,
    attempts: i32,
    text: Outgoing,
    segments: i16,
}

/// What a claim brought: the locked rows, their tenants' plans (read once per batch) and this
/// month's count for tenants with a quota.
struct Claim {
    held: Held,
    rows: Vec<DueText>,
    plans: HashMap<Uuid, Plan>,
    sent_this_month: Vec<(Uuid, i64)>,
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

    /// Starts the worker thread; it finishes the texts in hand and stops when `shutdown`
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

    async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let (sms, zalo) = self.providers();
        let wake = Arc::new(Notify::new());
        let stop_listener = Arc::new(AtomicBool::new(false));
        let listener = {
            let wake = wake.clone();
            crate::mail::worker::spawn_listener(
                self.db_url.clone(),
                crate::mail::outbox::NOTIFY_CHANNEL,
                move |_| wake.notify_one(),
                stop_listener.clone(),
            )
        };
        tracing::info!(worker = %self.id, "text worker started");
        let concurrency = self.settings.concurrency.max(1);
        // Claim the next batch while a batch's worth is still waiting to go: the provider
        // keeps busy while the database locks it.
        let low_water = concurrency.max(self.settings.batch_size as usize);
        let poll = Duration::from_secs(self.settings.poll_interval_secs.max(1));
        let mut batches: HashMap<u64, Batch> = HashMap::new();
        let mut next_batch = 0u64;
        let mut ready: VecDeque<Ready> = VecDeque::new();
        let mut sending = FuturesUnordered::new();
        let mut recording = FuturesUnordered::new();
        let mut claiming = None;
        // The last claim found nothing (or failed): wait for a notification or the poll.
        let mut drained = false;
        let mut stopping = *shutdown.borrow();
        loop {
            if stopping {
                // What was not handed to the provider yet goes back untried.
                while let Some(r) = ready.pop_front() {
                    let outcome = Finish::Released {
                        delay: Duration::ZERO,
                    };
                    if let Some(done) = settle(&mut batches, r.batch, r.text.id, outcome) {
                        recording.push(self.record(done));
                    }
                }
            }
            while sending.len() < concurrency {
                let Some(r) = ready.pop_front() else { break };
                sending.push(self.send(r, &sms, &zalo));
            }
            if !stopping
                && !drained
                && claiming.is_none()
                && ready.len() < low_water
                && batches.len() < OPEN_BATCHES
            {
                claiming = Some(Box::pin(self.claim()));
            }
            if stopping
                && claiming.is_none()
                && sending.is_empty()
                && recording.is_empty()
                && batches.is_empty()
            {
                break;
            }
            tokio::select! {
                Some((batch, id, outcome)) = sending.next(), if !sending.is_empty() => {
                    if let Some(done) = settle(&mut batches, batch, id, outcome) {
                        recording.push(self.record(done));
                    }
                }
                claimed = async { claiming.as_mut().expect("a claim in flight").await },
                    if claiming.is_some() =>
                {
                    claiming = None;
                    match claimed {
                        Ok(Some(claim)) => {
                            drained = claim.rows.len() < self.settings.batch_size.max(1) as usize;
                            next_batch += 1;
                            let batch = self.prepare(next_batch, claim, &mut ready).await;
                            if batch.outstanding == 0 {
                                recording.push(self.record(batch));
                            } else {
                                batches.insert(next_batch, batch);
                            }
                        }
                        Ok(None) => drained = true,
                        Err(e) => {
                            tracing::warn!(error = %e, "claiming texts failed");
                            drained = true;
                        }
                    }
                }
                Some(()) = recording.next(), if !recording.is_empty() => {}
                () = wake.notified(), if drained && !stopping => drained = false,
                () = tokio::time::sleep(poll), if drained && !stopping => drained = false,
                changed = shutdown.changed(), if !stopping => {
                    stopping = changed.is_err() || *shutdown.borrow();
                }
            }
        }
        stop_listener.store(true, Ordering::Relaxed);
        let _ = tokio::task::spawn_blocking(move || listener.join()).await;
        tracing::info!(worker = %self.id, "text worker stopped");
    }

    /// Locks the next batch in a transaction that stays open; `None` when nothing is due.
    async fn claim(&self) -> anyhow::Result<Option<Claim>> {
        let (pool, limit) = (self.pool.clone(), self.settings.batch_size.max(1));
        tokio::task::spawn_blocking(move || {
            let mut held = Held::begin(&pool)?;
            let rows = texts_outbox::lock_due(&mut held.conn, limit)?;
            if rows.is_empty() {
                held.commit()?;
                return Ok(None);
            }
            let plans = plans_of(&rows);
            let quota_tenants: Vec<Uuid> = plans
                .iter()
                .filter(|(_, plan)| plan.texts_per_month.is_some())
                .map(|(tenant, _)| *tenant)
                .collect();
            let sent_this_month = if quota_tenants.is_empty() {
                Vec::new()
            } else {
                let since = month_start(chrono::Utc::now());
                texts_outbox::sent_since(&mut held.conn, &quota_tenants, since)?
            };
            Ok(Some(Claim {
                held,
                rows,
                plans,
                sent_this_month,
            }))
        })
        .await?
    }

    /// Decides each claimed text: over quota (parked), over the rate (back later), cannot be
    /// composed (parked), or ready for the provider.
    async fn prepare(&self, id: u64, claim: Claim, ready: &mut VecDeque<Ready>) -> Batch {
        let Claim {
            held,
            rows,
            plans,
            sent_this_month,
        } = claim;
        let mut left: HashMap<Uuid, i64> = HashMap::new();
        for (tenant, plan) in &plans {
            if let Some(quota) = plan.texts_per_month {
                let used = sent_this_month
                    .iter()
                    .find(|(t, _)| t == tenant)
                    .map_or(0, |(_, n)| *n);
                left.insert(*tenant, i64::from(quota) - used);
            }
        }
        let waits = self.within_rate(&rows, &plans).await;
        let mut batch = Batch {
            held,
            outstanding: 0,
            outcomes: Vec::new(),
        };
        for row in rows {
            if let Some(wait) = waits.get(&row.id) {
                let outcome = Finish::Released { delay: *wait };
                batch.outcomes.push((row.id, outcome));
                continue;
            }
            if let Some(n) = row.tenant_id.and_then(|t| left.get_mut(&t)) {
                if *n <= 0 {
                    let error =
                        "hạn mức tin nhắn trong tháng đã hết / monthly text quota reached".into();
                    batch.outcomes.push((row.id, Finish::Parked { error }));
                    continue;
                }
                *n -= 1;
            }
            match self.compose(&row) {
                Ok((text, segments)) => {
                    batch.outstanding += 1;
                    ready.push_back(Ready {
                        batch: id,
                        attempts: row.attempts,
                        text,
                        segments,
                    });
                }
                Err(error) => {
                    tracing::warn!(outbox_id = row.id, error, "text cannot be sent");
                    batch.outcomes.push((row.id, Finish::Parked { error }));
                }
            }
        }
        batch
    }

    async fn send(&self, r: Ready, sms: &AnyProvider, zalo: &AnyProvider) -> (u64, i64, Finish) {
        let provider = if r.text.channel == Channel::Zalo {
            zalo
        } else {
            sms
        };
        let outcome = match provider.send(&r.text).await {
            Ok(reference) => Finish::Sent {
                reference,
                segments: r.segments,
            },
            Err(failure) => self.after(failure, r.text.id, r.attempts),
        };
        (r.batch, r.text.id, outcome)
    }

    /// A failed send: tried again later, or parked once it has had its attempts.
    fn after(&self, failure: SendFailure, id: i64, attempts_before: i32) -> Finish {
        let permanent = matches!(failure, SendFailure::Permanent(_));
        let error = failure.message().to_owned();
        let attempt = attempts_before.max(0) as u32 + 1;
        tracing::warn!(outbox_id = id, attempt, permanent, error, "text not sent");
        match after_failure(
            permanent,
            attempt,
            self.settings.max_attempts,
            Duration::from_secs(self.settings.backoff_base_secs),
            Duration::from_secs(self.settings.backoff_max_secs),
            rand::random::<f64>(),
        ) {
            Next::Park => Finish::Parked { error },
            Next::RetryIn(delay) => Finish::Retry { delay, error },
        }
    }

    /// Writes a finished batch's outcomes and commits, which also unlocks its rows. If that
    /// fails the transaction is gone (and the rows with it are due again), so the outcomes
    /// are written again outside it, a few times: until they are, a text the provider took
    /// may be sent a second time (the gateway sees the same `RequestId`).
    async fn record(&self, batch: Batch) {
        let Batch {
            mut held, outcomes, ..
        } = batch;
        let outcomes = Arc::new(outcomes);
        let mine = outcomes.clone();
        let committed = tokio::task::spawn_blocking(move || {
            texts_outbox::finish(&mut held.conn, &mine)?;
            held.commit()
        })
        .await;
        let mut last = match committed {
            Ok(Ok(())) => return,
            Ok(Err(e)) => e.to_string(),
            Err(e) => e.to_string(),
        };
        for wait in [100u64, 500, 2000] {
            tokio::time::sleep(Duration::from_millis(wait)).await;
            let again = outcomes.clone();
            match crate::db::blocking(&self.pool, move |c| texts_outbox::finish(c, &again)).await {
                Ok(_) => return,
                Err(e) => last = e.to_string(),
            }
        }
        tracing::error!(
            error = last,
            texts = outcomes.len(),
            "recording texts failed"
        );
    }

    /// The rendered text (or Zalo values) for a row, or why it can never be sent.
    fn compose(&self, row: &DueText) -> Result<(Outgoing, i16), String> {
        let key = TemplateKey::parse(&row.template)
            .ok_or_else(|| format!("unknown template `{}`", row.template))?;
        let locale = Locale::parse(&row.locale).unwrap_or_default();
        let to = MobileNumber::parse(&row.recipient).map_err(|e| e.to_string())?;
        let sender = row
            .sender
            .clone()
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
        batch: &[DueText],
        plans: &HashMap<Uuid, Plan>,
    ) -> HashMap<i64, Duration> {
        let mut waits = HashMap::new();
        let Some(redis) = &self.redis else {
            return waits;
        };
        let mut by_tenant: HashMap<Uuid, (u32, Vec<i64>)> = HashMap::new();
        for row in batch {
            if let Some(t) = row.tenant_id {
                let limit = plans
                    .get(&t)
                    .and_then(|p| p.texts_per_minute)
                    .unwrap_or(self.settings.per_tenant_per_minute);
                if limit > 0 {
                    by_tenant
                        .entry(t)
                        .or_insert((limit, Vec::new()))
                        .1
                        .push(row.id);
                }
            }
        }
        if by_tenant.is_empty() {
            return waits;
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let Ok(mut conn) = redis.conn().await else {
            tracing::warn!("text rate limit unavailable");
            return waits;
        };
        for (tenant, (limit, rows)) in by_tenant {
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
                    waits.insert(*id, wait);
                }
            }
        }
        waits
    }
}

/// Notes a text's outcome in its batch; returns the batch once nothing of it is outstanding.
fn settle(batches: &mut HashMap<u64, Batch>, id: u64, row: i64, outcome: Finish) -> Option<Batch> {
    let batch = batches.get_mut(&id)?;
    batch.outcomes.push((row, outcome));
    batch.outstanding -= 1;
    if batch.outstanding == 0 {
        batches.remove(&id)
    } else {
        None
    }
}

/// Each tenant's plan as the claim read it, parsed once per tenant of the batch (a plan that
/// no longer parses counts as the default: no quota, the deployment's rate).
fn plans_of(rows: &[DueText]) -> HashMap<Uuid, Plan> {
    let mut plans = HashMap::new();
    for row in rows {
        if let Some(tenant) = row.tenant_id {
            plans.entry(tenant).or_insert_with(|| {
                row.plan
                    .clone()
                    .and_then(|p| serde_json::from_value(p).ok())
                    .unwrap_or_default()
            });
        }
    }
    plans
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

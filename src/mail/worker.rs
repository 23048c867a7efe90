//! The delivery worker: claims due outbox rows, renders them with the tenant's branding, sends
//! them over pooled SMTP, and records each outcome.
//!
//! It wakes on PostgreSQL `NOTIFY` (sent by the enqueuing transaction when it commits) and
//! polls as a fallback. Several workers on several machines share the work through
//! `FOR UPDATE SKIP LOCKED`; a worker that dies leaves leased rows that come due again when the
//! lease runs out.

use super::address::Email;
use super::backoff::{Next, after_failure};
use super::channel::Channel;
use super::outbox::{self, Claimed, NOTIFY_CHANNEL};
use super::templates::{Brand, Renderer, TemplateKey, TenantOverrides};
use super::transport::{self, SendFailure, Transport};
use crate::config::{MailSettings, RedisSettings, Settings};
use crate::db::PgPool;
use crate::db::schema::tenants;
use crate::locale::Locale;
use diesel::prelude::*;
use futures_util::StreamExt;
use lettre::Message;
use lettre::message::{Mailbox, MultiPart};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, watch};
use uuid::Uuid;

/// What the worker needs to know about a tenant to brand its mail.
#[derive(Debug, Clone)]
struct TenantMail {
    name_vi: String,
    name_en: Option<String>,
    branding: serde_json::Value,
    contact: serde_json::Value,
    overrides: TenantOverrides,
}

impl TenantMail {
    fn brand(&self, locale: Locale) -> Brand {
        let s =
            |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
        Brand {
            name: match locale {
                Locale::En => self.name_en.clone().unwrap_or_else(|| self.name_vi.clone()),
                Locale::Vi => self.name_vi.clone(),
            },
            primary_color: s(&self.branding, "primary_color").unwrap_or_default(),
            accent_color: s(&self.branding, "accent_color").unwrap_or_default(),
            contact_email: s(&self.contact, "email"),
            contact_phone: s(&self.contact, "phone"),
            address: s(&self.contact, "address"),
        }
        .with_default_colors()
    }
}

/// The result of one delivery attempt.
#[derive(Debug)]
enum Outcome {
    Sent(String),
    Failed(SendFailure),
    /// Not attempted (shutdown or rate limit): give the row back.
    Released(Duration),
    /// No longer this worker's row: another worker has it.
    Lost,
}

pub struct Worker {
    id: String,
    pool: PgPool,
    db_url: String,
    transport: Transport,
    renderer: Renderer,
    mail: MailSettings,
    from_domain: String,
    limiter: Option<RateLimiter>,
    dkim: Option<lettre::message::dkim::DkimConfig>,
}

/// DKIM signing for the `mail.from` domain, when configured.
fn dkim_config(
    mail: &MailSettings,
    domain: &str,
) -> anyhow::Result<Option<lettre::message::dkim::DkimConfig>> {
    use lettre::message::dkim::{
        DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm,
        DkimSigningKey,
    };
    use lettre::message::header::HeaderName;
    let (Some(selector), Some(path)) = (&mail.dkim_selector, &mail.dkim_private_key_file) else {
        return Ok(None);
    };
    let pem = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("mail.dkim_private_key_file {}: {e}", path.display()))?;
    let key = DkimSigningKey::new(&pem, DkimSigningAlgorithm::Rsa)
        .map_err(|e| anyhow::anyhow!("DKIM key {}: {e}", path.display()))?;
    let headers = ["From", "To", "Subject", "Date", "Message-ID"]
        .into_iter()
        .map(HeaderName::new_from_ascii_str)
        .collect();
    // Relaxed header canonicalization survives relays that refold headers.
    let canonicalization = DkimCanonicalization {
        header: DkimCanonicalizationType::Relaxed,
        body: DkimCanonicalizationType::Relaxed,
    };
    Ok(Some(DkimConfig::new(
        selector.clone(),
        domain.to_owned(),
        key,
        headers,
        canonicalization,
    )))
}

impl Worker {
    pub fn new(settings: &Settings, pool: PgPool) -> anyhow::Result<Self> {
        let from: lettre::Address = settings
            .mail
            .from
            .parse()
            .map_err(|e| anyhow::anyhow!("mail.from `{}`: {e}", settings.mail.from))?;
        Ok(Self {
            id: format!("worker-{}", &Uuid::new_v4().simple().to_string()[..12]),
            pool,
            db_url: settings.database.url.clone(),
            transport: transport::build(&settings.smtp)?,
            renderer: Renderer::new(),
            dkim: dkim_config(&settings.mail, from.domain())?,
            from_domain: from.domain().to_owned(),
            mail: settings.mail.clone(),
            limiter: RateLimiter::new(&settings.redis, settings.mail.per_tenant_per_minute),
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Runs until `shutdown` turns true; then finishes the messages in flight, gives back the
    /// rest of its claim, and returns.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let wake = Arc::new(Notify::new());
        let stop_listener = Arc::new(AtomicBool::new(false));
        let listener = {
            let wake = wake.clone();
            spawn_listener(
                self.db_url.clone(),
                NOTIFY_CHANNEL,
                move |_| wake.notify_one(),
                stop_listener.clone(),
            )
        };
        let poll = Duration::from_secs(self.mail.poll_interval_secs.max(1));
        tracing::info!(worker = %self.id, "mail worker started");
        while !*shutdown.borrow() {
            let batch = match self.claim().await {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming outbox rows failed");
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
            self.process(batch, &shutdown).await;
        }
        stop_listener.store(true, Ordering::Relaxed);
        let _ = tokio::task::spawn_blocking(move || listener.join()).await;
        tracing::info!(worker = %self.id, "mail worker stopped");
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut PgConnection) -> QueryResult<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        crate::db::blocking(&self.pool, f).await
    }

    async fn claim(&self) -> anyhow::Result<Vec<Claimed>> {
        let (id, limit) = (self.id.clone(), self.mail.batch_size.max(1));
        let lease = Duration::from_secs(self.mail.lease_secs.max(1));
        self.blocking(move |c| outbox::claim(c, &id, &[Channel::Email], limit, lease))
            .await
    }

    async fn process(&self, batch: Vec<Claimed>, shutdown: &watch::Receiver<bool>) {
        let tenant_ids: Vec<Uuid> = batch.iter().filter_map(|r| r.tenant_id).collect();
        let tenants = match self.blocking(move |c| load_tenants(c, &tenant_ids)).await {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, "loading tenant branding failed; retrying batch");
                let ids: Vec<i64> = batch.iter().map(|r| r.id).collect();
                let worker = self.id.clone();
                let _ = self
                    .blocking(move |c| outbox::release(c, &ids, &worker, Duration::from_secs(1)))
                    .await;
                return;
            }
        };
        futures_util::stream::iter(batch)
            .map(|row| {
                let tenant = row.tenant_id.and_then(|t| tenants.get(&t));
                async move {
                    let outcome = self.deliver(&row, tenant, shutdown).await;
                    self.record(row, outcome).await;
                }
            })
            .buffer_unordered(self.mail.concurrency.max(1))
            .collect::<Vec<()>>()
            .await;
    }

    async fn deliver(
        &self,
        row: &Claimed,
        tenant: Option<&TenantMail>,
        shutdown: &watch::Receiver<bool>,
    ) -> Outcome {
        if *shutdown.borrow() {
            return Outcome::Released(Duration::ZERO);
        }
        if let (Some(limiter), Some(tenant_id)) = (&self.limiter, row.tenant_id)
            && let Some(wait) = limiter.over_limit(tenant_id).await
        {
            return Outcome::Released(wait);
        }
        let message = match self.compose(row, tenant) {
            Ok(m) => m,
            Err(e) => return Outcome::Failed(SendFailure::Permanent(e)),
        };
        // Rows wait in the batch behind slow sends and rate limits; the claim's lease may have
        // run out meanwhile and another worker taken the row. Renew it, or leave it alone.
        let (id, worker) = (row.id, self.id.clone());
        let lease = Duration::from_secs(self.mail.lease_secs.max(1));
        match self
            .blocking(move |c| outbox::renew(c, id, &worker, lease))
            .await
        {
            Ok(true) => {}
            Ok(false) => return Outcome::Lost,
            Err(e) => {
                tracing::warn!(outbox_id = id, error = %e, "lease not renewed; not sending");
                return Outcome::Lost;
            }
        }
        let message_id = message
            .headers()
            .get_raw("Message-ID")
            .unwrap_or_default()
            .to_owned();
        match transport::send(&self.transport, message).await {
            Ok(()) => Outcome::Sent(message_id),
            Err(f) => Outcome::Failed(f),
        }
    }

    fn compose(&self, row: &Claimed, tenant: Option<&TenantMail>) -> Result<Message, String> {
        let key = TemplateKey::parse(&row.template)
            .ok_or_else(|| format!("unknown template `{}`", row.template))?;
        let locale = Locale::parse(&row.locale).unwrap_or_default();
        let recipient = Email::parse(&row.recipient).map_err(|e| e.to_string())?;
        let brand = tenant.map_or_else(|| Brand::platform(locale), |t| t.brand(locale));
        let custom = tenant
            .and_then(|t| t.overrides.get(key.as_str()))
            .and_then(|by_locale| by_locale.get(locale.as_str()));
        let rendered = self
            .renderer
            .render(key, locale, &brand, &row.payload, custom)
            .map_err(|e| e.to_string())?;
        let from_name = if tenant.is_some() {
            brand.name.clone()
        } else {
            self.mail.from_name.clone()
        };
        let from_address = self
            .mail
            .from
            .parse()
            .map_err(|e| format!("mail.from: {e}"))?;
        Message::builder()
            .from(Mailbox::new(Some(from_name), from_address))
            .to(Mailbox::new(None, recipient.address()))
            .subject(rendered.subject)
            // Stable per row: a receiver can tell a redelivery after a crash from a new mail.
            .message_id(Some(format!("<outbox-{}@{}>", row.id, self.from_domain)))
            .multipart(MultiPart::alternative_plain_html(
                rendered.text,
                rendered.html,
            ))
            .map(|mut message| {
                if let Some(dkim) = &self.dkim {
                    message.sign(dkim);
                }
                message
            })
            .map_err(|e| e.to_string())
    }

    /// The server said 250: until this is recorded, a crash means a second delivery, so a
    /// failed write is tried again at once rather than left to the lease.
    async fn record_sent(
        &self,
        id: i64,
        worker: String,
        message_id: String,
    ) -> anyhow::Result<usize> {
        let mut last = None;
        for wait in [0u64, 100, 500, 2000] {
            tokio::time::sleep(Duration::from_millis(wait)).await;
            let (w, m) = (worker.clone(), message_id.clone());
            match self
                .blocking(move |c| outbox::mark_sent(c, id, &w, &m))
                .await
            {
                Ok(n) => return Ok(n),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("mark_sent not attempted")))
    }

    async fn record(&self, row: Claimed, outcome: Outcome) {
        let worker = self.id.clone();
        let id = row.id;
        let result = match outcome {
            Outcome::Sent(message_id) => self.record_sent(id, worker, message_id).await,
            Outcome::Lost => Ok(0),
            Outcome::Released(delay) => {
                self.blocking(move |c| outbox::release(c, &[id], &worker, delay))
                    .await
            }
            Outcome::Failed(failure) => {
                let permanent = matches!(failure, SendFailure::Permanent(_));
                let error = failure.message().to_owned();
                let next = after_failure(
                    permanent,
                    row.attempts.max(0) as u32,
                    self.mail.max_attempts,
                    Duration::from_secs(self.mail.backoff_base_secs),
                    Duration::from_secs(self.mail.backoff_max_secs),
                    rand::random::<f64>(),
                );
                tracing::warn!(
                    outbox_id = id,
                    attempts = row.attempts,
                    permanent,
                    error,
                    "mail not sent"
                );
                match next {
                    Next::Park => {
                        self.blocking(move |c| outbox::mark_failed(c, id, &worker, &error))
                            .await
                    }
                    Next::RetryIn(delay) => {
                        self.blocking(move |c| outbox::mark_retry(c, id, &worker, &error, delay))
                            .await
                    }
                }
            }
        };
        if let Err(e) = result {
            // The lease will expire and the row will be tried again.
            tracing::error!(outbox_id = id, error = %e, "recording a mail outcome failed");
        }
    }
}

fn load_tenants(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<HashMap<Uuid, TenantMail>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(
        Uuid,
        String,
        Option<String>,
        serde_json::Value,
        serde_json::Value,
        serde_json::Value,
    )> = tenants::table
        .filter(tenants::id.eq_any(ids))
        .select((
            tenants::id,
            tenants::name_vi,
            tenants::name_en,
            tenants::branding,
            tenants::contact,
            tenants::mail_templates,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, name_vi, name_en, branding, contact, templates)| {
            let overrides = serde_json::from_value(templates).unwrap_or_else(|e| {
                tracing::warn!(tenant_id = %id, error = %e, "ignoring unreadable mail overrides");
                TenantOverrides::new()
            });
            (
                id,
                TenantMail {
                    name_vi,
                    name_en,
                    branding,
                    contact,
                    overrides,
                },
            )
        })
        .collect())
}

/// What a `LISTEN` connection heard.
pub enum Heard<'a> {
    /// A notification, with its payload.
    Payload(&'a str),
    /// The subscription is new (at start, or after the connection was lost): notifications
    /// sent meanwhile were missed, so look at everything once.
    Subscribed,
}

/// A thread holding a `LISTEN` connection on `channel`, telling `on` what it hears. diesel
/// offers no blocking wait, so it checks the socket every 50 ms (a local, non-blocking read).
pub(crate) fn spawn_listener(
    url: String,
    channel: &'static str,
    on: impl Fn(Heard<'_>) + Send + 'static,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        use diesel::connection::SimpleConnection;
        while !stop.load(Ordering::Relaxed) {
            let conn = PgConnection::establish(&url).and_then(|mut c| {
                c.batch_execute(&format!("LISTEN {channel}"))
                    .map_err(|e| ConnectionError::BadConnection(e.to_string()))?;
                Ok(c)
            });
            let mut conn = match conn {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, channel, "LISTEN connection failed; polling meanwhile");
                    std::thread::sleep(Duration::from_secs(1));
                    continue;
                }
            };
            on(Heard::Subscribed);
            'listen: while !stop.load(Ordering::Relaxed) {
                for n in conn.notifications_iter() {
                    match n {
                        Ok(n) => on(Heard::Payload(&n.payload)),
                        Err(_) => break 'listen,
                    }
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    })
}

/// Per-tenant send rate, shared by every worker through Redis (a counter per tenant and
/// minute). If Redis is unreachable the limit is not enforced: mail matters more.
struct RateLimiter {
    redis: crate::redis_conn::Redis,
    prefix: String,
    per_minute: u32,
}

impl RateLimiter {
    fn new(settings: &RedisSettings, per_minute: u32) -> Option<Self> {
        if per_minute == 0 {
            return None;
        }
        Some(Self {
            redis: crate::redis_conn::Redis::new(redis::Client::open(settings.url.as_str()).ok()?),
            prefix: settings.prefix.clone(),
            per_minute,
        })
    }

    /// `Some(wait)` when the tenant has used up this minute.
    async fn over_limit(&self, tenant: Uuid) -> Option<Duration> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let minute = now / 60;
        let key = format!("{}:{tenant}:mail-rate:{minute}", self.prefix);
        let count: redis::RedisResult<u64> = async {
            let mut conn = self.redis.conn().await?;
            let (count,): (u64,) = redis::pipe()
                .atomic()
                .incr(&key, 1)
                .expire(&key, 120)
                .ignore()
                .query_async(&mut conn)
                .await?;
            Ok(count)
        }
        .await;
        match count {
            Ok(n) if n > u64::from(self.per_minute) => Some(Duration::from_secs(60 - now % 60 + 1)),
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(error = %e, "mail rate limit unavailable");
                None
            }
        }
    }
}

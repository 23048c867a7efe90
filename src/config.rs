//! Layered configuration: built-in defaults → `config/default.toml` → `config/{DVC_ENV}.toml`
//! → environment variables `DVC__SECTION__KEY`. Secrets come only from the environment.
//!
//! Secrets never print: they are [`SecretString`]s, whose `Debug` is a redaction and which are
//! read only through an explicit [`ExposeSecret::expose_secret`] (and never serialized). The
//! connection URLs stay text, but their `Debug` hides the password they may carry.
//!
//! (Long because it is one table: every setting with its default, its documentation and its
//! validation, kept together so `docs/configuration.md` has one place to follow.)

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub migrate: MigrateSettings,
    pub catalog: CatalogSettings,
    pub log: LogSettings,
    pub smtp: SmtpSettings,
    pub mail: MailSettings,
    pub texts: TextSettings,
    pub operator: OperatorSettings,
    pub auth: AuthSettings,
    pub dossiers: DossierSettings,
    pub sync: SyncSettings,
    pub payments: PaymentSettings,
    pub metrics: MetricsSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct MetricsSettings {
    /// Serve `/metrics` (Prometheus text format).
    pub enabled: bool,
    /// Tenants that get a label of their own; requests of the others count as `other`.
    pub max_tenant_labels: usize,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            max_tenant_labels: 200,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct PaymentSettings {
    /// Serve the sandbox gateway at `/sandbox/gateway` (never in production).
    pub sandbox: bool,
    /// A payment still pending this long after its intent is settled by a status query.
    pub query_after_secs: u64,
    /// How often the worker looks for such payments.
    pub reconcile_interval_secs: u64,
    /// An intent the gateway still has not seen decided after this long is cancelled.
    pub intent_ttl_secs: u64,
}

impl Default for PaymentSettings {
    fn default() -> Self {
        Self {
            sandbox: false,
            query_after_secs: 120,
            reconcile_interval_secs: 60,
            intent_ttl_secs: 1800,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DossierSettings {
    /// Directory of the local-disk attachment store.
    pub storage_root: String,
    /// Largest submission (form plus every file), in MiB; each document has its own limit too.
    pub max_request_mb: u32,
    /// A dossier with at most this many working days left is "due soon".
    pub due_soon_days: u32,
    /// Public status lookups per client address and minute.
    pub lookup_per_minute: u32,
    /// Local hour (Vietnam time, 0–23) after which the worker mails each officer the day's
    /// overdue digest (once a day, whatever the number of workers).
    pub digest_hour: u32,
    /// This instance delivers inter-agency transfers: right after the action that queued
    /// one, and in a sweep every `transfer_sweep_seconds` (for those a crash left pending).
    pub transfers_in_process: bool,
    pub transfer_sweep_seconds: u64,
}

impl Default for DossierSettings {
    fn default() -> Self {
        Self {
            storage_root: "var/attachments".into(),
            max_request_mb: 50,
            due_soon_days: 2,
            lookup_per_minute: 10,
            digest_hour: 7,
            transfers_in_process: true,
            transfer_sweep_seconds: 10,
        }
    }
}

/// Upward sync: dossier events pushed to parent tenants and the national portal.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SyncSettings {
    /// Secret from which each tenant's webhook signing key is derived
    /// (`DVC__SYNC__SECRET`, environment only). Unset: no events are queued.
    #[serde(skip_serializing)]
    pub secret: Option<SecretString>,
    /// Where this deployment's own tenants receive events (default: `auth.issuer`).
    pub receiver_base: Option<String>,
    /// The national portal's receiving endpoint, if this deployment reports to it.
    pub national_url: Option<String>,
    /// Its shared secret (`DVC__SYNC__NATIONAL_SECRET`).
    #[serde(skip_serializing)]
    pub national_secret: Option<SecretString>,
    /// Signed events older (or newer) than this are refused as replays.
    pub replay_window_secs: u64,
    /// Delivery attempts before an event is parked as failed.
    pub max_attempts: u32,
    /// Longest wait between two attempts (the wait doubles from one second).
    pub max_backoff_secs: u64,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            secret: None,
            receiver_base: None,
            national_url: None,
            national_secret: None,
            replay_window_secs: 300,
            max_attempts: 12,
            max_backoff_secs: 600,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthSettings {
    /// Issuer of tokens (`iss`): the public URL of the auth host.
    pub issuer: String,
    /// Base64 of 32 random bytes that encrypt the signing keys at rest
    /// (`DVC__AUTH__MASTER_KEY`, environment only). Without it dvc can verify but not sign.
    #[serde(skip_serializing)]
    pub master_key: Option<SecretString>,
    pub access_token_ttl_secs: u64,
    /// Sign-ups, reset requests and token uses per client address and minute (offices and
    /// mobile networks put many people behind one address, so not too low).
    pub per_ip_per_minute: u32,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            issuer: "http://localhost:8080".into(),
            master_key: None,
            access_token_ttl_secs: 600,
            per_ip_per_minute: 30,
        }
    }
}

/// Platform operators' API access until single sign-on carries the operator role.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct OperatorSettings {
    /// Hex SHA-256 of the operator API token (`DVC__OPERATOR__API_TOKEN_SHA256`); the API
    /// under `/api/v1/operator` is off while this is unset.
    ///
    /// Plain text, not a [`SecretString`]: a digest is what may be shown (it is what the
    /// operator writes down, computed with `sha256sum`), and it opens nothing by itself — the
    /// API hashes the bearer token it receives. A random token cannot be guessed back from it.
    pub api_token_sha256: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain SMTP: only for a local server.
    None,
    /// STARTTLS required.
    Starttls,
    /// Implicit TLS (SMTPS, usually port 465).
    Tls,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    /// From the environment only (`DVC__SMTP__USERNAME`).
    pub username: Option<String>,
    /// From the environment only (`DVC__SMTP__PASSWORD`).
    #[serde(skip_serializing)]
    pub password: Option<SecretString>,
    pub timeout_secs: u64,
    /// Pooled SMTP connections per worker.
    pub pool_size: u32,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 1025,
            tls: SmtpTls::None,
            username: None,
            password: None,
            timeout_secs: 15,
            pool_size: 4,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct MailSettings {
    /// Sender address; the display name is the tenant's.
    pub from: String,
    /// Display name when a message belongs to no tenant.
    pub from_name: String,
    /// Attempts before a row is parked as failed.
    pub max_attempts: u32,
    pub backoff_base_secs: u64,
    pub backoff_max_secs: u64,
    /// Rows claimed at once.
    pub batch_size: u32,
    /// Messages in flight at once.
    pub concurrency: usize,
    /// A claimed row not finished within this is claimed again (its worker died).
    pub lease_secs: u64,
    /// Polling interval when no notification arrives.
    pub poll_interval_secs: u64,
    /// Messages per tenant per minute; the rest wait for the next minute.
    pub per_tenant_per_minute: u32,
    /// Also run the worker inside `dvc serve`.
    pub worker_in_process: bool,
    /// DKIM selector; signing is on when this and `dkim_private_key_file` are set.
    pub dkim_selector: Option<String>,
    /// PEM file (PKCS#1 RSA) with the DKIM private key, mounted from a secret.
    pub dkim_private_key_file: Option<std::path::PathBuf>,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            from: "no-reply@dichvucong.localhost".into(),
            from_name: "Cổng Dịch vụ công trực tuyến".into(),
            max_attempts: 8,
            backoff_base_secs: 5,
            backoff_max_secs: 3600,
            batch_size: 32,
            concurrency: 8,
            lease_secs: 120,
            poll_interval_secs: 5,
            per_tenant_per_minute: 600,
            worker_in_process: false,
            dkim_selector: None,
            dkim_private_key_file: None,
        }
    }
}

/// Which service sends text messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextProviderKind {
    /// Texts are written as JSON files under `texts.sandbox_dir`; nothing leaves the machine.
    Sandbox,
    /// A brandname SMS gateway over HTTP (`texts.sms_url`), and Zalo's notification API
    /// (`texts.zalo_url`) when Zalo templates are configured.
    Http,
}

/// Text messages (SMS brandname and Zalo notifications), sent from the same outbox as mail.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct TextSettings {
    /// Queue texts at all. Off (the default, until a provider is configured): applicants are
    /// told by mail only, and a complaint needs an e-mail.
    pub enabled: bool,
    pub provider: TextProviderKind,
    /// Where the sandbox provider writes what it would send.
    pub sandbox_dir: PathBuf,
    /// The brandname gateway's send endpoint.
    pub sms_url: Option<String>,
    /// Its API key and secret (`DVC__TEXTS__SMS_API_KEY`, `DVC__TEXTS__SMS_SECRET_KEY`).
    #[serde(skip_serializing)]
    pub sms_api_key: Option<SecretString>,
    #[serde(skip_serializing)]
    pub sms_secret_key: Option<SecretString>,
    /// The gateway takes only the GSM alphabet: Vietnamese is sent without diacritics.
    pub sms_plain: bool,
    /// The most segments one SMS may take (1 or 2); a longer text is shortened or refused.
    pub sms_max_segments: u8,
    /// Sender name when the tenant has registered none (`[branding] sms_sender`).
    pub default_sender: String,
    /// Zalo's notification (ZNS) endpoint and access token (`DVC__TEXTS__ZALO_ACCESS_TOKEN`).
    pub zalo_url: Option<String>,
    #[serde(skip_serializing)]
    pub zalo_access_token: Option<SecretString>,
    /// Zalo template id per message (`dossier_received = "231245"`): a message without one
    /// is not sent on Zalo.
    pub zalo_templates: std::collections::BTreeMap<String, String>,
    /// The token providers put in the delivery-report URL
    /// (`/hooks/texts/{channel}/{token}`, `DVC__TEXTS__REPORT_TOKEN`). Unset: reports refused.
    #[serde(skip_serializing)]
    pub report_token: Option<SecretString>,
    /// Texts per tenant per minute over every worker, unless the tenant's plan says otherwise.
    pub per_tenant_per_minute: u32,
    pub max_attempts: u32,
    pub backoff_base_secs: u64,
    pub backoff_max_secs: u64,
    pub batch_size: u32,
    /// Texts in flight at once.
    pub concurrency: usize,
    pub poll_interval_secs: u64,
}

impl Default for TextSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            provider: TextProviderKind::Sandbox,
            sandbox_dir: "var/texts".into(),
            sms_url: None,
            sms_api_key: None,
            sms_secret_key: None,
            sms_plain: true,
            sms_max_segments: 2,
            default_sender: "DICHVUCONG".into(),
            zalo_url: None,
            zalo_access_token: None,
            zalo_templates: std::collections::BTreeMap::new(),
            report_token: None,
            per_tenant_per_minute: 300,
            max_attempts: 8,
            backoff_base_secs: 5,
            backoff_max_secs: 3600,
            batch_size: 64,
            concurrency: 16,
            poll_interval_secs: 5,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    /// Tenants answer on `{slug}.{base_domain}` as well as on their own domains.
    pub base_domain: String,
    /// actix worker threads; 0 means one per core.
    pub workers: usize,
    pub shutdown_timeout_secs: u64,
    /// How tenant portals are reached from a browser; `{host}` is a tenant host. Used for the
    /// portals' OpenID Connect redirect URIs (e.g. `https://{host}` in production).
    pub public_origin: String,
    /// Proxies (CIDRs) whose `Forwarded` / `X-Forwarded-For` names the client: the ingress in
    /// front of dvc. Empty: the TCP peer is the client. A comma-separated list in the
    /// environment.
    #[serde(deserialize_with = "list_or_csv")]
    pub trusted_proxies: Vec<String>,
    /// `/metrics` is served on this port only, never on the public one; unset: no metrics.
    pub metrics_port: Option<u16>,
}

/// A list in a file, or `a,b,c` from an environment variable.
fn list_or_csv<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Form {
        List(Vec<String>),
        Text(String),
    }
    Ok(match Form::deserialize(d)? {
        Form::List(l) => l,
        Form::Text(t) => t
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

/// `Debug` by hand (below): the URLs may carry a password.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DatabaseSettings {
    pub url: String,
    /// Connections per process, shared by all shards.
    pub pool_size: u32,
    /// Tenants are spread over this many pools (tenant affinity), so each PostgreSQL backend
    /// caches only its shard's tenant schemas.
    pub pool_shards: usize,
    pub connect_timeout_secs: u64,
    /// Connections are recycled after this long: PostgreSQL backends keep a catalog cache
    /// for every schema they touched, which grows with the number of tenants.
    pub max_lifetime_secs: u64,
    /// Turn off for PgBouncer < 1.21 in transaction mode (no named prepared statements there).
    pub statement_cache: bool,
    /// A connection is closed after serving more tenants than this, which bounds the memory
    /// each PostgreSQL backend spends caching tenant schemas' catalog entries.
    pub max_tenants_per_connection: usize,
    /// A read replica for statistics (the shared counters); unset: the primary.
    pub read_url: Option<String>,
    /// How a tenant transaction writes the shared tables (dossier index, outboxes, counters).
    pub shared_writes: SharedWrites,
    /// In `relay` mode, how often the drainer looks at every tenant's relay (notifications
    /// bring each write within moments; this catches any sent while no drainer listened).
    pub relay_sweep_secs: u64,
}

/// `direct`: in the tenant's transaction (one PostgreSQL: one commit). `relay`: into the
/// tenant's own `shared_relay` table, applied to the shared tables by the worker moments
/// later (Citus: the tenant's transaction stays on its worker instead of a two-phase commit
/// with the coordinator). `auto`: `relay` when the database is a Citus coordinator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SharedWrites {
    #[default]
    Auto,
    Direct,
    Relay,
}

/// `Debug` by hand (below): the URL may carry a password.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RedisSettings {
    pub url: String,
    /// Prefix of every Redis key and channel this deployment uses.
    pub prefix: String,
}

// The connection URLs stay `String`s rather than secrets: every test, bench and tool points its
// settings at its own database by assigning one, and diesel, libpq and redis take them as text,
// so a wrapper would spread `expose_secret()` far for little. What must not happen is a password
// in debug output, so these two `Debug`s are written by hand and show each URL through
// `RedactedUrl`. They destructure `self`: a new field does not compile until it is shown here.

impl fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            url,
            pool_size,
            pool_shards,
            connect_timeout_secs,
            max_lifetime_secs,
            statement_cache,
            max_tenants_per_connection,
            read_url,
            shared_writes,
            relay_sweep_secs,
        } = self;
        f.debug_struct("DatabaseSettings")
            .field("url", &RedactedUrl(url))
            .field("pool_size", pool_size)
            .field("pool_shards", pool_shards)
            .field("connect_timeout_secs", connect_timeout_secs)
            .field("max_lifetime_secs", max_lifetime_secs)
            .field("statement_cache", statement_cache)
            .field("max_tenants_per_connection", max_tenants_per_connection)
            .field("read_url", &read_url.as_deref().map(RedactedUrl))
            .field("shared_writes", shared_writes)
            .field("relay_sweep_secs", relay_sweep_secs)
            .finish()
    }
}

impl fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { url, prefix } = self;
        f.debug_struct("RedisSettings")
            .field("url", &RedactedUrl(url))
            .field("prefix", prefix)
            .finish()
    }
}

/// A connection URL that prints without its password: the password of its authority and the
/// value of any query parameter named like one (libpq's `password`/`sslpassword`, redis's
/// `pass`) become `***`. Text that is not a URL (a libpq `key=value` string), or a URL with no
/// host to hold the mask, is not shown at all.
struct RedactedUrl<'a>(&'a str);

impl fmt::Debug for RedactedUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match redact_url(self.0) {
            Some(url) => fmt::Debug::fmt(url.as_str(), f),
            None => f.write_str("[redacted]"),
        }
    }
}

fn redact_url(raw: &str) -> Option<String> {
    const MASK: &str = "***";
    let names_secret = |key: &str| key.to_ascii_lowercase().contains("pass");
    let mut url = url::Url::parse(raw).ok()?;
    if url.password().is_some() {
        // Refused only where the URL has no host (`postgres://u:p@/db?host=/run/postgresql`).
        url.set_password(Some(MASK)).ok()?;
    }
    if url.query_pairs().any(|(key, _)| names_secret(&key)) {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(key, value)| {
                let value = if names_secret(&key) {
                    MASK.to_owned()
                } else {
                    value.into_owned()
                };
                (key.into_owned(), value)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    Some(url.into())
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct MigrateSettings {
    /// How many tenant schemas `dvc migrate` migrates at once.
    pub concurrency: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct CatalogSettings {
    /// Serve procedure catalogs from the in-process per-tenant cache.
    pub cache: bool,
    /// Tenants whose catalogs the cache keeps at most (the rarely visited are evicted).
    pub max_tenants: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LogSettings {
    /// `pretty` for people, `json` for log collectors.
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `dvc=debug,actix_web=info`.
    pub filter: String,
    /// OTLP/HTTP traces endpoint (e.g. `http://otel-collector:4318/v1/traces`); unset: no
    /// trace export.
    pub otlp_endpoint: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            server: ServerSettings::default(),
            database: DatabaseSettings::default(),
            redis: RedisSettings::default(),
            migrate: MigrateSettings { concurrency: 4 },
            catalog: CatalogSettings::default(),
            log: LogSettings::default(),
            smtp: SmtpSettings::default(),
            mail: MailSettings::default(),
            texts: TextSettings::default(),
            operator: OperatorSettings::default(),
            auth: AuthSettings::default(),
            dossiers: DossierSettings::default(),
            sync: SyncSettings::default(),
            payments: PaymentSettings::default(),
            metrics: MetricsSettings::default(),
        }
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8080,
            base_domain: "localhost".into(),
            workers: 0,
            shutdown_timeout_secs: 30,
            public_origin: "http://{host}:8080".into(),
            trusted_proxies: Vec::new(),
            metrics_port: Some(9464),
        }
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: "postgres://postgres:postgres@127.0.0.1:5432/dvc".into(),
            pool_size: 16,
            pool_shards: 4,
            connect_timeout_secs: 5,
            max_lifetime_secs: 1800,
            statement_cache: true,
            max_tenants_per_connection: 1000,
            read_url: None,
            shared_writes: SharedWrites::Auto,
            relay_sweep_secs: 300,
        }
    }
}

impl Default for RedisSettings {
    fn default() -> Self {
        Self {
            url: "redis://127.0.0.1:6379".into(),
            prefix: "dvc".into(),
        }
    }
}

impl Default for MigrateSettings {
    fn default() -> Self {
        Self { concurrency: 4 }
    }
}

impl Default for CatalogSettings {
    fn default() -> Self {
        Self {
            cache: true,
            max_tenants: 2_000,
        }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Pretty,
            filter: "info".into(),
            otlp_endpoint: None,
        }
    }
}

impl Settings {
    /// Loads the layers from `DVC_CONFIG_DIR` (default `config/`) and the process environment.
    pub fn load() -> Result<Self, config::ConfigError> {
        let dir = std::env::var_os("DVC_CONFIG_DIR")
            .map_or_else(|| PathBuf::from("config"), PathBuf::from);
        let env = std::env::var("DVC_ENV").unwrap_or_else(|_| "local".into());
        Self::load_from(&dir, &env)
    }

    pub fn load_from(dir: &std::path::Path, env: &str) -> Result<Self, config::ConfigError> {
        Self::load_layers(dir, env, environment(), &|var| std::env::var(var).ok())
    }

    /// [`Settings::load_from`] with the environment layer given (tests pass one built from a
    /// map rather than the process environment), and `raw` reading a variable as it is spelt.
    fn load_layers(
        dir: &std::path::Path,
        env: &str,
        environment: config::Environment,
        raw: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, config::ConfigError> {
        let mut builder = config::Config::builder()
            .add_source(config::Config::try_from(&Settings::default())?)
            .add_source(config::File::from(dir.join("default.toml")).required(false))
            .add_source(config::File::from(dir.join(format!("{env}.toml"))).required(false))
            .add_source(environment);
        // The environment layer reads values that look like numbers as numbers (`0123` would
        // arrive as `123`): secrets are taken again exactly as their variables spell them.
        for (var, key) in SECRET_VARIABLES {
            if let Some(value) = raw(var) {
                builder = builder.set_override(key, value)?;
            }
        }
        builder.build()?.try_deserialize::<Self>().and_then(|s| {
            s.validate()
                .map_err(|e| config::ConfigError::Message(e.to_string()))?;
            Ok(s)
        })
    }

    /// Checks what every command relies on (run by [`Settings::load_from`]): rate limits the
    /// shared limiter can express.
    pub fn validate(&self) -> Result<(), SettingError> {
        for (key, value) in [
            ("auth.per_ip_per_minute", self.auth.per_ip_per_minute),
            (
                "dossiers.lookup_per_minute",
                self.dossiers.lookup_per_minute,
            ),
        ] {
            check_per_minute(value).map_err(|problem| SettingError::new(key, problem))?;
        }
        if !(1..=2).contains(&self.texts.sms_max_segments) {
            return Err(SettingError::new(
                "texts.sms_max_segments",
                "must be 1 or 2: a text split further arrives in pieces on many handsets",
            ));
        }
        if self.texts.provider == TextProviderKind::Http && self.texts.sms_url.is_none() {
            return Err(SettingError::new(
                "texts.sms_url",
                "is required when texts.provider = \"http\"",
            ));
        }
        for (key, url) in [
            ("texts.sms_url", &self.texts.sms_url),
            ("texts.zalo_url", &self.texts.zalo_url),
        ] {
            if let Some(url) = url
                && !(url.starts_with("https://")
                    || url.starts_with("http://127.")
                    || url.starts_with("http://localhost"))
            {
                return Err(SettingError::new(
                    key,
                    "must be an https URL (or a loopback one for tests)",
                ));
            }
        }
        crate::client_addr::TrustedProxies::parse(&self.server.trusted_proxies)
            .map_err(|problem| SettingError::new("server.trusted_proxies", problem))?;
        if self
            .server
            .metrics_port
            .is_some_and(|p| p != 0 && p == self.server.port)
        {
            return Err(SettingError::new(
                "server.metrics_port",
                "must differ from server.port: metrics stay off the public listener",
            ));
        }
        Ok(())
    }

    /// Checks, before `dvc serve` starts, the secrets it cannot serve without: a missing or
    /// malformed one stops the process with one line naming the key and its environment
    /// variable, rather than a server answering 503 to every route that needs it.
    ///
    /// Only the `serve` command calls this: tests and tools that build a server from
    /// [`Settings::default`] may run without a master key.
    pub fn validate_for_serve(&self) -> Result<(), SettingError> {
        self.validate()?;
        match self
            .auth
            .master_key
            .as_ref()
            .map(|key| key.expose_secret().trim())
        {
            None | Some("") => {
                return Err(SettingError::new(
                    "auth.master_key",
                    "is not set: give it base64 of 32 random bytes (`openssl rand -base64 32`); \
                     without it no token can be signed and no payment made",
                ));
            }
            Some(key) => {
                use base64::Engine as _;
                let len = base64::engine::general_purpose::STANDARD
                    .decode(key)
                    .map_err(|_| SettingError::new("auth.master_key", "is not valid base64"))?
                    .len();
                if len != 32 {
                    return Err(SettingError::new(
                        "auth.master_key",
                        format!("must be base64 of exactly 32 bytes, not {len}"),
                    ));
                }
            }
        }
        if let Some(sha) = self.operator.api_token_sha256.as_deref() {
            let sha = sha.trim();
            if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(SettingError::new(
                    "operator.api_token_sha256",
                    "must be the token's SHA-256 as 64 hexadecimal digits \
                     (`printf %s \"$TOKEN\" | sha256sum`)",
                ));
            }
        }
        for (key, value) in [
            ("sync.secret", &self.sync.secret),
            ("sync.national_secret", &self.sync.national_secret),
        ] {
            if value
                .as_ref()
                .is_some_and(|v| v.expose_secret().trim().is_empty())
            {
                return Err(SettingError::new(
                    key,
                    "is empty: give it a value or unset it",
                ));
            }
        }
        if self.sync.national_url.is_some() && self.sync.national_secret.is_none() {
            return Err(SettingError::new(
                "sync.national_secret",
                "is not set, but sync.national_url is: events for the national portal \
                 could not be signed",
            ));
        }
        Ok(())
    }
}

/// The settings that hold secrets, with the variables that set them.
const SECRET_VARIABLES: [(&str, &str); 4] = [
    ("DVC__AUTH__MASTER_KEY", "auth.master_key"),
    ("DVC__SYNC__SECRET", "sync.secret"),
    ("DVC__SYNC__NATIONAL_SECRET", "sync.national_secret"),
    ("DVC__SMTP__PASSWORD", "smtp.password"),
];

/// The environment layer: `DVC__SECTION__KEY` variables.
fn environment() -> config::Environment {
    config::Environment::with_prefix("DVC")
        .prefix_separator("__")
        .separator("__")
        .try_parsing(true)
}

/// The most requests a minute a rate limit (a setting, or a tenant plan's
/// `requests_per_minute`) may allow: the shared limiter spaces requests in whole microseconds,
/// and at this rate its interval (60 µs) is still within 1/60 of the limit.
pub const MAX_PER_MINUTE: u32 = 1_000_000;

/// Whether the shared rate limiter can express `value` requests a minute.
pub fn check_per_minute(value: u32) -> Result<(), String> {
    if value == 0 {
        Err("must be at least 1 request a minute".into())
    } else if value > MAX_PER_MINUTE {
        Err(format!(
            "must be at most {MAX_PER_MINUTE} requests a minute (the most the rate limiter \
             can express), not {value}"
        ))
    } else {
        Ok(())
    }
}

/// A setting that keeps dvc from starting: its key, environment variable and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key} ({}) {problem}", env_var(key))]
pub struct SettingError {
    pub key: &'static str,
    pub problem: String,
}

impl SettingError {
    pub fn new(key: &'static str, problem: impl Into<String>) -> Self {
        Self {
            key,
            problem: problem.into(),
        }
    }

    /// The environment variable that sets the key, e.g. `DVC__AUTH__MASTER_KEY`.
    pub fn env_var(&self) -> String {
        env_var(self.key)
    }
}

/// `auth.master_key` → `DVC__AUTH__MASTER_KEY`.
pub fn env_var(key: &str) -> String {
    format!("DVC__{}", key.to_ascii_uppercase().replace('.', "__"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_point_at_local_services() {
        let dir = std::env::temp_dir().join("dvc-config-test-empty");
        let s = Settings::load_from(&dir, "nothing").unwrap();
        assert_eq!(s.server.port, 8080);
        assert!(s.database.url.contains("127.0.0.1:5432"));
        assert_eq!(s.redis.url, "redis://127.0.0.1:6379");
    }

    const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

    fn serving() -> Settings {
        let mut s = Settings::default();
        s.auth.master_key = Some(KEY.into());
        s
    }

    #[test]
    fn serve_needs_a_master_key_of_32_bytes() {
        assert_eq!(serving().validate_for_serve(), Ok(()));
        let mut s = Settings::default();
        let e = s.validate_for_serve().unwrap_err();
        assert_eq!(
            (e.key, e.env_var().as_str()),
            ("auth.master_key", "DVC__AUTH__MASTER_KEY")
        );
        let line = e.to_string();
        assert!(
            line.starts_with("auth.master_key (DVC__AUTH__MASTER_KEY) is not set"),
            "{line}"
        );
        assert!(!line.contains('\n'));
        for (key, says) in [
            ("  ", "is not set"),
            ("c2hvcnQ=", "exactly 32 bytes, not 5"),
            ("%%%", "not valid base64"),
        ] {
            s.auth.master_key = Some(key.into());
            let line = s.validate_for_serve().unwrap_err().to_string();
            assert!(
                line.contains("DVC__AUTH__MASTER_KEY") && line.contains(says),
                "{line}"
            );
            assert!(
                !line.contains(key.trim()) || key.trim().is_empty(),
                "never echoed: {line}"
            );
        }
    }

    #[test]
    fn serve_refuses_malformed_optional_secrets() {
        let mut s = serving();
        s.operator.api_token_sha256 = Some("abc".into());
        assert_eq!(
            s.validate_for_serve().unwrap_err().env_var(),
            "DVC__OPERATOR__API_TOKEN_SHA256"
        );
        s.operator.api_token_sha256 = Some(format!(" {} ", "AB".repeat(32)));
        assert_eq!(s.validate_for_serve(), Ok(()));
        s.sync.secret = Some(String::new().into());
        assert_eq!(s.validate_for_serve().unwrap_err().key, "sync.secret");
        s.sync.secret = Some("a secret".into());
        s.sync.national_url = Some("https://dichvucong.gov.vn/api/events".into());
        assert_eq!(
            s.validate_for_serve().unwrap_err().env_var(),
            "DVC__SYNC__NATIONAL_SECRET"
        );
        s.sync.national_secret = Some("shared".into());
        assert_eq!(s.validate_for_serve(), Ok(()));
    }

    #[test]
    fn rate_limits_the_limiter_cannot_express_are_refused_on_load() {
        assert_eq!(check_per_minute(1), Ok(()));
        assert_eq!(check_per_minute(120_000), Ok(()));
        assert_eq!(check_per_minute(MAX_PER_MINUTE), Ok(()));
        assert!(check_per_minute(0).is_err());
        assert!(check_per_minute(MAX_PER_MINUTE + 1).is_err());
        let dir = std::env::temp_dir().join(format!("dvc-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("default.toml"),
            "[auth]\nper_ip_per_minute = 120000000\n",
        )
        .unwrap();
        let e = Settings::load_from(&dir, "nothing")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("auth.per_ip_per_minute (DVC__AUTH__PER_IP_PER_MINUTE) must be at most"),
            "{e}"
        );
        std::fs::remove_dir_all(dir).unwrap();
        let mut s = serving();
        s.dossiers.lookup_per_minute = 0;
        assert_eq!(s.validate().unwrap_err().key, "dossiers.lookup_per_minute");
        assert_eq!(
            s.validate_for_serve().unwrap_err().key,
            "dossiers.lookup_per_minute"
        );
    }

    #[test]
    fn debug_output_shows_no_secret() {
        let mut s = Settings::default();
        s.auth.master_key = Some(KEY.into());
        s.sync.secret = Some("sync-secret-value".into());
        s.sync.national_secret = Some("national-secret-value".into());
        s.smtp.username = Some("mailer".into());
        s.smtp.password = Some("smtp-password-value".into());
        s.database.url = "postgres://dvc:db%40password@db.internal:5432/dvc".into();
        s.database.read_url =
            Some("postgres://dvc@replica:5432/dvc?sslmode=require&password=replica-pw".into());
        s.redis.url = "redis://:redis-password@cache:6379/0".into();
        let shown = format!("{s:?}");
        for secret in [
            KEY,
            "sync-secret-value",
            "national-secret-value",
            "smtp-password-value",
            "db%40password",
            "db@password",
            "replica-pw",
            "redis-password",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        // What is not secret still shows, and a redaction says where a secret was.
        for shown_part in [
            "postgres://dvc:***@db.internal:5432/dvc",
            "postgres://dvc@replica:5432/dvc?sslmode=require&password=***",
            "redis://:***@cache:6379/0",
            "mailer",
            "REDACTED",
        ] {
            assert!(shown.contains(shown_part), "{shown_part} not in {shown}");
        }
        let pretty = format!("{s:#?}");
        assert!(!pretty.contains("smtp-password-value") && !pretty.contains("redis-password"));
    }

    #[test]
    fn urls_print_without_their_passwords() {
        for (url, shown) in [
            ("redis://127.0.0.1:6379", Some("redis://127.0.0.1:6379")),
            (
                "postgres://postgres:postgres@127.0.0.1:5432/dvc",
                Some("postgres://postgres:***@127.0.0.1:5432/dvc"),
            ),
            (
                "redis+unix:///run/redis.sock?db=1&pass=hunter2",
                Some("redis+unix:///run/redis.sock?db=1&pass=***"),
            ),
            (
                "postgres://u@db/dvc?sslpassword=hunter2",
                Some("postgres://u@db/dvc?sslpassword=***"),
            ),
            // No host to hold the masked password: nothing of it is shown.
            ("postgres://u:hunter2@/dvc?host=/run/postgresql", None),
            ("host=db user=dvc password=hunter2", None),
        ] {
            assert_eq!(redact_url(url).as_deref(), shown, "{url}");
            assert!(!format!("{:?}", RedactedUrl(url)).contains("hunter2"));
        }
    }

    #[test]
    fn secrets_load_from_files_and_the_environment() {
        let dir = std::env::temp_dir().join(format!("dvc-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("default.toml"),
            "[sync]\nsecret = \"from-a-file\"\n[smtp]\npassword = \"smtp-from-a-file\"\n",
        )
        .unwrap();
        let s = Settings::load_from(&dir, "nothing").unwrap();
        assert_eq!(
            s.sync.secret.as_ref().map(ExposeSecret::expose_secret),
            Some("from-a-file")
        );
        assert_eq!(
            s.smtp.password.as_ref().map(ExposeSecret::expose_secret),
            Some("smtp-from-a-file")
        );
        assert!(s.auth.master_key.is_none() && s.sync.national_secret.is_none());

        // The environment over the same files; secrets that look like numbers (which the
        // environment layer parses) arrive exactly as spelt, leading zero and all.
        let vars: std::collections::HashMap<String, String> = [
            ("DVC__AUTH__MASTER_KEY", KEY),
            ("DVC__SYNC__SECRET", "1e5"),
            ("DVC__SYNC__NATIONAL_SECRET", "0123456789"),
            ("DVC__SMTP__PASSWORD", "smtp-from-the-environment"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let env = environment().source(Some(vars.clone()));
        let s = Settings::load_layers(&dir, "nothing", env, &|var| vars.get(var).cloned()).unwrap();
        std::fs::remove_dir_all(dir).unwrap();
        let exposed = |v: &Option<SecretString>| v.as_ref().map(|v| v.expose_secret().to_owned());
        assert_eq!(exposed(&s.auth.master_key).as_deref(), Some(KEY));
        assert_eq!(exposed(&s.sync.secret).as_deref(), Some("1e5"));
        assert_eq!(
            exposed(&s.sync.national_secret).as_deref(),
            Some("0123456789")
        );
        assert_eq!(
            exposed(&s.smtp.password).as_deref(),
            Some("smtp-from-the-environment")
        );
        assert_eq!(s.validate_for_serve(), Ok(()));
    }

    #[test]
    fn files_layer_over_defaults() {
        let dir = std::env::temp_dir().join(format!("dvc-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("default.toml"), "[server]\nport = 9000\n").unwrap();
        std::fs::write(
            dir.join("prod.toml"),
            "[server]\nbase_domain = \"dvc.gov.vn\"\n",
        )
        .unwrap();
        let s = Settings::load_from(&dir, "prod").unwrap();
        assert_eq!(s.server.port, 9000);
        assert_eq!(s.server.base_domain, "dvc.gov.vn");
        assert_eq!(s.server.host, "127.0.0.1");
        std::fs::remove_dir_all(dir).unwrap();
    }
}

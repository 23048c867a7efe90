//! The webhook worker: claims due events (the oldest undelivered one per dossier and endpoint
//! only, so each receiver sees a dossier's events in order), signs and posts them, and backs
//! off on failure. Runs on its own thread with its own small runtime, because the HTTP client
//! (awc) is single-threaded.

use super::{derive_key, sign};
use crate::config::SyncSettings;
use crate::db::PgPool;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::pg::{Pg, PgValue};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Jsonb, Text, Uuid as SqlUuid};
use secrecy::ExposeSecret;
use std::time::Duration;
use tokio::sync::watch;
use uuid::Uuid;

/// Where a queued webhook stands. The table keeps no status column: it follows from
/// `delivered_at` and `failed_at` (parked after the last attempt), and is named only in counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, FromSqlRow)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 3] = [Self::Pending, Self::Delivered, Self::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }
}

impl std::str::FromStr for DeliveryState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| format!("unknown webhook state `{s}`"))
    }
}

/// Read from the text [`state_counts`] computes; an unknown name is an error, never a panic.
impl FromSql<Text, Pg> for DeliveryState {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        Ok(std::str::from_utf8(value.as_bytes())?.parse()?)
    }
}

/// Queued webhooks of every tenant by state, for operators.
#[derive(Debug, Clone, QueryableByName)]
pub struct StateCount {
    #[diesel(sql_type = Text)]
    pub state: DeliveryState,
    #[diesel(sql_type = BigInt)]
    pub count: i64,
    /// Age in seconds of the oldest event not delivered yet (none for `delivered`).
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Double>)]
    pub oldest_secs: Option<f64>,
}

pub fn state_counts(conn: &mut PgConnection) -> QueryResult<Vec<StateCount>> {
    diesel::sql_query(
        "SELECT CASE WHEN delivered_at IS NOT NULL THEN 'delivered' \
                     WHEN failed_at IS NOT NULL THEN 'failed' ELSE 'pending' END AS state, \
                count(*)::bigint AS count, \
                max(extract(epoch FROM now() - created_at)) FILTER \
                    (WHERE delivered_at IS NULL AND failed_at IS NULL)::float8 AS oldest_secs \
           FROM platform.webhook_outbox GROUP BY 1 ORDER BY 1",
    )
    .load(conn)
}

#[derive(Debug, QueryableByName)]
struct Due {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = SqlUuid)]
    #[allow(dead_code)]
    tenant_id: Uuid,
    #[diesel(sql_type = Text)]
    endpoint: String,
    #[diesel(sql_type = Text)]
    url: String,
    #[diesel(sql_type = Jsonb)]
    body: serde_json::Value,
    #[diesel(sql_type = Integer)]
    attempts: i32,
}

/// Claims with a lease; an earlier event of the same dossier that is not yet delivered (in
/// flight, or waiting for its retry) holds the later ones back.
const CLAIM_SQL: &str = "\
WITH due AS (
    SELECT w.id FROM platform.webhook_outbox w
    WHERE w.delivered_at IS NULL AND w.failed_at IS NULL
      AND w.next_attempt_at <= now()
      AND (w.locked_until IS NULL OR w.locked_until < now())
      AND NOT EXISTS (
          SELECT 1 FROM platform.webhook_outbox e
          WHERE e.ordering_key = w.ordering_key AND e.endpoint = w.endpoint AND e.id < w.id
            AND e.delivered_at IS NULL AND e.failed_at IS NULL)
    ORDER BY w.id
    LIMIT $1
    FOR UPDATE SKIP LOCKED
)
UPDATE platform.webhook_outbox o
SET locked_until = now() + make_interval(secs => $2), attempts = o.attempts + 1
FROM due WHERE o.id = due.id
RETURNING o.id, o.tenant_id, o.endpoint, o.url, o.body, o.attempts";

pub struct Deliverer {
    pool: PgPool,
    settings: SyncSettings,
    poll: Duration,
}

impl Deliverer {
    pub fn new(pool: PgPool, settings: SyncSettings) -> Self {
        Self {
            pool,
            settings,
            poll: Duration::from_millis(500),
        }
    }

    /// Starts the worker thread; it stops when `shutdown` turns true.
    pub fn spawn(self, shutdown: watch::Receiver<bool>) -> std::thread::JoinHandle<()> {
        std::thread::Builder::new()
            .name("dvc-webhooks".into())
            .spawn(move || {
                actix_web::rt::System::new().block_on(self.run(shutdown));
            })
            .expect("spawn webhook thread")
    }

    async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let client = http_client();
        tracing::info!("webhook worker started");
        while !*shutdown.borrow() {
            let batch = match self.claim().await {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming webhooks failed");
                    Vec::new()
                }
            };
            if batch.is_empty() {
                tokio::select! {
                    () = tokio::time::sleep(self.poll) => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            for due in batch {
                let result = self.post(&client, &due).await;
                if let Err(e) = self.finish(&due, result).await {
                    tracing::warn!(error = %e, id = due.id, "recording webhook outcome failed");
                }
            }
        }
        tracing::info!("webhook worker stopped");
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut PgConnection) -> QueryResult<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        crate::db::blocking(&self.pool, f).await
    }

    async fn claim(&self) -> anyhow::Result<Vec<Due>> {
        self.blocking(|c| {
            diesel::sql_query(CLAIM_SQL)
                // Posted one after another with a 10 s timeout each: the lease outlasts the
                // whole batch, so no other worker takes an event still being delivered.
                .bind::<BigInt, _>(8i64)
                .bind::<diesel::sql_types::Double, _>(120.0f64)
                .load(c)
        })
        .await
    }

    fn key(&self, due: &Due) -> Option<Vec<u8>> {
        if due.endpoint == "national" {
            let secret = self.settings.national_secret.as_ref()?;
            return Some(secret.expose_secret().as_bytes().to_vec());
        }
        let parent = due.endpoint.strip_prefix("parent:")?;
        let source = due.body.get("source_tenant")?.as_str()?;
        let secret = self.settings.secret.as_ref()?;
        Some(derive_key(secret.expose_secret(), source, parent))
    }

    async fn post(&self, client: &awc::Client, due: &Due) -> Result<(), String> {
        let key = self.key(due).ok_or("no signing key configured")?;
        let body = serde_json::to_vec(&due.body).map_err(|e| e.to_string())?;
        let source = due
            .body
            .get("source_tenant")
            .and_then(|s| s.as_str())
            .unwrap_or_default()
            .to_owned();
        let ts = chrono::Utc::now().timestamp();
        let response = client
            .post(&due.url)
            .insert_header(("Content-Type", "application/json"))
            .insert_header((super::TIMESTAMP_HEADER, ts.to_string()))
            .insert_header((super::SIGNATURE_HEADER, sign(&key, ts, &body)))
            .insert_header((super::SOURCE_HEADER, source))
            .send_body(body)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        // 409 means the receiver already holds this event: a retry of a delivery whose
        // answer was lost. Either way it is there.
        if status.is_success() || status.as_u16() == 409 {
            Ok(())
        } else {
            Err(format!("HTTP {status}"))
        }
    }

    async fn finish(&self, due: &Due, result: Result<(), String>) -> anyhow::Result<()> {
        use crate::db::schema::webhook_outbox as w;
        let id = due.id;
        match result {
            Ok(()) => {
                self.blocking(move |c| {
                    diesel::update(w::table.find(id))
                        .set((
                            w::delivered_at.eq(diesel::dsl::now),
                            w::locked_until.eq(None::<chrono::DateTime<chrono::Utc>>),
                        ))
                        .execute(c)
                })
                .await?;
            }
            Err(error) => {
                tracing::info!(id, attempts = due.attempts, %error, "webhook delivery failed");
                let parked = due.attempts >= self.settings.max_attempts as i32;
                let wait = backoff(due.attempts, self.settings.max_backoff_secs);
                let next = chrono::Utc::now() + wait;
                self.blocking(move |c| {
                    diesel::update(w::table.find(id))
                        .set((
                            w::next_attempt_at.eq(next),
                            w::locked_until.eq(None::<chrono::DateTime<chrono::Utc>>),
                            w::last_error.eq(Some(error)),
                            w::failed_at.eq(parked.then(chrono::Utc::now)),
                        ))
                        .execute(c)
                })
                .await?;
            }
        }
        Ok(())
    }
}

/// 1 s, 2 s, 4 s, … capped, with ±20 % jitter so receivers that come back are not stampeded.
fn backoff(attempts: i32, cap_secs: u64) -> chrono::Duration {
    let base = 1u64 << attempts.clamp(1, 20).saturating_sub(1);
    let secs = base.min(cap_secs.max(1)) as f64;
    let jitter = 0.8 + rand::random::<f64>() * 0.4;
    chrono::Duration::milliseconds((secs * jitter * 1000.0) as i64)
}

/// HTTPS through rustls with the webpki roots (awc's default connector with the features
/// dvc enables; ring is the only crypto provider compiled in).
fn http_client() -> awc::Client {
    awc::Client::builder()
        .timeout(Duration::from_secs(10))
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_read_back_from_their_names() {
        for s in DeliveryState::ALL {
            assert_eq!(s.as_str().parse::<DeliveryState>(), Ok(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert!(
            "sent"
                .parse::<DeliveryState>()
                .unwrap_err()
                .contains("`sent`")
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let s = |a| backoff(a, 600).num_milliseconds();
        assert!((800..=1200).contains(&s(1)));
        assert!((3200..=4800).contains(&s(3)));
        assert!(s(30) <= 600_000 * 12 / 10);
    }
}

//! Prometheus metrics at `/metrics`: request rate and latency by route and status (tenant as a
//! bounded label), and, read at scrape time, connection pools, the mail and webhook outboxes,
//! tenant migrations and mail results.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
    pub tenant: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
    pub tenant: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ShardLabels {
    pub shard: String,
    pub state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UsageLabels {
    pub tenant: String,
    pub metric: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabels {
    pub status: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;

/// Read from the database when scraped.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub outbox: Vec<(String, i64)>,
    pub outbox_oldest_pending_secs: f64,
    pub webhooks_pending: i64,
    pub webhooks_failed: i64,
    pub webhooks_oldest_pending_secs: f64,
    pub migrations: Vec<(String, i64)>,
    /// This month's usage per tenant.
    pub usage: Vec<crate::hosting::usage::UsageRow>,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<HttpLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    pool: Family<ShardLabels, Gauge>,
    outbox: Family<StatusLabels, Gauge>,
    outbox_age: FloatGauge,
    webhooks: Family<StatusLabels, Gauge>,
    webhooks_age: FloatGauge,
    migrations: Family<StatusLabels, Gauge>,
    snapshot_ok: Gauge,
    usage: Family<UsageLabels, Gauge>,
    tenants: Mutex<HashSet<String>>,
    max_tenants: usize,
}

impl Metrics {
    /// `max_tenants`: how many tenants get a label of their own; the rest are `other`, so a
    /// deployment of thousands of tenants cannot blow up the series count.
    pub fn new(max_tenants: usize) -> Self {
        let mut registry = Registry::with_prefix("dvc");
        let requests = Family::<HttpLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.000_5, 2.0, 16))
        });
        registry.register(
            "http_request_duration_seconds",
            "Time to answer, by route",
            latency.clone(),
        );
        let pool = Family::<ShardLabels, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Database connections per pool shard: open, idle, max",
            pool.clone(),
        );
        let outbox = Family::<StatusLabels, Gauge>::default();
        registry.register(
            "mail_outbox_messages",
            "Mail outbox rows by status (sent and failed are the mail results)",
            outbox.clone(),
        );
        let outbox_age = FloatGauge::default();
        registry.register(
            "mail_outbox_oldest_pending_seconds",
            "Age of the oldest mail waiting to be sent",
            outbox_age.clone(),
        );
        let webhooks = Family::<StatusLabels, Gauge>::default();
        registry.register(
            "webhook_outbox_events",
            "Upward-sync events not delivered: pending, failed (parked)",
            webhooks.clone(),
        );
        let webhooks_age = FloatGauge::default();
        registry.register(
            "webhook_outbox_oldest_pending_seconds",
            "Age of the oldest undelivered upward-sync event",
            webhooks_age.clone(),
        );
        let migrations = Family::<StatusLabels, Gauge>::default();
        registry.register(
            "tenant_schemas",
            "Tenant schemas by migration status",
            migrations.clone(),
        );
        let snapshot_ok = Gauge::default();
        registry.register(
            "metrics_snapshot_ok",
            "1 when the database figures below were read at this scrape, 0 when they could not be",
            snapshot_ok.clone(),
        );
        let usage = Family::<UsageLabels, Gauge>::default();
        registry.register(
            "tenant_usage",
            "This month's usage per tenant: dossiers_submitted, active_accounts, mails_sent, texts_sent, api_calls (flushed), storage_bytes",
            usage.clone(),
        );
        Self {
            usage,
            snapshot_ok,
            registry,
            requests,
            latency,
            pool,
            outbox,
            outbox_age,
            webhooks,
            webhooks_age,
            migrations,
            tenants: Mutex::new(HashSet::new()),
            max_tenants,
        }
    }

    fn tenant_label(&self, tenant: Option<&str>) -> String {
        let Some(t) = tenant else {
            return String::new();
        };
        let mut seen = self
            .tenants
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.contains(t) {
            t.to_owned()
        } else if seen.len() < self.max_tenants {
            seen.insert(t.to_owned());
            t.to_owned()
        } else {
            "other".into()
        }
    }

    pub fn observe(&self, method: &str, route: &str, status: u16, tenant: Option<&str>, secs: f64) {
        let tenant = self.tenant_label(tenant);
        // Any token is a valid HTTP method: only the usual ones get a label of their own.
        let method = match method {
            "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" => method,
            _ => "other",
        };
        self.requests
            .get_or_create(&HttpLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status,
                tenant: tenant.clone(),
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
                tenant,
            })
            .observe(secs);
    }

    /// The text exposition, with the scrape-time figures set first. Without a snapshot (the
    /// database did not answer) those figures are left out rather than shown as zero.
    pub fn render(&self, snap: Option<&Snapshot>, pools: &[(u32, u32, u32)]) -> String {
        for (i, (open, idle, max)) in pools.iter().enumerate() {
            for (state, v) in [("open", open), ("idle", idle), ("max", max)] {
                self.pool
                    .get_or_create(&ShardLabels {
                        shard: i.to_string(),
                        state: state.into(),
                    })
                    .set(i64::from(*v));
            }
        }
        // Statuses that vanished must not keep their last value.
        self.outbox.clear();
        self.webhooks.clear();
        self.migrations.clear();
        self.usage.clear();
        self.snapshot_ok.set(i64::from(snap.is_some()));
        if let Some(snap) = snap {
            self.set_snapshot(snap);
        }
        let mut out = String::new();
        if let Err(e) = encode(&mut out, &self.registry) {
            tracing::warn!(error = %e, "encoding metrics failed");
        }
        out
    }

    fn set_snapshot(&self, snap: &Snapshot) {
        // Tenants beyond the label budget add up under `other`.
        let mut usage: std::collections::HashMap<UsageLabels, i64> = Default::default();
        for row in &snap.usage {
            let tenant = self.tenant_label(Some(&row.tenant));
            for (metric, n) in [
                ("dossiers_submitted", row.dossiers_submitted),
                ("active_accounts", row.active_accounts),
                ("mails_sent", row.mails_sent),
                ("texts_sent", row.texts_sent),
                ("api_calls", row.api_calls),
                ("storage_bytes", row.storage_bytes),
            ] {
                *usage
                    .entry(UsageLabels {
                        tenant: tenant.clone(),
                        metric: metric.into(),
                    })
                    .or_default() += n;
            }
        }
        for (labels, n) in usage {
            self.usage.get_or_create(&labels).set(n);
        }
        for (status, n) in &snap.outbox {
            self.outbox
                .get_or_create(&StatusLabels {
                    status: status.clone(),
                })
                .set(*n);
        }
        self.outbox_age.set(snap.outbox_oldest_pending_secs);
        for (status, n) in [
            ("pending", snap.webhooks_pending),
            ("failed", snap.webhooks_failed),
        ] {
            self.webhooks
                .get_or_create(&StatusLabels {
                    status: status.into(),
                })
                .set(n);
        }
        self.webhooks_age.set(snap.webhooks_oldest_pending_secs);
        for (status, n) in &snap.migrations {
            self.migrations
                .get_or_create(&StatusLabels {
                    status: status.clone(),
                })
                .set(*n);
        }
    }
}

/// Reads the scrape-time figures (one round trip each, all on the shared schema).
pub fn snapshot(conn: &mut diesel::PgConnection) -> diesel::QueryResult<Snapshot> {
    use diesel::prelude::*;
    use diesel::sql_types::{BigInt, Double, Text};
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = Text)]
        k: String,
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    #[derive(QueryableByName)]
    struct Webhooks {
        #[diesel(sql_type = BigInt)]
        pending: i64,
        #[diesel(sql_type = BigInt)]
        failed: i64,
        #[diesel(sql_type = Double)]
        oldest: f64,
    }
    #[derive(QueryableByName)]
    struct Age {
        #[diesel(sql_type = Double)]
        oldest: f64,
    }
    let counts = |conn: &mut PgConnection, sql: &str| -> QueryResult<Vec<(String, i64)>> {
        Ok(diesel::sql_query(sql)
            .load::<Count>(conn)?
            .into_iter()
            .map(|c| (c.k, c.n))
            .collect())
    };
    let outbox = counts(
        conn,
        "SELECT status AS k, count(*) AS n FROM platform.outbox GROUP BY status",
    )?;
    let age: Age = diesel::sql_query(
        "SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest \
         FROM platform.outbox WHERE status IN ('pending', 'sending')",
    )
    .get_result(conn)?;
    let w: Webhooks = diesel::sql_query(
        "SELECT count(*) FILTER (WHERE failed_at IS NULL) AS pending, \
                count(*) FILTER (WHERE failed_at IS NOT NULL) AS failed, \
                coalesce(extract(epoch FROM now() - min(created_at) \
                    FILTER (WHERE failed_at IS NULL)), 0)::float8 AS oldest \
         FROM platform.webhook_outbox WHERE delivered_at IS NULL",
    )
    .get_result(conn)?;
    let migrations = counts(
        conn,
        "SELECT status AS k, count(*) AS n FROM platform.tenant_schema_state GROUP BY status",
    )?;
    Ok(Snapshot {
        outbox,
        outbox_oldest_pending_secs: age.oldest,
        webhooks_pending: w.pending,
        webhooks_failed: w.failed,
        webhooks_oldest_pending_secs: w.oldest,
        migrations,
        usage: crate::hosting::usage::report(
            conn,
            crate::hosting::usage::month_of(chrono::Utc::now()),
        )?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_labels_are_bounded() {
        let m = Metrics::new(2);
        for t in ["a", "b", "c", "d", "a"] {
            m.observe("GET", "/api/v1/procedures", 200, Some(t), 0.002);
        }
        m.observe("BREW", "unmatched", 404, None, 0.001);
        let text = m.render(None, &[(1, 1, 4)]);
        assert!(text.contains("method=\"other\""));
        assert!(!text.contains("BREW"));
        assert!(text.contains("dvc_metrics_snapshot_ok 0"));
        assert!(text.contains("tenant=\"a\""));
        assert!(text.contains("tenant=\"b\""));
        assert!(!text.contains("tenant=\"c\""));
        assert!(text.contains("tenant=\"other\""));
        assert!(text.contains("dvc_http_requests_total{"));
        assert!(text.contains("dvc_http_request_duration_seconds_bucket{"));
    }
}

//! Cross-instance invalidation through Redis pub/sub: whoever changes a tenant or its catalog
//! publishes an event; every server instance reloads its registry and drops cached catalogs.
//!
//! Pub/sub is fire-and-forget, so a listener that (re)connects reloads everything, and a slow
//! periodic reload covers the time Redis is unreachable.

use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenancyEvent {
    /// Registry data of one tenant changed (status, domains, names…).
    TenantChanged(Uuid),
    /// The procedure catalog of one tenant changed.
    CatalogChanged(Uuid),
    /// Signing keys were rotated.
    KeysChanged,
    /// Anything may have changed: reload everything.
    All,
}

impl TenancyEvent {
    pub fn encode(&self) -> String {
        match self {
            Self::TenantChanged(id) => format!("tenant:{id}"),
            Self::CatalogChanged(id) => format!("catalog:{id}"),
            Self::KeysChanged => "keys".into(),
            Self::All => "all".into(),
        }
    }

    pub fn decode(s: &str) -> Option<Self> {
        match s.split_once(':') {
            Some(("tenant", id)) => Uuid::parse_str(id).ok().map(Self::TenantChanged),
            Some(("catalog", id)) => Uuid::parse_str(id).ok().map(Self::CatalogChanged),
            None if s == "all" => Some(Self::All),
            None if s == "keys" => Some(Self::KeysChanged),
            _ => None,
        }
    }
}

#[derive(Clone)]
pub struct Notifier {
    redis: crate::redis_conn::Redis,
    channel: String,
}

impl Notifier {
    pub fn new(redis_url: &str, prefix: &str) -> Result<Self, redis::RedisError> {
        Ok(Self {
            redis: crate::redis_conn::Redis::new(redis::Client::open(redis_url)?),
            channel: format!("{prefix}:tenancy"),
        })
    }

    pub fn client(&self) -> &redis::Client {
        self.redis.client()
    }

    /// The process's shared Redis connection.
    pub fn redis(&self) -> &crate::redis_conn::Redis {
        &self.redis
    }

    /// Publishes from blocking code (CLI).
    pub fn publish_blocking(&self, events: &[TenancyEvent]) -> Result<(), redis::RedisError> {
        let mut conn = self
            .redis
            .client()
            .get_connection_with_timeout(Duration::from_secs(3))?;
        for e in events {
            redis::cmd("PUBLISH")
                .arg(&self.channel)
                .arg(e.encode())
                .exec(&mut conn)?;
        }
        Ok(())
    }

    /// Publishes from async code (request handlers).
    pub async fn publish(&self, events: &[TenancyEvent]) -> Result<(), redis::RedisError> {
        let mut conn = self.redis.conn().await?;
        for e in events {
            redis::cmd("PUBLISH")
                .arg(&self.channel)
                .arg(e.encode())
                .exec_async(&mut conn)
                .await?;
        }
        Ok(())
    }

    /// Subscribes and hands every event to `on_event`; on (re)connect and every `refresh` it
    /// hands it [`TenancyEvent::All`]. Runs until the returned guard is dropped.
    pub fn spawn_listener(
        &self,
        refresh: Duration,
        on_event: Arc<dyn Fn(TenancyEvent) + Send + Sync>,
    ) -> ListenerGuard {
        let this = self.clone();
        let subscriber = {
            let on_event = on_event.clone();
            tokio::spawn(async move {
                loop {
                    if let Err(e) = this.listen_once(&on_event).await {
                        tracing::warn!(error = %e, "tenancy event subscription lost; retrying");
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            })
        };
        let periodic = tokio::spawn(async move {
            let mut tick = tokio::time::interval(refresh);
            tick.tick().await;
            loop {
                tick.tick().await;
                on_event(TenancyEvent::All);
            }
        });
        ListenerGuard(vec![subscriber, periodic])
    }

    async fn listen_once(
        &self,
        on_event: &Arc<dyn Fn(TenancyEvent) + Send + Sync>,
    ) -> Result<(), redis::RedisError> {
        let mut pubsub = self.redis.client().get_async_pubsub().await?;
        pubsub.subscribe(&self.channel).await?;
        // Anything published while we were not subscribed is lost: catch up.
        on_event(TenancyEvent::All);
        let mut messages = pubsub.on_message();
        while let Some(msg) = messages.next().await {
            let payload: String = msg.get_payload()?;
            match TenancyEvent::decode(&payload) {
                Some(event) => on_event(event),
                None => tracing::warn!(payload, "ignoring unknown tenancy event"),
            }
        }
        Err(redis::RedisError::from((
            redis::ErrorKind::Io,
            "subscription stream ended",
        )))
    }
}

/// Stops the listener tasks when dropped.
pub struct ListenerGuard(Vec<tokio::task::JoinHandle<()>>);

impl ListenerGuard {
    /// Ties another background task to this guard's lifetime.
    pub fn also(mut self, task: tokio::task::JoinHandle<()>) -> Self {
        self.0.push(task);
        self
    }
}

impl Drop for ListenerGuard {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip() {
        let id = Uuid::new_v4();
        for e in [
            TenancyEvent::TenantChanged(id),
            TenancyEvent::CatalogChanged(id),
            TenancyEvent::KeysChanged,
            TenancyEvent::All,
        ] {
            assert_eq!(TenancyEvent::decode(&e.encode()), Some(e));
        }
        assert_eq!(TenancyEvent::decode("tenant:not-a-uuid"), None);
        assert_eq!(TenancyEvent::decode("drop"), None);
    }
}

//! One shared, self-healing Redis connection per process (lettre-style pooling is not needed:
//! a multiplexed connection pipelines every caller's commands). Opened on first use, so the
//! server starts while Redis is away; reconnects by itself after a drop.

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;

#[derive(Clone)]
pub struct Redis {
    client: redis::Client,
    manager: Arc<OnceCell<ConnectionManager>>,
}

impl Redis {
    pub fn new(client: redis::Client) -> Self {
        Self {
            client,
            manager: Arc::new(OnceCell::new()),
        }
    }

    pub fn client(&self) -> &redis::Client {
        &self.client
    }

    /// A handle on the shared connection (cheap to clone).
    pub async fn conn(&self) -> redis::RedisResult<ConnectionManager> {
        self.manager
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(Duration::from_secs(1)))
                    .set_response_timeout(Some(Duration::from_secs(1)))
                    .set_number_of_retries(1);
                ConnectionManager::new_with_config(self.client.clone(), config).await
            })
            .await
            .cloned()
    }
}

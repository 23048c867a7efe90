//! Revoked SSO sessions, shared by every instance through Redis: an access token whose `sid`
//! is listed here is refused even before it expires. An entry lives as long as the longest
//! access token the session could have issued.

use std::time::Duration;
use uuid::Uuid;

fn key(prefix: &str, sid: Uuid) -> String {
    format!("{prefix}:revoked-sid:{sid}")
}

pub async fn revoke(
    redis: &crate::redis_conn::Redis,
    prefix: &str,
    sid: Uuid,
    for_how_long: Duration,
) -> redis::RedisResult<()> {
    let mut conn = redis.conn().await?;
    redis::cmd("SET")
        .arg(key(prefix, sid))
        .arg(1)
        .arg("EX")
        .arg(for_how_long.as_secs().max(1))
        .exec_async(&mut conn)
        .await
}

pub async fn is_revoked(
    redis: &crate::redis_conn::Redis,
    prefix: &str,
    sid: Uuid,
) -> redis::RedisResult<bool> {
    let mut conn = redis.conn().await?;
    redis::cmd("EXISTS")
        .arg(key(prefix, sid))
        .query_async(&mut conn)
        .await
}

/// Same as [`revoke`], from blocking code (CLI).
pub fn revoke_blocking(
    client: &redis::Client,
    prefix: &str,
    sid: Uuid,
    for_how_long: Duration,
) -> redis::RedisResult<()> {
    let mut conn = client.get_connection_with_timeout(Duration::from_secs(3))?;
    redis::cmd("SET")
        .arg(key(prefix, sid))
        .arg(1)
        .arg("EX")
        .arg(for_how_long.as_secs().max(1))
        .exec(&mut conn)
}

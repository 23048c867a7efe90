//! Rate limits shared by every instance through Redis: GCRA (generic cell rate algorithm) in a
//! Lua script, so checking and updating is one atomic round trip.

use std::time::Duration;

/// KEYS[1] = key; ARGV = emission interval (ms), burst tolerance (ms), now (ms).
/// Returns 0 when allowed, else the milliseconds to wait.
const GCRA: &str = r"
local tat = tonumber(redis.call('GET', KEYS[1]) or ARGV[3])
local now = tonumber(ARGV[3])
if tat < now then tat = now end
local allow_at = tat - tonumber(ARGV[2])
if now < allow_at then return allow_at - now end
local new_tat = tat + tonumber(ARGV[1])
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil(new_tat - now + tonumber(ARGV[1])))
return 0
";

/// `limit` requests per `period`, with bursts of up to `limit`.
#[derive(Debug, Clone, Copy)]
pub struct Quota {
    pub limit: u32,
    pub period: Duration,
}

#[derive(Clone)]
pub struct RateLimiter {
    redis: crate::redis_conn::Redis,
    prefix: String,
    script: std::sync::Arc<redis::Script>,
}

impl RateLimiter {
    pub fn new(redis: crate::redis_conn::Redis, prefix: &str) -> Self {
        Self {
            redis,
            prefix: prefix.to_owned(),
            script: std::sync::Arc::new(redis::Script::new(GCRA)),
        }
    }

    /// `Ok(None)` when allowed, `Ok(Some(wait))` when over quota. Redis errors are returned:
    /// the caller decides whether to fail open.
    pub async fn check(
        &self,
        bucket: &str,
        subject: &str,
        quota: Quota,
    ) -> redis::RedisResult<Option<Duration>> {
        let emission = quota.period.as_millis() as u64 / u64::from(quota.limit.max(1));
        let tolerance = emission * u64::from(quota.limit.max(1).saturating_sub(1));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        let key = format!("{}:rl:{bucket}:{subject}", self.prefix);
        let mut conn = self.redis.conn().await?;
        let wait: u64 = self
            .script
            .key(key)
            .arg(emission)
            .arg(tolerance)
            .arg(now)
            .invoke_async(&mut conn)
            .await?;
        Ok((wait > 0).then(|| Duration::from_millis(wait)))
    }
}

//! Rate limits shared by every instance through Redis: GCRA (generic cell rate algorithm) in a
//! Lua script, so checking and updating is one atomic round trip.
//!
//! Times are whole microseconds, so a limit of up to [`MAX_PER_MINUTE`] a minute keeps an
//! emission interval of at least 60 µs (the interval is rounded down, so the limit admits at
//! most 1/60 more than it says). In milliseconds, as before, anything above 60,000 a minute
//! rounded to an interval of 0: Redis refused the expiry and every request passed.

use std::time::Duration;

pub use crate::config::{MAX_PER_MINUTE, check_per_minute};

/// KEYS[1] = key; ARGV = emission interval (µs), burst tolerance (µs), now (µs).
/// Returns 0 when allowed, else the microseconds to wait (at least 1).
///
/// Lua numbers are doubles: microseconds since 1970 (about 2^51) are exact in them.
const GCRA: &str = r"
local emission = tonumber(ARGV[1])
local now = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allow_at = tat - tonumber(ARGV[2])
if now < allow_at then return math.ceil(allow_at - now) end
local new_tat = tat + emission
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil((new_tat - now + emission) / 1000))
return 0
";

/// `limit` requests per `period`, with bursts of up to `limit`.
#[derive(Debug, Clone, Copy)]
pub struct Quota {
    pub limit: u32,
    pub period: Duration,
}

impl Quota {
    /// The time between two requests at the steady rate, in whole microseconds, never 0: a
    /// quota finer than 1 µs (only reachable by a limit that configuration refuses) is held
    /// at one request per microsecond rather than failing open.
    pub fn emission_micros(&self) -> u64 {
        let period = u64::try_from(self.period.as_micros()).unwrap_or(u64::MAX);
        (period / u64::from(self.limit.max(1))).max(1)
    }

    /// How long a full burst may run ahead of the steady rate, in microseconds.
    pub fn tolerance_micros(&self) -> u64 {
        self.emission_micros()
            .saturating_mul(u64::from(self.limit.max(1).saturating_sub(1)))
    }
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

    /// The Redis key of a bucket and subject. `rlu` (microseconds), not the `rl` of the
    /// millisecond limiter before it: during a rolling upgrade an older instance would read
    /// a microsecond time as milliseconds and refuse everyone for decades.
    fn key(&self, bucket: &str, subject: &str) -> String {
        format!("{}:rlu:{bucket}:{subject}", self.prefix)
    }

    /// `Ok(None)` when allowed, `Ok(Some(wait))` when over quota. Redis errors are returned:
    /// the caller decides whether to fail open.
    pub async fn check(
        &self,
        bucket: &str,
        subject: &str,
        quota: Quota,
    ) -> redis::RedisResult<Option<Duration>> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_micros() as u64;
        let mut conn = self.redis.conn().await?;
        let wait: u64 = self
            .script
            .key(self.key(bucket, subject))
            .arg(quota.emission_micros())
            .arg(quota.tolerance_micros())
            .arg(now)
            .invoke_async(&mut conn)
            .await?;
        Ok((wait > 0).then(|| Duration::from_micros(wait)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn per_minute(limit: u32) -> Quota {
        Quota {
            limit,
            period: Duration::from_secs(60),
        }
    }

    #[test]
    fn intervals_above_60000_a_minute_are_not_zero() {
        // In milliseconds these were 0, and Redis refused `PX 0`: the limit failed open.
        assert_eq!(per_minute(60_001).emission_micros(), 999);
        assert_eq!(per_minute(120_000).emission_micros(), 500);
        assert_eq!(per_minute(120_000).tolerance_micros(), 500 * 119_999);
        assert_eq!(per_minute(MAX_PER_MINUTE).emission_micros(), 60);
        // Never 0, even for a limit configuration refuses.
        assert_eq!(per_minute(u32::MAX).emission_micros(), 1);
        assert_eq!(per_minute(0).emission_micros(), 60_000_000);
        assert_eq!(per_minute(0).tolerance_micros(), 0);
    }

    #[test]
    fn small_limits_keep_their_meaning() {
        let q = per_minute(30);
        assert_eq!(q.emission_micros(), 2_000_000);
        assert_eq!(q.tolerance_micros(), 58_000_000);
        let hourly = Quota {
            limit: 5,
            period: Duration::from_secs(3600),
        };
        assert_eq!(hourly.emission_micros(), 720_000_000);
    }

    #[test]
    fn every_limit_configuration_admits_is_expressed_within_one_sixtieth() {
        for limit in [
            1,
            7,
            59_999,
            60_000,
            60_001,
            120_000,
            999_999,
            MAX_PER_MINUTE,
        ] {
            assert!(check_per_minute(limit).is_ok(), "{limit}");
            let e = per_minute(limit).emission_micros();
            // The real rate (60e6 / e a minute) is at least the limit and at most 1/60 above.
            let real = 60_000_000f64 / e as f64;
            assert!(real >= f64::from(limit), "{limit}: {real}");
            assert!(
                real <= f64::from(limit) * (1.0 + 1.0 / 60.0),
                "{limit}: {real}"
            );
        }
    }
}

//! Slowing down password guessing without handing attackers a way to lock people out.
//!
//! Failures are counted per account *and client address*, so guessing from one address locks
//! only that address out of that account; the owner signing in from elsewhere is unaffected.
//! Each lock is short and grows with the failures (capped at 15 minutes), the count forgets
//! after an hour of quiet, and a password reset — always open to the owner — wipes every lock
//! of the account by moving its generation on.

use std::time::Duration;
use uuid::Uuid;

/// Failures allowed before the first lock.
pub const FREE_FAILURES: u64 = 5;
pub const MAX_LOCK: Duration = Duration::from_secs(15 * 60);
const FORGET_AFTER: Duration = Duration::from_secs(3600);

/// How long to lock after the `failures`-th failure: none for the first few, then 2 s doubling
/// per failure, never more than [`MAX_LOCK`].
pub fn lock_duration(failures: u64) -> Option<Duration> {
    if failures < FREE_FAILURES {
        return None;
    }
    let exp = (failures - FREE_FAILURES).min(20) as u32;
    Some(Duration::from_secs(2u64.saturating_pow(exp + 1)).min(MAX_LOCK))
}

/// Whom the failures of a sign-in count against: the account, or — for an address without
/// one — a stand-in derived from the address, so that unknown addresses lock exactly like
/// known ones and a 429 tells nothing about which addresses have accounts.
pub fn subject(account: Option<Uuid>, email: &str) -> Uuid {
    account.unwrap_or_else(|| {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(format!("no-account:{}", email.trim().to_lowercase()));
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    })
}

fn generation_key(prefix: &str, account: Uuid) -> String {
    format!("{prefix}:login-gen:{account}")
}

async fn keys(
    conn: &mut redis::aio::ConnectionManager,
    prefix: &str,
    account: Uuid,
    ip: &str,
) -> redis::RedisResult<(String, String)> {
    let generation: Option<u64> = redis::cmd("GET")
        .arg(generation_key(prefix, account))
        .query_async(conn)
        .await?;
    let g = generation.unwrap_or(0);
    Ok((
        format!("{prefix}:login-fail:{account}:{g}:{ip}"),
        format!("{prefix}:login-lock:{account}:{g}:{ip}"),
    ))
}

/// Remaining lock for this account from this address, if any.
pub async fn locked_for(
    redis: &crate::redis_conn::Redis,
    prefix: &str,
    account: Uuid,
    ip: &str,
) -> redis::RedisResult<Option<Duration>> {
    let mut conn = redis.conn().await?;
    let (_, lock) = keys(&mut conn, prefix, account, ip).await?;
    let ttl_ms: i64 = redis::cmd("PTTL").arg(lock).query_async(&mut conn).await?;
    Ok((ttl_ms > 0).then(|| Duration::from_millis(ttl_ms as u64)))
}

/// Records a failure; returns the lock it starts, if any.
pub async fn record_failure(
    redis: &crate::redis_conn::Redis,
    prefix: &str,
    account: Uuid,
    ip: &str,
) -> redis::RedisResult<Option<Duration>> {
    let mut conn = redis.conn().await?;
    let (fail, lock) = keys(&mut conn, prefix, account, ip).await?;
    let (failures,): (u64,) = redis::pipe()
        .atomic()
        .incr(&fail, 1)
        .expire(&fail, FORGET_AFTER.as_secs() as i64)
        .ignore()
        .query_async(&mut conn)
        .await?;
    let duration = lock_duration(failures);
    if let Some(d) = duration {
        redis::cmd("SET")
            .arg(&lock)
            .arg(1)
            .arg("PX")
            .arg(d.as_millis() as u64)
            .exec_async(&mut conn)
            .await?;
    }
    Ok(duration)
}

/// A successful sign-in from this address forgets its failures.
pub async fn record_success(
    redis: &crate::redis_conn::Redis,
    prefix: &str,
    account: Uuid,
    ip: &str,
) -> redis::RedisResult<()> {
    let mut conn = redis.conn().await?;
    let (fail, _) = keys(&mut conn, prefix, account, ip).await?;
    redis::cmd("DEL").arg(fail).exec_async(&mut conn).await
}

/// Voids every failure count and lock of the account (password reset).
pub async fn clear_account(
    redis: &crate::redis_conn::Redis,
    prefix: &str,
    account: Uuid,
) -> redis::RedisResult<()> {
    let mut conn = redis.conn().await?;
    redis::cmd("INCR")
        .arg(generation_key(prefix, account))
        .exec_async(&mut conn)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_addresses_count_against_a_stable_stand_in() {
        let known = Uuid::new_v4();
        assert_eq!(subject(Some(known), "a@b.vn"), known);
        let x = subject(None, "Khong.Co@Example.vn");
        assert_eq!(x, subject(None, " khong.co@example.vn "));
        assert_ne!(x, subject(None, "khac@example.vn"));
    }
    use proptest::prelude::*;

    #[test]
    fn grows_then_caps() {
        assert_eq!(lock_duration(4), None);
        assert_eq!(lock_duration(5), Some(Duration::from_secs(2)));
        assert_eq!(lock_duration(6), Some(Duration::from_secs(4)));
        assert_eq!(lock_duration(12), Some(Duration::from_secs(256)));
        assert_eq!(lock_duration(1000), Some(MAX_LOCK));
    }

    proptest! {
        #[test]
        fn never_longer_than_the_cap(failures in 0u64..u64::MAX) {
            prop_assert!(lock_duration(failures).is_none_or(|d| d <= MAX_LOCK));
        }
    }
}

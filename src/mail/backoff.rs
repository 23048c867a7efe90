//! Retry timing and failure classification (pure).

use std::time::Duration;

/// Exponential backoff with "full jitter": a delay drawn uniformly from
/// `[base·2^(attempt-1) / 2, base·2^(attempt-1)]`, capped at `max`. Half the span is kept so a
/// retry never comes back immediately; the jitter spreads a burst of failures apart.
pub fn delay(attempt: u32, base: Duration, max: Duration, unit_random: f64) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
    let ceiling = exp.min(max);
    let r = unit_random.clamp(0.0, 1.0);
    ceiling.mul_f64(0.5 + 0.5 * r)
}

/// What to do with a row after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    RetryIn(Duration),
    Park,
}

/// A permanent failure parks the row; a transient one retries until `max_attempts`.
pub fn after_failure(
    permanent: bool,
    attempts: u32,
    max_attempts: u32,
    base: Duration,
    max: Duration,
    unit_random: f64,
) -> Next {
    if permanent || attempts >= max_attempts {
        Next::Park
    } else {
        Next::RetryIn(delay(attempts, base, max, unit_random))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn grows_and_caps() {
        assert_eq!(delay(1, S * 5, S * 3600, 1.0), S * 5);
        assert_eq!(delay(3, S * 5, S * 3600, 1.0), S * 20);
        assert_eq!(delay(30, S * 5, S * 3600, 1.0), S * 3600);
        assert_eq!(delay(3, S * 5, S * 3600, 0.0), S * 10);
    }

    #[test]
    fn permanent_failures_park_at_once() {
        assert_eq!(after_failure(true, 1, 8, S, S * 60, 0.5), Next::Park);
        assert_eq!(after_failure(false, 8, 8, S, S * 60, 0.5), Next::Park);
        assert!(matches!(
            after_failure(false, 2, 8, S, S * 60, 0.5),
            Next::RetryIn(_)
        ));
    }

    proptest! {
        #[test]
        fn delay_is_within_bounds(attempt in 0u32..100, r in 0.0f64..=1.0) {
            let d = delay(attempt, S * 5, S * 3600, r);
            prop_assert!(d <= S * 3600);
            prop_assert!(d >= Duration::from_millis(2500));
        }
    }
}

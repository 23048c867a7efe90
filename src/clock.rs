//! Where the time comes from. Code whose outcome depends on the time (deadlines, expiry) asks
//! the [`Clock`] it is given instead of the system, so tests set the time instead of waiting
//! for it (and a deadline computed on a Friday before a holiday is tested on any day).

use chrono::{DateTime, Utc};
use std::sync::atomic::{AtomicI64, Ordering};

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The system's time: what the server runs on.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The system's time shifted by an amount a test sets: time still passes (tokens, leases and
/// timeouts keep working), but starting from the moment the test chose.
#[derive(Default)]
pub struct ShiftedClock {
    offset_ms: AtomicI64,
}

impl ShiftedClock {
    pub fn new() -> Self {
        Self::default()
    }

    /// From now on the clock reads `at` (plus the time that passes from here).
    pub fn set(&self, at: DateTime<Utc>) {
        self.offset_ms
            .store((at - Utc::now()).num_milliseconds(), Ordering::Release);
    }

    pub fn advance(&self, by: chrono::Duration) {
        self.offset_ms
            .fetch_add(by.num_milliseconds(), Ordering::AcqRel);
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::milliseconds(self.offset_ms.load(Ordering::Acquire))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shifted_clock_starts_where_it_was_set_and_keeps_going() {
        let clock = ShiftedClock::new();
        let at = DateTime::parse_from_rfc3339("2026-04-24T09:00:00+07:00")
            .unwrap()
            .with_timezone(&Utc);
        clock.set(at);
        let read = clock.now();
        assert!(
            read >= at && read - at < chrono::Duration::seconds(5),
            "{read}"
        );
        clock.advance(chrono::Duration::days(8));
        assert!(clock.now() - at >= chrono::Duration::days(8));
        let system = SystemClock.now();
        assert!((system - Utc::now()).num_seconds().abs() < 5);
    }
}

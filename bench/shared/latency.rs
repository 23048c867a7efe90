//! Latency figures the CPU benchmarks print (included with `#[path]` by each example).

use std::time::Duration;

/// Rate and percentiles of one case's latencies (sorted here).
pub struct Summary {
    pub n: usize,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

pub fn summarise(wall: Duration, mut lat: Vec<Duration>) -> Summary {
    lat.sort_unstable();
    let pct = |p: f64| {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let idx = ((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1;
        lat[idx].as_secs_f64() * 1000.0
    };
    #[allow(clippy::cast_precision_loss)]
    let per_second = lat.len() as f64 / wall.as_secs_f64();
    Summary {
        n: lat.len(),
        per_second,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        max_ms: pct(1.0),
    }
}

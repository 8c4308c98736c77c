//! Meta's two rate limits, as the simulator enforces them.
//!
//! * **Throughput** per phone number id: fixed one-second windows, counted
//!   with one compare-and-swap on a packed `(second, count)` word, so the
//!   hot path takes no lock. Over the ceiling → 130429.
//! * **Pair rate** per recipient: a small token bucket (a short burst, then
//!   one message per interval) in sharded maps. Over it → 131056.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

const SHARDS: usize = 64;

/// The simulator's rate limits.
#[derive(Debug)]
pub(crate) struct Limits {
    started: Instant,
    mps: AtomicU32,
    windows: RwLock<HashMap<String, Arc<AtomicU64>>>,
    max_in_window: AtomicU64,
    pair_burst: f64,
    pair_interval: Duration,
    pairs: Vec<Mutex<HashMap<u64, Bucket>>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Duration,
}

impl Limits {
    pub(crate) fn new(
        started: Instant,
        mps: u32,
        pair_burst: u32,
        pair_interval: Duration,
    ) -> Self {
        Self {
            started,
            mps: AtomicU32::new(mps),
            windows: RwLock::new(HashMap::new()),
            max_in_window: AtomicU64::new(0),
            pair_burst: f64::from(pair_burst.max(1)),
            pair_interval,
            pairs: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    pub(crate) fn set_mps(&self, mps: u32) {
        self.mps.store(mps, Relaxed);
    }

    /// The throughput ceiling now, messages per second.
    pub(crate) fn mps(&self) -> u32 {
        self.mps.load(Relaxed)
    }

    /// The most sends admitted for one number in one window so far.
    pub(crate) fn max_in_window(&self) -> u64 {
        self.max_in_window.load(Relaxed)
    }

    /// Counts one send through `phone_number_id`; false when over the ceiling.
    pub(crate) fn admit(&self, phone_number_id: &str) -> bool {
        let Some(window) = self.window(phone_number_id) else {
            return true;
        };
        let second = self.started.elapsed().as_secs() & 0xffff_ffff;
        let mps = u64::from(self.mps.load(Relaxed));
        let mut current = window.load(Relaxed);
        loop {
            let (at, count) = (current >> 32, current & 0xffff_ffff);
            let count = if at == second { count } else { 0 };
            if count >= mps {
                return false;
            }
            let next = (second << 32) | (count + 1);
            match window.compare_exchange_weak(current, next, Relaxed, Relaxed) {
                Ok(_) => {
                    self.max_in_window.fetch_max(count + 1, Relaxed);
                    return true;
                }
                Err(seen) => current = seen,
            }
        }
    }

    fn window(&self, id: &str) -> Option<Arc<AtomicU64>> {
        if let Some(w) = self.windows.read().ok()?.get(id) {
            return Some(w.clone());
        }
        let mut map = self.windows.write().ok()?;
        Some(map.entry(id.to_string()).or_default().clone())
    }

    /// Counts one send to `to`; false when that recipient got too many lately.
    pub(crate) fn pair_ok(&self, to: u64) -> bool {
        let now = self.started.elapsed();
        let Some(shard) = self.pairs.get((to % SHARDS as u64) as usize) else {
            return true;
        };
        let Ok(mut map) = shard.lock() else {
            return true;
        };
        let bucket = map.entry(to).or_insert(Bucket {
            tokens: self.pair_burst,
            at: now,
        });
        let refill = (now - bucket.at).as_secs_f64() / self.pair_interval.as_secs_f64().max(1e-3);
        bucket.tokens = (bucket.tokens + refill).min(self.pair_burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_per_number_and_window() {
        let l = Limits::new(Instant::now(), 5, 3, Duration::from_secs(6));
        let admitted = (0..20).filter(|_| l.admit("A")).count();
        assert_eq!(admitted, 5);
        assert!(l.admit("B"), "other numbers have their own window");
        assert_eq!(l.max_in_window(), 5);
        l.set_mps(50);
        assert!(l.admit("A"));
    }

    #[test]
    fn pair_rate_allows_a_short_burst() {
        let l = Limits::new(Instant::now(), 80, 2, Duration::from_secs(6));
        assert!(l.pair_ok(4917));
        assert!(l.pair_ok(4917));
        assert!(!l.pair_ok(4917));
        assert!(l.pair_ok(4918));
    }

    #[test]
    fn windows_reset_each_second() {
        let started = Instant::now();
        let l = Limits::new(started, 1, 1, Duration::from_secs(6));
        assert!(l.admit("A"));
        assert!(!l.admit("A"));
        let into_second = started.elapsed().subsec_nanos();
        std::thread::sleep(
            Duration::from_nanos(u64::from(1_000_000_000 - into_second)) + Duration::from_millis(5),
        );
        assert!(l.admit("A"), "a new second opens a new window");
    }
}

//! The worker pool's size under `concurrency = "auto"`: Little's law on the
//! latency the run observes, not on a guess.
//!
//! A fixed guess of 300 ms gave 360 workers at 1,000 mps whatever the API's
//! latency; at 20 ms the rate needs ~24. Too many workers cost CPU (each is
//! a task woken per send) and widen what a crash can leave unknown; too few
//! cap the rate. The pool is resized a few times a second: enough workers
//! that, busy for the observed time per send, they keep the limiter's
//! permits taken — plus those sleeping before a retry, which send nothing
//! meanwhile.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// What a run starts with before it has seen a latency.
const FIRST_GUESS: Duration = Duration::from_millis(50);
/// Headroom over Little's law: latency varies around its mean.
const HEADROOM: f64 = 1.2;
/// Workers beyond the formula, so that a slow answer or two never starves
/// the limiter at low rates.
const SPARE: usize = 2;
/// The latency the most workers are sized for: beyond it the API is in
/// trouble, and more workers would only pile up in flight.
const SLOWEST: Duration = Duration::from_secs(2);
/// The pool's floor.
const FEWEST: usize = 2;
/// The pool's hard ceiling.
const MOST: usize = 1024;

/// The most workers `concurrency = "auto"` may use at `rate`.
pub(super) fn most_workers(rate: u32) -> usize {
    wanted(rate, SLOWEST, MOST)
}

/// Workers needed to keep `rate` permits a second taken when each send
/// keeps its worker busy for `busy`, within `[FEWEST, most]`.
pub(super) fn wanted(rate: u32, busy: Duration, most: usize) -> usize {
    let little = (f64::from(rate) * busy.as_secs_f64() * HEADROOM).round();
    // Saturating: a float beyond usize (absurd latency) is just "many".
    let little = if little.is_finite() {
        little as usize
    } else {
        MOST
    };
    (little + SPARE).clamp(FEWEST.min(most), most.max(1))
}

/// The live pool: what it observes and how big it should be.
pub(super) struct Pool {
    /// Mean time a send keeps its worker busy (mark, flush, request,
    /// outcome written), µs, smoothed.
    busy_us: AtomicU64,
    /// Workers sleeping before a retry.
    retrying: AtomicUsize,
    /// Workers running.
    live: AtomicUsize,
    /// Workers wanted.
    target: AtomicUsize,
    /// Resize at all (`concurrency = "auto"`).
    auto: bool,
    /// The pool's ceiling.
    most: usize,
}

impl Pool {
    /// A pool of `workers` (fixed), or sized from latency up to `workers`.
    pub(super) fn new(rate: u32, workers: usize, auto: bool) -> Self {
        let most = workers.max(1);
        let first = if auto {
            wanted(rate, FIRST_GUESS, most)
        } else {
            most
        };
        Self {
            busy_us: AtomicU64::new(FIRST_GUESS.as_micros() as u64),
            retrying: AtomicUsize::new(0),
            live: AtomicUsize::new(0),
            target: AtomicUsize::new(first),
            auto,
            most,
        }
    }

    /// One send kept its worker busy for `busy`.
    pub(super) fn observe(&self, busy: Duration) {
        let sample = u64::try_from(busy.as_micros()).unwrap_or(u64::MAX);
        // An exponential mean over the last ~16 sends: quick to follow a
        // change of latency, slow to chase one outlier.
        let _ = self
            .busy_us
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                Some(old - old / 16 + sample / 16)
            });
    }

    /// The smoothed busy time per send.
    pub(super) fn busy(&self) -> Duration {
        Duration::from_micros(self.busy_us.load(Ordering::Relaxed))
    }

    /// A worker starts or ends a back-off before a retry.
    pub(super) fn retrying(&self, waiting: bool) {
        if waiting {
            self.retrying.fetch_add(1, Ordering::Relaxed);
        } else {
            self.retrying.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Recomputes the size for the rate in force; how many workers to add.
    pub(super) fn resize(&self, rate: u32) -> usize {
        if self.auto {
            let want = wanted(rate, self.busy(), self.most)
                .saturating_add(self.retrying.load(Ordering::Relaxed))
                .min(self.most);
            self.target.store(want, Ordering::Relaxed);
        }
        let target = self.target.load(Ordering::Relaxed);
        let live = self.live.load(Ordering::Relaxed);
        target.saturating_sub(live)
    }

    /// Counts `n` workers started.
    pub(super) fn started(&self, n: usize) {
        self.live.fetch_add(n, Ordering::Relaxed);
    }

    /// Whether the asking worker should leave the pool (it is one too
    /// many); if so it is already counted out.
    pub(super) fn retire(&self) -> bool {
        self.live
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |live| {
                (live > self.target.load(Ordering::Relaxed)).then(|| live - 1)
            })
            .is_ok()
    }

    /// Workers running now.
    pub(super) fn live(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn little_s_law_with_headroom_and_bounds() {
        // 1,000 mps at 20 ms: 24 busy, plus the spare.
        assert_eq!(wanted(1000, Duration::from_millis(20), 1024), 26);
        // 80 mps at 300 ms (Meta's typical): 29 + 2.
        assert_eq!(wanted(80, Duration::from_millis(300), 1024), 31);
        assert_eq!(wanted(1, Duration::from_millis(1), 1024), FEWEST);
        assert_eq!(wanted(1000, Duration::from_secs(60), 1024), 1024);
        assert_eq!(most_workers(1000), 1024);
        assert_eq!(most_workers(80), 194);
    }

    #[test]
    fn the_pool_follows_the_observed_latency() {
        let pool = Pool::new(1000, most_workers(1000), true);
        assert_eq!(pool.resize(1000), 62, "first guess 50 ms");
        pool.started(62);
        for _ in 0..200 {
            pool.observe(Duration::from_millis(20));
        }
        assert_eq!(pool.resize(1000), 0);
        let mut retired = 0;
        while pool.retire() {
            retired += 1;
        }
        assert_eq!(pool.live(), 26, "sized for 20 ms");
        assert_eq!(retired, 36);
        // Workers sleeping before a retry do not count as available.
        pool.retrying(true);
        assert_eq!(pool.resize(1000), 1);
        pool.retrying(false);
        // A fixed pool stays as configured.
        let fixed = Pool::new(1000, 64, false);
        assert_eq!(fixed.resize(1000), 64);
        fixed.started(64);
        fixed.observe(Duration::from_millis(1));
        assert_eq!(fixed.resize(1000), 0);
        assert!(!fixed.retire());
    }
}

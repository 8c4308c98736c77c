//! The send-rate ceiling (design invariant 4) and the slow-down on 130429.
//!
//! Two layers: a `governor` GCRA limiter paces sends evenly at `rate` per
//! window (with a burst of two so timer lateness can be caught up, not spent
//! at the start), and a sliding window of the last permits guarantees the
//! hard rule — never more than `rate` permits in any one-second window (plus
//! a margin for request jitter), bursts included. A sender that waits on the
//! window keeps its GCRA permit.
//!
//! Throttling is AIMD: a 130429 halves the current rate and closes a gate
//! for a jittered back-off; every [`RECOVERY_STEP`] without throttling the
//! rate climbs back by a tenth of the ceiling.

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use governor::clock::Clock as _;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::time::Instant;

/// How long the rate must stay unthrottled before it climbs again.
pub const RECOVERY_STEP: Duration = Duration::from_secs(5);
/// The window the ceiling applies to, plus 5 ms: requests leave a moment
/// after their permit, and that jitter must not let the API's own
/// one-second window see `rate + 1` (3 ms was not enough on a loaded
/// 2-core machine). Costs 0.5 % of throughput.
const WINDOW: Duration = Duration::from_millis(1_005);

/// GCRA's burst: enough to catch up on timer lateness — two periods, or
/// 3 ms of sends at high rates, where tokio's millisecond timer wakes a
/// sender up to a whole period late (with a burst of two, 1,000 mps reached
/// only 92 %). The one-second window still holds the ceiling.
fn burst(rate: u32) -> NonZeroU32 {
    NonZeroU32::new((rate.saturating_mul(3) / 1000).max(2)).unwrap_or(NonZeroU32::MIN)
}

struct State {
    current: u32,
    last_change: Instant,
    gate_until: Option<Instant>,
}

/// The shared limiter every worker waits on.
pub struct Limiter {
    ceiling: u32,
    gcra: RwLock<Arc<DefaultDirectRateLimiter>>,
    window: Mutex<VecDeque<Instant>>,
    state: Mutex<State>,
}

fn gcra(rate: u32) -> Arc<DefaultDirectRateLimiter> {
    let rate = rate.max(1);
    // Paced at exactly `rate` per WINDOW, so the window only ever catches
    // stragglers: when it had to stop the senders every second, the GCRA
    // credit piled up meanwhile left as a burst, and a burst of requests
    // reaches the API spread out of order — `rate + 19` in one second at
    // 1000 mps.
    let quota = Quota::with_period(WINDOW / rate)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
        .allow_burst(burst(rate));
    let limiter = RateLimiter::direct(quota);
    // The burst exists to catch up on lateness, not to start with: spent at
    // the start it packs the first second and the window then stalls.
    let _ = limiter.check();
    Arc::new(limiter)
}

impl Limiter {
    /// A limiter with this ceiling (messages per second).
    pub fn new(ceiling: u32) -> Self {
        let ceiling = ceiling.max(1);
        Self {
            ceiling,
            gcra: RwLock::new(gcra(ceiling)),
            window: Mutex::new(VecDeque::with_capacity(ceiling as usize + 1)),
            state: Mutex::new(State {
                current: ceiling,
                last_change: Instant::now(),
                gate_until: None,
            }),
        }
    }

    /// The configured ceiling.
    pub fn ceiling(&self) -> u32 {
        self.ceiling
    }

    /// The rate in force now (≤ ceiling).
    pub fn current(&self) -> u32 {
        self.state.lock().map(|s| s.current).unwrap_or(self.ceiling)
    }

    /// Waits for a permit to send one message: [`Limiter::pace`], then
    /// [`Limiter::admit`].
    pub async fn acquire(&self) {
        self.pace().await;
        self.admit().await;
    }

    /// The pacing half of a permit: the sender's turn in the even spacing
    /// at the rate in force. Whatever the sender does between this and
    /// [`Limiter::admit`] (the dispatcher marks its recipient in flight
    /// and waits for the flush) delays it a little, never the others.
    pub async fn pace(&self) {
        self.wait_gate().await;
        let limiter = self
            .gcra
            .read()
            .map(|g| Arc::clone(&g))
            .unwrap_or_else(|p| Arc::clone(&p.into_inner()));
        // Not `until_ready`: governor waits on futures-timer, a thread of
        // its own woken for every sender; tokio's timer is already running.
        while let Err(not_until) = limiter.check() {
            let wait = not_until.wait_time_from(limiter.clock().now());
            tokio::time::sleep(wait).await;
        }
    }

    /// The hard half of a permit, taken right before the request leaves:
    /// a slot in the one-second window, so that never more than the rate
    /// start in any window however the paced senders were delayed.
    pub async fn admit(&self) {
        // Hold on to the pacing permit while the window is full: taking a
        // new one after the wait would waste a slot every time the window
        // binds (it cost 1 % of the rate at 80 mps).
        loop {
            let current = self.wait_gate().await;
            match self.window_slot(current) {
                None => return,
                Some(wait) => tokio::time::sleep_until(wait).await,
            }
        }
    }

    /// Waits while the throttling gate is closed; the rate in force.
    async fn wait_gate(&self) -> u32 {
        loop {
            match self.tick() {
                (Some(until), _) => tokio::time::sleep_until(until).await,
                (None, current) => return current,
            }
        }
    }

    /// Takes a slot in the sliding window, or says when one frees up.
    fn window_slot(&self, cap: u32) -> Option<Instant> {
        let now = Instant::now();
        let mut w = match self.window.lock() {
            Ok(w) => w,
            Err(p) => p.into_inner(),
        };
        while w.front().is_some_and(|&t| now.duration_since(t) >= WINDOW) {
            w.pop_front();
        }
        if (w.len() as u32) < cap {
            w.push_back(now);
            None
        } else {
            w.front().map(|&t| t + WINDOW)
        }
    }

    /// The gate (if closed) and the current rate; climbs back when calm.
    fn tick(&self) -> (Option<Instant>, u32) {
        let now = Instant::now();
        let mut s = match self.state.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        if s.gate_until.is_some_and(|g| g <= now) {
            s.gate_until = None;
        }
        if s.current < self.ceiling && now.duration_since(s.last_change) >= RECOVERY_STEP {
            s.current = (s.current + (self.ceiling / 10).max(1)).min(self.ceiling);
            s.last_change = now;
            self.rebuild(s.current);
        }
        (s.gate_until, s.current)
    }

    /// The API said the number's throughput is exceeded: halve the rate and
    /// close the gate for `backoff`. Returns the new rate.
    pub fn throttled(&self, backoff: Duration) -> u32 {
        let now = Instant::now();
        let mut s = match self.state.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        // Many workers see the same 130429 burst: halve once per back-off.
        if s.gate_until.is_none_or(|g| g <= now) {
            s.current = (s.current / 2).max(1);
            s.last_change = now;
            self.rebuild(s.current);
        }
        let until = now + backoff;
        s.gate_until = Some(s.gate_until.map_or(until, |g| g.max(until)));
        s.current
    }

    /// Closes the gate without changing the rate (app-level limits 4/80007).
    pub fn pause_for(&self, backoff: Duration) {
        let until = Instant::now() + backoff;
        if let Ok(mut s) = self.state.lock() {
            s.gate_until = Some(s.gate_until.map_or(until, |g| g.max(until)));
        }
    }

    fn rebuild(&self, rate: u32) {
        if let Ok(mut g) = self.gcra.write() {
            *g = gcra(rate);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn never_more_than_rate_in_any_window() {
        let rate = 50;
        let limiter = Arc::new(Limiter::new(rate));
        let start = Instant::now();
        let mut times = Vec::new();
        // 2.5 s worth of permits requested as fast as possible.
        for _ in 0..(rate * 5 / 2) {
            limiter.acquire().await;
            times.push(start.elapsed());
        }
        for (i, t) in times.iter().enumerate() {
            let one_second = Duration::from_secs(1);
            let in_window = times[i..]
                .iter()
                .take_while(|u| **u - *t < one_second)
                .count();
            assert!(
                in_window as u32 <= rate,
                "{in_window} permits within 1 s of {t:?}"
            );
        }
        // A ceiling is not a brake: 125 permits need at least ~2 s, not much more.
        assert!(
            start.elapsed() >= Duration::from_millis(1_400),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test]
    async fn throttling_halves_and_recovers() {
        let limiter = Limiter::new(100);
        assert_eq!(limiter.throttled(Duration::from_millis(10)), 50);
        // A second 130429 inside the same back-off does not halve again.
        assert_eq!(limiter.throttled(Duration::from_millis(10)), 50);
        assert_eq!(limiter.current(), 50);
        let t0 = Instant::now();
        limiter.acquire().await;
        assert!(t0.elapsed() >= Duration::from_millis(9), "gate held");
        if let Ok(mut s) = limiter.state.lock() {
            s.last_change = Instant::now() - RECOVERY_STEP;
        }
        limiter.acquire().await;
        assert_eq!(limiter.current(), 60);
    }
}

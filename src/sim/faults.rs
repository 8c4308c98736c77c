//! Runtime-adjustable misbehaviour: latency, server errors, lost responses,
//! held messages and recipients who cannot or must not be reached.
//!
//! Every knob is an atomic so tests can change them while traffic flows and
//! the hot path pays one relaxed load per knob. Marked numbers sit behind a
//! read-mostly lock that is skipped entirely while no number is marked.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::RwLock;
use std::time::Duration;

use rand::Rng;

use crate::phone::Phone;

/// Why a recipient cannot receive messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mark {
    /// Not on WhatsApp, old app, terms not accepted (131026).
    Undeliverable,
    /// Stopped marketing messages from this business (131050).
    OptedOut,
    /// Reached Meta's per-user marketing cap across all businesses (131049).
    MarketingCap,
    /// The business account has a payment problem (131042); marked on a
    /// number so a test can make it appear mid-campaign.
    PaymentProblem,
}

impl Mark {
    /// The Graph error code Meta reports for it.
    pub fn code(self) -> i64 {
        match self {
            Self::Undeliverable => 131026,
            Self::OptedOut => 131050,
            Self::MarketingCap => 131049,
            Self::PaymentProblem => 131042,
        }
    }
}

/// How an accepted message's response gets lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DropStyle {
    /// Close the connection instead of answering (the client sees a reset).
    #[default]
    Close,
    /// Never answer (the client times out); the connection closes at shutdown.
    Hang,
    /// Answer a proxy's bare 502 page, without a Graph error body.
    BadGateway,
}

/// Initial fault settings; see [`Faults`] for changing them at runtime.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FaultSettings {
    /// Added to every request.
    pub latency: Duration,
    /// Up to this much more, uniformly random.
    pub jitter: Duration,
    /// Fraction of valid sends answered with HTTP 500, code 131000 (not accepted).
    pub fail_rate: f64,
    /// Fraction of sends accepted and recorded whose response is then lost.
    pub drop_rate: f64,
    /// How a response is lost.
    pub drop_style: DropStyle,
    /// Fraction of sends accepted and recorded, then answered with a bare
    /// HTTP 502 as a gateway in front of the API would.
    pub gateway_rate: f64,
    /// Fraction of accepted sends answered `held_for_quality_assessment`.
    pub hold_rate: f64,
    /// Report marked numbers by a `failed` webhook after a 200 (as Meta
    /// usually does) instead of a synchronous error.
    pub async_failures: bool,
}

/// The live fault knobs of a running simulator.
#[derive(Debug, Default)]
pub struct Faults {
    latency_us: AtomicU64,
    jitter_us: AtomicU64,
    fail_rate: AtomicU64,
    drop_rate: AtomicU64,
    hold_rate: AtomicU64,
    drop_style: AtomicU8,
    gateway_rate: AtomicU64,
    async_failures: AtomicBool,
    any_marks: AtomicBool,
    marks: RwLock<HashMap<u64, Mark>>,
}

fn fraction(f: f64) -> u64 {
    f.clamp(0.0, 1.0).to_bits()
}

fn roll(bits: &AtomicU64) -> bool {
    let p = f64::from_bits(bits.load(Relaxed));
    p > 0.0 && rand::thread_rng().gen::<f64>() < p
}

impl Faults {
    /// Knobs set to `s`.
    pub fn new(s: FaultSettings) -> Self {
        let f = Self::default();
        f.apply(s);
        f
    }

    /// Replaces every knob (marks stay).
    pub fn apply(&self, s: FaultSettings) {
        self.set_latency(s.latency, s.jitter);
        self.set_fail_rate(s.fail_rate);
        self.set_drop_rate(s.drop_rate);
        self.set_drop_style(s.drop_style);
        self.set_gateway_rate(s.gateway_rate);
        self.set_hold_rate(s.hold_rate);
        self.set_async_failures(s.async_failures);
    }

    /// Sets the added latency and its random extra.
    pub fn set_latency(&self, latency: Duration, jitter: Duration) {
        self.latency_us.store(latency.as_micros() as u64, Relaxed);
        self.jitter_us.store(jitter.as_micros() as u64, Relaxed);
    }

    /// Sets the fraction of HTTP 500 / 131000 answers.
    pub fn set_fail_rate(&self, f: f64) {
        self.fail_rate.store(fraction(f), Relaxed);
    }

    /// Sets the fraction of accepted-then-lost responses.
    pub fn set_drop_rate(&self, f: f64) {
        self.drop_rate.store(fraction(f), Relaxed);
    }

    /// Sets how responses are lost.
    pub fn set_drop_style(&self, style: DropStyle) {
        self.drop_style.store(style as u8, Relaxed);
    }

    /// Sets the fraction of accepted sends answered with a bare 502.
    pub fn set_gateway_rate(&self, f: f64) {
        self.gateway_rate.store(fraction(f), Relaxed);
    }

    /// Sets the fraction of `held_for_quality_assessment` answers.
    pub fn set_hold_rate(&self, f: f64) {
        self.hold_rate.store(fraction(f), Relaxed);
    }

    /// Chooses webhook (true) or synchronous (false) failures for marked numbers.
    pub fn set_async_failures(&self, on: bool) {
        self.async_failures.store(on, Relaxed);
    }

    /// Marks a number as undeliverable or opted out.
    pub fn mark(&self, phone: Phone, mark: Mark) {
        if let Ok(mut m) = self.marks.write() {
            m.insert(phone.as_u64(), mark);
            self.any_marks.store(true, Relaxed);
        }
    }

    /// Removes a number's mark.
    pub fn unmark(&self, phone: Phone) {
        if let Ok(mut m) = self.marks.write() {
            m.remove(&phone.as_u64());
            self.any_marks.store(!m.is_empty(), Relaxed);
        }
    }

    pub(crate) fn mark_of(&self, to: u64) -> Option<Mark> {
        if !self.any_marks.load(Relaxed) {
            return None;
        }
        self.marks.read().ok()?.get(&to).copied()
    }

    pub(crate) fn delay(&self) -> Option<Duration> {
        let base = self.latency_us.load(Relaxed);
        let jitter = self.jitter_us.load(Relaxed);
        if base == 0 && jitter == 0 {
            return None;
        }
        let extra = if jitter > 0 {
            rand::thread_rng().gen_range(0..=jitter)
        } else {
            0
        };
        Some(Duration::from_micros(base + extra))
    }

    pub(crate) fn should_fail(&self) -> bool {
        roll(&self.fail_rate)
    }

    pub(crate) fn should_drop(&self) -> Option<DropStyle> {
        if roll(&self.drop_rate) {
            return Some(match self.drop_style.load(Relaxed) {
                1 => DropStyle::Hang,
                2 => DropStyle::BadGateway,
                _ => DropStyle::Close,
            });
        }
        roll(&self.gateway_rate).then_some(DropStyle::BadGateway)
    }

    pub(crate) fn should_hold(&self) -> bool {
        roll(&self.hold_rate)
    }

    pub(crate) fn async_failures(&self) -> bool {
        self.async_failures.load(Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_clamped_and_zero_never_fires() {
        let f = Faults::new(FaultSettings::default());
        assert!((0..1000).all(|_| !f.should_fail() && f.should_drop().is_none()));
        f.set_fail_rate(7.0);
        assert!(f.should_fail());
        f.set_drop_rate(1.0);
        f.set_drop_style(DropStyle::Hang);
        assert_eq!(f.should_drop(), Some(DropStyle::Hang));
        f.set_drop_rate(0.0);
        assert_eq!(f.should_drop(), None);
        f.set_gateway_rate(1.0);
        assert_eq!(f.should_drop(), Some(DropStyle::BadGateway));
    }

    #[test]
    fn marks_come_and_go() {
        let f = Faults::default();
        let p = Phone::from_e164("+4917612345678").expect("valid");
        assert_eq!(f.mark_of(p.as_u64()), None);
        f.mark(p, Mark::OptedOut);
        assert_eq!(f.mark_of(p.as_u64()), Some(Mark::OptedOut));
        f.unmark(p);
        assert_eq!(f.mark_of(p.as_u64()), None);
    }

    #[test]
    fn latency_stays_within_jitter() {
        let f = Faults::default();
        assert_eq!(f.delay(), None);
        f.set_latency(Duration::from_millis(5), Duration::from_millis(2));
        let d = f.delay().expect("some");
        assert!(
            d >= Duration::from_millis(5) && d <= Duration::from_millis(7),
            "{d:?}"
        );
    }
}

//! Seeded random cases for the property tests of what reads hostile input
//! (phone numbers, templates, the config): reproducible, bounded, without a
//! dependency.
//!
//! [`check`] runs a property over `cases` generated inputs. Case `i` of a
//! run draws from its own seed, `BOTE_PROP_SEED` (default [`DEFAULT_SEED`])
//! plus `i`; `BOTE_PROP_CASES` replaces every property's case count. A
//! failing case — an `Err` or a panic — fails the test naming the property,
//! the case's seed and its input, so that
//! `BOTE_PROP_SEED=<seed> BOTE_PROP_CASES=1` replays exactly that case.
//! Each property prints its case count and time (`--nocapture` shows them).

use std::fmt::Debug;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};

/// The seed when `BOTE_PROP_SEED` is not set: every run tries the same cases.
pub const DEFAULT_SEED: u64 = 0xB07E_2026_0013;

/// A source of random choices for one case.
pub struct Gen(StdRng);

impl Gen {
    /// The generator of one case.
    pub fn new(seed: u64) -> Self {
        Self(StdRng::seed_from_u64(seed))
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        self.0.gen_range(0..n.max(1))
    }

    /// True in `percent` of the cases.
    pub fn chance(&mut self, percent: u32) -> bool {
        self.0.gen_range(0..100) < percent
    }

    /// One of `items` (not empty).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// `n` decimal digits.
    pub fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }

    /// Up to `max` characters of anything: ASCII, controls, NUL, no-break
    /// and zero-width spaces, right-to-left marks, combining marks, CJK,
    /// emoji, full-width digits, lone surrogates' replacement.
    pub fn hostile(&mut self, max: usize) -> String {
        const ODD: &[char] = &[
            '\0', '\t', '\n', '\r', '\u{7f}', '\u{a0}', '\u{200b}', '\u{200e}', '\u{202e}',
            '\u{feff}', '\u{301}', '\u{fffd}', 'ß', 'İ', 'ﬃ', '中', '😀', '１', '٣', '+', '{', '}',
            '"', '\\', '=', '[', ']', '#', '\'', '.', '-',
        ];
        let n = self.below(max + 1);
        (0..n)
            .map(|_| match self.below(4) {
                0 => *self.pick(ODD),
                1 => char::from(self.0.gen_range(0x20u8..0x7f)),
                2 => char::from(b'0' + self.below(10) as u8),
                _ => char::from_u32(self.0.gen_range(0..0x11_0000)).unwrap_or('\u{fffd}'),
            })
            .collect()
    }
}

fn env_number(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    }
}

/// Runs `property` on `cases` inputs made by `input`; panics on the first
/// that fails, naming how to replay it.
pub fn check<T: Debug>(
    name: &str,
    cases: usize,
    input: impl FnMut(&mut Gen) -> T,
    property: impl FnMut(&T) -> Result<(), String>,
) {
    let seed = env_number("BOTE_PROP_SEED").unwrap_or(DEFAULT_SEED);
    let cases = env_number("BOTE_PROP_CASES").map_or(cases, |n| n as usize);
    run(name, seed, cases, input, property);
}

fn run<T: Debug>(
    name: &str,
    seed: u64,
    cases: usize,
    mut input: impl FnMut(&mut Gen) -> T,
    mut property: impl FnMut(&T) -> Result<(), String>,
) {
    let started = Instant::now();
    for i in 0..cases {
        let case_seed = seed.wrapping_add(i as u64);
        let mut gen = Gen::new(case_seed);
        let value = input(&mut gen);
        let outcome = catch_unwind(AssertUnwindSafe(|| property(&value))).unwrap_or_else(|panic| {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(format!("panicked: {why}"))
        });
        if let Err(why) = outcome {
            panic!(
                "property {name:?} fails for case {i} (replay: BOTE_PROP_SEED={case_seed} \
                 BOTE_PROP_CASES=1)\ninput: {value:?}\n{why}"
            );
        }
    }
    eprintln!(
        "property {name}: {cases} cases in {} ms (seed {seed})",
        started.elapsed().as_millis()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_is_the_same_for_the_same_seed() {
        let draw = |seed| {
            let mut g = Gen::new(seed);
            (g.digits(8), g.hostile(20), g.below(1000))
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
    }

    #[test]
    fn a_failing_case_names_its_seed_and_input() {
        let failure = catch_unwind(|| {
            run(
                "always fails past 2",
                1,
                10,
                |g| g.below(1) + 3,
                |n| {
                    if *n > 2 {
                        Err(format!("{n} > 2"))
                    } else {
                        Ok(())
                    }
                },
            )
        })
        .expect_err("a failing property fails the test");
        let msg = failure
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        assert!(
            msg.contains("case 0") && msg.contains("BOTE_PROP_SEED=") && msg.contains("3 > 2"),
            "{msg}"
        );
    }
}

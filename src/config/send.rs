//! `[send]`: dispatch rate, concurrency, retries, the read-ahead and the recipients' quiet hours.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::NaiveTime;
use serde::{de, Deserialize, Deserializer};

use super::{minutes, Problem};

/// The least sending time a day quiet hours must leave: less, and a
/// campaign is held nearly all day (with a minute left, effectively forever).
pub const MIN_SENDING_MINUTES: i64 = 60;

/// How many requests may be in flight at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Concurrency {
    /// Little's law: rate × observed latency × 1.2, within sane bounds.
    #[default]
    Auto,
    /// A fixed number of workers.
    Fixed(u32),
}

impl<'de> Deserialize<'de> for Concurrency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(i64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) if (1..=10_000).contains(&n) => Ok(Self::Fixed(n as u32)),
            Raw::N(n) => Err(de::Error::custom(format!(
                "concurrency must be 1..=10000 or \"auto\", got {n}"
            ))),
            Raw::S(s) if s == "auto" => Ok(Self::Auto),
            Raw::S(s) => Err(de::Error::custom(format!(
                "concurrency must be a number or \"auto\", got {s:?}"
            ))),
        }
    }
}

/// `[send]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SendConfig {
    /// Messages per second: a ceiling, never exceeded (design invariant 4).
    pub rate: u32,
    /// Requests in flight at once (`auto`: sized from observed latency).
    pub concurrency: Concurrency,
    /// Retries of a clearly-not-accepted send before it counts as failed.
    pub max_retries: u32,
    /// Per-request timeout in milliseconds.
    pub timeout_ms: u64,
    /// Recipients' local quiet hours, e.g. `21:00-08:00`.
    pub quiet_hours: Option<QuietHours>,
    /// The feeder's read-ahead: recipients claimed and queued for the
    /// workers (still pending in the journal: a crash turns only the
    /// workers' in-flight sends unknown). `None`: a quarter second of
    /// sends, 64 to 1024.
    pub batch_size: Option<u32>,
}

impl Default for SendConfig {
    fn default() -> Self {
        Self {
            rate: 80,
            concurrency: Concurrency::Auto,
            max_retries: 5,
            timeout_ms: 10_000,
            quiet_hours: None,
            batch_size: None,
        }
    }
}

impl SendConfig {
    /// The read-ahead in force: configured, or a quarter second of sends
    /// at `rate` (fewer journal scans per send at high rates).
    pub fn batch(&self) -> usize {
        self.batch_size
            .map_or_else(|| (self.rate / 4).clamp(64, 1024), |b| b.max(1)) as usize
    }

    /// The per-request timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    pub(super) fn check(&self) -> Result<(), Problem> {
        if !(1..=1000).contains(&self.rate) {
            return Err(Problem::new(
                "send.rate",
                format!(
                    "{} is outside 1..=1000 messages per second (Meta's ceiling is 1000)",
                    self.rate
                ),
            ));
        }
        if self.batch_size == Some(0) {
            return Err(Problem::new("send.batch_size", "must be at least 1"));
        }
        if self.timeout_ms == 0 {
            return Err(Problem::new("send.timeout_ms", "must be at least 1"));
        }
        if let Some(q) = self.quiet_hours {
            let open = q.sending_minutes();
            if open < MIN_SENDING_MINUTES {
                return Err(Problem::new(
                    "send.quiet_hours",
                    format!(
                        "\"{q}\" leaves {} a day for sending; quiet hours must leave at \
                         least {} (a campaign would be held all day)",
                        minutes(open),
                        minutes(MIN_SENDING_MINUTES)
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// A daily window in the recipient's local time during which nothing is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    /// Start of the quiet window.
    pub start: NaiveTime,
    /// End of the quiet window (may be earlier than `start`: across midnight).
    pub end: NaiveTime,
}

impl QuietHours {
    /// Minutes a day outside the quiet window, when sending is allowed.
    pub fn sending_minutes(&self) -> i64 {
        let quiet = (self.end - self.start).num_minutes().rem_euclid(24 * 60);
        24 * 60 - quiet
    }

    /// Whether `t` (local time) falls in the quiet window.
    pub fn contains(&self, t: NaiveTime) -> bool {
        if self.start <= self.end {
            t >= self.start && t < self.end
        } else {
            t >= self.start || t < self.end
        }
    }
}

impl FromStr for QuietHours {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (a, b) = s
            .split_once('-')
            .ok_or_else(|| format!("expected HH:MM-HH:MM, got {s:?}"))?;
        let parse = |x: &str| {
            NaiveTime::parse_from_str(x.trim(), "%H:%M")
                .map_err(|_| format!("{x:?} is not a time of day (HH:MM)"))
        };
        let (start, end) = (parse(a)?, parse(b)?);
        if start == end {
            return Err("quiet hours start and end are equal".into());
        }
        Ok(Self { start, end })
    }
}

/// Written as it is configured (`21:00-08:00`), so that a campaign's frozen
/// settings read like the config they came from.
impl serde::Serialize for QuietHours {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Display for QuietHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}",
            self.start.format("%H:%M"),
            self.end.format("%H:%M")
        )
    }
}

deserialize_from_str!(QuietHours);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_hours_wrap_midnight() {
        let q: QuietHours = "21:00-08:00".parse().expect("valid");
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).expect("time");
        assert!(q.contains(t(22, 0)) && q.contains(t(7, 59)));
        assert!(!q.contains(t(8, 0)) && !q.contains(t(12, 0)));
        let day: QuietHours = "12:00-13:00".parse().expect("valid");
        assert!(day.contains(t(12, 30)) && !day.contains(t(13, 0)));
    }

    #[test]
    fn sending_time_is_the_day_outside_the_window() {
        let open = |s: &str| s.parse::<QuietHours>().expect(s).sending_minutes();
        assert_eq!(open("21:00-08:00"), 13 * 60);
        assert_eq!(open("12:00-13:00"), 23 * 60);
        assert_eq!(open("00:00-23:59"), 1);
        assert_eq!(open("23:59-00:00"), 24 * 60 - 1);
    }
}

//! `bote.toml` + environment → a typed [`Config`].
//!
//! Every section has defaults, so a sandbox run needs no file at all. Unknown
//! keys are errors (a typo in `rate` must not silently fall back to 80), and
//! every error names the file and the key. Secrets never live in the file:
//! the file names the *environment variables* that hold them.
//!
//! One room per section: `api` (`[api]`, `[webhook]`), `send` (`[send]`,
//! quiet hours), `consent` (`[consent]`, the frequency cap), `compliance`
//! (`[compliance]`, `[retention]`, `[roles]`), `pricing` (`[pricing]`), and
//! `period` (the `7d` / `12h` durations several sections share). This file
//! holds the whole [`Config`], loading and the cross-field checks.

/// `FromStr` types read from a TOML string; defined before the section
/// modules so that they can use it.
macro_rules! deserialize_from_str {
    ($t:ty) => {
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(de::Error::custom)
            }
        }
    };
}

mod api;
mod compliance;
mod consent;
mod period;
mod pricing;
mod send;

use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;

pub use api::{ApiConfig, WebhookConfig};
pub use compliance::{ComplianceConfig, RetentionConfig, Role, RolesConfig};
pub use consent::{ConsentConfig, FrequencyCap};
pub use period::{format_period, parse_period};
pub use pricing::PricingConfig;
pub use send::{Concurrency, QuietHours, SendConfig};

/// A problem with the configuration, naming the file and key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML or a key has the wrong type or value.
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// toml's message, which names the key, line and column.
        message: String,
    },
    /// A value is well-formed TOML but makes no sense for bote.
    #[error("invalid config: `{key}`: {message}")]
    Invalid {
        /// Dotted key, e.g. `send.rate`.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `[api]`: where and as whom bote talks to the Cloud API.
    pub api: ApiConfig,
    /// `[send]`: dispatch rate, concurrency, retries.
    pub send: SendConfig,
    /// `[store]`: where the consent store and journals live.
    pub store: StoreConfig,
    /// `[templates]`: where the template catalog lives.
    pub templates: TemplatesConfig,
    /// `[consent]`: topics, keywords, declared attributes, frequency cap.
    pub consent: ConsentConfig,
    /// `[compliance]`: the processing agreement (G16).
    pub compliance: ComplianceConfig,
    /// `[retention]`: deletion periods (G9).
    pub retention: RetentionConfig,
    /// `[webhook]`: the receiver.
    pub webhook: WebhookConfig,
    /// `[roles]`: OS users per role (G12).
    pub roles: RolesConfig,
    /// `[pricing]`: per-country prices for the dry-run cost estimate.
    pub pricing: PricingConfig,
}

/// `[store]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// Store directory; default: the platform data dir.
    pub path: Option<PathBuf>,
}

/// `[templates]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TemplatesConfig {
    /// Directory of `*.toml` / `*.json` templates.
    pub dir: PathBuf,
}

impl Default for TemplatesConfig {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("templates"),
        }
    }
}

impl Config {
    /// Parses a config from TOML text; `path` is only used in messages.
    pub fn from_toml(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string().trim_end().to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Reads and parses a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml(&text, path)
    }

    /// Checks the cross-field rules serde cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, message: String| Err(ConfigError::Invalid { key, message });
        if !(1..=1000).contains(&self.send.rate) {
            return invalid(
                "send.rate",
                format!(
                    "{} is outside 1..=1000 messages per second (Meta's ceiling is 1000)",
                    self.send.rate
                ),
            );
        }
        if self.send.batch_size == Some(0) {
            return invalid("send.batch_size", "must be at least 1".into());
        }
        if self.send.timeout_ms == 0 {
            return invalid("send.timeout_ms", "must be at least 1".into());
        }
        if phonenumber::country::Id::from_str(&self.consent.default_region).is_err() {
            return invalid(
                "consent.default_region",
                format!(
                    "{:?} is not an ISO 3166 region code such as DE",
                    self.consent.default_region
                ),
            );
        }
        if self.consent.topics.is_empty() {
            return invalid("consent.topics", "name at least one topic".into());
        }
        for t in &self.consent.topics {
            if t.is_empty() || t.contains(['|', ' ', ';', ',']) {
                return invalid(
                    "consent.topics",
                    format!("{t:?}: topics are single words without | ; , or spaces"),
                );
            }
        }
        if !self.api.base_url.starts_with("http://") && !self.api.base_url.starts_with("https://") {
            return invalid(
                "api.base_url",
                format!("{:?} is not an http(s) URL", self.api.base_url),
            );
        }
        Ok(())
    }

    /// Whether `topic` is one of the configured topics.
    pub fn has_topic(&self, topic: &str) -> bool {
        self.consent.topics.iter().any(|t| t == topic)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// `text` as `bote.toml` (shared with the section modules' tests).
    pub(super) fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml(text, Path::new("bote.toml"))
    }

    #[test]
    fn empty_file_gives_sandbox_defaults() {
        let c = parse("").expect("defaults");
        assert_eq!(c.send.rate, 80);
        assert_eq!(c.send.concurrency, Concurrency::Auto);
        assert_eq!(c.consent.default_region, "DE");
        assert_eq!(c.consent.frequency_cap.map(|f| f.max), Some(3));
    }

    #[test]
    fn product_example_parses() {
        let c = parse(include_str!("../../sample-data/bote.toml")).expect("sample config");
        assert_eq!(c.api.phone_number_id, "1234567890");
        assert_eq!(
            c.send.quiet_hours.map(|q| q.to_string()).as_deref(),
            Some("21:00-08:00")
        );
        assert_eq!(c.retention.revoked, Duration::ZERO);
        assert_eq!(c.roles.admin, vec!["alice".to_string()]);
    }

    #[test]
    fn unknown_key_is_named_with_file() {
        let e = parse("[send]\nrat = 10\n").expect_err("typo");
        let msg = e.to_string();
        assert!(msg.contains("bote.toml") && msg.contains("rat"), "{msg}");
    }

    #[test]
    fn bad_values_name_their_key() {
        let e = parse("[send]\nrate = 5000\n").expect_err("too fast");
        assert!(e.to_string().contains("send.rate"), "{e}");
        let e = parse("[send]\nconcurrency = \"many\"\n").expect_err("bad concurrency");
        assert!(e.to_string().contains("concurrency"), "{e}");
        let e = parse("[consent]\nfrequency_cap = \"3 per week\"\n").expect_err("bad cap");
        assert!(e.to_string().contains("frequency_cap"), "{e}");
        let e = parse("[consent]\ndefault_region = \"XX\"\n").expect_err("bad region");
        assert!(e.to_string().contains("default_region"), "{e}");
    }
}

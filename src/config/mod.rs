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
#[cfg(test)]
mod properties;
mod send;
mod ui;

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use api::{ApiConfig, MarketingEndpoint, WebhookConfig, SUPPORTED_VERSIONS};
pub use compliance::{ComplianceConfig, RetentionConfig, Role, RolesConfig};
pub use consent::{ConsentConfig, FrequencyCap, Wording};
pub use period::{format_period, parse_period};
pub use pricing::PricingConfig;
pub use send::{Concurrency, QuietHours, SendConfig, MIN_SENDING_MINUTES};
pub use ui::UiConfig;

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
    #[error("invalid config file {path}: {}{message}", key.as_ref().map(|k| format!("`{k}`: ")).unwrap_or_default())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The dotted key whose value is wrong, when the problem is one value.
        key: Option<String>,
        /// toml's message, which shows the line and column.
        message: String,
    },
    /// A value is well-formed TOML but makes no sense for bote.
    #[error("invalid config file {path}: `{key}`: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Dotted key, e.g. `send.rate`.
        key: String,
        /// What is wrong and what is allowed.
        message: String,
    },
}

/// A value that parses but makes no sense: a section's check names its
/// dotted key, [`Config::validate`] adds the file.
#[derive(Debug)]
struct Problem {
    key: String,
    message: String,
}

impl Problem {
    fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// `n minute(s)`, for messages that count.
fn minutes(n: i64) -> String {
    if n == 1 {
        "1 minute".into()
    } else {
        format!("{n} minutes")
    }
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
    /// `[ui]`: the operator's time zone.
    pub ui: UiConfig,
    /// `[consent]`: topics, keywords, declared attributes, frequency cap.
    pub consent: ConsentConfig,
    /// `[compliance]`: the processing agreement (G16).
    pub compliance: ComplianceConfig,
    /// `[retention]`: deletion periods (G9).
    pub retention: RetentionConfig,
    /// `[webhook]`: the receiver.
    pub webhook: WebhookConfig,
    /// `[roles]`: OS users per role (G12).
    pub roles: Option<RolesConfig>,
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
        // serde_path_to_error tracks which key was being read, so that an
        // error inside an inline table or a multi-line array still names it.
        let config: Config = serde_path_to_error::deserialize(toml::Deserializer::new(text))
            .map_err(|e| {
                let key = e
                    .path()
                    .iter()
                    .next()
                    .is_some()
                    .then(|| e.path().to_string());
                ConfigError::Parse {
                    path: path.to_owned(),
                    key,
                    message: e.into_inner().to_string().trim_end().to_string(),
                }
            })?;
        config.validate(path)?;
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

    /// Checks the rules serde cannot express; `path` names the file in errors.
    pub fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        self.check().map_err(|p| ConfigError::Invalid {
            path: path.to_owned(),
            key: p.key,
            message: p.message,
        })
    }

    fn check(&self) -> Result<(), Problem> {
        self.api.check()?;
        self.webhook.check()?;
        self.send.check()?;
        self.consent.check()?;
        self.pricing.check()?;
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
        assert_eq!(
            c.roles.as_ref().map(|r| r.admin.clone()),
            Some(vec!["alice".to_string()])
        );
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

    /// The error of `text`, which must be refused, as text.
    fn refused(text: &str) -> String {
        match parse(text) {
            Ok(_) => panic!("accepted: {text}"),
            Err(e) => e.to_string(),
        }
    }

    /// Asserts that `msg` locates the problem: the file and the dotted key.
    #[track_caller]
    fn located(msg: &str, key: &str) {
        assert!(
            msg.contains("bote.toml") && msg.contains(&format!("`{key}`")),
            "{msg}"
        );
    }

    #[test]
    fn a_frequency_period_that_would_wrap_is_refused_not_shortened() {
        // 3381903080180084463 minutes wrap u64 seconds to a 4-second window.
        let msg = refused("[consent]\nfrequency_cap = \"1/3381903080180084463m\"\n");
        located(&msg, "consent.frequency_cap");
        assert!(msg.contains("3653 days"), "{msg}");
        let msg = refused("[consent]\nfrequency_cap = \"3/3654d\"\n");
        assert!(msg.contains("3653 days"), "{msg}");
        let msg = refused("[retention]\nresults = \"999999999999999999h\"\n");
        located(&msg, "retention.results");
        let c = parse("[consent]\nfrequency_cap = \"1/3653d\"\n").expect("ten years");
        assert_eq!(
            c.consent.frequency_cap.map(|f| f.window),
            Some(Duration::from_secs(3653 * 86_400))
        );
    }

    #[test]
    fn a_frequency_cap_of_zero_messages_or_zero_time_is_refused() {
        let msg = refused("[consent]\nfrequency_cap = \"3/0d\"\n");
        located(&msg, "consent.frequency_cap");
        assert!(msg.contains("zero length"), "{msg}");
        let msg = refused("[consent]\nfrequency_cap = \"0/7d\"\n");
        located(&msg, "consent.frequency_cap");
        assert!(msg.contains("at least 1"), "{msg}");
    }

    #[test]
    fn a_tier_of_zero_is_refused_because_a_send_would_wait_forever() {
        let msg = refused("[api]\nmessaging_tier = 0\n");
        located(&msg, "api.messaging_tier");
        assert!(msg.contains("at least 1"), "{msg}");
        assert!(parse("[api]\nmessaging_tier = 1\n").is_ok());
    }

    #[test]
    fn quiet_hours_must_leave_an_hour_a_day_for_sending() {
        let msg = refused("[send]\nquiet_hours = \"00:00-23:59\"\n");
        located(&msg, "send.quiet_hours");
        assert!(
            msg.contains("leaves 1 minute a day") && msg.contains("at least 60 minutes"),
            "{msg}"
        );
        let msg = refused("[send]\nquiet_hours = \"08:00-07:30\"\n");
        assert!(msg.contains("leaves 30 minutes a day"), "{msg}");
        let c = parse("[send]\nquiet_hours = \"08:00-07:00\"\n").expect("an hour left");
        assert_eq!(c.send.quiet_hours.map(|q| q.sending_minutes()), Some(60));
    }

    #[test]
    fn prices_must_be_finite_and_not_negative() {
        for bad in ["nan", "inf", "-inf", "-0.01", "1e300"] {
            let msg = refused(&format!("[pricing]\nmarketing = {{ DE = {bad} }}\n"));
            located(&msg, "pricing.marketing.DE");
            assert!(msg.contains("prices are numbers from 0"), "{bad}: {msg}");
        }
        let msg = refused("[pricing]\nutility = { default = nan }\n");
        located(&msg, "pricing.utility.default");
        assert!(parse("[pricing]\nmarketing = { DE = 0.0 }\n").is_ok());
    }

    #[test]
    fn a_receiver_must_know_at_least_one_stop_keyword() {
        let msg = refused("[consent]\nstop_keywords = []\n");
        located(&msg, "consent.stop_keywords");
        assert!(msg.contains("is empty") && msg.contains("G5"), "{msg}");
        let msg = refused("[consent]\nstop_keywords = [\" \", \"\", \"!\"]\n");
        assert!(msg.contains("only blank entries"), "{msg}");
        let msg = refused("[consent]\nstop_keywords = [\"STOP\", \"  \"]\n");
        located(&msg, "consent.stop_keywords");
        assert!(msg.contains("entry 2"), "{msg}");
    }

    #[test]
    fn the_variables_secrets_are_read_from_must_be_named() {
        for key in ["verify_token_env", "app_secret_env"] {
            let msg = refused(&format!("[webhook]\n{key} = \" \"\n"));
            located(&msg, &format!("webhook.{key}"));
            assert!(msg.contains("blank"), "{msg}");
        }
        let msg = refused("[api]\ntoken_env = \"\"\n");
        located(&msg, "api.token_env");
        let msg = refused("[api]\ntoken_env = \"A=B\"\n");
        assert!(msg.contains("cannot be the name"), "{msg}");
    }

    #[test]
    fn a_wrong_value_deep_in_a_table_names_its_dotted_key() {
        let msg = refused("[pricing.marketing]\nAT = 0.1\nDE = \"cheap\"\n");
        located(&msg, "pricing.marketing.DE");
        let msg = refused("[consent]\ntopics = [\n  \"sale\",\n  7,\n]\n");
        assert!(msg.contains("consent.topics"), "{msg}");
    }
}

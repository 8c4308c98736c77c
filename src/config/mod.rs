//! `bote.toml` + environment → a typed [`Config`].
//!
//! Every section has defaults, so a sandbox run needs no file at all. Unknown
//! keys are errors (a typo in `rate` must not silently fall back to 80), and
//! every error names the file and the key. Secrets never live in the file:
//! the file names the *environment variables* that hold them.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use chrono::NaiveTime;
use serde::{de, Deserialize, Deserializer};

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

/// `[api]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Graph API host, or an EU BSP's endpoint (G14).
    pub base_url: String,
    /// Graph API version path segment, e.g. `v25.0`.
    pub version: String,
    /// The sending phone number id.
    pub phone_number_id: String,
    /// The WhatsApp Business Account id (owns the templates).
    pub waba_id: String,
    /// Name of the environment variable holding the token.
    pub token_env: String,
    /// Optional file holding the token (owner-only), instead of the environment.
    pub token_file: Option<PathBuf>,
    /// Header that carries the token; `Authorization` sends `Bearer …`.
    pub auth_header: String,
    /// Unique users per rolling 24 h the business may message.
    pub messaging_tier: u64,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            base_url: "https://graph.facebook.com".into(),
            version: "v25.0".into(),
            phone_number_id: String::new(),
            waba_id: String::new(),
            token_env: "BOTE_TOKEN".into(),
            token_file: None,
            auth_header: "Authorization".into(),
            messaging_tier: 250,
        }
    }
}

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
    /// In-flight requests.
    pub concurrency: Concurrency,
    /// Retries of a clearly-not-accepted send before it counts as failed.
    pub max_retries: u32,
    /// Per-request timeout in milliseconds.
    pub timeout_ms: u64,
    /// Recipients' local quiet hours, e.g. `21:00-08:00`.
    pub quiet_hours: Option<QuietHours>,
    /// The in-flight budget (recipients queued or newly marked in flight;
    /// at most this plus the workers are unknown after a crash). `None`:
    /// a quarter second of sends, 64 to 1024.
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
    /// The in-flight budget in force: configured, or a quarter second of
    /// sends at `rate` (fewer durable writes per send at high rates).
    pub fn batch(&self) -> usize {
        self.batch_size
            .map_or_else(|| (self.rate / 4).clamp(64, 1024), |b| b.max(1)) as usize
    }

    /// The per-request timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
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

/// `[consent]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsentConfig {
    /// ISO 3166 region for numbers written without a country code.
    pub default_region: String,
    /// The purposes a consent can cover (G6).
    pub topics: Vec<String>,
    /// Inbound replies that revoke marketing consent (G5).
    pub stop_keywords: Vec<String>,
    /// Inbound replies that confirm a pending consent (G3).
    pub confirm_keywords: Vec<String>,
    /// Declared extra attributes; everything else is dropped on import (G8).
    pub attributes: Vec<String>,
    /// Marketing messages per recipient per window (G15).
    pub frequency_cap: Option<FrequencyCap>,
    /// Privacy policy link (G7).
    pub privacy_url: String,
    /// Imprint link (G7).
    pub imprint_url: String,
}

impl Default for ConsentConfig {
    fn default() -> Self {
        Self {
            default_region: "DE".into(),
            topics: vec!["sale".into(), "new-collection".into(), "events".into()],
            stop_keywords: ["STOP", "STOPP", "ABMELDEN", "UNSUBSCRIBE", "AUSTRAGEN"]
                .map(String::from)
                .to_vec(),
            confirm_keywords: vec!["JA".into(), "YES".into()],
            attributes: vec!["first_name".into()],
            frequency_cap: Some(FrequencyCap {
                max: 3,
                window: Duration::from_secs(7 * 86_400),
            }),
            privacy_url: "https://example.com/datenschutz".into(),
            imprint_url: "https://example.com/impressum".into(),
        }
    }
}

/// At most `max` marketing messages per recipient within `window` (G15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrequencyCap {
    /// Messages allowed in the window.
    pub max: u32,
    /// The rolling window.
    pub window: Duration,
}

impl FromStr for FrequencyCap {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (n, w) = s
            .split_once('/')
            .ok_or_else(|| format!("expected N/PERIOD such as 3/7d, got {s:?}"))?;
        let max = n
            .trim()
            .parse()
            .map_err(|_| format!("{n:?} is not a message count"))?;
        let window = parse_period(w)?;
        Ok(Self { max, window })
    }
}

impl fmt::Display for FrequencyCap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.max, format_period(self.window))
    }
}

/// Parses `30d`, `12h`, `90m`, `45s` or `0d`.
pub fn parse_period(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{s:?} lacks a unit (d, h, m or s)"))?;
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a period such as 7d"))?;
    let secs = match unit {
        "d" => 86_400,
        "h" => 3_600,
        "m" => 60,
        "s" => 1,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use d, h, m or s)")),
    };
    Ok(Duration::from_secs(n * secs))
}

/// The inverse of [`parse_period`], choosing the largest whole unit.
pub fn format_period(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => "0d".into(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// `[compliance]`: the data-processing agreement (G16).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ComplianceConfig {
    /// The processor: Meta or the chosen BSP.
    pub processor: Option<String>,
    /// When the DPA was signed; live sends refuse without it.
    pub dpa_signed_at: Option<chrono::NaiveDate>,
    /// The DPA's document reference.
    pub dpa_reference: Option<String>,
}

/// `[retention]` (G9).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// Per-recipient campaign results.
    #[serde(deserialize_with = "de_period")]
    pub results: Duration,
    /// Consents that were never confirmed.
    #[serde(deserialize_with = "de_period")]
    pub pending_unconfirmed: Duration,
    /// Revoked records before they shrink to a suppression hash.
    #[serde(deserialize_with = "de_period")]
    pub revoked: Duration,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            results: Duration::from_secs(180 * 86_400),
            pending_unconfirmed: Duration::from_secs(30 * 86_400),
            revoked: Duration::ZERO,
        }
    }
}

/// `[webhook]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    /// Listen address of the receiver.
    pub listen: String,
    /// Environment variable holding the verify token.
    pub verify_token_env: String,
    /// Environment variable holding the app secret.
    pub app_secret_env: String,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8443".into(),
            verify_token_env: "BOTE_VERIFY_TOKEN".into(),
            app_secret_env: "BOTE_APP_SECRET".into(),
        }
    }
}

/// `[roles]`: OS user names per role; `*` matches everyone (G12).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RolesConfig {
    /// May do everything, including erasure and restores.
    pub admin: Vec<String>,
    /// May import and send.
    pub operator: Vec<String>,
    /// May look.
    pub viewer: Vec<String>,
}

impl Default for RolesConfig {
    fn default() -> Self {
        Self {
            admin: vec!["*".into()],
            operator: vec![],
            viewer: vec!["*".into()],
        }
    }
}

/// What a user may do (G12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// May look.
    Viewer,
    /// May import and send.
    Operator,
    /// May do everything, including erasure and restores.
    Admin,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Viewer => "viewer",
            Self::Operator => "operator",
            Self::Admin => "admin",
        })
    }
}

impl RolesConfig {
    /// The highest role `user` has; `*` in a list matches everyone.
    pub fn role_of(&self, user: &str) -> Option<Role> {
        let has = |list: &[String]| list.iter().any(|u| u == "*" || u == user);
        if has(&self.admin) {
            Some(Role::Admin)
        } else if has(&self.operator) {
            Some(Role::Operator)
        } else if has(&self.viewer) {
            Some(Role::Viewer)
        } else {
            None
        }
    }
}

/// `[pricing]`: price per delivered template message, per category and country.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PricingConfig {
    /// Currency of all prices.
    pub currency: String,
    /// MARKETING prices per ISO region; `default` for the rest.
    pub marketing: BTreeMap<String, f64>,
    /// UTILITY prices per ISO region; `default` for the rest.
    pub utility: BTreeMap<String, f64>,
}

impl Default for PricingConfig {
    fn default() -> Self {
        // Orders of magnitude from Meta's 2025 rate card; operators put theirs.
        let marketing = [
            ("DE", 0.1131),
            ("AT", 0.1131),
            ("CH", 0.1131),
            ("FR", 0.0859),
            ("NL", 0.1597),
            ("IT", 0.0691),
            ("ES", 0.0615),
            ("default", 0.0604),
        ];
        let utility = [("DE", 0.0456), ("AT", 0.0456), ("default", 0.0300)];
        let map = |v: &[(&str, f64)]| v.iter().map(|(k, p)| (k.to_string(), *p)).collect();
        Self {
            currency: "EUR".into(),
            marketing: map(&marketing),
            utility: map(&utility),
        }
    }
}

impl PricingConfig {
    /// The price of one message of `category` to a number in `region`.
    pub fn price(&self, category: crate::template::Category, region: &str) -> f64 {
        let table = match category {
            crate::template::Category::Marketing => &self.marketing,
            crate::template::Category::Utility => &self.utility,
            crate::template::Category::Authentication => &self.utility,
        };
        table
            .get(region)
            .or_else(|| table.get("default"))
            .copied()
            .unwrap_or(0.0)
    }
}

fn de_period<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    parse_period(&s).map_err(de::Error::custom)
}

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
deserialize_from_str!(QuietHours);
deserialize_from_str!(FrequencyCap);

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
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
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

    #[test]
    fn roles_match_users_and_wildcards() {
        let c = parse(include_str!("../../sample-data/bote.toml")).expect("sample config");
        assert_eq!(c.roles.role_of("alice"), Some(Role::Admin));
        assert_eq!(c.roles.role_of("bob"), Some(Role::Operator));
        assert_eq!(c.roles.role_of("mallory"), Some(Role::Viewer));
        let none = RolesConfig {
            admin: vec![],
            operator: vec![],
            viewer: vec![],
        };
        assert_eq!(none.role_of("x"), None);
    }

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
    fn periods_round_trip() {
        for s in ["0d", "7d", "12h", "90m", "45s"] {
            assert_eq!(format_period(parse_period(s).expect(s)), s);
        }
        assert!(parse_period("7").is_err());
        assert!(parse_period("7w").is_err());
    }
}

//! What bote says to a person, in German or English: Fluent catalogs
//! (`src/i18n/{en,de}.ftl`, built into the binary) looked up by message
//! id. The language follows `[ui] language`, else the environment
//! (`LC_ALL`, `LC_MESSAGES`, `LANG`), English outside a German locale.
//! JSON output, exit codes and the audit trail never change with it.
//!
//! A message id the catalog lacks comes back as the id itself, never an
//! empty string; a test keeps the two catalogs' ids equal and checks that
//! every id the TUI uses exists.

use std::sync::OnceLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

/// A language bote speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// English.
    #[default]
    En,
    /// German.
    De,
}

impl Language {
    /// `de`, `de_AT.UTF-8`, `en-GB` … → the language; `None` for others.
    pub fn parse(tag: &str) -> Option<Self> {
        let lang = tag
            .split(['_', '-', '.', '@'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match lang.as_str() {
            "de" => Some(Self::De),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// `en` or `de`.
    pub fn tag(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::De => "de",
        }
    }

    /// The language of the environment: the first of `LC_ALL`,
    /// `LC_MESSAGES`, `LANG` that is set and not `C`/`POSIX`; German for a
    /// German locale, English otherwise.
    pub fn from_env() -> Self {
        Self::from_vars(|k| std::env::var(k).ok())
    }

    /// [`Language::from_env`] over any variable source (tests).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|k| var(k))
            .find(|v| !v.is_empty() && v != "C" && v != "POSIX")
            .and_then(|v| Self::parse(&v))
            .unwrap_or_default()
    }

    /// The catalog of this language.
    pub fn texts(self) -> &'static Texts {
        static EN: OnceLock<Texts> = OnceLock::new();
        static DE: OnceLock<Texts> = OnceLock::new();
        match self {
            Self::En => EN.get_or_init(|| Texts::new("en", EN_FTL)),
            Self::De => DE.get_or_init(|| Texts::new("de", DE_FTL)),
        }
    }

    /// A decimal as the language writes it: `0.1131` or `0,1131`.
    pub fn decimal(self, v: f64) -> String {
        match self {
            Self::En => v.to_string(),
            Self::De => v.to_string().replace('.', ","),
        }
    }

    /// `v` with `places` decimals as the language writes them.
    pub fn fixed(self, v: f64, places: usize) -> String {
        let s = format!("{v:.places$}");
        match self {
            Self::En => s,
            Self::De => s.replace('.', ","),
        }
    }

    /// `13.57 EUR` (English) or `13,57 €` (German).
    pub fn money(self, v: f64, currency: &str) -> String {
        match self {
            Self::En => format!("{v:.2} {currency}"),
            Self::De => {
                let sign = if currency == "EUR" { "€" } else { currency };
                format!("{}\u{a0}{sign}", format!("{v:.2}").replace('.', ","))
            }
        }
    }
}

/// The English catalog.
pub const EN_FTL: &str = include_str!("en.ftl");
/// The German catalog.
pub const DE_FTL: &str = include_str!("de.ftl");

/// One language's messages.
pub struct Texts {
    bundle: FluentBundle<FluentResource>,
}

impl std::fmt::Debug for Texts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Texts").finish_non_exhaustive()
    }
}

impl Texts {
    fn new(tag: &str, source: &str) -> Self {
        let lang: unic_langid::LanguageIdentifier = tag.parse().unwrap_or_default();
        let mut bundle = FluentBundle::new_concurrent(vec![lang]);
        // Terminals show Unicode isolation marks as garbage.
        bundle.set_use_isolating(false);
        // The catalogs are part of the binary and tested: a syntax error
        // would fail the catalog test, so here the good entries are kept.
        let resource = FluentResource::try_new(source.to_string()).unwrap_or_else(|(r, _)| r);
        let _ = bundle.add_resource(resource);
        Self { bundle }
    }

    /// The message `id`, or `id` itself when the catalog lacks it.
    pub fn get(&self, id: &str) -> String {
        self.format(id, None)
    }

    /// The message `id` with its arguments.
    pub fn with(&self, id: &str, args: &[(&str, Arg)]) -> String {
        let mut fa = FluentArgs::new();
        for (k, v) in args {
            match v {
                Arg::Text(s) => fa.set(*k, FluentValue::from(s.as_str())),
                Arg::Number(n) => fa.set(*k, FluentValue::from(*n)),
            }
        }
        self.format(id, Some(&fa))
    }

    fn format(&self, id: &str, args: Option<&FluentArgs>) -> String {
        let Some(pattern) = self.bundle.get_message(id).and_then(|m| m.value()) else {
            return id.to_string();
        };
        let mut errors = Vec::new();
        self.bundle
            .format_pattern(pattern, args, &mut errors)
            .into_owned()
    }
}

/// A message argument.
#[derive(Debug, Clone)]
pub enum Arg {
    /// Text, shown as is.
    Text(String),
    /// A number (Fluent picks the plural form by it).
    Number(f64),
}

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Self::Text(s.to_string())
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Self {
        Self::Text(s)
    }
}

impl From<u64> for Arg {
    fn from(n: u64) -> Self {
        Self::Number(n as f64)
    }
}

impl From<usize> for Arg {
    fn from(n: usize) -> Self {
        Self::Number(n as f64)
    }
}

/// The message ids of a catalog's source, in order.
pub fn ids_of(source: &str) -> Vec<String> {
    source
        .lines()
        .filter(|l| l.chars().next().is_some_and(|c| c.is_ascii_alphabetic()))
        .filter_map(|l| l.split_once('=').map(|(id, _)| id.trim().to_string()))
        .collect()
}

#[cfg(test)]
mod tests;

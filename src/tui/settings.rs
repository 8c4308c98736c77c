//! What the screens need to know about the configuration and the catalog,
//! asked of the daemon once at start-up so drawing never waits for it.

use chrono::FixedOffset;

use super::theme::Theme;
use crate::engine::reads::Setup;
use crate::template::{Lint, Status, Template};

/// A template as the wizard offers it.
#[derive(Debug, Clone)]
pub struct TemplateView {
    /// The template.
    pub template: Template,
    /// Its findings (G7, G8).
    pub lints: Vec<Lint>,
}

impl TemplateView {
    /// Only APPROVED templates may be sent.
    pub fn selectable(&self) -> bool {
        self.template.status == Status::Approved
    }
}

/// What the screens need from the configuration, copied once.
#[derive(Debug, Clone)]
pub struct UiConfig {
    /// Sandbox (simulator) or live.
    pub sandbox: bool,
    /// What the mode means, for the banner.
    pub mode_line: String,
    /// Send ceiling, messages per second.
    pub rate: u32,
    /// Dispatcher workers.
    pub workers: usize,
    /// Unique recipients per rolling 24 h.
    pub tier: u64,
    /// Configured topics.
    pub topics: Vec<String>,
    /// The catalog, APPROVED first.
    pub templates: Vec<TemplateView>,
    /// The operator's UTC offset for times on screen.
    pub offset: FixedOffset,
    /// Colours or not.
    pub theme: Theme,
    /// The language every text on screen is in.
    pub lang: crate::i18n::Language,
    /// Where exports are proposed: the data dir's `exports/`, never the
    /// working directory.
    pub export_dir: std::path::PathBuf,
}

impl UiConfig {
    /// From the daemon's set-up (copied once: drawing never asks again).
    pub fn from_setup(setup: Setup, offset: FixedOffset, theme: Theme) -> Self {
        Self {
            sandbox: setup.mode == "sandbox",
            mode_line: setup.mode_line,
            rate: setup.rate,
            workers: setup.workers,
            tier: setup.tier,
            topics: setup.topics,
            templates: setup
                .templates
                .into_iter()
                .map(|(template, lints)| TemplateView { template, lints })
                .collect(),
            offset,
            theme,
            export_dir: crate::paths::default_data_dir().join("exports"),
            lang: setup
                .language
                .as_deref()
                .and_then(crate::i18n::Language::parse)
                .unwrap_or_else(crate::i18n::Language::from_env),
        }
    }
}

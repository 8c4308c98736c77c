//! What the screens need to know about the configuration and the catalog,
//! copied once at start-up so drawing never reaches into the engine.

use chrono::FixedOffset;

use super::theme::Theme;
use crate::engine::Engine;
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
}

impl UiConfig {
    /// From the engine (the catalog and config are in memory: no I/O).
    pub fn from_engine(engine: &Engine, sandbox: bool, offset: FixedOffset, theme: Theme) -> Self {
        let c = &engine.config;
        Self {
            sandbox,
            mode_line: if sandbox {
                "local simulator · nothing leaves this machine".into()
            } else {
                format!(
                    "{} · phone number {}",
                    c.api.base_url, c.api.phone_number_id
                )
            },
            rate: c.send.rate,
            workers: crate::dispatch::EngineConfig::from_config(c, engine.actor()).workers,
            tier: c.api.messaging_tier,
            topics: c.consent.topics.clone(),
            templates: engine
                .catalog
                .list()
                .into_iter()
                .map(|t| TemplateView {
                    lints: t.lint(&c.consent),
                    template: t.clone(),
                })
                .collect(),
            offset,
            theme,
        }
    }
}

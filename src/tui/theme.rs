//! Colours that mean something — green taken, red failed, yellow unknown or
//! waiting, the mode banner loud — or none at all: with `NO_COLOR` every
//! style falls back to modifiers (bold, reversed, underlined) and the state
//! bar to distinct glyphs, so nothing depends on colour to be read.

use ratatui::style::{Color, Modifier, Style};

use crate::campaign::journal::RecipientState;

/// The styles of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    /// Whether colours are used.
    pub color: bool,
}

impl Theme {
    /// Colours on.
    pub const COLOR: Self = Self { color: true };
    /// Colours off (`NO_COLOR`).
    pub const MONO: Self = Self { color: false };

    /// Colours unless `NO_COLOR` is set to something non-empty.
    pub fn from_env() -> Self {
        Self {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    fn fg(self, c: Color, mono: Style) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            mono
        }
    }

    /// Titles and headers.
    pub fn title(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    /// Secondary text.
    pub fn dim(self) -> Style {
        self.fg(Color::DarkGray, Style::new().add_modifier(Modifier::DIM))
    }

    /// The selected row.
    pub fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    /// Good news.
    pub fn ok(self) -> Style {
        self.fg(Color::Green, Style::new())
    }

    /// Needs attention.
    pub fn warn(self) -> Style {
        self.fg(Color::Yellow, Style::new().add_modifier(Modifier::BOLD))
    }

    /// Went wrong.
    pub fn error(self) -> Style {
        self.fg(Color::Red, Style::new().add_modifier(Modifier::BOLD))
    }

    /// Keys in hints.
    pub fn key(self) -> Style {
        self.fg(Color::Cyan, Style::new())
            .add_modifier(Modifier::BOLD)
    }

    /// Template placeholders.
    pub fn placeholder(self) -> Style {
        self.fg(
            Color::Magenta,
            Style::new().add_modifier(Modifier::UNDERLINED),
        )
        .add_modifier(Modifier::BOLD)
    }

    /// The mode banner: SANDBOX calm, LIVE alarming.
    pub fn banner(self, sandbox: bool) -> Style {
        let s = Style::new().add_modifier(Modifier::BOLD);
        match (self.color, sandbox) {
            (true, true) => s.fg(Color::Black).bg(Color::Yellow),
            (true, false) => s.fg(Color::White).bg(Color::Red),
            (false, _) => s.add_modifier(Modifier::REVERSED),
        }
    }

    /// A recipient state.
    pub fn state(self, s: RecipientState) -> Style {
        use RecipientState::*;
        let c = match s {
            Pending | InFlight => Color::Gray,
            Accepted | Sent => Color::Green,
            Delivered | Read => Color::Cyan,
            Failed => Color::Red,
            Skipped => Color::DarkGray,
            Unknown => Color::Yellow,
            Deferred => Color::Magenta,
        };
        let mono = match s {
            Failed | Unknown => Style::new().add_modifier(Modifier::BOLD),
            _ => Style::new(),
        };
        self.fg(c, mono)
    }

    /// The glyph of a state in the stacked bar (monochrome tells states
    /// apart by it). Only decided recipients are drawn solid, in colour
    /// too: in flight is not done, and a skip was never sent.
    pub fn glyph(self, s: RecipientState) -> &'static str {
        use RecipientState::*;
        match (self.color, s) {
            (_, Pending) => "·",
            (_, InFlight) => "▒",
            (_, Skipped) => "░",
            (true, _) => "█",
            (false, Accepted | Sent) => "█",
            (false, Delivered | Read) => "▓",
            (false, Failed) => "X",
            (false, Unknown) => "?",
            (false, Deferred) => "~",
        }
    }
}

//! A one-line text field: append, delete, clear. No cursor movement —
//! operators type a path, a number or a locale and submit; that is all.

use ratatui::text::{Line, Span};

use super::super::action::InputKey;
use super::super::theme::Theme;

/// The longest value a field takes (a path, a phone number).
const MAX_LEN: usize = 1024;

/// A text field's content.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextInput {
    /// What was typed.
    pub value: String,
}

impl TextInput {
    /// Applies a keystroke; true when the value changed.
    pub fn apply(&mut self, key: InputKey) -> bool {
        match key {
            InputKey::Char(c) if !c.is_control() && self.value.chars().count() < MAX_LEN => {
                self.value.push(c);
                true
            }
            InputKey::Char(_) => false,
            InputKey::Backspace => self.value.pop().is_some(),
            InputKey::Clear => {
                let changed = !self.value.is_empty();
                self.value.clear();
                changed
            }
        }
    }

    /// The trimmed value, or `None` when empty.
    pub fn get(&self) -> Option<&str> {
        Some(self.value.trim()).filter(|v| !v.is_empty())
    }

    /// `label: value▏` — the bar marks the focused field; the tail of long
    /// values stays visible within `width` columns.
    pub fn line(&self, label: &str, focused: bool, width: u16, theme: Theme) -> Line<'static> {
        let room = (width as usize)
            .saturating_sub(label.chars().count() + 4)
            .max(1);
        let n = self.value.chars().count();
        let shown: String = if n > room {
            std::iter::once('…')
                .chain(self.value.chars().skip(n + 1 - room))
                .collect()
        } else {
            self.value.clone()
        };
        let label_style = if focused { theme.key() } else { theme.dim() };
        let mut spans = vec![
            Span::styled(format!("{label}: "), label_style),
            Span::raw(shown),
        ];
        if focused {
            spans.push(Span::styled("▏", theme.key()));
        }
        Line::from(spans)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits() {
        let mut t = TextInput::default();
        assert!(t.apply(InputKey::Char('a')));
        assert!(!t.apply(InputKey::Char('\u{7}')));
        assert!(t.apply(InputKey::Backspace));
        assert!(!t.apply(InputKey::Backspace));
        assert_eq!(t.get(), None);
        t.apply(InputKey::Char(' '));
        assert_eq!(t.get(), None);
    }
}

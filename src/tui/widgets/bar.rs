//! A horizontal bar split into one segment per recipient state, widths in
//! proportion to the counts (every non-empty state gets at least one cell,
//! so a single failure among thousands stays visible).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;

use super::super::theme::Theme;
use crate::campaign::journal::{Counts, RecipientState};

/// The states drawn, left to right (done first, waiting last).
pub const ORDER: [RecipientState; 10] = [
    RecipientState::Read,
    RecipientState::Delivered,
    RecipientState::Sent,
    RecipientState::Accepted,
    RecipientState::Failed,
    RecipientState::Unknown,
    RecipientState::Deferred,
    RecipientState::Skipped,
    RecipientState::InFlight,
    RecipientState::Pending,
];

/// The bar over `counts`.
pub struct StackedBar<'a> {
    /// Counts per state.
    pub counts: &'a Counts,
    /// Styles and glyphs.
    pub theme: Theme,
}

/// Cell widths per state in [`ORDER`], summing to `width` (when any count).
pub fn widths(counts: &Counts, width: u16) -> [u16; ORDER.len()] {
    let total = counts.total();
    let mut out = [0u16; ORDER.len()];
    if total == 0 || width == 0 {
        return out;
    }
    let w = u64::from(width);
    for (i, s) in ORDER.iter().enumerate() {
        let n = counts.get(*s);
        if n > 0 {
            out[i] = ((n * w / total) as u16).max(1);
        }
    }
    // Settle rounding on the widest segment.
    let sum: u16 = out.iter().sum();
    if let Some(widest) = (0..ORDER.len()).max_by_key(|i| out[*i]) {
        if sum > width {
            out[widest] = out[widest].saturating_sub(sum - width);
        } else {
            out[widest] += width - sum;
        }
    }
    out
}

impl Widget for StackedBar<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.is_empty() {
            return;
        }
        let widths = widths(self.counts, area.width);
        let mut x = area.x;
        for (i, s) in ORDER.iter().enumerate() {
            for _ in 0..widths[i] {
                if x >= area.right() {
                    return;
                }
                for y in area.top()..area.bottom() {
                    buf[(x, y)]
                        .set_symbol(self.theme.glyph(*s))
                        .set_style(self.theme.state(*s));
                }
                x += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_add_up_and_keep_small_states_visible() {
        let c = Counts {
            accepted: 9_998,
            failed: 1,
            unknown: 1,
            ..Counts::default()
        };
        let w = widths(&c, 40);
        assert_eq!(w.iter().sum::<u16>(), 40);
        assert_eq!(w[4], 1);
        assert_eq!(w[5], 1);
        assert_eq!(widths(&Counts::default(), 40), [0; ORDER.len()]);
    }

    /// Issue 17: `accepted 8 … in_flight 56 pending 41` drew a bar two
    /// thirds full beside "7 % of 105".
    #[test]
    fn the_bar_fills_as_far_as_the_percentage_says_in_both_themes() {
        use crate::campaign::progress::SendProgress;
        let counts = Counts {
            accepted: 8,
            in_flight: 56,
            pending: 41,
            skipped: 11,
            ..Counts::default()
        };
        let progress = SendProgress::of(&counts, 116, 105);
        let send = progress.send_counts(&counts);
        for theme in [Theme::COLOR, Theme::MONO] {
            let area = Rect::new(0, 0, 100, 1);
            let mut buf = Buffer::empty(area);
            StackedBar {
                counts: &send,
                theme,
            }
            .render(area, &mut buf);
            let solid = (0..100)
                .filter(|x| matches!(buf[(*x, 0)].symbol(), "█" | "▓" | "X" | "?"))
                .count() as u64;
            assert!(
                solid.abs_diff(progress.percent()) <= 1,
                "{solid} solid cells for {} % ({theme:?})",
                progress.percent()
            );
            let in_flight = (0..100).filter(|x| buf[(*x, 0)].symbol() == "▒").count();
            assert!(in_flight > 40, "in flight is drawn apart: {in_flight}");
        }
    }
}

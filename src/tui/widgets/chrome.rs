//! The frame around every screen: the mode banner on top (SANDBOX or LIVE,
//! always visible), key hints or the last message at the bottom, and the
//! overlays — the `?` key list and the dialogs that ask again.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::super::app::{App, Confirm};
use super::super::keys;
use super::fmt;

/// The top line: mode, what it means, the running campaign, the time.
pub fn header(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.ui.theme;
    let mode = if app.ui.sandbox {
        " SANDBOX "
    } else {
        " LIVE "
    };
    let mut right = Vec::new();
    if let Some(id) = app.running {
        right.push(Span::styled(
            app.tw("tui-campaign-active", &[("id", id.to_string().into())]),
            t.ok(),
        ));
    }
    right.push(Span::styled(fmt::clock(app.now, app.ui.offset), t.dim()));
    let right_w: usize = right.iter().map(|s| s.width()).sum();
    let [left_area, right_area] = Layout::horizontal([
        Constraint::Min(mode.len() as u16),
        Constraint::Length(right_w as u16),
    ])
    .spacing(1)
    .areas(area);
    let left = Line::from(vec![
        Span::styled(mode, t.banner(app.ui.sandbox)),
        Span::styled(" bote ", t.title()),
        Span::styled(
            format!(
                "· {}",
                if app.ui.sandbox {
                    app.t("tui-mode-sandbox")
                } else {
                    app.ui.mode_line.clone()
                }
            ),
            t.dim(),
        ),
    ]);
    frame.render_widget(Paragraph::new(left), left_area);
    frame.render_widget(Paragraph::new(Line::from(right)), right_area);
}

/// The bottom line: the last message, else the keys of this screen.
pub fn footer(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.ui.theme;
    let line = match &app.status {
        Some(s) => Line::styled(s.text.clone(), if s.error { t.error() } else { t.ok() }),
        None => {
            let mut spans = Vec::new();
            for (key, what) in keys::hints(app) {
                spans.push(Span::styled(key, t.key()));
                spans.push(Span::raw(format!(" {what}  ")));
            }
            Line::from(spans)
        }
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// A rectangle of at most `w`×`h` centred in `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// Lines of `lines` the key overlay shows in a body `height` rows high
/// (its frame takes two).
pub fn help_rows(lines: usize, height: u16) -> usize {
    lines.min(usize::from(height.saturating_sub(2)))
}

/// The key list of the current screen, from line `top` on: as much as
/// fits, the title saying where it is when it does not all fit.
pub fn help(app: &App, top: usize, frame: &mut Frame, area: Rect) {
    let t = app.ui.theme;
    let binds = keys::help(app);
    let visible = help_rows(binds.len(), area.height);
    let box_area = centered(area, 64, visible as u16 + 2);
    // The last page stops at the last line (update keeps `top` there too).
    let top = top.min(binds.len().saturating_sub(visible));
    let lines: Vec<Line> = binds
        .iter()
        .skip(top)
        .take(visible)
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!("{k:>8}  "), t.key()),
                Span::raw(what.clone()),
            ])
        })
        .collect();
    let title = if visible >= binds.len() {
        app.t("tui-keys-title")
    } else {
        app.tw(
            "tui-keys-title-scroll",
            &[
                ("from", (top + 1).into()),
                ("to", (top + visible).min(binds.len()).into()),
                ("of", binds.len().into()),
            ],
        )
    };
    frame.render_widget(Clear, box_area);
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(Span::styled(title, t.title()))),
        box_area,
    );
}

/// The open dialog, if any.
pub fn modal(app: &App, frame: &mut Frame, area: Rect) {
    let Some(m) = &app.modal else { return };
    let t = app.ui.theme;
    let mut lines: Vec<Line> = m.lines.iter().map(|l| Line::from(l.clone())).collect();
    lines.push(Line::default());
    match (&m.confirm, &m.expected) {
        (Confirm::Export { mask, .. }, _) => {
            lines.push(m.input.line(&app.t("tui-export-file"), true, 68, t));
            lines.push(Line::from(vec![
                Span::styled("Tab", t.key()),
                Span::raw(app.t(if *mask {
                    "tui-export-masked"
                } else {
                    "tui-export-full"
                })),
            ]));
            lines.push(Line::styled(app.t("tui-export-keys"), t.dim()));
        }
        (_, Some(x)) => {
            lines.push(m.input.line(
                &app.tw("tui-modal-type", &[("text", x.clone().into())]),
                true,
                60,
                t,
            ));
            lines.push(Line::styled(app.t("tui-modal-esc-no"), t.dim()));
        }
        (_, None) => lines.push(Line::from(vec![
            Span::styled("y", t.key()),
            Span::raw(app.t("tui-modal-yes")),
            Span::styled("n", t.key()),
            Span::raw(app.t("tui-modal-no")),
        ])),
    }
    let box_area = centered(area, 72, lines.len() as u16 + 2);
    frame.render_widget(Clear, box_area);
    frame.render_widget(
        Paragraph::new(lines)
            .block(Block::bordered().title(Span::styled(format!(" {} ", m.title), t.warn())))
            .wrap(Wrap { trim: true }),
        box_area,
    );
}

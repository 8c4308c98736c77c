//! Wizard step 1: choose a template. APPROVED ones first and selectable;
//! the others stay visible with the reason they cannot be sent. The right
//! side previews the body with its placeholders highlighted and lists the
//! template's lint findings (G7 opt-out hint, G8 undeclared attributes).

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, List, ListItem, ListState, Paragraph, Wrap};
use ratatui::Frame;

use super::super::mouse::{self, Rows};

use super::super::app::{App, ScreenId};
use super::super::widgets::body;
use super::steps_line;

/// Draws the template step.
pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.ui.theme;
    let [steps, main] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    frame.render_widget(steps_line(app, ScreenId::Template), steps);
    let list_w = (main.width * 2 / 5).clamp(20, 40);
    let [left, right] =
        Layout::horizontal([Constraint::Length(list_w), Constraint::Min(0)]).areas(main);
    let items: Vec<ListItem> = app
        .ui
        .templates
        .iter()
        .map(|v| {
            // APPROVED is the norm and gets a tick; anything else names its status.
            let (mark, style) = if v.selectable() {
                ("✓".to_string(), t.ok())
            } else {
                (v.template.status.to_string(), t.dim())
            };
            ListItem::new(Line::from(vec![
                Span::raw(format!("{} ", v.template.name)),
                Span::styled(mark, style),
            ]))
        })
        .collect();
    let list = List::new(items)
        .block(Block::bordered().title(Span::styled(app.t("tui-template-title"), t.title())))
        .highlight_style(t.selected())
        .highlight_symbol("▶ ");
    let mut state = ListState::default().with_selected(Some(app.wizard.template));
    frame.render_stateful_widget(list, left, &mut state);
    app.hits.rows(Rows {
        area: mouse::body(left, 0),
        first: state.offset(),
        selected: app.wizard.template,
        len: app.ui.templates.len(),
    });

    let Some(view) = app.ui.templates.get(app.wizard.template) else {
        frame.render_widget(
            Paragraph::new(app.t("tui-template-none")).block(Block::bordered()),
            right,
        );
        return;
    };
    let tpl = &view.template;
    let title = format!(
        " {} · {} · {} · {} ",
        tpl.name, tpl.language, tpl.category, tpl.status
    );
    let mut text = Text::default();
    if !view.selectable() {
        text.lines.push(Line::styled(
            app.tw(
                "tui-template-not-selectable",
                &[("status", tpl.status.to_string().into())],
            ),
            t.error(),
        ));
        text.lines.push(Line::default());
    }
    text.lines.extend(body::template_text(tpl, t).lines);
    let lints: Vec<_> = view
        .lints
        .iter()
        .filter(|l| view.selectable() || !l.message.starts_with("status is"))
        .collect();
    if !lints.is_empty() {
        text.lines.push(Line::default());
    }
    for l in lints {
        let style = if l.level == "error" {
            t.error()
        } else {
            t.warn()
        };
        text.lines.push(Line::from(vec![
            Span::styled(format!("{}: ", l.level), style),
            Span::raw(l.message.clone()),
        ]));
    }
    frame.render_widget(
        Paragraph::new(text)
            .block(Block::bordered().title(Span::styled(title, t.title())))
            .wrap(Wrap { trim: false }),
        right,
    );
}

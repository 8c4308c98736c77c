//! Wizard step 2: who. The topic (G6) is chosen from the configured ones;
//! locale and list are optional text fields. The dry run reruns in the
//! background after every change, so the counts below are live.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

use super::super::app::{App, ScreenId};
use super::super::widgets::fmt;
use super::steps_line;
use super::wizard::Field;

/// Draws the audience step.
pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.ui.theme;
    let w = &app.wizard;
    let [steps, form, counts] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(7),
        Constraint::Min(3),
    ])
    .areas(area);
    frame.render_widget(steps_line(app, ScreenId::Audience), steps);
    let template = app
        .ui
        .templates
        .get(w.template)
        .map(|v| format!("{} ({})", v.template.name, v.template.language))
        .unwrap_or_default();
    let topic = app.ui.topics.get(w.topic).cloned().unwrap_or_default();
    let focus = |f: Field| w.field == f;
    let topic_label = if focus(Field::Topic) {
        t.key()
    } else {
        t.dim()
    };
    let inner_w = form.width.saturating_sub(2);
    let mut lines = vec![
        Line::from(vec![
            Span::styled("Template: ", t.dim()),
            Span::raw(template),
        ]),
        Line::from(vec![
            Span::styled("Topic: ", topic_label),
            Span::styled(
                format!("◀ {topic} ▶"),
                if focus(Field::Topic) {
                    t.selected()
                } else {
                    t.title()
                },
            ),
        ]),
        w.locale.line("Locale", focus(Field::Locale), inner_w, t),
        w.list
            .line("List (CSV path)", focus(Field::List), inner_w, t),
    ];
    let hint = match w.field {
        Field::Topic => "←/→ choose the campaign's purpose; only consents covering it qualify (G6)",
        Field::Locale => "e.g. de (matches de_AT too); empty: every language",
        Field::List => {
            "a CSV with a phone column, matched against the store; empty: the whole store"
        }
    };
    lines.push(Line::styled(hint, t.dim()));
    frame.render_widget(
        Paragraph::new(lines)
            .block(Block::bordered().title(Span::styled(" Audience ", t.title())))
            .wrap(Wrap { trim: true }),
        form,
    );

    let mut lines = Vec::new();
    let busy = w.planning || w.dirty_since.is_some();
    if let Some(e) = &w.plan_error {
        lines.push(Line::styled(e.clone(), t.error()));
    } else if let Some(p) = &w.plan {
        let plan = &p.plan;
        lines.push(Line::from(vec![
            Span::styled(
                format!("eligible {}", fmt::count(plan.eligible.len() as u64)),
                t.ok(),
            ),
            Span::raw(format!(
                " of {} · excluded {}",
                fmt::count(plan.audience() as u64),
                fmt::count(plan.excluded.len() as u64)
            )),
        ]));
        let reasons: Vec<String> = p
            .reasons
            .iter()
            .map(|g| format!("{} {}", g.code, fmt::count(g.members.len() as u64)))
            .collect();
        if !reasons.is_empty() {
            lines.push(Line::styled(reasons.join(" · "), t.dim()));
        }
    }
    if busy {
        lines.push(Line::styled("planning…", t.warn()));
    }
    lines.push(Line::styled("Enter: the full dry run", t.dim()));
    frame.render_widget(
        Paragraph::new(lines)
            .block(Block::bordered().title(Span::styled(" Live count ", t.title())))
            .wrap(Wrap { trim: true }),
        counts,
    );
}

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
            Span::styled(app.t("tui-audience-template"), t.dim()),
            Span::raw(template),
        ]),
        Line::from(vec![
            Span::styled(app.t("tui-audience-topic"), topic_label),
            Span::styled(
                format!("◀ {topic} ▶"),
                if focus(Field::Topic) {
                    t.selected()
                } else {
                    t.title()
                },
            ),
        ]),
        w.locale.line(
            &app.t("tui-audience-locale"),
            focus(Field::Locale),
            inner_w,
            t,
        ),
        w.list
            .line(&app.t("tui-audience-list"), focus(Field::List), inner_w, t),
    ];
    let hint = match w.field {
        Field::Topic => "tui-audience-hint-topic",
        Field::Locale => "tui-audience-hint-locale",
        Field::List => "tui-audience-hint-list",
    };
    lines.push(Line::styled(app.t(hint), t.dim()));
    frame.render_widget(
        Paragraph::new(lines)
            .block(Block::bordered().title(Span::styled(app.t("tui-audience-title"), t.title())))
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
                app.tw(
                    "tui-eligible-n",
                    &[("n", fmt::count(plan.eligible.len() as u64).into())],
                ),
                t.ok(),
            ),
            Span::raw(app.tw(
                "tui-of-n-excluded-m",
                &[
                    ("n", fmt::count(plan.audience() as u64).into()),
                    ("m", fmt::count(plan.excluded.len() as u64).into()),
                ],
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
        lines.push(Line::styled(app.t("tui-planning"), t.warn()));
    }
    lines.push(Line::styled(app.t("tui-audience-enter"), t.dim()));
    frame.render_widget(
        Paragraph::new(lines)
            .block(Block::bordered().title(Span::styled(app.t("tui-audience-live"), t.title())))
            .wrap(Wrap { trim: true }),
        counts,
    );
}

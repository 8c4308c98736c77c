//! Wizard step 4: the last word. The sandbox asks yes or no; live sends
//! need the number of recipients typed back, as `campaign send` does.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

use super::super::app::{App, ScreenId};
use super::super::widgets::fmt;
use super::steps_line;

/// Draws the confirmation step.
pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.ui.theme;
    let [steps, main] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    frame.render_widget(steps_line(app, ScreenId::Confirm), steps);
    let Some(p) = &app.wizard.plan else { return };
    let plan = &p.plan;
    let n = plan.eligible.len();
    let cost = app.ui.lang.money(plan.cost.total, &plan.cost.currency);
    let eta = fmt::duration((n as u64).div_ceil(u64::from(app.ui.rate.max(1))));
    let mut lines = vec![
        Line::from(vec![
            Span::raw(app.t("tui-confirm-template")),
            Span::styled(plan.template.name.clone(), t.title()),
            Span::raw(app.tw(
                "tui-confirm-topic",
                &[("topic", plan.request.topic.clone().into())],
            )),
            Span::styled(
                app.tw(
                    "tui-confirm-recipients",
                    &[("n", fmt::count(n as u64).into())],
                ),
                t.title(),
            ),
        ]),
        Line::from(app.tw(
            "tui-confirm-cost",
            &[
                ("cost", cost.into()),
                ("rate", app.ui.rate.to_string().into()),
                ("eta", eta.into()),
            ],
        )),
        Line::default(),
    ];
    if app.ui.sandbox {
        lines.push(Line::styled(app.t("tui-confirm-sandbox"), t.warn()));
        lines.push(Line::default());
        lines.push(Line::from(vec![
            Span::styled("y", t.key()),
            Span::raw(app.t("tui-confirm-send")),
            Span::styled("n", t.key()),
            Span::raw(app.t("tui-confirm-back")),
        ]));
    } else {
        lines.push(Line::styled(
            app.tw("tui-confirm-live", &[("n", n.into())]),
            t.error(),
        ));
        lines.push(Line::default());
        lines.push(app.wizard.confirm.line(
            &app.tw("tui-confirm-type", &[("n", n.into())]),
            true,
            main.width.saturating_sub(2),
            t,
        ));
    }
    if app.wizard.starting {
        lines.push(Line::default());
        lines.push(Line::styled(app.t("tui-starting"), t.warn()));
    }
    frame.render_widget(
        Paragraph::new(lines)
            .block(Block::bordered().title(Span::styled(app.t("tui-confirm-title"), t.title())))
            .wrap(Wrap { trim: true }),
        main,
    );
}

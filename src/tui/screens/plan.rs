//! Wizard step 3: the dry run, the same numbers `bote campaign plan` prints.
//!
//! ```text
//! ┌Dry run: herbst_sale (de, MARKETING) · topic sale───────────────────┐
//! │ Eligible 6 of 11 · excluded 5                                       │
//! │ Cost ≤ 0.68 EUR (DE 6 × 0.1131)   Tier: all 6 now   80/s · ETA 1s   │
//! └─────────────────────────────────────────────────────────────────────┘
//! ┌Excluded, by reason──────┐┌Preview 1 of 6 · +49•••••••0001──────────┐
//! │▶ pending             2  ││ Herbst-Sale 🍂 …                         │
//! └─────────────────────────┘└──────────────────────────────────────────┘
//! ```
//!
//! Enter on a reason lists its recipients (numbers masked to the last four
//! digits); ←/→ scrolls the previews through every eligible recipient.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, Cell, List, ListItem, ListState, Paragraph, Row, Table, TableState, Wrap,
};
use ratatui::Frame;

use super::super::mouse::{self, Rows};

use super::super::action::{Cmd, PlanView};
use super::super::app::{App, ScreenId};
use super::super::widgets::fmt;
use super::steps_line;

/// Digits of a number left visible on screen.
pub const KEEP_DIGITS: usize = 4;

/// Whether `cmd` does anything on the dry run: including recent receivers
/// only when the plan left some out (or already includes them).
pub fn works(app: &App, cmd: Cmd) -> bool {
    match cmd {
        Cmd::AckTopic => app.wizard.plan.as_ref().is_some_and(|p| {
            p.plan
                .template
                .topic_mismatch(&p.plan.request.topic)
                .is_some()
        }),
        Cmd::IncludeRecent => {
            app.wizard.include_recent
                || app
                    .wizard
                    .plan
                    .as_ref()
                    .is_some_and(|p| p.reasons.iter().any(|r| r.code == "recently_sent"))
        }
        _ => true,
    }
}

/// Draws the dry-run step.
pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.ui.theme;
    let [steps, main] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    frame.render_widget(steps_line(app, ScreenId::Plan), steps);
    let w = &app.wizard;
    let Some(view) = &w.plan else {
        let (text, style) = match &w.plan_error {
            Some(e) => (e.clone(), t.error()),
            None => (app.t("tui-planning"), t.warn()),
        };
        frame.render_widget(
            Paragraph::new(Line::styled(text, style))
                .block(Block::bordered().title(app.t("tui-plan-title")))
                .wrap(Wrap { trim: true }),
            main,
        );
        return;
    };
    let lint_h = if view.plan.lints.is_empty() { 0 } else { 2 };
    let [summary, lower, lints] = Layout::vertical([
        Constraint::Length(6),
        Constraint::Min(3),
        Constraint::Length(lint_h),
    ])
    .areas(main);
    draw_summary(app, view, frame, summary);
    match w.drill {
        Some((r, sel)) => draw_drill(app, view, r, sel, frame, lower),
        None => {
            let [left, right] =
                Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)])
                    .areas(lower);
            draw_reasons(app, view, frame, left);
            draw_preview(app, view, frame, right);
        }
    }
    let lines: Vec<Line> = view
        .plan
        .lints
        .iter()
        .map(|l| {
            let style = if l.level == "error" {
                t.error()
            } else {
                t.warn()
            };
            Line::from(vec![
                Span::styled(format!("{}: ", l.level), style),
                Span::raw(l.message.clone()),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), lints);
}

fn draw_summary(app: &App, view: &PlanView, frame: &mut Frame, area: Rect) {
    let t = app.ui.theme;
    let plan = &view.plan;
    let tpl = &plan.template;
    let title = app.tw(
        "tui-plan-summary-title",
        &[
            ("name", tpl.name.clone().into()),
            ("language", tpl.language.clone().into()),
            ("category", tpl.category.to_string().into()),
            ("topic", plan.request.topic.clone().into()),
            (
                "locale",
                plan.request
                    .locale
                    .as_deref()
                    .map(|l| app.tw("tui-plan-locale", &[("locale", l.into())]))
                    .unwrap_or_default()
                    .into(),
            ),
        ],
    );
    let n = plan.eligible.len() as u64;
    let countries: Vec<String> = plan
        .cost
        .by_country
        .iter()
        .take(3)
        .map(|(c, x)| {
            format!(
                "{c} {} × {}",
                fmt::count(x.recipients as u64),
                app.ui.lang.decimal(x.price)
            )
        })
        .collect();
    let tier = &plan.tier;
    let args = |at: Option<String>| {
        vec![
            ("now", fmt::count(tier.now).into()),
            ("later", fmt::count(tier.later).into()),
            ("used", fmt::count(tier.used).into()),
            ("tier", fmt::count(tier.tier).into()),
            ("at", at.unwrap_or_default().into()),
        ]
    };
    let tier_text = if tier.later == 0 {
        app.tw("tui-tier-all-now", &args(None))
    } else {
        match tier.later_at {
            Some(at) => app.tw(
                "tui-tier-rest-after",
                &args(Some(fmt::clock(at, app.ui.offset))),
            ),
            None => app.tw("tui-tier-exceeds", &args(None)),
        }
    };
    let rate = app.ui.rate.max(1);
    let lines = vec![
        Line::from(vec![
            Span::styled(
                app.tw("tui-plan-eligible", &[("n", fmt::count(n).into())]),
                t.ok().patch(t.title()),
            ),
            Span::raw(app.tw(
                "tui-plan-of",
                &[("n", fmt::count(plan.audience() as u64).into())],
            )),
            Span::styled(
                app.tw(
                    "tui-plan-excluded",
                    &[("n", fmt::count(plan.excluded.len() as u64).into())],
                ),
                if plan.excluded.is_empty() {
                    t.dim()
                } else {
                    t.warn()
                },
            ),
        ]),
        Line::from(
            app.tw(
                "tui-plan-cost",
                &[
                    (
                        "money",
                        app.ui
                            .lang
                            .money(plan.cost.total, &plan.cost.currency)
                            .into(),
                    ),
                    (
                        "countries",
                        if countries.is_empty() {
                            app.t("tui-nobody")
                        } else {
                            countries.join(", ")
                        }
                        .into(),
                    ),
                ],
            ),
        ),
        Line::from(vec![
            Span::raw(app.t("tui-plan-tier")),
            Span::styled(tier_text, if tier.later > 0 { t.warn() } else { t.ok() }),
        ]),
        Line::from(eta_text(app, plan, rate)),
    ];
    frame.render_widget(
        Paragraph::new(lines)
            .block(Block::bordered().title(Span::styled(title, t.title())))
            .wrap(Wrap { trim: true }),
        area,
    );
}

fn draw_reasons(app: &App, view: &PlanView, frame: &mut Frame, area: Rect) {
    let t = app.ui.theme;
    let block = Block::bordered().title(Span::styled(app.t("tui-plan-reasons"), t.title()));
    if view.reasons.is_empty() {
        frame.render_widget(
            Paragraph::new(app.t("tui-plan-nobody-excluded")).block(block),
            area,
        );
        return;
    }
    let width = area.width.saturating_sub(12) as usize;
    let items: Vec<ListItem> = view
        .reasons
        .iter()
        .map(|g| {
            ListItem::new(Line::from(format!(
                "{:<width$}{:>7}",
                fmt::ellipsize(g.code, width),
                fmt::count(g.members.len() as u64)
            )))
        })
        .collect();
    let list = List::new(items)
        .block(block)
        .highlight_style(t.selected())
        .highlight_symbol("▶ ");
    let mut state = ListState::default().with_selected(Some(app.wizard.reason));
    frame.render_stateful_widget(list, area, &mut state);
    app.hits.rows(Rows {
        area: mouse::body(area, 0),
        first: state.offset(),
        selected: app.wizard.reason,
        len: view.reasons.len(),
    });
}

fn draw_preview(app: &App, view: &PlanView, frame: &mut Frame, area: Rect) {
    let t = app.ui.theme;
    let i = app.wizard.preview;
    let plan = &view.plan;
    let (title, text) = match (plan.eligible.get(i), plan.preview(i)) {
        (Some(r), Some(text)) => (
            app.tw(
                "tui-preview-n-of-m",
                &[
                    ("n", (i + 1).into()),
                    ("m", plan.eligible.len().into()),
                    ("who", r.phone.masked(KEEP_DIGITS).into()),
                ],
            ),
            text,
        ),
        _ => (app.t("tui-preview"), app.t("tui-nobody-eligible")),
    };
    frame.render_widget(
        Paragraph::new(text)
            .block(Block::bordered().title(Span::styled(title, t.title())))
            .wrap(Wrap { trim: false }),
        area,
    );
}

fn draw_drill(app: &App, view: &PlanView, r: usize, sel: usize, frame: &mut Frame, area: Rect) {
    let t = app.ui.theme;
    let Some(group) = view.reasons.get(r) else {
        return;
    };
    let title = format!(
        " {} ({}) — {} ",
        group.code,
        fmt::count(group.members.len() as u64),
        group.description
    );
    // `sel` is the highlighted member; the window keeps it on screen.
    let height = (area.height.saturating_sub(3) as usize).max(1);
    let sel = sel.min(group.members.len().saturating_sub(1));
    let start = (sel + 1).saturating_sub(height);
    let rows = group
        .members
        .iter()
        .skip(start)
        .take(height)
        .filter_map(|&i| {
            let e = view.plan.excluded.get(i)?;
            let who = e
                .phone
                .map(|p| p.masked(KEEP_DIGITS))
                .or_else(|| e.input.clone())
                .unwrap_or_default();
            Some(Row::new(vec![
                Cell::from(who),
                Cell::from(e.line.map(|l| l.to_string()).unwrap_or_else(|| "—".into())),
                Cell::from(e.reason.describe()),
            ]))
        });
    let table = Table::new(
        rows,
        [
            Constraint::Length(18),
            Constraint::Length(6),
            Constraint::Min(10),
        ],
    )
    .header(
        Row::new(["tui-col-recipient", "tui-col-line", "tui-col-reason"].map(|id| app.t(id)))
            .style(t.title()),
    )
    .row_highlight_style(t.selected())
    .highlight_symbol("▶ ")
    .block(Block::bordered().title(Span::styled(title, t.title())));
    let mut state = TableState::default().with_selected(Some(sel - start));
    frame.render_stateful_widget(table, area, &mut state);
    app.hits.rows(Rows {
        area: mouse::body(area, 1),
        first: start + state.offset(),
        selected: sel,
        len: group.members.len(),
    });
}

/// The send's time at the rate and, when quiet hours or the tier hold part
/// of it, when the last send goes: the plan's own estimate.
fn eta_text(app: &App, plan: &crate::audience::Plan, rate: u32) -> String {
    let e = &plan.estimate;
    let sending = fmt::duration(e.sending_secs);
    let rate = rate.to_string();
    if !e.held(&plan.tier) {
        return app.tw(
            "tui-eta",
            &[("rate", rate.into()), ("sending", sending.into())],
        );
    }
    let last = e.finishes_at.map_or_else(
        || app.t("tui-eta-not-within-a-day"),
        |at| fmt::clock(at, app.ui.offset),
    );
    match e.quiet_until {
        Some(until) => app.tw(
            "tui-eta-quiet",
            &[
                ("rate", rate.into()),
                ("sending", sending.into()),
                ("held", fmt::count(e.quiet_held).into()),
                ("until", fmt::clock(until, app.ui.offset).into()),
                ("last", last.into()),
            ],
        ),
        None => app.tw(
            "tui-eta-held",
            &[
                ("rate", rate.into()),
                ("sending", sending.into()),
                ("last", last.into()),
            ],
        ),
    }
}

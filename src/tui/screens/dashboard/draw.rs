//! Drawing the live dashboard: cheap enough for 30 frames a second (the
//! table renders only the rows of its page that fit).
//!
//! ```text
//! ┌Campaign 3 · herbst_sale · topic sale · SENDING───────────────────────┐
//! │ ████████████████████▓▓▓X?░░░░▒▒▒▒▒▒▒▒▒▒··········  62 % of 200        │
//! │ accepted 120 sent 0 delivered 0 read 0 failed 3 unknown 0 skipped 1 … │
//! │ 80/s of 80 · ETA 1s · elapsed 12s                                     │
//! └───────────────────────────────────────────────────────────────────────┘
//! ┌Sends per second · ceiling 80───────┐┌Notices─────────────────────────┐
//! │ ▁▂▅▇█████                          ││ 12:00 slowed to 40/s: 130429    │
//! └────────────────────────────────────┘└────────────────────────────────┘
//! ┌Results, newest first · all states · 200 rows · following────────────────┐
//! │ #      Number           State     Code    Latency  Note               │
//! └───────────────────────────────────────────────────────────────────────┘
//! ```

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Sparkline, Table, Wrap};
use ratatui::Frame;

use super::state::{DashState, Level};
use crate::campaign::journal::RecipientState;
use crate::campaign::progress::observed_rate;
use crate::campaign::CampaignState;
use crate::tui::app::App;
use crate::tui::screens::plan::KEEP_DIGITS;
use crate::tui::widgets::bar::StackedBar;
use crate::tui::widgets::fmt;

/// Draws the dashboard (or a hint when none was opened).
pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let Some(d) = &app.dash else {
        frame.render_widget(Paragraph::new(app.t("tui-dash-none")), area);
        return;
    };
    let middle_h = (area.height.saturating_sub(8) / 3).clamp(5, 8);
    let [summary, middle, results] = Layout::vertical([
        Constraint::Length(5),
        Constraint::Length(middle_h),
        Constraint::Min(3),
    ])
    .areas(area);
    draw_summary(app, d, frame, summary);
    let [spark, notices] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(middle);
    draw_sparkline(app, d, frame, spark);
    draw_notices(app, d, frame, notices);
    draw_results(app, d, frame, results);
}

fn state_word(app: &App, d: &DashState) -> (String, Level) {
    match (&d.finished, &d.paused, &d.held, &d.throttle) {
        (Some(Ok(s)), ..) => (
            app.state_name(*s).to_uppercase(),
            match s {
                CampaignState::Finished => Level::Info,
                _ => Level::Warn,
            },
        ),
        (Some(Err(_)), ..) => (app.t("tui-dash-stopped-by-error"), Level::Error),
        (None, Some(_), ..) => (app.t("tui-dash-paused"), Level::Warn),
        (None, None, Some(_), _) => (app.t("tui-dash-held"), Level::Warn),
        (None, None, None, Some(_)) => (app.t("tui-dash-slowed"), Level::Warn),
        _ => (app.t("tui-dash-sending"), Level::Info),
    }
}

fn level_style(app: &App, l: Level) -> Style {
    let t = app.ui.theme;
    match l {
        Level::Info => t.ok(),
        Level::Warn => t.warn(),
        Level::Error => t.error(),
    }
}

fn draw_summary(app: &App, d: &DashState, frame: &mut Frame, area: Rect) {
    let t = app.ui.theme;
    let (word, level) = state_word(app, d);
    let title = Line::from(vec![
        Span::styled(
            app.tw(
                "tui-dash-title",
                &[
                    ("id", d.meta.id.to_string().into()),
                    ("template", d.meta.template.name.clone().into()),
                    ("topic", d.meta.topic.clone().into()),
                ],
            ),
            t.title(),
        ),
        Span::styled(format!("{word} "), level_style(app, level)),
    ]);
    let block = Block::bordered().title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [bar, counts, rate] = Layout::vertical([Constraint::Length(1); 3]).areas(inner);
    let c = &d.counts();
    let progress = d.progress();
    // The bar and the words beside it read the same numbers: the send's
    // recipients only, done apart from in flight.
    let bar_counts = progress.send_counts(c);
    let pct = format!(" {}", standing_text(app, d));
    let [bar_area, pct_area] = Layout::horizontal([
        Constraint::Min(1),
        Constraint::Length(pct.chars().count() as u16),
    ])
    .areas(bar);
    frame.render_widget(
        StackedBar {
            counts: &bar_counts,
            theme: t,
        },
        bar_area,
    );
    frame.render_widget(Paragraph::new(pct), pct_area);
    let states = [
        RecipientState::Accepted,
        RecipientState::Sent,
        RecipientState::Delivered,
        RecipientState::Read,
        RecipientState::Failed,
        RecipientState::Unknown,
        RecipientState::Deferred,
        RecipientState::Skipped,
        RecipientState::InFlight,
        RecipientState::Pending,
    ];
    let mut spans = Vec::new();
    // Zero webhook states (sent, delivered, read) and zero skips stay out of
    // the way; the send outcomes always show.
    let always = [
        RecipientState::Accepted,
        RecipientState::Failed,
        RecipientState::Unknown,
        RecipientState::Pending,
    ];
    for s in states {
        let n = c.get(s);
        if n == 0 && !always.contains(&s) {
            continue;
        }
        let style = if n == 0 { t.dim() } else { t.state(s) };
        spans.push(Span::styled(
            format!("{} {}  ", app.recipient_state_name(s), fmt::count(n)),
            style,
        ));
    }
    frame.render_widget(
        Paragraph::new(Line::from(spans)).wrap(Wrap { trim: true }),
        counts,
    );
    let eta = match d.eta_secs() {
        Some(s) => app.tw("tui-dash-eta", &[("eta", fmt::duration(s).into())]),
        None => app.t("tui-dash-eta-none"),
    };
    let elapsed = (d.ended.unwrap_or(app.now) - d.started)
        .num_seconds()
        .max(0) as u64;
    let rate_style = if d.throttle.is_some() {
        t.warn()
    } else {
        Style::new()
    };
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(
                app.tw(
                    "tui-dash-rate",
                    &[
                        ("rate", d.snapshot.rate.to_string().into()),
                        ("ceiling", d.ceiling.to_string().into()),
                    ],
                ),
                rate_style,
            ),
            Span::raw(app.tw(
                "tui-dash-observed",
                &[
                    (
                        "observed",
                        format!("{:.0}", observed_rate(&d.snapshot.per_second)).into(),
                    ),
                    ("eta", eta.into()),
                    ("elapsed", fmt::duration(elapsed).into()),
                    ("workers", d.workers.to_string().into()),
                    ("cost", cost_text(app, d).into()),
                ],
            )),
        ])),
        rate,
    );
}

fn draw_sparkline(app: &App, d: &DashState, frame: &mut Frame, area: Rect) {
    let t = app.ui.theme;
    let block = Block::bordered().title(Span::styled(
        app.tw(
            "tui-dash-spark-title",
            &[("ceiling", d.ceiling.to_string().into())],
        ),
        t.title(),
    ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let data = &d.snapshot.per_second;
    if data.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled(app.t("tui-dash-waiting"), t.dim())),
            inner,
        );
        return;
    }
    let tail = &data[data.len().saturating_sub(inner.width as usize)..];
    frame.render_widget(
        Sparkline::default()
            .data(tail)
            .max(u64::from(d.ceiling.max(1)))
            .style(t.ok()),
        inner,
    );
}

/// A notice in the operator's language.
fn notice_text(app: &App, n: &super::state::Notice) -> String {
    let mut args: Vec<(&str, crate::i18n::Arg)> =
        n.args.iter().map(|(k, v)| (*k, v.clone().into())).collect();
    if let Some(s) = n.state {
        args.push(("state", app.state_name(s).into()));
    }
    app.tw(n.id, &args)
}

/// What the send has come to, in the operator's language: "7 % of 105",
/// "79 of 128 sent, 49 skipped (cancelled)".
fn standing_text(app: &App, d: &DashState) -> String {
    let s = d.standing();
    let p = &s.progress;
    let skipped = match p.skipped {
        0 => String::new(),
        n => app.tw("tui-standing-skipped", &[("n", n.into())]),
    };
    let args = |id: &str| {
        app.tw(
            id,
            &[
                ("attempted", p.attempted().into()),
                ("eligible", p.eligible.into()),
                ("done", p.done.into()),
                ("open", p.open().into()),
                ("percent", p.percent().into()),
                ("skipped", skipped.clone().into()),
            ],
        )
    };
    match s.state {
        CampaignState::Finished => args("tui-standing-finished"),
        CampaignState::Cancelled => args("tui-standing-cancelled"),
        CampaignState::Paused => args("tui-standing-paused"),
        CampaignState::Planned | CampaignState::Scheduled => args("tui-standing-planned"),
        CampaignState::Sending | CampaignState::Held => args("tui-standing-sending"),
    }
}

fn draw_notices(app: &App, d: &DashState, frame: &mut Frame, area: Rect) {
    let t = app.ui.theme;
    let block = Block::bordered().title(Span::styled(app.t("tui-dash-notices"), t.title()));
    let mut lines: Vec<Line> = Vec::new();
    if let Some(r) = &d.paused {
        lines.push(Line::styled(
            app.tw("tui-dash-notice-paused", &[("reason", r.clone().into())]),
            t.warn(),
        ));
    }
    if let Some((r, until)) = &d.held {
        lines.push(Line::styled(
            app.tw(
                "tui-dash-notice-held",
                &[
                    ("until", fmt::clock(*until, app.ui.offset).into()),
                    ("reason", r.clone().into()),
                ],
            ),
            t.warn(),
        ));
    }
    if let Some((rate, r)) = &d.throttle {
        lines.push(Line::styled(
            app.tw(
                "tui-dash-notice-slowed",
                &[
                    ("rate", rate.to_string().into()),
                    ("reason", r.clone().into()),
                ],
            ),
            t.warn(),
        ));
    }
    if matches!(d.finished, Some(Ok(_))) {
        lines.push(Line::styled(app.t("tui-dash-done"), t.ok()));
    }
    // Newest first: when space runs out, the oldest go.
    for (at, level, text) in d.notices.iter().rev() {
        lines.push(Line::from(vec![
            Span::styled(format!("{} ", fmt::clock(*at, app.ui.offset)), t.dim()),
            Span::styled(notice_text(app, text), level_style(app, *level)),
        ]));
    }
    frame.render_widget(
        Paragraph::new(lines).block(block).wrap(Wrap { trim: true }),
        area,
    );
}

fn draw_results(app: &App, d: &DashState, frame: &mut Frame, area: Rect) {
    let t = app.ui.theme;
    let filter = d.filter_state();
    let height = area.height.saturating_sub(3) as usize;
    let label = filter.map_or_else(
        || app.t("tui-dash-all-states"),
        |s| app.recipient_state_name(s),
    );
    let follow = app.t(if d.scroll == 0 {
        "tui-dash-following"
    } else {
        "tui-dash-scrolled"
    });
    let block = |rows: String| {
        Block::bordered().title(Span::styled(
            app.tw(
                "tui-dash-results-title",
                &[
                    ("label", label.clone().into()),
                    ("rows", rows.into()),
                    ("follow", follow.clone().into()),
                ],
            ),
            t.title(),
        ))
    };
    let Some(page) = d.page() else {
        frame.render_widget(
            Paragraph::new(app.t("tui-reading")).block(block("…".into())),
            area,
        );
        return;
    };
    // Newest first from the scroll position; the page starts at its window.
    let rows: Vec<Row> = page
        .rows
        .iter()
        .skip(d.scroll - page.from)
        .take(height)
        .map(|(index, r)| {
            Row::new(vec![
                Cell::from(format!("{index:>6}")),
                Cell::from(
                    r.phone
                        .map(|p| p.masked(KEEP_DIGITS))
                        .unwrap_or_else(|| "—".into()),
                ),
                Cell::from(Span::styled(
                    app.recipient_state_name(r.state),
                    t.state(r.state),
                )),
                Cell::from(r.code.map(|c| c.to_string()).unwrap_or_default()),
                Cell::from(
                    r.latency_ms
                        .map(|l| format!("{l:>5} ms"))
                        .unwrap_or_default(),
                ),
                Cell::from(r.reason.clone().unwrap_or_default()),
            ])
        })
        .collect();
    let table = Table::new(
        rows,
        [
            Constraint::Length(6),
            Constraint::Length(16),
            Constraint::Length(app.state_column_width()),
            Constraint::Length(7),
            Constraint::Length(8),
            Constraint::Min(6),
        ],
    )
    .header(
        Row::new(
            [
                "tui-col-index",
                "tui-col-number",
                "tui-col-state",
                "tui-col-code",
                "tui-col-latency",
                "tui-col-note",
            ]
            .map(|id| app.t(id)),
        )
        .style(t.title()),
    )
    .block(block(
        app.tw("tui-n-rows", &[("n", fmt::count(page.matching).into())]),
    ));
    frame.render_widget(table, area);
}

/// " · cost est. 12.30 / actual 4.10 EUR" once a delivery is priced: the
/// plan's estimate beside what Meta's statuses say was charged so far.
fn cost_text(app: &App, d: &DashState) -> String {
    let Some(actual) = d.results.as_ref().and_then(|r| r.cost.as_ref()) else {
        return String::new();
    };
    let est = d
        .meta
        .estimate
        .as_ref()
        .map(|e| app.ui.lang.money(e.total, &e.currency))
        .unwrap_or_else(|| "—".into());
    app.tw(
        "tui-dash-cost",
        &[
            ("estimated", est.into()),
            (
                "actual",
                app.ui.lang.money(actual.total, &actual.currency).into(),
            ),
        ],
    )
}

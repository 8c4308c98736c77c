//! Home: every campaign with its counts, the consent totals per topic and
//! how much of the rolling 24-hour messaging tier is used.
//!
//! ```text
//! ┌Campaigns──────────────────────────────────────────────────────────┐
//! │ ID State     Template      Topic  Audience Taken Failed Unkn Created│
//! │  2 sending   herbst_sale   sale        200   120      1    0 10-01 …│
//! └───────────────────────────────────────────────────────────────────┘
//! ┌Consents per topic──────────────┐┌Messaging tier (rolling 24 h)────┐
//! │ sale     142 confirmed …       ││ ████░░░░ 37 of 250               │
//! └────────────────────────────────┘└─────────────────────────────────┘
//! ```

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Gauge, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

use super::super::mouse::{self, Rows};

use super::super::action::{Cmd, Effect, HomeData};
use super::super::app::{App, ScreenId};
use super::super::widgets::fmt;
use super::{consent, detail, wizard};
use crate::campaign::CampaignState;
use crate::consent::store::TopicTotals;

/// Home screen state.
#[derive(Debug, Default)]
pub struct HomeState {
    /// The last data read.
    pub data: Option<HomeData>,
    /// Why it could not be read.
    pub error: Option<String>,
    /// Selected campaign row.
    pub selected: usize,
}

/// Home data arrived.
pub fn loaded(app: &mut App, r: Result<HomeData, String>) -> Vec<Effect> {
    match r {
        Ok(d) => {
            app.home.selected = app.home.selected.min(d.campaigns.len().saturating_sub(1));
            app.home.data = Some(d);
            app.home.error = None;
        }
        Err(e) => app.home.error = Some(e),
    }
    vec![]
}

/// A key on the home screen.
pub fn cmd(app: &mut App, cmd: Cmd) -> Vec<Effect> {
    let n = app.home.data.as_ref().map_or(0, |d| d.campaigns.len());
    let sel = &mut app.home.selected;
    match cmd {
        Cmd::Up => *sel = sel.saturating_sub(1),
        Cmd::Down => *sel = (*sel + 1).min(n.saturating_sub(1)),
        Cmd::PageUp => *sel = sel.saturating_sub(10),
        Cmd::PageDown => *sel = (*sel + 10).min(n.saturating_sub(1)),
        Cmd::Top => *sel = 0,
        Cmd::Bottom => *sel = n.saturating_sub(1),
        Cmd::NewCampaign => return wizard::open(app),
        Cmd::Consents => return consent::open(app),
        Cmd::Refresh => return vec![Effect::LoadHome],
        Cmd::Back => return app.back(),
        Cmd::Enter => {
            let id = app
                .home
                .data
                .as_ref()
                .and_then(|d| d.campaigns.get(app.home.selected))
                .map(|(m, _)| m.id);
            match id {
                Some(id) if app.running == Some(id) && app.dash.is_some() => {
                    app.push(ScreenId::Dashboard)
                }
                Some(id) => return detail::open(app, id),
                None => {}
            }
        }
        _ => {}
    }
    vec![]
}

fn state_style(app: &App, s: CampaignState) -> ratatui::style::Style {
    let t = app.ui.theme;
    match s {
        CampaignState::Sending => t.ok(),
        CampaignState::Paused | CampaignState::Held | CampaignState::Scheduled => t.warn(),
        CampaignState::Cancelled => t.dim(),
        CampaignState::Finished | CampaignState::Planned => ratatui::style::Style::new(),
    }
}

/// Draws the home screen.
pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let [top, bottom] = Layout::vertical([Constraint::Min(4), Constraint::Length(7)]).areas(area);
    draw_campaigns(app, frame, top);
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(bottom);
    draw_totals(app, frame, left);
    draw_tier(app, frame, right);
}

fn draw_campaigns(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.ui.theme;
    let block = Block::bordered().title(Span::styled(app.t("tui-home-campaigns"), t.title()));
    let Some(data) = &app.home.data else {
        let text = app
            .home
            .error
            .clone()
            .unwrap_or_else(|| app.t("tui-reading-store"));
        frame.render_widget(
            Paragraph::new(text).block(block).wrap(Wrap { trim: true }),
            area,
        );
        return;
    };
    if data.campaigns.is_empty() {
        let p = Paragraph::new(vec![
            Line::from(app.t("tui-home-no-campaigns")),
            Line::from(vec![
                Span::raw(app.t("tui-home-press")),
                Span::styled("n", t.key()),
                Span::raw(app.t("tui-home-to-plan-one")),
            ]),
        ])
        .block(block)
        .wrap(Wrap { trim: true });
        frame.render_widget(p, area);
        return;
    }
    let wide = area.width >= 96;
    let off = app.ui.offset;
    let short =
        |d: chrono::DateTime<chrono::Utc>| d.with_timezone(&off).format("%m-%d %H:%M").to_string();
    // The running campaign shows the engine's live numbers, not the last read.
    let live = app.dash.as_ref().filter(|d| app.running == Some(d.meta.id));
    let rows = data.campaigns.iter().map(|(m, c)| {
        let (state, c) = match live {
            Some(d) if d.meta.id == m.id => {
                (d.snapshot.state.unwrap_or(m.state), &d.snapshot.counts)
            }
            _ => (m.state, c),
        };
        let mut cells = vec![
            Cell::from(format!("{:>3}", m.id)),
            Cell::from(Span::styled(app.state_name(state), state_style(app, state))),
            Cell::from(m.template.name.clone()),
            Cell::from(m.topic.clone()),
            Cell::from(format!("{:>8}", fmt::count(m.audience))),
            Cell::from(format!("{:>7}", fmt::count(c.taken()))),
            Cell::from(Span::styled(
                format!("{:>6}", fmt::count(c.failed)),
                if c.failed > 0 { t.error() } else { t.dim() },
            )),
            Cell::from(Span::styled(
                format!("{:>5}", fmt::count(c.unknown)),
                if c.unknown > 0 { t.warn() } else { t.dim() },
            )),
            Cell::from(short(m.created_at)),
        ];
        if wide {
            cells.push(Cell::from(
                m.finished_at.map(short).unwrap_or_else(|| "—".into()),
            ));
        }
        Row::new(cells)
    });
    let mut widths = vec![
        Constraint::Length(3),
        Constraint::Length(9),
        Constraint::Min(10),
        Constraint::Length(8),
        Constraint::Length(8),
        Constraint::Length(7),
        Constraint::Length(6),
        Constraint::Length(5),
        Constraint::Length(11),
    ];
    let mut header: Vec<String> = [
        "tui-col-id",
        "tui-col-state",
        "tui-col-template",
        "tui-col-topic",
        "tui-col-audience",
        "tui-col-taken",
        "tui-col-failed",
        "tui-col-unknown",
        "tui-col-created",
    ]
    .iter()
    .map(|id| app.t(id))
    .collect();
    if wide {
        widths.push(Constraint::Length(11));
        header.push(app.t("tui-col-finished"));
    }
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(t.title()))
        .block(block)
        .row_highlight_style(t.selected())
        .highlight_symbol("▶ ");
    let mut state = ratatui::widgets::TableState::default().with_selected(Some(app.home.selected));
    frame.render_stateful_widget(table, area, &mut state);
    app.hits.rows(Rows {
        area: mouse::body(area, 1),
        first: state.offset(),
        selected: app.home.selected,
        len: data.campaigns.len(),
    });
}

fn draw_totals(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.ui.theme;
    let block = Block::bordered().title(Span::styled(app.t("tui-home-consents"), t.title()));
    let Some(data) = &app.home.data else {
        frame.render_widget(block, area);
        return;
    };
    if data
        .totals
        .iter()
        .all(|(_, x)| *x == TopicTotals::default())
    {
        let p = Paragraph::new(app.t("tui-home-store-empty"))
            .block(block)
            .wrap(Wrap { trim: true });
        frame.render_widget(p, area);
        return;
    }
    let rows = data.totals.iter().map(|(topic, x)| {
        Row::new(vec![
            Cell::from(topic.clone()),
            Cell::from(Span::styled(
                format!("{:>9}", fmt::count(x.confirmed)),
                t.ok(),
            )),
            Cell::from(format!("{:>7}", fmt::count(x.pending))),
            Cell::from(Span::styled(
                format!("{:>7}", fmt::count(x.revoked)),
                t.dim(),
            )),
        ])
    });
    let widths = [
        Constraint::Min(8),
        Constraint::Length(9),
        Constraint::Length(7),
        Constraint::Length(7),
    ];
    let table = Table::new(rows, widths)
        .header(
            Row::new(
                [
                    "tui-col-topic",
                    "tui-col-confirmed",
                    "tui-col-pending",
                    "tui-col-revoked",
                ]
                .map(|id| app.t(id)),
            )
            .style(t.title()),
        )
        .block(block);
    frame.render_widget(table, area);
}

fn draw_tier(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.ui.theme;
    let block = Block::bordered().title(Span::styled(app.t("tui-home-tier"), t.title()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(data) = &app.home.data else { return };
    let tier = app.ui.tier.max(1);
    let used = data.tier_used;
    let ratio = (used as f64 / tier as f64).clamp(0.0, 1.0);
    let style = if used >= tier {
        t.error()
    } else if ratio > 0.8 {
        t.warn()
    } else {
        t.ok()
    };
    let [gauge, text] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    frame.render_widget(
        Gauge::default()
            .ratio(ratio)
            .gauge_style(style)
            .use_unicode(true)
            .label(app.tw(
                "tui-n-of-m",
                &[
                    ("n", fmt::count(used).into()),
                    ("m", fmt::count(app.ui.tier).into()),
                ],
            )),
        gauge,
    );
    let free = app.ui.tier.saturating_sub(used);
    let lines = vec![
        Line::from(app.tw("tui-home-tier-used", &[("n", fmt::count(used).into())])),
        Line::from(app.tw("tui-home-tier-free", &[("n", fmt::count(free).into())])),
    ];
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), text);
}

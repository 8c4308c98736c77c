//! A campaign's detail: its meta, counts and the journal, paged from the
//! store by the runner (never read while drawing). From here the operator
//! exports the results, resumes a paused campaign, or — explicitly, asked
//! twice — sends again to the recipients whose outcome is unknown.

use std::path::PathBuf;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, LineGauge, Paragraph, Row, Table, TableState, Wrap};
use ratatui::Frame;

use super::super::mouse::{self, Rows};

use super::super::action::{Cmd, Effect, JournalPage};
use super::super::app::{App, Confirm, Modal, ScreenId};
use super::super::widgets::fmt;
use super::super::widgets::input::TextInput;
use super::plan::KEEP_DIGITS;
use crate::campaign::export::Format;
use crate::campaign::journal::{Counts, RecipientState};
use crate::campaign::report::funnel;
use crate::campaign::{CampaignId, CampaignState};

/// Journal rows read per page.
pub const PAGE: usize = 200;

/// Detail screen state.
#[derive(Debug, Default)]
pub struct DetailState {
    /// The campaign shown.
    pub id: Option<CampaignId>,
    /// The loaded page.
    pub page: Option<Box<JournalPage>>,
    /// Why it could not be read.
    pub error: Option<String>,
    /// Selected row (journal position).
    pub selected: usize,
}

/// Opens the detail of campaign `id`.
pub fn open(app: &mut App, id: CampaignId) -> Vec<Effect> {
    app.detail = DetailState {
        id: Some(id),
        ..Default::default()
    };
    if app.screen() != ScreenId::Detail {
        app.push(ScreenId::Detail);
    }
    vec![Effect::LoadJournal {
        id,
        from: 0,
        len: PAGE,
    }]
}

/// A page arrived.
pub fn loaded(app: &mut App, r: Result<Box<JournalPage>, String>) -> Vec<Effect> {
    match r {
        Ok(p) if Some(p.meta.id) == app.detail.id => {
            app.detail.page = Some(p);
            app.detail.error = None;
        }
        Ok(_) => {}
        Err(e) => app.detail.error = Some(e),
    }
    vec![]
}

/// An export finished.
pub fn exported(app: &mut App, r: Result<(PathBuf, u64), String>) -> Vec<Effect> {
    match r {
        Ok((path, n)) => {
            let said = app.tw(
                "tui-detail-exported",
                &[("n", n.into()), ("path", path.display().to_string().into())],
            );
            app.say(said);
        }
        Err(e) => {
            let said = app.tw("tui-detail-export-failed", &[("error", e.into())]);
            app.fail(said);
        }
    }
    vec![]
}

/// Whether `cmd` does something on the detail screen now: exports once
/// the journal is read, resume only for a campaign that can go on, re-send
/// only when some outcome is unknown — and neither while one sends.
pub fn works(app: &App, cmd: Cmd) -> bool {
    let Some(page) = app.detail.page.as_ref() else {
        return !matches!(
            cmd,
            Cmd::ExportCsv | Cmd::ExportJson | Cmd::Resume | Cmd::ResendUnknown
        );
    };
    let idle = app.running.is_none();
    match cmd {
        Cmd::Resume => {
            idle && !matches!(
                page.meta.state,
                CampaignState::Finished | CampaignState::Cancelled
            )
        }
        Cmd::ResendUnknown => idle && page.counts.unknown > 0,
        _ => true,
    }
}

/// A key on the detail screen.
pub fn cmd(app: &mut App, cmd: Cmd) -> Vec<Effect> {
    let Some(id) = app.detail.id else {
        return app.back();
    };
    let Some(page) = app.detail.page.as_ref() else {
        return match cmd {
            Cmd::Back => app.back(),
            _ => vec![],
        };
    };
    let total = page.counts.total() as usize;
    let (meta_state, unknown) = (page.meta.state, page.counts.unknown);
    let last = total.saturating_sub(1);
    let sel = app.detail.selected;
    let moved = match cmd {
        Cmd::Up => Some(sel.saturating_sub(1)),
        Cmd::Down => Some((sel + 1).min(last)),
        Cmd::PageUp => Some(sel.saturating_sub(20)),
        Cmd::PageDown => Some((sel + 20).min(last)),
        Cmd::Top => Some(0),
        Cmd::Bottom => Some(last),
        _ => None,
    };
    if let Some(new) = moved {
        app.detail.selected = new;
        let in_page = new >= page.from && new < page.from + page.rows.len();
        return if in_page {
            vec![]
        } else {
            vec![Effect::LoadJournal {
                id,
                from: new / PAGE * PAGE,
                len: PAGE,
            }]
        };
    }
    match cmd {
        Cmd::ExportCsv | Cmd::ExportJson => {
            let format = if cmd == Cmd::ExportCsv {
                Format::Csv
            } else {
                Format::Json
            };
            let path = default_export_path(app, id, format);
            app.modal = Some(Modal {
                title: app.t("tui-export-title"),
                lines: vec![
                    app.tw("tui-export-what", &[("id", id.to_string().into())]),
                    app.t("tui-export-never-replaced"),
                ],
                confirm: Confirm::Export {
                    id,
                    format,
                    mask: false,
                },
                expected: None,
                input: TextInput {
                    value: path.display().to_string(),
                },
            });
            vec![]
        }
        Cmd::Resume => {
            if app.running.is_some() {
                app.fail(app.t("tui-one-campaign-at-a-time"));
                return vec![];
            }
            match meta_state {
                CampaignState::Finished | CampaignState::Cancelled => {
                    let said = app.tw(
                        "tui-nothing-to-resume",
                        &[
                            ("id", id.to_string().into()),
                            ("state", app.state_name(meta_state).into()),
                        ],
                    );
                    app.fail(said);
                    vec![]
                }
                _ => vec![Effect::Start {
                    id,
                    requeue_unknown: false,
                }],
            }
        }
        Cmd::ResendUnknown => {
            if unknown == 0 {
                app.fail(app.t("tui-no-unknown"));
            } else if app.running.is_some() {
                app.fail(app.t("tui-one-campaign-at-a-time"));
            } else {
                app.modal = Some(Modal {
                    title: app.tw("tui-resend-title", &[("n", unknown.into())]),
                    lines: vec![
                        app.tw("tui-resend-may-have", &[("n", unknown.into())]),
                        app.t("tui-resend-twice"),
                        app.t("tui-resend-never-unless"),
                    ],
                    confirm: Confirm::ResendUnknown(id),
                    expected: (!app.ui.sandbox).then(|| unknown.to_string()),
                    input: TextInput::default(),
                });
            }
            vec![]
        }
        Cmd::Back => app.back(),
        _ => vec![],
    }
}

/// `<data dir>/exports/bote-campaign-ID-YYYYMMDD-HHMM.csv`, in the
/// operator's time: a name an earlier export of the same minute alone has.
fn default_export_path(app: &App, id: CampaignId, format: Format) -> PathBuf {
    let ext = match format {
        Format::Csv => "csv",
        Format::Json => "jsonl",
    };
    let at = app.now.with_timezone(&app.ui.offset).format("%Y%m%d-%H%M");
    app.ui
        .export_dir
        .join(format!("bote-campaign-{id}-{at}.{ext}"))
}

/// Draws the detail screen.
pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.ui.theme;
    let Some(page) = &app.detail.page else {
        let text = app
            .detail
            .error
            .clone()
            .unwrap_or_else(|| app.t("tui-reading-journal"));
        frame.render_widget(Paragraph::new(text).block(Block::bordered()), area);
        return;
    };
    let m = &page.meta;
    let c = &page.counts;
    let [head, table] = Layout::vertical([Constraint::Length(6), Constraint::Min(3)]).areas(area);
    let [head, funnel] =
        Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(head);
    draw_funnel(app, c, frame, funnel);
    let off = app.ui.offset;
    let mut counts = Vec::new();
    for s in RecipientState::ALL {
        let n = c.get(s);
        if n > 0 {
            counts.push(Span::styled(
                format!("{} {}  ", app.recipient_state_name(s), fmt::count(n)),
                t.state(s),
            ));
        }
    }
    let mut lines = vec![
        Line::from(app.tw(
            "tui-detail-meta",
            &[
                ("created", fmt::datetime(m.created_at, off).into()),
                ("by", m.created_by.clone().into()),
                ("started", fmt::opt_datetime(m.started_at, off).into()),
                ("finished", fmt::opt_datetime(m.finished_at, off).into()),
                ("mode", m.mode.clone().into()),
            ],
        )),
        Line::from(counts),
    ];
    if let Some(r) = &m.state_reason {
        lines.push(Line::styled(
            format!("{}: {r}", app.state_name(m.state)),
            t.warn(),
        ));
    }
    if c.unknown > 0 {
        lines.push(Line::styled(
            app.tw("tui-detail-unknown", &[("n", c.unknown.into())]),
            t.warn(),
        ));
    }
    let title = app.tw(
        "tui-detail-title",
        &[
            ("id", m.id.to_string().into()),
            ("template", m.template.name.clone().into()),
            ("language", m.template.language.clone().into()),
            ("topic", m.topic.clone().into()),
            ("state", app.state_name(m.state).into()),
        ],
    );
    frame.render_widget(
        Paragraph::new(lines)
            .block(Block::bordered().title(Span::styled(title, t.title())))
            .wrap(Wrap { trim: true }),
        head,
    );
    draw_journal(app, page, frame, table);
}

/// The funnel of `campaign report`: one gauge per stage, its share of
/// the accepted.
fn draw_funnel(app: &App, counts: &Counts, frame: &mut Frame, area: Rect) {
    let t = app.ui.theme;
    let block = Block::bordered().title(Span::styled(app.t("tui-detail-funnel"), t.title()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let rows = Layout::vertical([Constraint::Length(1); 4]).split(inner);
    let names = FUNNEL_STATES.map(|s| app.recipient_state_name(s));
    let w = names.iter().map(|n| n.chars().count()).max().unwrap_or(9);
    for ((stage, state), row) in funnel(counts).iter().zip(FUNNEL_STATES).zip(rows.iter()) {
        let pct = stage
            .rate
            .map_or("  —  ".to_string(), |r| format!("{:>3.0} %", r * 100.0));
        frame.render_widget(
            LineGauge::default()
                .filled_style(t.state(state))
                .label(format!(
                    "{:<w$} {:>6} {pct}",
                    app.recipient_state_name(state),
                    fmt::count(stage.count)
                ))
                .ratio(stage.rate.unwrap_or(0.0).clamp(0.0, 1.0)),
            *row,
        );
    }
}

/// The states the funnel's bars take their colours from.
const FUNNEL_STATES: [RecipientState; 4] = [
    RecipientState::Accepted,
    RecipientState::Sent,
    RecipientState::Delivered,
    RecipientState::Read,
];

fn draw_journal(app: &App, page: &JournalPage, frame: &mut Frame, area: Rect) {
    let t = app.ui.theme;
    let total = page.counts.total() as usize;
    let sel = app.detail.selected;
    let title = app.tw(
        "tui-detail-journal",
        &[
            ("n", (sel + 1).min(total).into()),
            ("m", fmt::count(total as u64).into()),
        ],
    );
    let block = Block::bordered().title(Span::styled(title, t.title()));
    if sel < page.from || sel >= page.from + page.rows.len() {
        frame.render_widget(Paragraph::new(app.t("tui-reading")).block(block), area);
        return;
    }
    let height = (area.height.saturating_sub(3) as usize).max(1);
    let local = sel - page.from;
    let start = (local + 1).saturating_sub(height);
    let off = app.ui.offset;
    let rows = page.rows.iter().skip(start).take(height).map(|(i, r)| {
        Row::new(vec![
            Cell::from(format!("{i:>6}")),
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
            Cell::from(format!("{:>3}", r.attempts)),
            Cell::from(
                r.latency_ms
                    .map(|l| format!("{l:>5} ms"))
                    .unwrap_or_default(),
            ),
            Cell::from(
                r.updated_at
                    .with_timezone(&off)
                    .format("%m-%d %H:%M")
                    .to_string(),
            ),
            Cell::from(r.reason.clone().unwrap_or_default()),
        ])
    });
    let widths = [
        Constraint::Length(6),
        Constraint::Length(16),
        Constraint::Length(app.state_column_width()),
        Constraint::Length(6),
        Constraint::Length(3),
        Constraint::Length(8),
        Constraint::Length(11),
        Constraint::Min(6),
    ];
    let table = Table::new(rows, widths)
        .header(
            Row::new(
                [
                    "tui-col-index",
                    "tui-col-number",
                    "tui-col-state",
                    "tui-col-code",
                    "tui-col-attempts",
                    "tui-col-latency",
                    "tui-col-updated",
                    "tui-col-note",
                ]
                .map(|id| app.t(id)),
            )
            .style(t.title()),
        )
        .row_highlight_style(t.selected())
        .highlight_symbol("▶ ")
        .block(block);
    let mut state = TableState::default().with_selected(Some(local - start));
    frame.render_stateful_widget(table, area, &mut state);
    app.hits.rows(Rows {
        area: mouse::body(area, 1),
        first: page.from + start + state.offset(),
        selected: sel,
        len: total,
    });
}

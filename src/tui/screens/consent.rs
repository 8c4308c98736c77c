//! The consent browser: look a number up (any human format, the configured
//! default region), see its consent per topic with the evidence (G4) and
//! its full history, revoke one topic or all (G5, asked again, recorded
//! with the operator as actor), or go on to import a list.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, TableState, Wrap};
use ratatui::Frame;

use super::super::action::{Cmd, ConsentLookup, Effect, InputKey};
use super::super::app::{App, Confirm, Modal, ScreenId};
use super::super::widgets::fmt;
use super::super::widgets::input::TextInput;
use super::{contacts, import};
use crate::consent::{Change, ConsentStatus};

/// Consent browser state.
#[derive(Debug)]
pub struct ConsentState {
    /// The number typed.
    pub query: TextInput,
    /// Whether the search field has focus.
    pub searching: bool,
    /// The last lookup.
    pub result: Option<Box<ConsentLookup>>,
    /// Why the last lookup failed.
    pub error: Option<String>,
    /// Selected topic row.
    pub topic: usize,
    /// History rows scrolled.
    pub scroll: usize,
    /// The list of contacts shown while no number is open.
    pub list: contacts::ContactList,
}

impl Default for ConsentState {
    fn default() -> Self {
        Self {
            query: TextInput::default(),
            searching: true,
            result: None,
            error: None,
            topic: 0,
            scroll: 0,
            list: Default::default(),
        }
    }
}

/// Opens the browser with the search focused and the list loading.
pub fn open(app: &mut App) -> Vec<Effect> {
    app.consent.searching = true;
    app.push(ScreenId::Consent);
    vec![contacts::load(&app.consent.list, 0)]
}

/// Whether `cmd` does anything now: the list's keys while no number is
/// open, the number's while one is.
pub fn works(app: &App, cmd: Cmd) -> bool {
    let open = app.consent.result.is_some();
    match cmd {
        Cmd::Filter | Cmd::Enter => !open,
        Cmd::Revoke | Cmd::RevokeAll => open,
        _ => true,
    }
}

/// A keystroke in the search or the filter field; a digit or `+` typed
/// while neither has focus starts a new search with it.
pub fn input(app: &mut App, key: InputKey) -> Vec<Effect> {
    let c = &mut app.consent;
    if c.list.filtering {
        contacts::input(&mut c.list, key);
        return vec![];
    }
    if !c.searching {
        c.searching = true;
        c.query = TextInput::default();
    }
    c.query.apply(key);
    vec![]
}

/// A page of the list arrived.
pub fn listed(
    app: &mut App,
    r: Result<Box<crate::engine::browse::ConsentPage>, String>,
) -> Vec<Effect> {
    contacts::loaded(&mut app.consent.list, r);
    vec![]
}

/// A lookup finished.
pub fn loaded(app: &mut App, r: Result<Box<ConsentLookup>, String>) -> Vec<Effect> {
    let c = &mut app.consent;
    match r {
        Ok(l) => {
            c.searching = false;
            c.topic = c.topic.min(
                l.contact
                    .as_ref()
                    .map_or(0, |x| x.topics.len().saturating_sub(1)),
            );
            c.scroll = 0;
            c.result = Some(l);
            c.error = None;
        }
        Err(e) => {
            c.error = Some(e);
            c.result = None;
        }
    }
    vec![]
}

/// A revocation finished: report, then read the number again.
pub fn revoked(app: &mut App, r: Result<usize, String>) -> Vec<Effect> {
    match r {
        Ok(n) => app.say(format!(
            "revoked {n} topic(s); recorded in the history with you as actor"
        )),
        Err(e) => app.fail(format!("revoke failed: {e}")),
    }
    match &app.consent.result {
        Some(l) => vec![Effect::LookupConsent(l.phone.e164())],
        None => vec![],
    }
}

fn selected_topic(app: &App) -> Option<(String, ConsentStatus)> {
    let contact = app.consent.result.as_ref()?.contact.as_ref()?;
    contact
        .topics
        .iter()
        .nth(app.consent.topic)
        .map(|(name, t)| (name.clone(), t.status))
}

/// A key in the consent browser.
pub fn cmd(app: &mut App, cmd: Cmd) -> Vec<Effect> {
    if app.consent.searching {
        return match cmd {
            Cmd::Enter => match app.consent.query.get() {
                Some(q) => vec![Effect::LookupConsent(q.to_string())],
                None => vec![],
            },
            // Leaving the field makes letters commands again (i, x, X).
            Cmd::Back | Cmd::Tab => {
                app.consent.searching = false;
                vec![]
            }
            Cmd::Down if app.consent.result.is_some() => {
                app.consent.searching = false;
                vec![]
            }
            _ => vec![],
        };
    }
    if app.consent.result.is_none() || app.consent.list.filtering {
        if let Some(effects) = contacts::cmd(app, cmd) {
            return effects;
        }
    }
    let topics = app
        .consent
        .result
        .as_ref()
        .and_then(|l| l.contact.as_ref())
        .map_or(0, |c| c.topics.len());
    let c = &mut app.consent;
    match cmd {
        // From an open number, back to the list first.
        Cmd::Back if c.result.is_some() => {
            c.result = None;
            c.error = None;
        }
        Cmd::Search | Cmd::Tab => c.searching = true,
        Cmd::Up => c.topic = c.topic.saturating_sub(1),
        Cmd::Down => c.topic = (c.topic + 1).min(topics.saturating_sub(1)),
        Cmd::PageUp => c.scroll = c.scroll.saturating_sub(5),
        Cmd::PageDown => c.scroll += 5,
        Cmd::Import => return import::open(app),
        Cmd::Back => return app.back(),
        Cmd::Revoke | Cmd::RevokeAll => {
            let Some(phone) = c.result.as_ref().map(|l| l.phone) else {
                return vec![];
            };
            let topic = match (cmd, selected_topic(app)) {
                (Cmd::RevokeAll, _) => None,
                (_, Some((_, ConsentStatus::Revoked))) => {
                    app.fail("that topic is already revoked");
                    return vec![];
                }
                (_, Some((name, _))) => Some(name),
                (_, None) => {
                    app.fail("no consent to revoke");
                    return vec![];
                }
            };
            let what = topic
                .as_deref()
                .map_or("every topic".to_string(), |t| format!("topic {t}"));
            app.modal = Some(Modal {
                title: "Revoke consent?".into(),
                lines: vec![
                    format!("Revoke {} for {what}?", phone.e164()),
                    "It takes effect at once, also in a running campaign (G5),".into(),
                    "and a later import of an older consent never undoes it.".into(),
                ],
                confirm: Confirm::Revoke { phone, topic },
                expected: None,
                input: TextInput::default(),
            });
        }
        _ => {}
    }
    vec![]
}

/// A history entry in words.
pub fn describe(change: &Change, offset: chrono::FixedOffset) -> String {
    match change {
        Change::OptedIn {
            topic,
            opted_in_at,
            source,
            text_version,
        } => format!(
            "opted in to {topic} at {} via {source}{}",
            fmt::datetime(*opted_in_at, offset),
            text_version
                .as_deref()
                .map(|v| format!(" (text {v})"))
                .unwrap_or_default()
        ),
        Change::Confirmed {
            topic,
            confirmed_at,
            method,
        } => format!(
            "confirmed {topic} at {} by {method}",
            fmt::datetime(*confirmed_at, offset)
        ),
        Change::Revoked {
            topic,
            revoked_at,
            reason,
        } => format!(
            "revoked {topic} at {}: {reason}",
            fmt::datetime(*revoked_at, offset)
        ),
        Change::ProfileUpdated { locale, attributes } => format!(
            "profile: {}{}",
            locale
                .as_deref()
                .map(|l| format!("locale {l} "))
                .unwrap_or_default(),
            attributes.join(", ")
        ),
        Change::SuppressionLifted { erased_at } => {
            format!(
                "erasure of {} lifted by a new consent",
                fmt::datetime(*erased_at, offset)
            )
        }
        Change::OptOutLifted { opted_out_at } => {
            format!(
                "opt-out of {} lifted by a new consent",
                fmt::datetime(*opted_out_at, offset)
            )
        }
        // The new number is masked here like every number on screen.
        Change::IdentityChanged {
            what,
            user_id,
            new_phone,
        } => format!(
            "WhatsApp identity changed ({what}){}{}",
            new_phone
                .as_deref()
                .and_then(crate::phone::Phone::from_e164)
                .map(|p| format!(", new number {}", p.masked(4)))
                .unwrap_or_default(),
            user_id
                .as_deref()
                .map(|u| format!(", new user id {u}"))
                .unwrap_or_default()
        ),
    }
}

/// Draws the consent browser.
pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.ui.theme;
    let c = &app.consent;
    let [search, topics, history] = Layout::vertical([
        Constraint::Length(4),
        Constraint::Length(7),
        Constraint::Min(3),
    ])
    .areas(area);
    let mut lines = vec![c
        .query
        .line("Number", c.searching, search.width.saturating_sub(2), t)];
    match &c.error {
        Some(e) => lines.push(Line::styled(e.clone(), t.error())),
        None => lines.push(Line::styled(
            "any format (0171 …, +49 …); Enter searches · Esc/Tab leaves the field (i: import)",
            t.dim(),
        )),
    }
    frame.render_widget(
        Paragraph::new(lines)
            .block(Block::bordered().title(Span::styled(" Consent browser ", t.title())))
            .wrap(Wrap { trim: true }),
        search,
    );
    let Some(l) = &c.result else {
        let below = Rect {
            y: topics.y,
            height: topics.height + history.height,
            ..topics
        };
        let [filter, list] =
            Layout::vertical([Constraint::Length(2), Constraint::Min(3)]).areas(below);
        contacts::draw(app, frame, filter, list);
        return;
    };
    let off = app.ui.offset;
    let Some(contact) = &l.contact else {
        let text = match l.suppressed {
            Some(at) => format!(
                "{}: erased at {}; on the suppression list (G10)",
                l.phone.e164(),
                fmt::datetime(at, off)
            ),
            None => format!("{}: not in the store (no consent)", l.phone.e164()),
        };
        frame.render_widget(Paragraph::new(text).block(Block::bordered()), topics);
        return;
    };
    let attrs: Vec<String> = contact
        .attributes
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let title = format!(
        " {} · locale {} · {} ",
        l.phone.e164(),
        contact.locale.as_deref().unwrap_or("—"),
        if attrs.is_empty() {
            "no attributes".into()
        } else {
            attrs.join(", ")
        }
    );
    let rows = contact.topics.iter().map(|(name, x)| {
        let style = match x.status {
            ConsentStatus::Confirmed => t.ok(),
            ConsentStatus::Pending => t.warn(),
            ConsentStatus::Revoked => t.dim(),
        };
        Row::new(vec![
            Cell::from(name.clone()),
            Cell::from(Span::styled(x.status.to_string(), style)),
            Cell::from(fmt::datetime(x.opted_in_at, off)),
            Cell::from(x.source.clone()),
            Cell::from(match (x.confirmed_at, x.method) {
                (Some(at), Some(m)) => format!("{} {m}", fmt::datetime(at, off)),
                (Some(at), None) => fmt::datetime(at, off),
                _ => "—".into(),
            }),
            Cell::from(
                x.revoked_at
                    .map_or_else(|| "—".into(), |at| fmt::datetime(at, off)),
            ),
        ])
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(14),
            Constraint::Length(9),
            Constraint::Length(16),
            Constraint::Min(10),
            Constraint::Length(21),
            Constraint::Length(16),
        ],
    )
    .header(
        Row::new([
            "Topic",
            "Status",
            "Opted in",
            "Source",
            "Confirmed",
            "Revoked",
        ])
        .style(t.title()),
    )
    .row_highlight_style(t.selected())
    .highlight_symbol("▶ ")
    .block(Block::bordered().title(Span::styled(title, t.title())));
    let mut state = TableState::default().with_selected((!c.searching).then_some(c.topic));
    frame.render_stateful_widget(table, topics, &mut state);

    let height = history.height.saturating_sub(2) as usize;
    let scroll = c.scroll.min(l.history.len().saturating_sub(height));
    let lines: Vec<Line> = l
        .history
        .iter()
        .skip(scroll)
        .take(height)
        .map(|e| {
            Line::from(vec![
                Span::styled(format!("{} ", fmt::datetime(e.recorded_at, off)), t.dim()),
                Span::raw(format!("{} · {} · ", e.actor, e.origin)),
                Span::raw(describe(&e.change, off)),
            ])
        })
        .collect();
    let title = format!(" History · {} events (PgUp/PgDn) ", l.history.len());
    frame.render_widget(
        // Long origins and reasons wrap instead of running off the edge.
        Paragraph::new(lines)
            .block(Block::bordered().title(Span::styled(title, t.title())))
            .wrap(Wrap { trim: false }),
        history,
    );
}

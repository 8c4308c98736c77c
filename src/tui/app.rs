//! The app's whole state and the one function that changes it.
//!
//! [`update`] is pure: it reads an [`Action`], mutates [`App`] and returns
//! the [`Effect`]s the runner must perform (store reads, the engine's
//! start / pause / cancel). Time comes in as [`Action::Tick`], never from
//! the system clock, so a test can replay any session exactly.

use chrono::{DateTime, Utc};

use super::action::{Action, Cmd, Effect, InputKey};
use super::keys;
use super::screens::{consent, dashboard, detail, home, import, wizard};
pub use super::settings::{TemplateView, UiConfig};
use super::widgets::input::TextInput;
use crate::campaign::CampaignId;
use crate::phone::Phone;

/// The screens, in the navigation stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScreenId {
    /// Campaigns, consent totals, tier.
    Home,
    /// Wizard 1: the template.
    Template,
    /// Wizard 2: the audience.
    Audience,
    /// Wizard 3: the dry run.
    Plan,
    /// Wizard 4: the confirmation.
    Confirm,
    /// The running campaign.
    Dashboard,
    /// A campaign's journal.
    Detail,
    /// The consent browser.
    Consent,
    /// A consent import and its report.
    Import,
}

/// What a dialog's "yes" does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirm {
    /// Cancel the running campaign.
    CancelCampaign,
    /// Requeue the unknown ones and send again.
    ResendUnknown(CampaignId),
    /// Revoke consent.
    Revoke {
        /// The number.
        phone: Phone,
        /// One topic, or all.
        topic: Option<String>,
    },
    /// Quit; the running campaign goes on in the daemon.
    QuitWhileSending,
    /// Export a campaign's results to the path typed.
    Export {
        /// Campaign.
        id: CampaignId,
        /// CSV or JSON lines.
        format: crate::campaign::export::Format,
        /// Numbers masked to their last digits.
        mask: bool,
    },
}

/// A question that must be answered before anything else.
#[derive(Debug, Clone)]
pub struct Modal {
    /// Title.
    pub title: String,
    /// The question, one line each.
    pub lines: Vec<String>,
    /// What yes does.
    pub confirm: Confirm,
    /// Text that must be typed to say yes (live sends), if any.
    pub expected: Option<String>,
    /// What was typed.
    pub input: TextInput,
}

impl Modal {
    /// Whether the dialog reads typed text (a confirmation to type, a path).
    pub fn takes_text(&self) -> bool {
        self.expected.is_some() || matches!(self.confirm, Confirm::Export { .. })
    }
}

/// The footer's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusLine {
    /// Text.
    pub text: String,
    /// Whether it reports a failure.
    pub error: bool,
    /// When it was said (it fades after a few seconds).
    pub at: DateTime<Utc>,
}

impl StatusLine {
    /// Whether it has been shown long enough.
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        let secs = if self.error { 10 } else { 5 };
        now - self.at >= chrono::Duration::seconds(secs)
    }
}

/// Everything the screens show.
#[derive(Debug)]
pub struct App {
    /// Configuration.
    pub ui: UiConfig,
    /// Now, as of the last tick.
    pub now: DateTime<Utc>,
    stack: Vec<ScreenId>,
    /// Home.
    pub home: home::HomeState,
    /// The wizard (all four steps).
    pub wizard: wizard::WizardState,
    /// The dashboard of the campaign last started.
    pub dash: Option<dashboard::DashState>,
    /// Campaign detail.
    pub detail: detail::DetailState,
    /// Consent browser.
    pub consent: consent::ConsentState,
    /// Import.
    pub import: import::ImportState,
    /// An open dialog.
    pub modal: Option<Modal>,
    /// The key overlay, when it shows: lines scrolled past its top.
    pub help: Option<usize>,
    /// The terminal's size, columns × rows (what the overlay can show).
    pub size: (u16, u16),
    /// The footer's message.
    pub status: Option<StatusLine>,
    /// The campaign this process is sending, if any.
    pub running: Option<CampaignId>,
    /// Leave the event loop.
    pub quit: bool,
    /// Where the last frame drew its lists, for clicks.
    pub hits: super::mouse::HitMap,
}

impl App {
    /// A fresh app on the home screen.
    pub fn new(ui: UiConfig, now: DateTime<Utc>) -> Self {
        Self {
            ui,
            now,
            stack: vec![ScreenId::Home],
            home: Default::default(),
            wizard: Default::default(),
            dash: None,
            detail: Default::default(),
            consent: Default::default(),
            import: Default::default(),
            modal: None,
            help: None,
            size: (80, 24),
            status: None,
            running: None,
            quit: false,
            hits: Default::default(),
        }
    }

    /// The message `id` in the operator's language.
    pub fn t(&self, id: &str) -> String {
        self.ui.lang.texts().get(id)
    }

    /// The message `id` with arguments, in the operator's language.
    pub fn tw(&self, id: &str, args: &[(&str, crate::i18n::Arg)]) -> String {
        self.ui.lang.texts().with(id, args)
    }

    /// A campaign state's name in the operator's language.
    pub fn state_name(&self, state: crate::campaign::CampaignState) -> String {
        use crate::campaign::CampaignState as S;
        self.t(match state {
            S::Planned => "tui-state-planned",
            S::Scheduled => "tui-state-scheduled",
            S::Sending => "tui-state-sending",
            S::Paused => "tui-state-paused",
            S::Held => "tui-state-held",
            S::Cancelled => "tui-state-cancelled",
            S::Finished => "tui-state-finished",
        })
    }

    /// A recipient state's name in the operator's language.
    pub fn recipient_state_name(&self, state: crate::campaign::journal::RecipientState) -> String {
        use crate::campaign::journal::RecipientState as R;
        self.t(match state {
            R::Pending => "tui-rstate-pending",
            R::InFlight => "tui-rstate-in-flight",
            R::Accepted => "tui-rstate-accepted",
            R::Sent => "tui-rstate-sent",
            R::Delivered => "tui-rstate-delivered",
            R::Read => "tui-rstate-read",
            R::Failed => "tui-rstate-failed",
            R::Skipped => "tui-rstate-skipped",
            R::Unknown => "tui-rstate-unknown",
            R::Deferred => "tui-rstate-deferred",
        })
    }

    /// Columns a table's state column needs for the longest state name.
    pub fn state_column_width(&self) -> u16 {
        crate::campaign::journal::RecipientState::ALL
            .iter()
            .map(|s| self.recipient_state_name(*s).chars().count())
            .max()
            .map_or(9, |w| u16::try_from(w).unwrap_or(9))
    }

    /// The first effects: load the home screen.
    pub fn init(&self) -> Vec<Effect> {
        vec![Effect::LoadHome]
    }

    /// The screen on top.
    pub fn screen(&self) -> ScreenId {
        self.stack.last().copied().unwrap_or(ScreenId::Home)
    }

    /// Opens a screen on top of the current one.
    pub fn push(&mut self, s: ScreenId) {
        self.stack.push(s);
    }

    /// Replaces everything above home with `s`.
    pub fn reset_to(&mut self, s: ScreenId) {
        self.stack.truncate(1);
        if s != ScreenId::Home {
            self.stack.push(s);
        }
    }

    /// One screen back; on the home screen, quit (asking first while sending).
    pub fn back(&mut self) -> Vec<Effect> {
        if self.stack.len() > 1 {
            self.stack.pop();
            return match self.screen() {
                ScreenId::Home => vec![Effect::LoadHome],
                _ => vec![],
            };
        }
        if self.running.is_some() {
            self.modal = Some(Modal {
                title: self.t("tui-quit-title"),
                lines: vec![self.t("tui-quit-goes-on"), self.t("tui-quit-watch")],
                confirm: Confirm::QuitWhileSending,
                expected: None,
                input: TextInput::default(),
            });
            return vec![];
        }
        self.quit = true;
        vec![Effect::Quit]
    }

    /// Whether printable keys go to a text field.
    pub fn text_focus(&self) -> bool {
        match self.screen() {
            ScreenId::Audience => self.wizard.text_focus(),
            ScreenId::Confirm => !self.ui.sandbox,
            ScreenId::Consent => self.consent.searching || self.consent.list.filtering,
            ScreenId::Import => self.import.report.is_none(),
            _ => false,
        }
    }

    /// Shows a message in the footer.
    pub fn say(&mut self, text: impl Into<String>) {
        self.status = Some(StatusLine {
            text: text.into(),
            error: false,
            at: self.now,
        });
    }

    /// Shows a failure in the footer.
    pub fn fail(&mut self, text: impl Into<String>) {
        self.status = Some(StatusLine {
            text: text.into(),
            error: true,
            at: self.now,
        });
    }
}

/// Applies one action; returns what the runner must do.
pub fn update(app: &mut App, action: Action) -> Vec<Effect> {
    match action {
        Action::Tick(now) => {
            app.now = now;
            if app.status.as_ref().is_some_and(|s| s.expired(now)) {
                app.status = None;
            }
            let mut effects = wizard::tick(app);
            effects.extend(dashboard::tick(app));
            effects
        }
        Action::Cmd(Cmd::Help) => {
            app.help = match app.help {
                Some(_) => None,
                None => Some(0),
            };
            vec![]
        }
        Action::Cmd(cmd) if app.help.is_some() => {
            help_cmd(app, cmd);
            vec![]
        }
        Action::Resize(columns, rows) => {
            app.size = (columns, rows);
            if let Some(top) = app.help {
                app.help = Some(top.min(help_last_top(app)));
            }
            vec![]
        }
        Action::UnknownKey(label) => {
            let said = app.tw("tui-unknown-key", &[("key", label.into())]);
            app.say(said);
            vec![]
        }
        Action::Cmd(Cmd::Quit) => quit_now(app),
        // Dialogs and the key overlay take keys, not clicks.
        Action::Click(..) if app.modal.is_some() || app.help.is_some() => vec![],
        Action::Click(column, row) => {
            let cmds = app.hits.click(column, row);
            let mut effects = Vec::new();
            for cmd in cmds {
                effects.extend(update(app, Action::Cmd(cmd)));
            }
            effects
        }
        Action::Cmd(cmd) if app.modal.is_some() => modal_cmd(app, cmd),
        Action::Input(key) if app.modal.is_some() => {
            if let Some(m) = app.modal.as_mut() {
                m.input.apply(key);
            }
            vec![]
        }
        Action::Cmd(cmd) => {
            app.status = None;
            screen_cmd(app, cmd)
        }
        Action::Input(key) => screen_input(app, key),
        Action::Home(r) => home::loaded(app, r),
        Action::Planned { seq, result } => wizard::planned(app, seq, result),
        Action::Started(meta) => dashboard::started(app, *meta),
        Action::Progress(batch) => dashboard::progress(app, *batch),
        Action::RunEnded { id, result } => dashboard::ended(app, id, result),
        Action::Results(r) => dashboard::results(app, r),
        Action::Journal(r) => detail::loaded(app, r),
        Action::Exported(r) => detail::exported(app, r),
        Action::Consent(r) => consent::loaded(app, r),
        Action::Contacts(r) => consent::listed(app, r),
        Action::Revoked(r) => consent::revoked(app, r),
        Action::Imported(r) => import::loaded(app, r),
        Action::Failed(msg) => {
            app.wizard.starting = false;
            app.fail(msg);
            vec![]
        }
    }
}

/// A key while the key overlay shows: the scroll keys move it (the
/// drawing stops at its last line), any other closes it.
fn help_cmd(app: &mut App, cmd: Cmd) {
    let Some(top) = app.help else { return };
    let last = help_last_top(app);
    app.help = match cmd {
        Cmd::Up => Some(top.saturating_sub(1)),
        Cmd::Down => Some((top + 1).min(last)),
        Cmd::PageUp => Some(top.saturating_sub(10)),
        Cmd::PageDown => Some((top + 10).min(last)),
        Cmd::Top => Some(0),
        Cmd::Bottom => Some(last),
        _ => None,
    };
}

/// The overlay's top line when it shows its last line, at this size.
fn help_last_top(app: &App) -> usize {
    let lines = keys::help(app).len();
    // The body is the terminal less the banner and the footer.
    let body = app.size.1.saturating_sub(2);
    lines.saturating_sub(super::widgets::chrome::help_rows(lines, body))
}

/// Ctrl-C: leave now; a running campaign goes on in the daemon.
fn quit_now(app: &mut App) -> Vec<Effect> {
    app.modal = None;
    app.quit = true;
    vec![Effect::Quit]
}

fn modal_cmd(app: &mut App, cmd: Cmd) -> Vec<Effect> {
    let Some(modal) = app.modal.take() else {
        return vec![];
    };
    match cmd {
        Cmd::Yes => {
            if let Some(expected) = &modal.expected {
                if modal.input.get() != Some(expected.as_str()) {
                    app.modal = Some(modal);
                    return vec![];
                }
            }
            match modal.confirm {
                Confirm::CancelCampaign => vec![Effect::Cancel],
                Confirm::ResendUnknown(id) => vec![Effect::Start {
                    id,
                    requeue_unknown: true,
                }],
                Confirm::Revoke { phone, topic } => vec![Effect::Revoke { phone, topic }],
                Confirm::QuitWhileSending => quit_now(app),
                Confirm::Export { id, format, mask } => match modal.input.get() {
                    Some(path) => {
                        let said = app.t("tui-exporting");
                        app.say(said);
                        vec![Effect::Export {
                            id,
                            format,
                            path: crate::paths::expand_home(std::path::Path::new(path)),
                            mask,
                        }]
                    }
                    None => {
                        app.modal = Some(modal);
                        vec![]
                    }
                },
            }
        }
        Cmd::Tab => {
            let mut modal = modal;
            if let Confirm::Export { mask, .. } = &mut modal.confirm {
                *mask = !*mask;
            }
            app.modal = Some(modal);
            vec![]
        }
        Cmd::No | Cmd::Back => vec![],
        _ => {
            app.modal = Some(modal);
            vec![]
        }
    }
}

fn screen_cmd(app: &mut App, cmd: Cmd) -> Vec<Effect> {
    match app.screen() {
        ScreenId::Home => home::cmd(app, cmd),
        ScreenId::Template | ScreenId::Audience | ScreenId::Plan | ScreenId::Confirm => {
            wizard::cmd(app, cmd)
        }
        ScreenId::Dashboard => dashboard::cmd(app, cmd),
        ScreenId::Detail => detail::cmd(app, cmd),
        ScreenId::Consent => consent::cmd(app, cmd),
        ScreenId::Import => import::cmd(app, cmd),
    }
}

fn screen_input(app: &mut App, key: InputKey) -> Vec<Effect> {
    match app.screen() {
        ScreenId::Audience | ScreenId::Confirm => wizard::input(app, key),
        ScreenId::Consent => consent::input(app, key),
        ScreenId::Import => import::input(app, key),
        _ => vec![],
    }
}

//! The whole app on a `TestBackend`, driven the way an operator drives it:
//! keys go through the key map and `update`, effects through the real
//! [`Executor`] against a temp store; background results are awaited by
//! [`Harness::settle`]. Data is deterministic: a fixture CSV with fixed
//! dates, a fixed clock, UTC on screen, no colours.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use futures::future::BoxFuture;
use futures::FutureExt;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use tokio::sync::mpsc;

use crate::config::Config;
use crate::consent::import::{self, ImportOptions};
use crate::consent::Store;
use crate::dispatch::{Messenger, Reply};
use crate::engine::reads::Setup;
use crate::engine::{Backend, Engine};
use crate::phone::Phone;
use crate::service::client::Client;
use crate::service::daemon::{DaemonOptions, Service};
use crate::service::wire::Request;
use crate::template::{Catalog, Params, Template};
use crate::tui::action::Action;
use crate::tui::app::{update, App, UiConfig};
use crate::tui::requests::{Clock, Ctx};
use crate::tui::runner::{Executor, Msg};
use crate::tui::theme::Theme;
use crate::tui::{draw, keys};

/// Where the snapshots live (committed).
pub const SNAPSHOTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/tui/snapshots");

/// The fixed "now" of every test: 2026-10-01 10:00 UTC.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 1, 10, 0, 0)
        .single()
        .expect("valid date")
}

/// Ten consents (six eligible for `sale`, one of each exclusion) and two
/// rows the import rejects; an undeclared column to be dropped (G8).
pub const CONSENTS: &str = "\
phone;first_name;opted_in_at;opt_in_source;confirmed_at;confirmation_method;topics;locale;consent_text_version;revoked_at;customer_no
+49 171 1000001;Anna;2026-09-01T10:00:00+02:00;web-form:shop.example/newsletter;2026-09-01T10:05:00+02:00;link;sale|events;de;v2;;K-1
0171 1000002;Ben;01.09.2026 11:00;kasse:filiale-leipzig;02.09.2026 09:00;reply;sale;de;v2;;K-2
0171 1000003;Clara;2026-09-03T08:00:00Z;web-form:shop.example/newsletter;2026-09-03T09:00:00Z;button;sale|new-collection;de_AT;v2;;K-3
0171 1000004;Dario;2026-09-04T08:00:00Z;web-form:shop.example/newsletter;2026-09-04T08:30:00Z;code;sale;en;v2;;K-4
0171 1000005;;2026-09-05T08:00:00Z;web-form:shop.example/newsletter;2026-09-05T08:10:00Z;link;sale;de;v2;;K-5
0171 1000006;Eva;2026-09-06T08:00:00Z;web-form:shop.example/newsletter;;;sale;de;v2;;K-6
0171 1000007;Finn;2026-09-07T08:00:00Z;web-form:shop.example/newsletter;2026-09-07T08:10:00Z;link;sale;de;v2;2026-09-20T12:00:00Z;K-7
0171 1000008;Greta;2026-09-08T08:00:00Z;web-form:shop.example/newsletter;2026-09-08T08:10:00Z;link;events;de;v2;;K-8
0171 1000009;Hugo;2026-09-09T08:00:00Z;web-form:shop.example/newsletter;2026-09-09T08:10:00Z;link;sale;de;v2;;K-9
0171 1000017;Ida;2026-09-10T08:00:00Z;web-form:shop.example/newsletter;2026-09-10T08:10:00Z;link;sale;de;v2;;K-10
not-a-number;Jan;2026-09-11T08:00:00Z;web-form:shop.example/newsletter;2026-09-11T08:10:00Z;link;sale;de;v2;;K-11
0171 1000020;Kai;2026-12-01T08:00:00Z;web-form:shop.example/newsletter;;;sale;de;v2;;K-12
";

/// Accepts, except numbers ending in 7 (fail, 131026) and 9 (unknown).
pub struct FakeMessenger;

impl Messenger for FakeMessenger {
    fn send<'a>(
        &'a self,
        to: Phone,
        _: &'a Template,
        _: &'a Params,
        _: &'a str,
    ) -> BoxFuture<'a, Reply> {
        async move {
            match to.as_u64() % 10 {
                7 => Reply::Failed {
                    code: 131026,
                    revoke: false,
                },
                9 => Reply::Unknown {
                    reason: "timeout after 10 s".into(),
                },
                _ => Reply::Accepted {
                    wamid: format!("wamid.{}", to.as_u64()),
                },
            }
        }
        .boxed()
    }
}

/// A temp store with (optionally) the consents imported, its engine, and
/// a daemon serving that engine on the store's socket, in this process.
pub struct Fixture {
    /// Holds the temp dir.
    pub dir: tempfile::TempDir,
    /// The engine over it (the daemon serves the same one).
    pub engine: Arc<Engine>,
    daemon: tokio::task::JoinHandle<()>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.daemon.abort();
    }
}

impl Fixture {
    /// A sandbox store, empty or with [`CONSENTS`] imported at [`now`].
    pub fn new(consents: bool) -> Self {
        Self::with(consents, Backend::Sandbox(None), Config::default())
    }

    /// A live store whose config allows sending (roles, processing
    /// agreement, a phone number id); the messenger is still the fake one.
    pub fn live(consents: bool) -> Self {
        let mut config = Config::default();
        config.roles = Some(crate::config::RolesConfig {
            operator: vec!["*".into()],
            ..Default::default()
        });
        config.compliance.processor = Some("Meta Platforms Ireland".into());
        config.compliance.dpa_signed_at = chrono::NaiveDate::from_ymd_opt(2026, 9, 1);
        config.api.phone_number_id = "1234567890".into();
        Self::with(consents, Backend::Live, config)
    }

    /// A live store with the default config: no processing agreement (G16).
    pub fn live_without_agreement(consents: bool) -> Self {
        Self::with(consents, Backend::Live, Config::default())
    }

    fn with(consents: bool, backend: Backend, config: Config) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store_dir = dir.path().join("store");
        let store = Store::open(&store_dir).expect("store");
        if consents {
            let csv = dir.path().join("consents.csv");
            std::fs::write(&csv, CONSENTS).expect("fixture csv");
            import::import(&store, &config, &csv, &import_opts(), None, &|_, _| {})
                .expect("fixture import");
        }
        let catalog = Catalog::embedded().expect("catalog");
        let engine = Engine::new(
            store,
            config,
            catalog,
            Arc::new(FakeMessenger),
            backend,
            "tester".into(),
        )
        .expect("engine")
        .with_clock(crate::clock::Clock::Fixed(now()));
        let engine = Arc::new(engine);
        let service = Service::bind(Arc::clone(&engine), &store_dir).expect("bind the socket");
        let opts = DaemonOptions {
            auto: false,
            idle: Duration::from_secs(60),
        };
        let daemon = tokio::spawn(async move {
            if let Err(e) = service.run(opts, std::future::pending()).await {
                panic!("the test daemon failed: {e:#}");
            }
        });
        Self {
            dir,
            engine,
            daemon,
        }
    }

    /// A path inside the temp dir.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A job context like the runner's: a client of the fixture's daemon,
    /// exports into the temp dir, the fixed clock.
    pub async fn ctx(&self) -> Ctx {
        let socket = crate::service::daemon::socket_path(&self.dir.path().join("store"));
        Ctx {
            client: Client::at(&socket).await.expect("the test daemon answers"),
            clock: Clock::Fixed(now()),
        }
    }
}

/// The import options of the fixture.
pub fn import_opts() -> ImportOptions {
    ImportOptions {
        source: None,
        dry_run: false,
        actor: "tester".into(),
        now: now(),
    }
}

/// App + executor + terminal.
pub struct Harness {
    /// The state.
    pub app: App,
    /// The runner's hands.
    pub exec: Executor,
    rx: mpsc::UnboundedReceiver<Msg>,
    terminal: Terminal<TestBackend>,
}

impl Harness {
    /// A harness on `fx` of `w`×`h` cells; sandbox or live; loads home.
    pub async fn new(fx: &Fixture, sandbox: bool, w: u16, h: u16) -> Self {
        let offset = FixedOffset::east_opt(0).expect("utc");
        let ctx = fx.ctx().await;
        let setup: Setup = ctx
            .client
            .call(&Request::Setup, None)
            .await
            .expect("set-up");
        let mut ui = UiConfig::from_setup(setup, offset, Theme::MONO);
        ui.export_dir = fx.path("exports");
        // Whatever the machine's LANG: English unless a test asks for German.
        ui.lang = crate::i18n::Language::En;
        assert_eq!(ui.sandbox, sandbox, "the fixture's mode is the daemon's");
        let (tx, rx) = mpsc::unbounded_channel();
        let mut h = Self {
            app: App::new(ui, now()),
            exec: Executor::new(ctx, tx),
            rx,
            terminal: Terminal::new(TestBackend::new(w, h)).expect("terminal"),
        };
        h.act(Action::Resize(w, h.terminal.size().map_or(0, |s| s.height)));
        let effects = h.app.init();
        h.exec.run(effects);
        h.settle().await;
        h
    }

    /// Feeds an action through `update` and runs its effects.
    pub fn act(&mut self, a: Action) {
        let effects = update(&mut self.app, a);
        self.exec.run(effects);
    }

    /// Presses a key (through the key map, as the event loop does).
    pub fn key(&mut self, code: KeyCode) {
        self.key_mod(code, KeyModifiers::NONE);
    }

    /// Presses a key with modifiers.
    pub fn key_mod(&mut self, code: KeyCode, m: KeyModifiers) {
        if let Some(a) = keys::map(&self.app, KeyEvent::new(code, m)) {
            self.act(a);
        }
    }

    /// Types characters, one key each.
    pub fn keys(&mut self, s: &str) {
        for c in s.chars() {
            self.key(KeyCode::Char(c));
        }
    }

    /// Presses keys, then waits for the background work they caused.
    pub async fn press(&mut self, codes: &[KeyCode]) {
        for c in codes {
            self.key(*c);
        }
        self.settle().await;
    }

    /// Waits until no job is pending and no campaign runs (≤ 20 s),
    /// feeding results and engine events through `update`.
    pub async fn settle(&mut self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            while let Ok(msg) = self.rx.try_recv() {
                if let Some(a) = self.exec.accept(msg) {
                    self.act(a);
                }
            }
            if let Some(a) = self.exec.drain() {
                self.act(a);
            }
            if self.exec.pending == 0 && !self.exec.is_running() {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "background work did not settle"
            );
            if let Ok(Some(msg)) =
                tokio::time::timeout(Duration::from_millis(20), self.rx.recv()).await
            {
                if let Some(a) = self.exec.accept(msg) {
                    self.act(a);
                }
            }
        }
    }

    /// Lets `ms` milliseconds pass on the app's clock (debounces, ETAs).
    pub fn tick(&mut self, ms: i64) {
        let t = self.app.now + chrono::Duration::milliseconds(ms);
        self.act(Action::Tick(t));
    }

    /// Draws and returns the screen as text.
    pub fn render(&mut self) -> String {
        let app = &self.app;
        self.terminal.draw(|f| draw(app, f)).expect("draw");
        self.terminal.backend().to_string()
    }

    /// Resizes the terminal.
    pub fn resize(&mut self, w: u16, h: u16) {
        self.terminal.backend_mut().resize(w, h);
        let _ = self.terminal.autoresize();
        self.act(Action::Resize(w, h));
    }

    /// The terminal's buffer (for style checks).
    pub fn buffer(&self) -> &ratatui::buffer::Buffer {
        self.terminal.backend().buffer()
    }
}

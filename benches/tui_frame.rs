//! What the TUI costs while a campaign sends.
//!
//! ```text
//! cargo bench --bench tui_frame                    # both parts
//! BOTE_BENCH_ONLY=frame cargo bench --bench tui_frame
//! BOTE_BENCH_ONLY=input BOTE_BENCH_RECIPIENTS=30000 cargo bench --bench tui_frame
//! ```
//!
//! (a) `frame`: the dashboard at 100×30 with a full page of results (the
//!     journal page the daemon answers, 100 rows), drawn 1,000 times into
//!     ratatui's `TestBackend`, each frame after folding in a new batch of
//!     33 events (one frame's worth at 1,000 mps); median / p99 µs for
//!     `update` and `draw`, then the same with a state filter.
//! (b) `input`: the real event loop (`tui::event::run`) and the real
//!     engine sending to the in-process simulator at a 1,000 mps ceiling
//!     (the sandbox's HTTP path), keys injected through the loop's input
//!     stream every 150 ms; latency from key to the first drawn frame that
//!     shows its effect (the filter label), median / p95 / max.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bote::audience::PlanRequest;
use bote::campaign::journal::{Counts, RecipientRecord, RecipientState};
use bote::campaign::{CampaignId, CampaignMeta, CampaignState};
use bote::dispatch::progress::{Progress, RecipientEvent, SnapshotData};
use bote::phone::Phone;
use bote::template::Catalog;
use bote::tui::action::{Action, Cmd, Effect, ProgressBatch, ResultsPage};
use bote::tui::app::{update, App, UiConfig};
use bote::tui::requests::{self, Clock, Ctx};
use bote::tui::runner::Executor;
use bote::tui::screens::dashboard::PAGE;
use bote::tui::theme::Theme;
use chrono::{FixedOffset, Utc};
use clap::Parser;
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::{Backend, ClearType, TestBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use ratatui::Terminal;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() {
    let only = std::env::var("BOTE_BENCH_ONLY").unwrap_or_default();
    let result = (|| -> Res<()> {
        if only.is_empty() || only == "frame" {
            frame_bench()?;
        }
        if only.is_empty() || only == "input" {
            tokio::runtime::Runtime::new()?.block_on(input_bench())?;
        }
        Ok(())
    })();
    if let Err(e) = result {
        eprintln!("tui_frame bench failed: {e}");
        std::process::exit(1);
    }
}

fn utc() -> FixedOffset {
    FixedOffset::east_opt(0).unwrap_or_else(|| unreachable!())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn report(name: &str, mut v: Vec<Duration>) {
    v.sort();
    println!(
        "{name:<34} median {:>7.1} µs   p99 {:>7.1} µs   (n={})",
        percentile(&v, 0.5).as_secs_f64() * 1e6,
        percentile(&v, 0.99).as_secs_f64() * 1e6,
        v.len()
    );
}

fn event(i: u32) -> Progress {
    let state = match i % 50 {
        0 => RecipientState::Failed,
        1 => RecipientState::Unknown,
        _ => RecipientState::Accepted,
    };
    Progress::Recipient(RecipientEvent {
        index: i,
        phone: format!("+49••••••{:04}", i % 10_000),
        state,
        code: (state == RecipientState::Failed).then_some(131026),
        reason: (state != RecipientState::Accepted).then(|| "message undeliverable".into()),
        latency_ms: Some(40 + i % 25),
        attempts: 1,
        at: Utc::now(),
    })
}

fn batch(events: Vec<Progress>, sent: u64) -> Action {
    Action::Progress(Box::new(ProgressBatch {
        events,
        snapshot: SnapshotData {
            workers: 116,
            counts: Counts {
                accepted: sent,
                pending: 1_000_000 - sent,
                ..Counts::default()
            },
            rate: 1000,
            state: Some(CampaignState::Sending),
            reason: None,
            per_second: (0..120).map(|i| 900 + (i * 37) % 100).collect(),
        },
        lagged: false,
    }))
}

/// A full page of results as the daemon answers it (newest first).
fn page(meta: &CampaignMeta, filter: Option<RecipientState>) -> ResultsPage {
    let rows = (0..PAGE as u32)
        .map(|i| {
            let state = filter.unwrap_or(if i % 50 == 0 {
                RecipientState::Failed
            } else {
                RecipientState::Accepted
            });
            let record = RecipientRecord {
                phone: Phone::from_e164(&format!("+4915100{:06}", 10_000 - i)),
                params: Default::default(),
                state,
                code: (state == RecipientState::Failed).then_some(131026),
                reason: (state == RecipientState::Failed).then(|| "message undeliverable".into()),
                wamid: None,
                attempts: 1,
                latency_ms: Some(40 + i % 25),
                updated_at: Utc::now(),
                actor: "dispatcher".into(),
                checked_at: None,
                pricing: None,
            };
            (10_000 - i, record)
        })
        .collect();
    ResultsPage {
        meta: meta.clone(),
        counts: Counts {
            accepted: 9_800,
            failed: 200,
            pending: 990_000,
            ..Counts::default()
        },
        filter,
        matching: if filter.is_some() { 200 } else { 1_000_000 },
        from: 0,
        rows,
        cost: None,
    }
}

/// (a) update + draw of the dashboard with a full page of results.
fn frame_bench() -> Res<()> {
    let template = Catalog::embedded()?.get("herbst_sale", None)?.clone();
    let ui = UiConfig {
        sandbox: true,
        mode_line: "local simulator · nothing leaves this machine".into(),
        rate: 1000,
        workers: 360,
        tier: 1_000_000,
        topics: vec!["sale".into()],
        templates: Vec::new(),
        offset: utc(),
        theme: Theme::COLOR,
        export_dir: std::env::temp_dir(),
        lang: bote::i18n::Language::En,
    };
    let meta = CampaignMeta {
        id: CampaignId(1),
        template,
        topic: "sale".into(),
        locale: None,
        list: None,
        mode: "sandbox".into(),
        created_at: Utc::now(),
        created_by: "bench".into(),
        state: CampaignState::Sending,
        state_reason: None,
        audience: 1_000_000,
        eligible: 1_000_000,
        started_at: None,
        finished_at: None,
        consent_epoch: None,
        settings: None,
        schedule: None,
        estimate: None,
    };
    let mut app = App::new(ui, Utc::now());
    update(&mut app, Action::Started(Box::new(meta.clone())));
    update(&mut app, batch((0..10_000).map(event).collect(), 10_000));
    update(&mut app, Action::Results(Ok(Box::new(page(&meta, None)))));
    let mut terminal = Terminal::new(TestBackend::new(100, 30))?;
    for filtered in [false, true] {
        if filtered {
            update(&mut app, Action::Cmd(Cmd::Filter));
            let failed = Some(RecipientState::Failed);
            update(&mut app, Action::Results(Ok(Box::new(page(&meta, failed)))));
        }
        let (mut upd, mut draw) = (Vec::new(), Vec::new());
        let mut next = 10_000u32;
        for _ in 0..1000 {
            let events: Vec<Progress> = (next..next + 33).map(event).collect();
            next += 33;
            let t = Instant::now();
            update(&mut app, batch(events, u64::from(next)));
            upd.push(t.elapsed());
            let t = Instant::now();
            terminal.draw(|f| bote::tui::draw(&app, f))?;
            draw.push(t.elapsed());
        }
        let rows = app
            .dash
            .as_ref()
            .and_then(|d| d.page())
            .map_or(0, |p| p.rows.len());
        let label = if filtered {
            "filter=failed"
        } else {
            "all states"
        };
        println!("dashboard 100×30, a page of {rows} results, {label}:");
        report("  update (33 events + snapshot)", upd);
        report("  draw", draw);
    }
    Ok(())
}

/// Records, at each flush, whether the awaited text is on screen.
#[derive(Default)]
struct Probe {
    expect: Option<(String, Instant)>,
    latencies: Vec<Duration>,
    frames: u64,
}

struct ProbeBackend {
    inner: TestBackend,
    probe: Arc<Mutex<Probe>>,
}

impl ProbeBackend {
    fn shows(&self, needle: &str) -> bool {
        let buf = self.inner.buffer();
        (0..buf.area.height).any(|y| {
            let row: String = (0..buf.area.width)
                .filter_map(|x| buf.cell((x, y)).map(Cell::symbol))
                .collect();
            row.contains(needle)
        })
    }
}

impl Backend for ProbeBackend {
    fn draw<'a, I: Iterator<Item = (u16, u16, &'a Cell)>>(&mut self, content: I) -> io::Result<()> {
        self.inner.draw(content)
    }
    fn hide_cursor(&mut self) -> io::Result<()> {
        self.inner.hide_cursor()
    }
    fn show_cursor(&mut self) -> io::Result<()> {
        self.inner.show_cursor()
    }
    fn get_cursor_position(&mut self) -> io::Result<Position> {
        self.inner.get_cursor_position()
    }
    fn set_cursor_position<P: Into<Position>>(&mut self, p: P) -> io::Result<()> {
        self.inner.set_cursor_position(p)
    }
    fn clear(&mut self) -> io::Result<()> {
        self.inner.clear()
    }
    fn clear_region(&mut self, t: ClearType) -> io::Result<()> {
        self.inner.clear_region(t)
    }
    fn size(&self) -> io::Result<Size> {
        self.inner.size()
    }
    fn window_size(&mut self) -> io::Result<WindowSize> {
        self.inner.window_size()
    }
    fn flush(&mut self) -> io::Result<()> {
        let now = Instant::now();
        let awaited = self.probe.lock().ok().and_then(|p| p.expect.clone());
        let hit = awaited
            .as_ref()
            .is_some_and(|(needle, _)| self.shows(needle));
        if let Ok(mut p) = self.probe.lock() {
            p.frames += 1;
            if let (true, Some((_, t0))) = (hit, awaited) {
                p.latencies.push(now - t0);
                p.expect = None;
            }
        }
        self.inner.flush()
    }
}

/// The labels `f` cycles through, after the initial "all states".
const LABELS: [&str; 10] = [
    "failed",
    "unknown",
    "accepted",
    "skipped",
    "sent",
    "delivered",
    "read",
    "in_flight",
    "pending",
    "all states",
];

/// (b) key-to-screen latency of the real loop while the engine sends.
async fn input_bench() -> Res<()> {
    let n: usize = std::env::var("BOTE_BENCH_RECIPIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("bote.toml");
    std::fs::write(
        &config,
        "[send]\nrate = 1000\n[api]\nmessaging_tier = 10000000\n",
    )?;
    let store = dir.path().join("store");
    let cli = bote::cli::Cli::parse_from([
        "bote".as_ref(),
        "--sandbox".as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
        "--store".as_ref(),
        store.as_os_str(),
    ]);
    let engine = bote::cli::Context::new(&cli)?.engine().await?;
    let csv = dir.path().join("consents.csv");
    let mut text = String::from(
        "phone;first_name;opted_in_at;opt_in_source;confirmed_at;confirmation_method;topics\n",
    );
    for i in 0..n {
        text.push_str(&format!(
            "+49 151 {:08};Anna;2026-01-01T10:00:00Z;bench;2026-01-01T10:05:00Z;link;sale\n",
            (i as u64 * 7_919 + 1_234_567) % 100_000_000
        ));
    }
    std::fs::write(&csv, text)?;
    let opts = bote::consent::import::ImportOptions {
        source: None,
        dry_run: false,
        actor: "bench".into(),
        now: Utc::now(),
    };
    bote::consent::import::import(&engine.store, &engine.config, &csv, &opts, None, &|_, _| {})?;

    // The TUI is a client: serve the engine on the store's socket, here.
    let service = bote::service::daemon::Service::bind(Arc::new(engine), &store)?;
    let opts = bote::service::daemon::DaemonOptions {
        auto: false,
        idle: Duration::from_secs(600),
    };
    let daemon = tokio::spawn(service.run(opts, std::future::pending()));
    let client =
        bote::service::client::Client::at(&bote::service::daemon::socket_path(&store)).await?;
    let setup: bote::engine::reads::Setup = client
        .call(&bote::service::wire::Request::Setup, None)
        .await?;
    let ui = UiConfig::from_setup(setup, utc(), Theme::COLOR);
    let mut app = App::new(ui, Utc::now());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let ctx = Ctx {
        client: client.clone(),
        clock: Clock::System,
    };
    let request = PlanRequest {
        template: "herbst_sale".into(),
        topic: "sale".into(),
        ..Default::default()
    };
    let view = requests::plan(&ctx, &request).await?;
    let eligible = view.plan.eligible.len();
    let mut exec = Executor::new(ctx, tx);
    exec.run(vec![Effect::CreateAndStart {
        plan: Arc::new(view),
        typed: "y".into(),
    }]);

    let probe = Arc::new(Mutex::new(Probe::default()));
    let backend = ProbeBackend {
        inner: TestBackend::new(100, 30),
        probe: Arc::clone(&probe),
    };
    let mut terminal = Terminal::new(backend)?;
    let (keys, input) = futures::channel::mpsc::unbounded::<io::Result<Event>>();
    let driver_probe = Arc::clone(&probe);
    let samples = 48;
    let driver = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let key = |c| Ok(Event::Key(KeyEvent::new(c, KeyModifiers::NONE)));
        for i in 0..samples {
            let label = LABELS[i % LABELS.len()];
            if let Ok(mut p) = driver_probe.lock() {
                p.expect = Some((format!("first · {label} ·"), Instant::now()));
            }
            let _ = keys.unbounded_send(key(KeyCode::Char('f')));
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        // Ctrl-C: the TUI quits; the campaign goes on in the daemon.
        let _ = keys.unbounded_send(Ok(Event::Key(KeyEvent::new(
            KeyCode::Char('c'),
            KeyModifiers::CONTROL,
        ))));
    });
    let started = Instant::now();
    bote::tui::event::run(&mut terminal, &mut app, &mut exec, &mut rx, input).await?;
    let elapsed = started.elapsed();
    driver.await?;
    let _: serde_json::Value = client
        .call(
            &bote::service::wire::Request::Pause { id: CampaignId(1) },
            None,
        )
        .await?;
    daemon.abort();
    let (mut lat, frames) = match probe.lock() {
        Ok(p) => (p.latencies.clone(), p.frames),
        Err(_) => (Vec::new(), 0),
    };
    lat.sort();
    let taken = app.dash.as_ref().map_or(0, |d| d.snapshot.counts.taken());
    let busy: Vec<u64> = app
        .dash
        .as_ref()
        .map(|d| {
            d.snapshot
                .per_second
                .iter()
                .copied()
                .filter(|v| *v > 0)
                .collect()
        })
        .unwrap_or_default();
    let mean = busy.iter().sum::<u64>() as f64 / busy.len().max(1) as f64;
    println!(
        "input while sending: {eligible} eligible, {taken} accepted in {:.1} s (mean {mean:.0}/s over busy seconds), {frames} frames drawn",
        elapsed.as_secs_f64()
    );
    println!(
        "  key → frame showing it: median {:.1} ms   p95 {:.1} ms   max {:.1} ms   ({} of {samples} keys seen)",
        percentile(&lat, 0.5).as_secs_f64() * 1e3,
        percentile(&lat, 0.95).as_secs_f64() * 1e3,
        lat.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        lat.len()
    );
    Ok(())
}

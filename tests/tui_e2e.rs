//! End to end: the real `bote` binary in tmux at 100×30, sandbox mode.
//!
//! Imports the sample consents, opens the TUI, walks the wizard (template
//! herbst_sale, topic sale, the dry run, the sandbox confirmation), waits
//! (≤ 60 s) for the dashboard to say FINISHED, quits with `q`, and checks
//! the journal through `bote campaign status 1 --json`: the in-process
//! simulator's own record dies with the TUI, the journal is the record.
//! A second test kills the TUI mid-send (the terminal goes away): the
//! campaign goes on in the daemon, and a new TUI attaches to it.
//! Skips with a notice when tmux is not installed.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_bote");

/// A private tmux server, killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux runs")
    }

    fn capture(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", "bote"]).stdout)
            .into_owned()
    }

    fn send(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "bote"];
        args.extend_from_slice(keys);
        assert!(self.cmd(&args).status.success(), "send-keys {keys:?}");
    }

    fn alive(&self) -> bool {
        self.cmd(&["has-session", "-t", "bote"]).status.success()
    }

    /// Waits until the screen contains every needle; panics with the screen.
    fn wait_for(&self, needles: &[&str], within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let screen = self.capture();
            if needles.iter().all(|n| screen.contains(n)) {
                return screen;
            }
            assert!(
                Instant::now() < deadline && self.alive(),
                "waited {within:?} for {needles:?}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Tmux {
    /// A private tmux server named `name` running `bote --sandbox EXTRA…`
    /// on `store` at 100×30 in `cwd`, in English.
    fn start(name: &str, store: &Path, cwd: &Path, extra: &str) -> Self {
        Self::start_in(name, store, cwd, extra, "C.UTF-8")
    }

    /// [`Tmux::start`] with `LANG` set to `lang` (and no `LC_*` above it).
    fn start_in(name: &str, store: &Path, cwd: &Path, extra: &str, lang: &str) -> Self {
        let tmux = Self {
            socket: format!("bote-e2e-{name}-{}", std::process::id()),
        };
        let command = format!(
            "env -u BOTE_CONFIG -u LC_ALL -u LC_MESSAGES LANG={lang} BOTE_STORE='{}' NO_COLOR=1 TERM=xterm-256color '{BIN}' --sandbox {extra}",
            store.display()
        );
        let cwd = cwd.to_string_lossy().into_owned();
        let started = tmux.cmd(&[
            "new-session",
            "-d",
            "-s",
            "bote",
            "-x",
            "100",
            "-y",
            "30",
            "-c",
            &cwd,
            &command,
        ]);
        assert!(started.status.success(), "tmux new-session: {started:?}");
        tmux
    }
}

impl Tmux {
    /// Waits (bounded) until bote has quit and the session is gone.
    fn wait_quit(&self, within: Duration) {
        let deadline = Instant::now() + within;
        while self.alive() {
            assert!(
                Instant::now() < deadline,
                "bote did not quit:\n{}",
                self.capture()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

/// The sample consent list every run imports.
const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/sample-data/einwilligungen.csv"
);

/// True (with a notice) when tmux is not installed: the test skips.
fn tmux_missing() -> bool {
    let missing = Command::new("tmux").arg("-V").output().is_err();
    if missing {
        eprintln!("tui_e2e: tmux is not installed; skipping the TUI end-to-end test");
    }
    missing
}

fn bote(store: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--store")
        .arg(store)
        .arg("--sandbox")
        .args(args)
        .env_remove("BOTE_CONFIG")
        .output()
        .expect("bote runs")
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}):\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn wizard_sends_the_sample_campaign_in_the_sandbox() {
    if tmux_missing() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("store");

    let import = bote(&store, &["consent", "import", SAMPLE]);
    // 3: imported, some rows rejected (the sample has deliberate errors).
    assert!(
        matches!(import.status.code(), Some(0 | 3)),
        "import: {}",
        String::from_utf8_lossy(&import.stderr)
    );
    let plan = bote(
        &store,
        &[
            "campaign",
            "plan",
            "--template",
            "herbst_sale",
            "--topic",
            "sale",
            "--json",
        ],
    );
    let eligible = json(&plan)["eligible"].as_u64().expect("eligible count");
    assert!(eligible > 0, "the sample has recipients for the sale");

    let tmux = Tmux::start("wizard", &store, dir.path(), "");
    let wait = Duration::from_secs(15);
    tmux.wait_for(&["SANDBOX", "Campaigns", "No campaigns yet"], wait);

    tmux.send(&["n"]);
    tmux.wait_for(&["1 Template", "▶ herbst_sale"], wait);
    tmux.send(&["Enter"]);
    tmux.wait_for(&["Live count", "eligible"], wait);
    tmux.send(&["Enter"]);
    let dry_run = tmux.wait_for(&["Dry run: herbst_sale", "Preview 1 of"], wait);
    assert!(
        dry_run.contains(&format!("Eligible {eligible}")),
        "{dry_run}"
    );
    tmux.send(&["s"]);
    tmux.wait_for(
        &["4 Confirm", "SANDBOX: messages go to the local simulator"],
        wait,
    );
    tmux.send(&["y"]);
    let total = format!("{eligible} of {eligible} sent");
    let done = tmux.wait_for(&["FINISHED", &total], Duration::from_secs(60));
    assert!(
        done.contains("SANDBOX"),
        "the banner stays while sending:\n{done}"
    );
    // Accepted, or further along once the simulator's status webhooks came in.
    assert!(
        done.contains("failed 0") && done.contains("unknown 0"),
        "{done}"
    );

    tmux.send(&["q"]);
    tmux.wait_for(&["Campaigns", "finished"], wait);
    tmux.send(&["q"]);
    tmux.wait_quit(wait);

    let status = bote(&store, &["campaign", "status", "1", "--json"]);
    let status = json(&status);
    assert_eq!(status["campaign"]["state"], "finished", "{status:#}");
    let counts = &status["counts"];
    let taken: u64 = ["accepted", "sent", "delivered", "read"]
        .iter()
        .map(|k| counts[*k].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(
        taken, eligible,
        "every eligible recipient was accepted: {counts:#}"
    );
    assert_eq!(counts["pending"].as_u64(), Some(0));
    assert_eq!(counts["in_flight"].as_u64(), Some(0));
    let log = store.join("logs").join("bote-tui.log");
    assert!(
        log.is_file(),
        "logs go to the store's log dir, not the screen"
    );
}

#[test]
fn a_killed_tui_leaves_the_campaign_sending_and_a_new_tui_attaches_to_it() {
    if tmux_missing() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("store");
    // Slow enough that the campaign outlives the first TUI by seconds.
    let config = dir.path().join("bote.toml");
    std::fs::write(
        &config,
        "[send]\nrate = 4\n[consent]\ntopics = [\"sale\", \"new-collection\", \"events\"]\nattributes = [\"first_name\"]\n",
    )
    .expect("config");
    let cfg = config.display().to_string();

    let import = bote(&store, &["--config", &cfg, "consent", "import", SAMPLE]);
    assert!(
        matches!(import.status.code(), Some(0 | 3)),
        "import: {}",
        String::from_utf8_lossy(&import.stderr)
    );
    let tui = |name: &str| Tmux::start(name, &store, dir.path(), &format!("--config '{cfg}'"));
    let wait = Duration::from_secs(15);
    let first = tui("first");
    first.wait_for(&["SANDBOX", "Campaigns"], wait);
    first.send(&["n"]);
    first.wait_for(&["1 Template", "▶ herbst_sale"], wait);
    first.send(&["Enter"]);
    first.wait_for(&["Live count", "eligible"], wait);
    first.send(&["Enter"]);
    first.wait_for(&["Dry run: herbst_sale", "Preview 1 of"], wait);
    first.send(&["s"]);
    first.wait_for(&["4 Confirm"], wait);
    first.send(&["y"]);
    first.wait_for(&["Campaign 1", "SENDING"], wait);
    // The terminal goes away: tmux's server dies and takes the TUI with it.
    drop(first);

    let status = json(&bote(&store, &["campaign", "status", "1", "--json"]));
    assert_eq!(
        status["campaign"]["state"], "sending",
        "the campaign outlives its TUI: {status:#}"
    );
    let second = tui("second");
    let screen = second.wait_for(&["Campaign 1", "SENDING"], wait);
    assert!(screen.contains("herbst_sale"), "{screen}");
    second.wait_for(&["Campaign 1", "FINISHED"], Duration::from_secs(60));
    second.send(&["q"]);
    second.wait_for(&["Campaigns", "finished"], wait);
    second.send(&["q"]);

    let status = json(&bote(&store, &["campaign", "status", "1", "--json"]));
    assert_eq!(status["campaign"]["state"], "finished", "{status:#}");
    assert_eq!(status["counts"]["pending"].as_u64(), Some(0));
    assert_eq!(status["counts"]["unknown"].as_u64(), Some(0), "{status:#}");
}

/// The wizard in German (`LANG=de_DE.UTF-8`): every step speaks German,
/// and the campaign it confirms goes out.
#[test]
fn the_wizard_speaks_german_under_a_german_locale() {
    if tmux_missing() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("store");

    let import = bote(&store, &["consent", "import", SAMPLE]);
    assert!(matches!(import.status.code(), Some(0 | 3)));
    let tmux = Tmux::start_in("deutsch", &store, dir.path(), "", "de_DE.UTF-8");
    let wait = Duration::from_secs(15);
    tmux.wait_for(
        &[
            "SANDBOX",
            "Kampagnen",
            "Noch keine Kampagnen",
            "neue Kampagne",
        ],
        wait,
    );
    tmux.send(&["n"]);
    tmux.wait_for(&["1 Vorlage", "▶ herbst_sale"], wait);
    tmux.send(&["Enter"]);
    tmux.wait_for(&["Live-Zählung", "berechtigt"], wait);
    tmux.send(&["Enter"]);
    let dry_run = tmux.wait_for(&["Probelauf: herbst_sale", "Vorschau 1 von"], wait);
    assert!(
        dry_run.contains("Kosten ≤") && dry_run.contains("€"),
        "{dry_run}"
    );
    tmux.send(&["s"]);
    tmux.wait_for(
        &[
            "4 Bestätigen",
            "SANDBOX: Nachrichten gehen an den lokalen Simulator",
        ],
        wait,
    );
    tmux.send(&["y"]);
    tmux.wait_for(&["BEENDET", " gesendet"], Duration::from_secs(60));
    tmux.send(&["q"]);
    tmux.wait_for(&["Kampagnen", "beendet"], wait);
    tmux.send(&["q"]);
    tmux.wait_quit(wait);
    let status = json(&bote(&store, &["campaign", "status", "1", "--json"]));
    assert_eq!(status["campaign"]["state"], "finished", "{status:#}");
}

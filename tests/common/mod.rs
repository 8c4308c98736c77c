//! Shared helpers for the integration tests: run the real `bote` binary
//! against a private temp dir (store, config, fixture files), never the
//! user's data dir, and read what it prints.
//!
//! Every test binary includes this module but uses only part of it.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The binary under test, built by cargo for the integration tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_bote");

/// The config every test starts from: the documented defaults, written out
/// so that a `bote.toml` on the developer's machine cannot leak in.
pub const CONFIG: &str = r#"
[api]
messaging_tier = 10000

[consent]
default_region = "DE"
topics = ["sale", "new-collection", "events"]
attributes = ["first_name"]
frequency_cap = "3/7d"
"#;

/// The canonical consent CSV header used by most fixtures.
pub const HEADER: &str =
    "phone;opted_in_at;opt_in_source;confirmed_at;confirmation_method;topics;locale;first_name";

/// A temp dir holding a store, a config and fixture files; removed on drop.
pub struct Sandbox {
    dir: tempfile::TempDir,
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Out {
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Out {
    /// Panics with both streams unless the exit code is `code`.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "expected exit code {code}, got {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    /// Stdout as one JSON document.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\n--- stderr\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // A test's daemon ends with the test, not 2 s after its temp dir.
        if self.store().join("bote.sock").exists() {
            let _ = Command::new(BIN)
                .arg("--store")
                .arg(self.store())
                .arg("--config")
                .arg(self.dir.path().join("bote.toml"))
                .args(["daemon", "stop"])
                .env_remove("BOTE_TOKEN")
                .output();
        }
    }
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    /// A sandbox with the default [`CONFIG`].
    pub fn new() -> Self {
        Self::with_config(CONFIG)
    }

    /// A sandbox with this `bote.toml`.
    pub fn with_config(toml: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("bote.toml"), toml).expect("write config");
        Self { dir }
    }

    /// The temp dir.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The store dir (created by the first command).
    pub fn store(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    /// Writes a fixture file (bytes as given: Windows-1252 stays 1252).
    pub fn file(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, bytes).expect("write fixture");
        p
    }

    /// Runs `bote --store … --config … --templates … ARGS` in the temp dir,
    /// without a token (sandbox mode). The actor is the OS user: the daemon
    /// takes it from the socket's peer credentials.
    pub fn bote<I, S>(&self, args: I) -> Out
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        self.bote_with_templates(&templates, args)
    }

    /// [`Sandbox::bote`] with `--templates DIR` (a test's own template files).
    pub fn bote_with_templates<I, S>(&self, templates: &Path, args: I) -> Out
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let out = Command::new(BIN)
            .current_dir(self.dir.path())
            .arg("--store")
            .arg(self.store())
            .arg("--config")
            .arg(self.dir.path().join("bote.toml"))
            .arg("--templates")
            .arg(templates)
            .args(args)
            .env_remove("BOTE_TOKEN")
            .env_remove("BOTE_STORE")
            .env_remove("BOTE_CONFIG")
            .env_remove("BOTE_LOG")
            .env("NO_COLOR", "1")
            // English, whatever the machine's locale: the tests read the text.
            .env("LANG", "C.UTF-8")
            .env_remove("LC_ALL")
            .env_remove("LC_MESSAGES")
            .output()
            .expect("run bote");
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `consent import FILE EXTRA… --json`.
    pub fn import_json(&self, file: &Path, extra: &[&str]) -> Out {
        let mut args: Vec<&OsStr> = vec!["consent".as_ref(), "import".as_ref(), file.as_os_str()];
        args.extend(extra.iter().map(OsStr::new));
        args.push("--json".as_ref());
        self.bote(args)
    }

    /// Writes `name` and imports it with `--json`; returns the report
    /// after checking the exit code.
    #[track_caller]
    pub fn import_text(&self, name: &str, text: &str, code: i32) -> Value {
        let f = self.file(name, text);
        self.import_json(&f, &[]).expect_code(code).json()
    }

    /// `consent list --json` verbatim: the whole store's current state.
    #[track_caller]
    pub fn list(&self) -> String {
        self.bote(["consent", "list", "--json"])
            .expect_code(0)
            .stdout
            .clone()
    }

    /// `consent list --json` parsed: one contact per line.
    #[track_caller]
    pub fn contacts(&self) -> Vec<Value> {
        self.list()
            .lines()
            .map(|l| serde_json::from_str(l).expect("contact JSON"))
            .collect()
    }

    /// `consent show PHONE --json`.
    #[track_caller]
    pub fn show(&self, phone: &str) -> Value {
        self.bote(["consent", "show", phone, "--json"])
            .expect_code(0)
            .json()
    }

    /// `campaign plan ARGS --json`, expecting success.
    #[track_caller]
    pub fn plan(&self, args: &[&str]) -> Value {
        let mut all = vec!["campaign", "plan"];
        all.extend_from_slice(args);
        all.push("--json");
        self.bote(all).expect_code(0).json()
    }

    /// Stops the store's daemon (auto-started by the first command), if one
    /// runs, and waits until it has let go of the store.
    pub fn stop_daemon(&self) {
        if self.store().join("bote.sock").exists() {
            self.bote(["daemon", "stop"]).expect_code(0);
        }
    }

    /// Opens the store in this process (for what the CLI cannot do yet:
    /// suppressions, recorded sends). sled allows one process per store, so
    /// the store is closed again before this returns.
    pub fn with_store<T>(&self, f: impl FnOnce(&bote::consent::Store) -> T) -> T {
        self.stop_daemon();
        let store = bote::consent::Store::open(&self.store()).expect("open store");
        let out = f(&store);
        store.flush().expect("flush");
        drop(store);
        out
    }
}

/// A CSV from lines, joined with `\n` and ended by one.
pub fn csv(lines: &[&str]) -> String {
    let mut s = lines.join("\n");
    s.push('\n');
    s
}

/// A number as E.164 (the test's way to name what the store should hold).
pub fn e164(human: &str) -> String {
    bote::phone::Phone::parse(human, "DE")
        .unwrap_or_else(|e| panic!("{human}: {e}"))
        .e164()
}

/// The `code → count` pairs of a plan's `reasons`.
pub fn reasons(plan: &Value) -> std::collections::BTreeMap<String, u64> {
    plan["reasons"]
        .as_array()
        .expect("reasons array")
        .iter()
        .map(|r| {
            (
                r["code"].as_str().expect("code").to_string(),
                r["count"].as_u64().expect("count"),
            )
        })
        .collect()
}

/// `campaign send` of the sample template to `sale`, confirmed, returning at once.
pub const SEND_SALE_DETACHED: [&str; 8] = [
    "campaign",
    "send",
    "--template",
    "herbst_sale",
    "--topic",
    "sale",
    "--yes",
    "--detach",
];

/// A child process killed (and reaped) on drop.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `bote sim` as a separate process on an ephemeral loopback port, taking
/// `mps` with `latency_ms`, recording every accepted send in
/// `dir/sim.jsonl`; returns it and its port.
pub fn start_sim(dir: &Path, mps: u32, latency_ms: u64, token: &str) -> (Proc, u16) {
    let mut child = Command::new(BIN)
        .args(["--templates", "templates", "sim", "--listen", "127.0.0.1:0"])
        .args(["--mps", &mps.to_string()])
        .args(["--latency-ms", &latency_ms.to_string(), "--token", token])
        .arg("--record")
        .arg(dir.join("sim.jsonl"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start bote sim");
    let stdout = child.stdout.take().expect("sim stdout");
    let mut lines = std::io::BufReader::new(stdout).lines();
    let deadline = Instant::now() + Duration::from_secs(20);
    let port = loop {
        assert!(Instant::now() < deadline, "sim did not print its address");
        let line = lines.next().expect("sim exited early").expect("sim output");
        if let Some(rest) = line.split("127.0.0.1:").nth(1) {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            if let Ok(p) = digits.parse() {
                break p;
            }
        }
    };
    // Keep draining stdout so the sim never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (Proc(child), port)
}

/// The API token of a live test store (its `bote sim` takes the same).
pub const LIVE_TOKEN: &str = "live-test-token";
/// The webhook verify token of a live test store's daemon.
pub const LIVE_VERIFY: &str = "live-test-verify";
/// The webhook app secret of a live test store's daemon (signs test webhooks).
pub const LIVE_SECRET: &str = "live-test-app-secret";

/// `bote --config CONFIG` for a live store: the token and the webhook
/// secrets a live daemon needs in its environment, nothing else inherited
/// that names a store.
pub fn live_bote(config: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.arg("--config")
        .arg(config)
        .env("BOTE_TOKEN", LIVE_TOKEN)
        .env("BOTE_VERIFY_TOKEN", LIVE_VERIFY)
        .env("BOTE_APP_SECRET", LIVE_SECRET)
        .env_remove("BOTE_STORE")
        .stdin(Stdio::null());
    c
}

/// The OS user the tests run as: the actor the daemon records for them.
pub fn os_user() -> String {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    bote::service::peer::user_name(&passwd, bote::service::peer::own_uid())
}

/// Five confirmed consents for `sale`, numbers 0171 66000xx, first names
/// Kunde0…Kunde4, as CSV lines after [`HEADER`] (GDPR tests).
pub fn sale_consents() -> Vec<String> {
    let mut lines = vec![HEADER.to_string()];
    for i in 0..5 {
        lines.push(format!(
            "0171 66{i:05};2026-03-01T10:00:00Z;shop;2026-03-01T10:05:00Z;link;sale;de;Kunde{i}"
        ));
    }
    lines
}

/// A sandbox with [`sale_consents`] imported.
pub fn seeded() -> Sandbox {
    let sb = Sandbox::new();
    let lines = sale_consents();
    let rows: Vec<&str> = lines.iter().map(String::as_str).collect();
    sb.import_text("consents.csv", &csv(&rows), 0);
    sb
}

/// `campaign send --template herbst_sale --topic sale --yes`, to its end.
pub fn send_sale(sb: &Sandbox) {
    sb.bote([
        "campaign",
        "send",
        "--template",
        "herbst_sale",
        "--topic",
        "sale",
        "--yes",
    ])
    .expect_code(0);
}

/// Campaign `id`'s recipients over every state, and its `status --json`.
pub fn campaign_total(sb: &Sandbox, id: &str) -> (u64, Value) {
    let status = sb
        .bote(["campaign", "status", id, "--json"])
        .expect_code(0)
        .json();
    let total = [
        "pending",
        "in_flight",
        "accepted",
        "sent",
        "delivered",
        "read",
        "failed",
        "skipped",
        "unknown",
    ]
    .iter()
    .map(|k| status["counts"][k].as_u64().unwrap_or(0))
    .sum();
    (total, status)
}

/// `audit show --json ARGS`, one entry each.
pub fn trail(sb: &Sandbox, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["audit", "show", "--json"];
    all.extend_from_slice(args);
    sb.bote(all)
        .expect_code(0)
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("entry JSON"))
        .collect()
}

/// The actions of trail entries, in order.
pub fn actions(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| e["action"].as_str().expect("action").to_string())
        .collect()
}

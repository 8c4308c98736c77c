//! Invariant 2 under crashes and stops: the daemon of a live store is
//! killed with SIGKILL at random points of a campaign (or stopped with
//! SIGTERM), started again each time — it continues the campaign by itself —
//! and the simulator, a separate `bote sim` process that outlives every
//! kill, must end up with every recipient at most once, and the journal
//! with every recipient in a final state.

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};

use common::live_bote as bote;

const RECIPIENTS: usize = 2000;
const BATCH: usize = 16;
const WORKERS: usize = 8;

fn write_config(dir: &Path, port: u16) -> std::path::PathBuf {
    let path = dir.join("bote.toml");
    let text = format!(
        r#"
[api]
base_url = "http://127.0.0.1:{port}"
phone_number_id = "1234567890"
waba_id = "9876543210"
messaging_tier = 100000

[send]
rate = 300
concurrency = {WORKERS}
batch_size = {BATCH}
timeout_ms = 2000
max_retries = 3

[store]
path = "{store}"

[webhook]
listen = "127.0.0.1:0"

[compliance]
processor = "Meta Platforms Ireland"
dpa_signed_at = "2026-09-01"
dpa_reference = "DPA-TEST"

[roles]
admin = ["*"]
"#,
        store = dir.join("store").display()
    );
    std::fs::write(&path, text).expect("write config");
    path
}

fn write_consents(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("consents.csv");
    let mut f = std::fs::File::create(&path).expect("csv");
    writeln!(
        f,
        "phone;first_name;opted_in_at;opt_in_source;confirmed_at;confirmation_method;topics"
    )
    .expect("write");
    for i in 0..RECIPIENTS {
        writeln!(
            f,
            "0171 4{i:06};Kunde{i};01.03.2026 10:00;test;02.03.2026 10:00;link;sale"
        )
        .expect("write");
    }
    path
}

/// The live store's daemon, started by hand as an operator would.
struct Daemon {
    child: Child,
}

impl Daemon {
    fn start(dir: &Path, config: &Path) -> Self {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("daemon.log"))
            .expect("daemon log");
        let child = bote(config)
            .arg("daemon")
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start bote daemon");
        let sock = dir.join("store").join("bote.sock");
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut d = Self { child };
        loop {
            if let Some(st) = d.child.try_wait().expect("wait") {
                let log = std::fs::read_to_string(dir.join("daemon.log")).unwrap_or_default();
                panic!("the daemon exited at start ({st}):\n{log}");
            }
            if sock.exists() && std::os::unix::net::UnixStream::connect(&sock).is_ok() {
                return d;
            }
            assert!(Instant::now() < deadline, "the daemon did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: no destructor, no flush, exactly a crash.
    fn kill9(mut self) {
        self.child.kill().expect("kill");
        let _ = self.child.wait();
    }

    /// SIGTERM, and the exit status once it has stopped (bounded).
    fn term(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let ok = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM");
        assert!(ok.success(), "kill -TERM {pid}");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(st) = self.child.try_wait().expect("wait") {
                return st;
            }
            assert!(
                Instant::now() < deadline,
                "the daemon did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run(config: &Path, args: &[&str]) -> String {
    let out = bote(config).args(args).output().expect("run bote");
    assert!(
        out.status.success(),
        "bote {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn status(config: &Path) -> serde_json::Value {
    serde_json::from_str(&run(config, &["campaign", "status", "1", "--json"])).expect("status json")
}

/// Polls until campaign 1 is finished (bounded).
fn wait_finished(config: &Path) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let st = status(config);
        if st["campaign"]["state"] == "finished" {
            return st;
        }
        assert!(Instant::now() < deadline, "campaign 1 did not finish: {st}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Imports the consents and starts campaign 1, detached.
fn import_and_send(dir: &Path, config: &Path) {
    let consents = write_consents(dir);
    run(
        config,
        &["consent", "import", &consents.display().to_string()],
    );
    let mut send = common::SEND_SALE_DETACHED.to_vec();
    send.push("--json");
    run(config, &send);
}

/// Counts per recipient state, read from the store itself (no daemon runs).
fn counts_offline(dir: &Path) -> std::collections::BTreeMap<String, u64> {
    let store = bote::consent::Store::open(&dir.join("store")).expect("open store");
    let campaigns = bote::campaign::Campaigns::open(&store).expect("campaigns");
    let id = campaigns.list().expect("list")[0].id;
    let counts = campaigns
        .journal(id)
        .expect("journal")
        .counts()
        .expect("counts");
    let v = serde_json::to_value(counts).expect("counts json");
    v.as_object()
        .expect("counts object")
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), v.as_u64()?)))
        .collect()
}

/// The simulator's record: sends per (recipient, campaign message).
fn sim_sends(dir: &Path) -> HashMap<String, u32> {
    let record = std::fs::read_to_string(dir.join("sim.jsonl")).expect("sim record");
    let mut per_recipient: HashMap<String, u32> = HashMap::new();
    for line in record.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).expect("record line");
        let key = format!("{}|{}", v["to"], v["callback_data"]);
        *per_recipient.entry(key).or_default() += 1;
    }
    per_recipient
}

/// Every recipient in one final state, nothing open.
fn assert_complete(st: &serde_json::Value) -> impl Fn(&str) -> u64 + '_ {
    let counts = &st["counts"];
    let n = move |k: &str| counts[k].as_u64().unwrap_or(0);
    assert_eq!(st["campaign"]["state"], "finished", "{st}");
    assert_eq!(
        n("pending") + n("in_flight"),
        0,
        "nothing left open: {counts}"
    );
    let decided =
        n("accepted") + n("sent") + n("delivered") + n("read") + n("failed") + n("unknown");
    assert_eq!(
        decided, RECIPIENTS as u64,
        "every recipient in one final state: {counts}"
    );
    n
}

#[test]
fn sigkill_of_the_daemon_at_random_points_never_duplicates_or_loses_a_recipient() {
    let dir = tempfile::tempdir().expect("tmp");
    let (sim, port) = common::start_sim(dir.path(), 400, 15, common::LIVE_TOKEN);
    let config = write_config(dir.path(), port);
    let mut daemon = Daemon::start(dir.path(), &config);
    import_and_send(dir.path(), &config);

    let seed = std::env::var("BOTE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0xB07E_u64);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut kills = 0;
    let mut in_flight_at_kills = 0;
    for round in 0..12 {
        let wait = match round {
            0 => rng.gen_range(300..700),
            _ => rng.gen_range(100..450),
        };
        std::thread::sleep(Duration::from_millis(wait));
        if status(&config)["campaign"]["state"] == "finished" {
            break;
        }
        daemon.kill9();
        kills += 1;
        // Read with no daemon running: what the crash left marked in flight
        // is what may have left the machine, and only that becomes unknown.
        let left = counts_offline(dir.path());
        let in_flight = left.get("in_flight").copied().unwrap_or(0);
        assert!(
            in_flight <= WORKERS as u64,
            "kill {kills} (seed {seed}) left {in_flight} in flight with {WORKERS} workers: {left:?}"
        );
        in_flight_at_kills += in_flight;
        // The next daemon repairs what the crash left and continues alone.
        daemon = Daemon::start(dir.path(), &config);
    }
    let st = wait_finished(&config);
    let n = assert_complete(&st);
    assert!(
        n("unknown") <= in_flight_at_kills,
        "{} unknown, but only {in_flight_at_kills} were in flight at {kills} kills (seed {seed})",
        n("unknown")
    );
    assert_eq!(
        daemon.term().code(),
        Some(0),
        "a SIGTERM ends the daemon cleanly"
    );

    drop(sim);
    let per_recipient = sim_sends(dir.path());
    let dups: Vec<_> = per_recipient.iter().filter(|(_, c)| **c > 1).collect();
    assert!(dups.is_empty(), "duplicates at the simulator: {dups:?}");
    let accepted = n("accepted") + n("sent") + n("delivered") + n("read");
    assert!(
        per_recipient.len() as u64 >= accepted,
        "the sim saw {} recipients but bote recorded {accepted} accepted",
        per_recipient.len()
    );
    assert!(
        per_recipient.len() as u64 <= accepted + n("unknown"),
        "the sim saw sends bote neither accepted nor marked unknown"
    );
    eprintln!(
        "{kills} SIGKILLs; final counts {}; the sim saw {} recipients; {} unknown never reached it",
        st["counts"],
        per_recipient.len(),
        (accepted + n("unknown")).saturating_sub(per_recipient.len() as u64)
    );
    assert!(
        kills >= 10,
        "the campaign must outlast at least ten kills, it took {kills} (seed {seed})"
    );
}

#[test]
fn sigterm_mid_send_leaves_no_unknown_and_the_next_daemon_sends_the_rest_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let (sim, port) = common::start_sim(dir.path(), 400, 15, common::LIVE_TOKEN);
    let config = write_config(dir.path(), port);
    let daemon = Daemon::start(dir.path(), &config);
    import_and_send(dir.path(), &config);
    // Mid-send: some accepted, most still pending (600 at 300/s take 2 s).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let st = status(&config);
        let c = &st["counts"];
        if c["accepted"].as_u64().unwrap_or(0) + c["sent"].as_u64().unwrap_or(0) >= 50 {
            assert_ne!(
                st["campaign"]["state"], "finished",
                "stopped too late: {st}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "the send did not start: {st}");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(daemon.term().code(), Some(0), "SIGTERM exits 0");

    let stopped = counts_offline(dir.path());
    let get = |k: &str| stopped.get(k).copied().unwrap_or(0);
    assert_eq!(
        get("unknown"),
        0,
        "a graceful stop leaves no unknown: {stopped:?}"
    );
    assert_eq!(
        get("in_flight"),
        0,
        "nothing left marked in flight: {stopped:?}"
    );
    assert!(get("pending") > 0, "the stop came mid-send: {stopped:?}");

    let daemon = Daemon::start(dir.path(), &config);
    let st = wait_finished(&config);
    let n = assert_complete(&st);
    assert_eq!(n("unknown"), 0, "{}", st["counts"]);
    assert_eq!(daemon.term().code(), Some(0));

    drop(sim);
    let per_recipient = sim_sends(dir.path());
    let dups: Vec<_> = per_recipient.iter().filter(|(_, c)| **c > 1).collect();
    assert!(dups.is_empty(), "duplicates at the simulator: {dups:?}");
    let accepted = n("accepted") + n("sent") + n("delivered") + n("read");
    assert_eq!(
        per_recipient.len() as u64,
        accepted,
        "the sim saw exactly the sends bote accepted"
    );
}

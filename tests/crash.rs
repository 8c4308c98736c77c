//! Invariant 2 under crashes: the real binary is killed with SIGKILL at
//! random points of a campaign, resumed each time, and the simulator — a
//! separate `bote sim` process that outlives every kill — must end up with
//! every recipient at most once, and the journal with every recipient in a
//! final state.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};

const BOTE: &str = env!("CARGO_BIN_EXE_bote");
const TOKEN: &str = "crash-test-token";
const RECIPIENTS: usize = 600;
const BATCH: usize = 16;
const WORKERS: usize = 8;

struct Sim {
    child: Child,
    port: u16,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `bote sim` on an ephemeral loopback port and reads the port back.
fn start_sim(dir: &Path) -> Sim {
    let mut child = Command::new(BOTE)
        .args(["--templates", "templates", "sim", "--listen", "127.0.0.1:0"])
        .args(["--mps", "400", "--latency-ms", "15", "--token", TOKEN])
        .arg("--record")
        .arg(dir.join("sim.jsonl"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start bote sim");
    let stdout = child.stdout.take().expect("sim stdout");
    let mut lines = BufReader::new(stdout).lines();
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
    Sim { child, port }
}

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

fn bote(config: &Path) -> Command {
    let mut c = Command::new(BOTE);
    c.arg("--config")
        .arg(config)
        .env("BOTE_TOKEN", TOKEN)
        .env_remove("BOTE_STORE")
        .env("BOTE_ACTOR", "crash-test")
        .stdin(Stdio::null());
    c
}

/// Runs `args`, killing the process with SIGKILL after `kill_after` unless it ends first.
fn run_and_maybe_kill(config: &Path, args: &[&str], kill_after: Option<Duration>) -> bool {
    let mut child = bote(config)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn bote");
    let deadline = Instant::now() + kill_after.unwrap_or(Duration::from_secs(120));
    loop {
        if let Some(_status) = child.try_wait().expect("wait") {
            return false;
        }
        if Instant::now() >= deadline {
            // SIGKILL: no destructor, no flush, exactly a crash.
            child.kill().expect("kill");
            let _ = child.wait();
            return kill_after.is_some();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn status(config: &Path) -> serde_json::Value {
    let out = bote(config)
        .args(["campaign", "status", "1", "--json"])
        .output()
        .expect("status");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("status json")
}

#[test]
fn sigkill_at_random_points_never_duplicates_or_loses_a_recipient() {
    let dir = tempfile::tempdir().expect("tmp");
    let sim = start_sim(dir.path());
    let config = write_config(dir.path(), sim.port);
    let consents = write_consents(dir.path());
    let import = bote(&config)
        .args(["consent", "import"])
        .arg(&consents)
        .output()
        .expect("import");
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );

    let mut rng = rand::rngs::StdRng::seed_from_u64(0xB07E);
    let send = [
        "campaign",
        "send",
        "--template",
        "herbst_sale",
        "--topic",
        "sale",
        "--yes",
        "--json",
    ];
    let mut kills = 0;
    let first_kill = Duration::from_millis(rng.gen_range(300..1200));
    if run_and_maybe_kill(&config, &send, Some(first_kill)) {
        kills += 1;
    }
    for _ in 0..4 {
        let wait = Duration::from_millis(rng.gen_range(200..900));
        if run_and_maybe_kill(&config, &["campaign", "resume", "1", "--json"], Some(wait)) {
            kills += 1;
        }
    }
    // The last resume runs to the end.
    run_and_maybe_kill(&config, &["campaign", "resume", "1", "--json"], None);

    let st = status(&config);
    let counts = &st["counts"];
    let n = |k: &str| counts[k].as_u64().unwrap_or(0);
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
    assert!(
        n("unknown") <= kills * (BATCH + WORKERS) as u64,
        "{} unknown after {kills} kills",
        n("unknown")
    );

    // The simulator's own record: at most once per (recipient, campaign message).
    drop(sim);
    let record = std::fs::read_to_string(dir.path().join("sim.jsonl")).expect("sim record");
    let mut per_recipient: HashMap<String, u32> = HashMap::new();
    for line in record.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).expect("record line");
        let key = format!("{}|{}", v["to"], v["callback_data"]);
        *per_recipient.entry(key).or_default() += 1;
    }
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
        "{kills} SIGKILLs; final counts {counts}; the sim saw {} recipients",
        per_recipient.len()
    );
    assert!(kills >= 1, "the test must actually kill bote at least once");
}

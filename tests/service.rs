//! bote as a service, with the real binary: one live daemon owns the store
//! and the webhook receiver while several clients work on it at once, and
//! roles come from the socket's peer credentials, never from the
//! environment. The Cloud API is a separate `bote sim` on 127.0.0.1.

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bote::sim::webhooks::{inbound_text_payload, Metadata};

const PHONE_NUMBER_ID: &str = "1234567890";
const RECIPIENTS: usize = 300;

use common::{live_bote as bote, start_sim, Proc};

fn write_config(dir: &Path, port: u16) -> PathBuf {
    let path = dir.join("bote.toml");
    let text = format!(
        r#"
[api]
base_url = "http://127.0.0.1:{port}"
phone_number_id = "{PHONE_NUMBER_ID}"
waba_id = "9876543210"
messaging_tier = 100000

[send]
rate = 60
concurrency = 4
batch_size = 8
timeout_ms = 2000

[store]
path = "{store}"

[webhook]
listen = "127.0.0.1:0"

[consent]
topics = ["sale"]
attributes = ["first_name"]

[compliance]
processor = "Meta Platforms Ireland"
dpa_signed_at = "2026-09-01"

[roles]
admin = ["*"]
"#,
        store = dir.join("store").display()
    );
    std::fs::write(&path, text).expect("write config");
    path
}

/// Runs a client command; returns (exit code, stdout, stderr).
fn run(config: &Path, args: &[&str]) -> (i32, String, String) {
    let out = bote(config).args(args).output().expect("run bote");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[track_caller]
fn ok(config: &Path, args: &[&str]) -> String {
    let (code, out, err) = run(config, args);
    assert_eq!(code, 0, "bote {args:?} exited {code}:\n{out}\n{err}");
    out
}

/// The live daemon, started by hand; its stderr names the webhook URL.
fn start_daemon(config: &Path) -> (Proc, String, Arc<Mutex<String>>) {
    let mut child = bote(config)
        .arg("daemon")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start bote daemon");
    let stderr = child.stderr.take().expect("daemon stderr");
    let log = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let keep = Arc::clone(&log);
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(url) = line.split("webhooks at ").nth(1) {
                let _ = tx.send(url.trim().to_string());
            }
            if let Ok(mut l) = keep.lock() {
                l.push_str(&line);
                l.push('\n');
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| {
            panic!(
                "the daemon did not start:\n{}",
                log.lock().map(|l| l.clone()).unwrap_or_default()
            )
        });
    (Proc(child), url, log)
}

fn number(i: usize) -> String {
    format!("+49171{:07}", 4_000_000 + i)
}

fn consents(dir: &Path, name: &str, from: usize, n: usize) -> PathBuf {
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).expect("csv");
    writeln!(
        f,
        "phone;first_name;opted_in_at;opt_in_source;confirmed_at;confirmation_method;topics"
    )
    .expect("write");
    for i in from..from + n {
        writeln!(
            f,
            "{};Kunde{i};01.03.2026 10:00;test;02.03.2026 10:00;link;sale",
            number(i)
        )
        .expect("write");
    }
    path
}

/// Posts a signed STOP from `phone` to the receiver, as Meta would.
fn post_stop(url: &str, phone: &str) {
    let meta = Metadata {
        waba_id: "9876543210".into(),
        display_phone_number: "15550000000".into(),
        phone_number_id: PHONE_NUMBER_ID.into(),
    };
    let body = inbound_text_payload(
        &meta,
        phone.trim_start_matches('+'),
        "wamid.stop-1",
        "STOP",
        chrono::Utc::now().timestamp(),
    );
    let bytes = serde_json::to_vec(&body).expect("body");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let status = rt.block_on(async {
        reqwest::Client::new()
            .post(url)
            .header("content-type", "application/json")
            .header(
                bote::webhook::SIGNATURE_HEADER,
                bote::webhook::sign(common::LIVE_SECRET.as_bytes(), &bytes),
            )
            .body(bytes)
            .send()
            .await
            .expect("post the webhook")
            .status()
    });
    assert!(status.is_success(), "the receiver answered {status}");
}

fn state(config: &Path) -> serde_json::Value {
    serde_json::from_str(&ok(config, &["campaign", "status", "1", "--json"])).expect("status json")
}

#[test]
fn one_live_daemon_serves_a_send_a_watcher_imports_revocations_and_a_stop_webhook_at_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let (_sim, port) = start_sim(dir.path(), 400, 10, common::LIVE_TOKEN);
    let config = write_config(dir.path(), port);
    let (daemon, webhook, log) = start_daemon(&config);
    let first = consents(dir.path(), "consents.csv", 0, RECIPIENTS);
    ok(
        &config,
        &["consent", "import", &first.display().to_string()],
    );

    let (code, out, err) = run(&config, &common::SEND_SALE_DETACHED);
    assert_eq!(code, 0, "{out}\n{err}");
    let store = dir.path().join("store").display().to_string();
    assert!(
        format!("{out}{err}").contains(&format!(
            "LIVE — http://127.0.0.1:{port} phone number {PHONE_NUMBER_ID} (store: {store})"
        )),
        "the output names the mode and the store: {out}\n{err}"
    );
    // A second client follows the campaign to its end.
    let watcher = bote(&config)
        .args(["campaign", "watch", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("watch");

    // Meanwhile, on the same store: a STOP webhook, an operator's
    // revocation, a list, another import.
    let stopped = number(RECIPIENTS - 1);
    let revoked = number(RECIPIENTS - 2);
    post_stop(&webhook, &stopped);
    ok(&config, &["consent", "revoke", &revoked]);
    let listed = ok(&config, &["consent", "list", "--json"]);
    assert!(
        listed.lines().count() >= RECIPIENTS,
        "the list answers mid-send"
    );
    let second = consents(dir.path(), "more.csv", RECIPIENTS, 40);
    let imported = ok(
        &config,
        &["consent", "import", &second.display().to_string(), "--json"],
    );
    let report: serde_json::Value = serde_json::from_str(&imported).expect("import json");
    assert_eq!(report["imported"], 40, "{report}");
    let mid = state(&config);
    assert_ne!(
        mid["campaign"]["state"], "finished",
        "the other clients ran while the campaign was sending: {mid}"
    );

    let watched = watcher.wait_with_output().expect("watcher");
    let watched_out = String::from_utf8_lossy(&watched.stdout);
    assert_eq!(
        watched.status.code(),
        Some(0),
        "{watched_out}\n{}",
        String::from_utf8_lossy(&watched.stderr)
    );
    assert!(
        watched_out.contains("campaign 1: finished"),
        "{watched_out}"
    );

    let st = state(&config);
    assert_eq!(st["campaign"]["state"], "finished", "{st}");
    let c = &st["counts"];
    let n = |k: &str| c[k].as_u64().unwrap_or(0);
    assert_eq!(
        n("skipped"),
        2,
        "the STOP and the revocation skipped two: {c}"
    );
    assert_eq!(
        n("accepted") + n("sent") + n("delivered") + n("read"),
        RECIPIENTS as u64 - 2
    );
    assert_eq!(
        n("unknown") + n("failed") + n("pending") + n("in_flight"),
        0,
        "{c}"
    );

    let stop_show = ok(&config, &["consent", "show", &stopped, "--json"]);
    assert!(stop_show.contains("revoked"), "{stop_show}");

    drop(daemon);
    let record = std::fs::read_to_string(dir.path().join("sim.jsonl")).expect("sim record");
    let mut seen = HashSet::new();
    for line in record.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).expect("record line");
        let to = v["to"]
            .as_str()
            .unwrap_or_default()
            .trim_start_matches('+')
            .to_string();
        assert!(seen.insert(to.clone()), "sent twice to {to}");
    }
    assert_eq!(seen.len(), RECIPIENTS - 2, "the sim saw every send once");
    for gone in [&stopped, &revoked] {
        assert!(
            !seen.contains(gone.trim_start_matches('+')),
            "{gone} got the message after revoking; daemon log:\n{}",
            log.lock().map(|l| l.clone()).unwrap_or_default()
        );
    }
}

#[test]
fn roles_come_from_the_peer_uid_not_from_the_environment() {
    // Nobody this process could be is listed: the environment claims an
    // admin, the kernel says otherwise.
    let sb = common::Sandbox::with_config(&format!(
        "{}\n[roles]\nadmin = [\"claimed-admin\"]\noperator = []\nviewer = []\n",
        common::CONFIG
    ));
    let out = std::process::Command::new(common::BIN)
        .current_dir(sb.path())
        .arg("--store")
        .arg(sb.store())
        .arg("--config")
        .arg(sb.path().join("bote.toml"))
        .args(["consent", "list", "--json"])
        .env_remove("BOTE_TOKEN")
        .env("USER", "claimed-admin")
        .env("LOGNAME", "claimed-admin")
        .env("BOTE_ACTOR", "claimed-admin")
        .output()
        .expect("run bote");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "refusals exit 4: {stderr}");
    assert!(
        stderr.contains("needs the viewer role") && stderr.contains("not listed"),
        "the refusal names the role needed and the user's: {stderr}"
    );
    assert!(
        !stderr.contains("\"claimed-admin\""),
        "the refused user is the peer's, not the claimed one: {stderr}"
    );
}

/// A quiet-hours window around now in Berlin, `HH:MM-HH:MM`.
fn quiet_now() -> String {
    let berlin = chrono::Utc::now().with_timezone(&chrono_tz::Europe::Berlin);
    let from = berlin - chrono::Duration::hours(1);
    let to = berlin + chrono::Duration::hours(2);
    format!("{}-{}", from.format("%H:%M"), to.format("%H:%M"))
}

#[test]
fn a_campaign_keeps_the_settings_it_was_created_with_and_shows_what_changed() {
    let held_config = format!(
        "{}\n[send]\nrate = 50\nquiet_hours = \"{}\"\n",
        common::CONFIG,
        quiet_now()
    );
    let sb = common::Sandbox::with_config(&held_config);
    let mut lines = vec![common::HEADER.to_string()];
    for i in 0..20 {
        lines.push(format!(
            "0171 55{i:05};2026-03-01T10:00:00Z;test;2026-03-01T10:05:00Z;link;sale;de;Kunde{i}"
        ));
    }
    let rows: Vec<&str> = lines.iter().map(String::as_str).collect();
    sb.import_text("consents.csv", &common::csv(&rows), 0);
    sb.bote(common::SEND_SALE_DETACHED).expect_code(0);
    let status = |sb: &common::Sandbox| {
        sb.bote(["campaign", "status", "1", "--json"])
            .expect_code(0)
            .json()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while status(&sb)["campaign"]["state"] != "held" {
        assert!(Instant::now() < deadline, "not held: {}", status(&sb));
        std::thread::sleep(Duration::from_millis(50));
    }
    sb.stop_daemon();

    // The operator drops the quiet hours and raises the rate; the next
    // daemon continues the campaign with what it froze, and says so.
    sb.file(
        "bote.toml",
        format!("{}\n[send]\nrate = 200\n", common::CONFIG),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let st = loop {
        let st = status(&sb);
        if st["running"] == true && st["campaign"]["state"] == "held" {
            break st;
        }
        assert!(Instant::now() < deadline, "not continued as held: {st}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let c = &st["counts"];
    assert_eq!(
        c["accepted"], 0,
        "nothing sent during the frozen quiet hours: {st}"
    );
    assert_eq!(st["campaign"]["settings"]["rate"], 50, "{st}");
    let changes: Vec<&str> = st["config_changes"]
        .as_array()
        .expect("config_changes")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        changes
            .iter()
            .any(|c| c.starts_with("rate: the campaign keeps 50/s; the config now says 200/s"))
            && changes
                .iter()
                .any(|c| c.starts_with("quiet hours: the campaign keeps ")),
        "{changes:?}"
    );
    let human = sb
        .bote(["campaign", "status", "1"])
        .expect_code(0)
        .stdout
        .clone();
    assert!(
        human.contains("settings (frozen at creation): rate 50/s"),
        "{human}"
    );
    assert!(human.contains("config changed since: rate"), "{human}");
    sb.bote(["campaign", "cancel", "1", "--yes"]).expect_code(0);
}

#[test]
fn the_template_catalog_is_the_daemons() {
    let sb = common::Sandbox::new();
    let list = sb
        .bote(["template", "list", "--json"])
        .expect_code(0)
        .json();
    let names: Vec<&str> = list
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(names.contains(&"herbst_sale"), "{names:?}");
    assert!(list[0]["lints"].is_array(), "findings come along: {list}");
    assert!(
        sb.store().join("bote.sock").exists(),
        "answered by the store's daemon"
    );
    let show = sb.bote(["template", "show", "herbst_sale"]);
    show.expect_code(0);
    assert!(
        show.stdout
            .contains("herbst_sale (de) — MARKETING — APPROVED"),
        "{}",
        show.stdout
    );
    let missing = sb.bote(["template", "show", "gibt_es_nicht"]);
    missing.expect_code(1);
    assert!(
        missing.stderr.contains("\"gibt_es_nicht\""),
        "{}",
        missing.stderr
    );
}

/// The README's first command on a fresh machine: no store, no config, no
/// token. The client starts the sandbox daemon on the default store, and
/// that store is seeded with the sample consents (an auto daemon given the
/// store's path as `--store` took it for an explicit store and never
/// seeded it: the sample dry run found nobody eligible).
#[test]
fn the_first_run_on_a_fresh_machine_plans_the_sample_campaign_over_seeded_consents() {
    let home = tempfile::tempdir().expect("tmp");
    let out = std::process::Command::new(common::BIN)
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("BOTE_DAEMON_IDLE_MS", "300")
        .env_remove("BOTE_STORE")
        .env_remove("BOTE_CONFIG")
        .env_remove("BOTE_TOKEN")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run bote");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let eligible: u64 = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("eligible"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no eligible line:\n{stdout}"));
    assert!(eligible > 0, "nobody eligible in the sample:\n{stdout}");
    assert!(stdout.contains("Nothing was sent (dry run)."), "{stdout}");
}

//! Encrypted backups (G11) with the real binary on the sandbox: a store
//! with a sent campaign goes through `backup create` (via its daemon),
//! `backup verify` and `backup restore` into a new directory and comes back
//! with the same contacts, campaigns and a sound trail; a changed byte, a
//! wrong passphrase and a non-empty target are refused, and the archive
//! holds no number in clear.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{Out, Sandbox, BIN};
use serde_json::Value;

const PASS: &str = "correct horse battery staple";

/// Runs `bote --store STORE --config … ARGS` with `env` (and no terminal,
/// so a missing passphrase is an error, never a prompt).
fn bote_at(sb: &Sandbox, store: &Path, env: &[(&str, &str)], args: &[&str]) -> Out {
    let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let mut c = Command::new(BIN);
    c.current_dir(sb.path())
        .arg("--store")
        .arg(store)
        .arg("--config")
        .arg(sb.path().join("bote.toml"))
        .arg("--templates")
        .arg(templates)
        .args(args)
        .env_remove("BOTE_TOKEN")
        .env_remove("BOTE_STORE")
        .env_remove("BOTE_CONFIG")
        .env_remove("BOTE_LOG")
        .env_remove("BOTE_BACKUP_PASSPHRASE")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("run bote");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Stops the daemon a command auto-started for a restored store.
struct StopDaemon<'a>(&'a Sandbox, PathBuf);

impl Drop for StopDaemon<'_> {
    fn drop(&mut self) {
        if self.1.join("bote.sock").exists() {
            let _ = bote_at(self.0, &self.1, &[], &["daemon", "stop"]);
        }
    }
}

/// Eight confirmed contacts for `sale`, numbers 0171 77000xx, and one
/// campaign sent to them.
fn sent() -> Sandbox {
    let sb = Sandbox::new();
    let mut lines = vec![common::HEADER.to_string()];
    for i in 0..8 {
        lines.push(format!(
            "0171 77{i:05};2026-03-01T10:00:00Z;shop;2026-03-01T10:05:00Z;link;sale;de;Kunde{i}"
        ));
    }
    let rows: Vec<&str> = lines.iter().map(String::as_str).collect();
    sb.import_text("consents.csv", &common::csv(&rows), 0);
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
    sb
}

fn create(sb: &Sandbox, out: &Path) -> Value {
    let out = out.to_str().expect("utf-8 path");
    bote_at(
        sb,
        &sb.store(),
        &[("BOTE_BACKUP_PASSPHRASE", PASS)],
        &["backup", "create", out, "--json"],
    )
    .expect_code(0)
    .json()
}

/// Per campaign: id, state, audience and how many were messaged (the
/// split between accepted, delivered and read moves on with late status
/// webhooks, the sum does not).
fn campaigns(sb: &Sandbox, store: &Path) -> Vec<(u64, String, u64, u64)> {
    bote_at(sb, store, &[], &["campaign", "list", "--json"])
        .expect_code(0)
        .stdout
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("campaign JSON");
            let c = &v["counts"];
            let messaged = ["accepted", "sent", "delivered", "read"]
                .iter()
                .map(|k| c[k].as_u64().unwrap_or(0))
                .sum();
            (
                v["campaign"]["id"].as_u64().expect("id"),
                v["campaign"]["state"].as_str().expect("state").to_string(),
                v["campaign"]["audience"].as_u64().expect("audience"),
                messaged,
            )
        })
        .collect()
}

#[test]
fn a_backup_of_a_sent_campaign_verifies_and_restores_into_a_new_store() {
    let sb = sent();
    let archive = sb.path().join("bote.age");
    let created = create(&sb, &archive);
    let m = &created["manifest"];
    assert_eq!(m["contacts"], 8, "{created}");
    assert_eq!(m["campaigns"], 1, "{created}");

    // Owner-only, and nothing in it readable: not a number in any form, no name.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&archive)
        .expect("archive")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let bytes = std::fs::read(&archive).expect("read");
    assert_eq!(created["bytes"], bytes.len() as u64);
    let packed = bote::phone::Phone::parse("+491717700003", "DE")
        .expect("phone")
        .key();
    for needle in [
        &b"1717700003"[..],
        b"0171 7700003",
        b"Kunde3",
        &packed[..],
        b"herbst_sale",
    ] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "{:?} is readable in the archive",
            String::from_utf8_lossy(needle)
        );
    }
    // Nothing but the archive appeared beside it (no plaintext, no temp file).
    let beside: Vec<String> = std::fs::read_dir(sb.path())
        .expect("ls")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("bote.age"))
        .collect();
    assert_eq!(beside, ["bote.age"]);
    // The daemon's spool holds nothing once the archive is out.
    let spool = sb.store().join("spool");
    let spooled = std::fs::read_dir(&spool).map(|d| d.count()).unwrap_or(0);
    assert_eq!(spooled, 0, "the spool keeps nothing");

    // The trail records the backup with the archive's SHA-256.
    let trail = sb.bote(["audit", "show", "--action", "backup_created", "--json"]);
    trail.expect_code(0);
    let entry: Value = serde_json::from_str(trail.stdout.trim()).expect("one entry");
    assert_eq!(entry["details"]["archive_sha256"], created["sha256"]);
    assert_eq!(entry["details"]["contacts"], 8);

    let a = archive.to_str().expect("path");
    let v = bote_at(
        &sb,
        &sb.store(),
        &[("BOTE_BACKUP_PASSPHRASE", PASS)],
        &["backup", "verify", a],
    );
    v.expect_code(0);
    assert!(v.stdout.contains("is sound"), "{}", v.stdout);
    assert!(
        v.stdout.contains("8 contact(s), 1 campaign(s)"),
        "{}",
        v.stdout
    );

    let before = sb.list();
    let before_campaigns = campaigns(&sb, &sb.store());
    sb.stop_daemon();

    let target = sb.path().join("restored");
    let _stop = StopDaemon(&sb, target.clone());
    let r = bote_at(
        &sb,
        &target,
        &[("BOTE_BACKUP_PASSPHRASE", PASS)],
        &["backup", "restore", a],
    );
    r.expect_code(0);
    assert!(r.stdout.contains("audit trail sound"), "{}", r.stdout);
    let dir_mode = std::fs::metadata(&target)
        .expect("dir")
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o777, 0o700);
    let trail_mode = std::fs::metadata(target.join("audit.jsonl"))
        .expect("trail")
        .permissions()
        .mode();
    assert_eq!(trail_mode & 0o777, 0o600);

    let after = bote_at(&sb, &target, &[], &["consent", "list", "--json"]);
    after.expect_code(0);
    assert_eq!(after.stdout, before, "the same contacts, byte for byte");
    assert_eq!(campaigns(&sb, &target), before_campaigns);
    assert_eq!(before_campaigns, [(1, "finished".to_string(), 8, 8)]);
    let verified = bote_at(&sb, &target, &[], &["audit", "verify", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(verified["first_break"], Value::Null, "{verified}");
    let restored = bote_at(
        &sb,
        &target,
        &[],
        &["audit", "show", "--action", "backup_restored", "--json"],
    );
    restored.expect_code(0);
    let entry: Value = serde_json::from_str(restored.stdout.trim()).expect("one entry");
    assert_eq!(entry["details"]["archive_sha256"], created["sha256"]);
    assert_eq!(entry["actor"], common::os_user().as_str());
}

#[test]
fn a_changed_byte_a_wrong_passphrase_and_a_busy_target_are_refused() {
    let sb = sent();
    let archive = sb.path().join("bote.age");
    create(&sb, &archive);
    let a = archive.to_str().expect("path");

    // Never over an existing file unasked; --force replaces it.
    let again = bote_at(
        &sb,
        &sb.store(),
        &[("BOTE_BACKUP_PASSPHRASE", PASS)],
        &["backup", "create", a],
    );
    again.expect_code(1);
    assert!(again.stderr.contains("exists"), "{}", again.stderr);
    bote_at(
        &sb,
        &sb.store(),
        &[("BOTE_BACKUP_PASSPHRASE", PASS)],
        &["backup", "create", a, "--force"],
    )
    .expect_code(0);

    let wrong = bote_at(
        &sb,
        &sb.store(),
        &[("BOTE_BACKUP_PASSPHRASE", "not the passphrase")],
        &["backup", "verify", a],
    );
    wrong.expect_code(1);
    assert!(
        wrong.stderr.contains("wrong passphrase"),
        "{}",
        wrong.stderr
    );

    let none = bote_at(&sb, &sb.store(), &[], &["backup", "verify", a]);
    none.expect_code(1);
    assert!(
        none.stderr.contains("BOTE_BACKUP_PASSPHRASE"),
        "{}",
        none.stderr
    );

    let mut bytes = std::fs::read(&archive).expect("read");
    let at = bytes.len() / 2;
    bytes[at] ^= 0x04;
    let tampered = sb.file("tampered.age", &bytes);
    let t = tampered.to_str().expect("path");
    let out = bote_at(
        &sb,
        &sb.store(),
        &[("BOTE_BACKUP_PASSPHRASE", PASS)],
        &["backup", "verify", t],
    );
    out.expect_code(1);
    assert!(
        out.stderr.contains("does not verify") && out.stderr.contains("altered or is damaged"),
        "{}",
        out.stderr
    );

    let busy = sb.path().join("busy");
    std::fs::create_dir(&busy).expect("mkdir");
    std::fs::write(busy.join("notes.txt"), "mine").expect("write");
    let refused = bote_at(
        &sb,
        &busy,
        &[("BOTE_BACKUP_PASSPHRASE", PASS)],
        &["backup", "restore", a],
    );
    refused.expect_code(1);
    assert!(refused.stderr.contains("not empty"), "{}", refused.stderr);
    let left: Vec<String> = std::fs::read_dir(&busy)
        .expect("ls")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["notes.txt"], "the directory is untouched");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&busy).expect("dir").permissions().mode();
    assert_ne!(mode & 0o777, 0o700, "not even its permissions changed");
    assert!(!busy.join("bote.sock").exists());

    // A tampered archive restores nothing.
    let fresh = sb.path().join("fresh");
    bote_at(
        &sb,
        &fresh,
        &[("BOTE_BACKUP_PASSPHRASE", PASS)],
        &["backup", "restore", t],
    )
    .expect_code(1);
    assert!(!fresh.exists());
}

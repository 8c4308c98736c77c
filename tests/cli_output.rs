//! What the binary writes when nobody reads it or a file does: a closed
//! pipe on standard output ends a command quietly with exit 0 (`bote … |
//! head`), and a redirected standard error gets no colour codes; and what
//! `campaign status` says of a campaign that was cancelled.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::{Sandbox, BIN};

/// `bote --store … --config … ARGS` in the sandbox, without `NO_COLOR`,
/// standard output's reader closed before the command writes anything.
fn with_stdout_closed(sb: &Sandbox, args: &[&str]) -> (i32, String) {
    let mut child = command(sb, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run bote");
    // Nobody reads standard output from here on: every write is EPIPE.
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait for bote");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn command(sb: &Sandbox, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(sb.path())
        .arg("--store")
        .arg(sb.store())
        .arg("--config")
        .arg(sb.path().join("bote.toml"))
        .arg("--templates")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("templates"))
        .args(args)
        .env_remove("BOTE_TOKEN")
        .env_remove("BOTE_STORE")
        .env_remove("BOTE_CONFIG")
        .env_remove("BOTE_LOG")
        .env_remove("NO_COLOR");
    c
}

#[test]
fn a_closed_pipe_on_stdout_ends_quietly_with_exit_0() {
    let sb = Sandbox::new();
    for args in [
        &["template", "list"][..],
        &[
            "campaign",
            "plan",
            "--template",
            "herbst_sale",
            "--topic",
            "sale",
        ],
        &["daemon", "status"],
    ] {
        let (code, stderr) = with_stdout_closed(&sb, args);
        assert_eq!(code, 0, "{args:?}: {stderr}");
        assert!(!stderr.contains("error"), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn a_redirected_stderr_gets_no_colour_codes() {
    let sb = Sandbox::new();
    let out = command(&sb, &["-v", "template", "list"])
        .output()
        .expect("run bote");
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("INFO"), "-v logs to stderr: {stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "escape codes in a file: {stderr:?}"
    );
}

/// Issue 17: a cancelled campaign read as complete; status says who was
/// never sent, as the TUI does.
#[test]
fn status_says_what_a_cancel_left_unsent() {
    let sb = Sandbox::new();
    let mut lines = vec![common::HEADER.to_string()];
    for i in 0..5 {
        lines.push(format!(
            "0171 66{i:05};2026-03-01T10:00:00Z;test;2026-03-01T10:05:00Z;link;sale;de;Kunde{i}"
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
        "--at",
        "2099-01-01 09:00",
    ])
    .expect_code(0);
    let scheduled = sb
        .bote(["campaign", "status", "1"])
        .expect_code(0)
        .stdout
        .clone();
    assert!(
        scheduled.contains("progress: 5 to send (not started)"),
        "{scheduled}"
    );
    sb.bote(["campaign", "cancel", "1", "--yes"]).expect_code(0);
    let cancelled = sb
        .bote(["campaign", "status", "1"])
        .expect_code(0)
        .stdout
        .clone();
    assert!(
        cancelled.contains("progress: 0 of 5 sent, 5 skipped (cancelled)"),
        "{cancelled}"
    );
}

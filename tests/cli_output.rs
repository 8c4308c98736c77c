//! What the binary writes when nobody reads it or a file does: a closed
//! pipe on standard output ends a command quietly with exit 0 (`bote … |
//! head`), and a redirected standard error gets no colour codes.

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

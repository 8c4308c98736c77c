//! An auto-started (sandbox) daemon stays while it has clients and exits
//! once it has had none for its idle time: a client asking every so often
//! keeps it, however short each request, and so does an attached client
//! that asks nothing (the TUI on a quiet screen).

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use bote::service::client::Client;
use bote::service::daemon::socket_path;
use bote::service::wire::Request;
use common::{Sandbox, BIN};

const IDLE_MS: &str = "600";

/// `bote … ARGS` with a short idle time for the daemon it starts.
fn bote(sb: &Sandbox, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .current_dir(sb.path())
        .arg("--store")
        .arg(sb.store())
        .arg("--config")
        .arg(sb.path().join("bote.toml"))
        .args(args)
        .env_remove("BOTE_TOKEN")
        .env_remove("BOTE_STORE")
        .env_remove("BOTE_CONFIG")
        .env("BOTE_DAEMON_IDLE_MS", IDLE_MS)
        .env("NO_COLOR", "1")
        .output()
        .expect("run bote")
}

/// The pid of the daemon answering on the store's socket, if one does.
async fn daemon_pid(sb: &Sandbox) -> Option<u32> {
    Client::at(&socket_path(&sb.store()))
        .await
        .ok()
        .map(|c| c.hello.pid)
}

#[tokio::test]
async fn short_requests_keep_an_auto_daemon_and_it_exits_after_the_last() {
    let sb = Sandbox::new();
    assert!(bote(&sb, &["template", "list"]).status.success());
    let pid = daemon_pid(&sb).await.expect("an auto daemon started");
    // A request every 300 ms for 2 s, each a few milliseconds long: the
    // daemon used to look for clients every 100 ms and miss them all.
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(daemon_pid(&sb).await, Some(pid), "the daemon left a client");
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        daemon_pid(&sb).await,
        None,
        "idle for longer than its idle time"
    );
}

#[tokio::test]
async fn an_attached_client_keeps_an_auto_daemon_while_it_asks_nothing() {
    let sb = Sandbox::new();
    assert!(bote(&sb, &["template", "list"]).status.success());
    let client = Client::at(&socket_path(&sb.store()))
        .await
        .expect("an auto daemon started");
    let pid = client.hello.pid;
    let attached = tokio::spawn(async move {
        let _ = client
            .stream::<serde_json::Value>(&Request::Attach, None, |_| {})
            .await;
    });
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    assert_eq!(
        daemon_pid(&sb).await,
        Some(pid),
        "attached for 2 s, idle 0.6 s"
    );
    attached.abort();
    // Watched by its socket, not by asking: a question is a client too.
    let deadline = Instant::now() + Duration::from_secs(6);
    while socket_path(&sb.store()).exists() {
        assert!(
            Instant::now() < deadline,
            "the daemon stayed after its last client"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

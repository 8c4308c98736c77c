//! `bote daemon`: run the service in the foreground, or ask about / stop
//! the one that runs for this store.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};

use super::{Context, Exit};
use crate::service::daemon::{self, DaemonOptions};
use crate::service::wire::Request;

/// `bote daemon`.
#[derive(Debug, Clone, Args)]
pub struct DaemonArgs {
    /// None: run the daemon in the foreground until SIGTERM / SIGINT.
    #[command(subcommand)]
    pub action: Option<DaemonAction>,
    /// Started by a client: exit when idle (no clients, nothing running).
    #[arg(long, hide = true)]
    pub auto: bool,
}

/// `bote daemon stop|status`.
#[derive(Debug, Clone, Subcommand)]
pub enum DaemonAction {
    /// Which daemon serves this store, in which mode, and who you are to it.
    Status,
    /// Stop the store's daemon gracefully (sends in flight settle first).
    Stop,
}

/// How long an auto-started daemon stays after its last client.
fn idle() -> Duration {
    std::env::var("BOTE_DAEMON_IDLE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(Duration::from_secs(2))
}

pub(super) fn run(ctx: Context, args: DaemonArgs, verbose: u8) -> Result<Exit> {
    let rt = tokio::runtime::Runtime::new()?;
    match args.action {
        None => {
            // Before the log file: a directory that cannot be the store is
            // refused before bote writes anything into it.
            crate::consent::store::claim_store_dir(&ctx.store_dir)?;
            let log = init_logging(&ctx, verbose)?;
            tracing::info!(log = %log.display(), "logging to stderr and file");
            let opts = DaemonOptions {
                auto: args.auto,
                idle: idle(),
            };
            rt.block_on(daemon::serve(ctx, opts))?;
            Ok(Exit::Ok)
        }
        Some(DaemonAction::Status) => rt.block_on(async {
            let Some(c) = crate::service::client::Client::running(&ctx).await? else {
                outln!("no daemon runs for {}", ctx.store_dir.display())?;
                return Ok(Exit::Ok);
            };
            outln!("{}", c.hello.banner)?;
            outln!(
                "daemon pid {} · you are {} ({})",
                c.hello.pid,
                c.hello.user,
                c.hello.role.as_deref().unwrap_or("no role")
            )?;
            // What Meta reported about the account (webhooks); a viewer
            // without the role still sees the daemon itself.
            let report: Result<crate::engine::platform::PlatformReport, _> =
                c.call(&Request::Platform, None).await;
            if let Ok(report) = report {
                for line in report.account.lines() {
                    outln!("Meta: {line}")?;
                }
            }
            Ok(Exit::Ok)
        }),
        Some(DaemonAction::Stop) => rt.block_on(async {
            let Some(c) = crate::service::client::Client::running(&ctx).await? else {
                outln!("no daemon runs for {}", ctx.store_dir.display())?;
                return Ok(Exit::Ok);
            };
            let _: serde_json::Value = c.call(&Request::Shutdown, None).await?;
            let proc_dir = std::path::PathBuf::from(format!("/proc/{}", c.hello.pid));
            let deadline = Instant::now() + daemon::SETTLE + Duration::from_secs(10);
            while proc_dir.exists() && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            outln!(
                "daemon {} stopped ({})",
                c.hello.pid,
                ctx.store_dir.display()
            )?;
            Ok(Exit::Ok)
        }),
    }
}

/// stderr and `<store>/logs/bote-daemon.log` (owner-only).
fn init_logging(ctx: &Context, verbose: u8) -> Result<std::path::PathBuf> {
    use tracing_subscriber::fmt::writer::MakeWriterExt;
    let dir = crate::paths::log_dir(&ctx.store_dir);
    crate::consent::store::create_private_dir(&dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("bote-daemon.log");
    let file =
        crate::consent::store::open_private(&path, crate::consent::store::PrivateFile::Append)
            .with_context(|| format!("opening {}", path.display()))?;
    let level = match verbose {
        0 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("BOTE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("bote={level}")));
    let writer = std::io::stderr.and(std::sync::Mutex::new(file));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .with_target(false)
        .try_init();
    Ok(path)
}

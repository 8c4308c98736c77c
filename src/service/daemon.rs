//! `bote daemon`: the one process that owns the store. It hosts the
//! webhook receiver and runs every campaign; each CLI command is a client
//! on the Unix socket beside the store (dir 0700, socket 0600), identified
//! by its peer uid.
//!
//! Shutdown (SIGTERM, SIGINT, `bote daemon stop`, or idle when
//! auto-started): stop accepting, stop feeding every run, let the requests
//! in flight settle, put marked-but-unsent recipients back to pending,
//! flush. A campaign that was sending is continued at the next start.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use tokio::net::UnixListener;
use tokio::sync::Notify;

use crate::cli::{Context, Mode};
use crate::engine::Engine;

/// How long a graceful stop waits for requests in flight.
pub const SETTLE: Duration = Duration::from_secs(30);

/// How the daemon runs.
#[derive(Debug, Clone, Copy)]
pub struct DaemonOptions {
    /// Started by a client: exit once idle (no clients, nothing running).
    pub auto: bool,
    /// How long idle lasts before an auto-started daemon exits.
    pub idle: Duration,
}

/// The socket beside the store.
pub fn socket_path(store: &Path) -> PathBuf {
    store.join("bote.sock")
}

/// Where the store records its mode.
pub fn mode_file(store: &Path) -> PathBuf {
    store.join("mode")
}

/// The mode recorded in `store`, if any.
pub fn recorded_mode(store: &Path) -> Option<Mode> {
    match std::fs::read_to_string(mode_file(store)).ok()?.trim() {
        "live" => Some(Mode::Live),
        "sandbox" => Some(Mode::Sandbox),
        _ => None,
    }
}

/// Live or sandbox is the store's: recorded by its first daemon, kept after.
fn settle_mode(ctx: &mut Context) -> Result<()> {
    let dir = &ctx.store_dir;
    match (recorded_mode(dir), ctx.mode) {
        (None, mode) => {
            crate::consent::store::claim_store_dir(dir)?;
            let text = if mode == Mode::Live {
                "live\n"
            } else {
                "sandbox\n"
            };
            write_private(&mode_file(dir), text.as_bytes())?;
        }
        (Some(Mode::Live), Mode::Sandbox) => bail!(
            "the store {} is a live store, but no API token is set (or --sandbox was given): \
             set ${} (or [api] token_file) for its daemon",
            dir.display(),
            ctx.config.api.token_env
        ),
        (Some(Mode::Sandbox), Mode::Live) => {
            tracing::warn!(store = %dir.display(), "a token is set, but this store is a sandbox store: running in SANDBOX mode");
            ctx.mode = Mode::Sandbox;
        }
        _ => {}
    }
    Ok(())
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut f =
        crate::consent::store::open_private(path, crate::consent::store::PrivateFile::Replace)
            .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

pub(super) struct State {
    pub(super) engine: Arc<Engine>,
    pub(super) clients: AtomicUsize,
    pub(super) stop: Notify,
    pub(super) own_uid: u32,
    /// The uid owning the store dir: without `[roles]`, the only one who may act (G12).
    pub(super) store_owner: u32,
    pub(super) spool: PathBuf,
}

/// Runs the daemon until a signal, `daemon stop`, or (auto) idleness.
pub async fn serve(mut ctx: Context, opts: DaemonOptions) -> Result<()> {
    settle_mode(&mut ctx)?;
    let engine = ctx.engine().await?;
    let engine = Arc::new(engine);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let signals = async move {
        tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = tokio::signal::ctrl_c() => "SIGINT",
        }
    };
    let service = Service::bind(Arc::clone(&engine), &ctx.store_dir)?;
    eprintln!("{}", engine.banner());
    eprintln!(
        "bote daemon {} listening on {}{}",
        std::process::id(),
        service.socket.display(),
        engine
            .receiver()
            .map(|r| format!(", webhooks at {}", r.url()))
            .unwrap_or_default()
    );
    service.run(opts, signals).await
}

/// The uid that owns the store dir (the one that created it), or this
/// process's when it cannot be read.
fn store_owner(store_dir: &Path) -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(store_dir)
        .map(|m| m.uid())
        .unwrap_or_else(|_| super::peer::own_uid())
}

/// The socket of one engine, bound and ready to serve.
pub struct Service {
    state: Arc<State>,
    listener: UnixListener,
    socket: PathBuf,
}

impl Service {
    /// Binds the socket beside the engine's store (the caller holds the
    /// store, so a socket file still there is a dead daemon's).
    pub fn bind(engine: Arc<Engine>, store_dir: &Path) -> Result<Self> {
        let socket = socket_path(store_dir);
        let _ = std::fs::remove_file(&socket);
        let listener = UnixListener::bind(&socket)
            .with_context(|| format!("listening on {}", socket.display()))?;
        restrict(&socket, 0o600)?;
        let spool = store_dir.join("spool");
        crate::consent::store::create_private_dir(&spool)
            .with_context(|| format!("creating {}", spool.display()))?;
        let state = Arc::new(State {
            engine,
            clients: AtomicUsize::new(0),
            stop: Notify::new(),
            own_uid: super::peer::own_uid(),
            store_owner: store_owner(store_dir),
            spool,
        });
        Ok(Self {
            state,
            listener,
            socket,
        })
    }

    /// Serves until `stop` resolves (naming why), `daemon stop`, or — when
    /// auto-started — idleness; then stops every run gracefully and flushes.
    pub async fn run(
        self,
        opts: DaemonOptions,
        stop: impl std::future::Future<Output = &'static str>,
    ) -> Result<()> {
        let Self {
            state,
            listener,
            socket,
        } = self;
        // The trail must show who took the store and with what settings
        // before any step the daemon takes on its own.
        state.engine.audit_start().map_err(|e| {
            anyhow::anyhow!("cannot record the daemon's start in the audit trail: {e}")
        })?;
        // Live, the retention periods are applied at start and daily (G9).
        // The sandbox's seeded sample data is a fixed demo: there the
        // periods apply daily and on `bote purge`, not at every auto-start.
        if !state.engine.is_sandbox() {
            purge_now(&state.engine).await;
        }
        let continued = state.engine.continue_interrupted();
        tracing::info!(
            store = %state.engine.store.dir().display(),
            mode = state.engine.mode(),
            socket = %socket.display(),
            webhook = state.engine.receiver().map(|r| r.url()).unwrap_or_default(),
            continued = ?continued,
            auto = opts.auto,
            "bote daemon ready"
        );
        tokio::pin!(stop);
        let mut idle_since = Instant::now();
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        // Schedules are looked at once a second; a campaign waiting for its
        // time keeps an auto-started daemon alive like a running one.
        let mut schedule = tokio::time::interval(Duration::from_secs(1));
        let mut scheduled = false;
        let mut retention = tokio::time::interval_at(
            tokio::time::Instant::now() + RETENTION_EVERY,
            RETENTION_EVERY,
        );
        let why = loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        // Idleness counts from the last client: a request
                        // shorter than the 100 ms look below would go unseen.
                        idle_since = Instant::now();
                        state.clients.fetch_add(1, Ordering::SeqCst);
                        let st = Arc::clone(&state);
                        tokio::spawn(async move {
                            if let Err(e) = super::session::connection(&st, stream).await {
                                tracing::debug!("client connection: {e}");
                            }
                            st.clients.fetch_sub(1, Ordering::SeqCst);
                        });
                    }
                    Err(e) => tracing::warn!("accepting a client: {e}"),
                },
                why = &mut stop => break why,
                () = state.stop.notified() => break "asked to stop",
                _ = schedule.tick() => {
                    let e = Arc::clone(&state.engine);
                    scheduled = tokio::task::spawn_blocking(move || {
                        let due = e.start_due();
                        if !due.started.is_empty() || !due.expired.is_empty() {
                            tracing::info!(started = ?due.started, expired = ?due.expired, "schedule");
                        }
                        due.waiting
                    })
                    .await
                    .unwrap_or(true);
                }
                _ = retention.tick() => purge_now(&state.engine).await,
                _ = tick.tick() => {
                    let busy = state.clients.load(Ordering::SeqCst) > 0
                        || !state.engine.runs().is_empty()
                        || scheduled;
                    if busy {
                        idle_since = Instant::now();
                    } else if opts.auto && idle_since.elapsed() >= opts.idle {
                        break "idle";
                    }
                }
            }
        };
        tracing::info!(reason = why, "bote daemon stopping");
        let _ = std::fs::remove_file(&socket);
        drop(listener);
        state
            .engine
            .runs()
            .stop_all(&state.engine.campaigns, SETTLE)
            .await;
        // Watchers see their campaign end; give them a moment to say so.
        let deadline = Instant::now() + Duration::from_secs(2);
        while state.clients.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        state.engine.store.flush().context("flushing the store")?;
        tracing::info!(reason = why, "bote daemon stopped");
        Ok(())
    }
}

/// How often the daemon applies the retention periods.
const RETENTION_EVERY: Duration = Duration::from_secs(24 * 3600);

/// Applies the retention periods off the runtime's threads; a failure is
/// logged (and the next day tries again), never the end of the daemon.
async fn purge_now(engine: &Arc<Engine>) {
    let e = Arc::clone(engine);
    match tokio::task::spawn_blocking(move || e.purge_scheduled()).await {
        Ok(Ok(r)) => tracing::info!(
            campaigns = r.campaigns,
            results = r.results_anonymised,
            pending = r.pending_removed,
            revoked = r.revoked_minimised,
            webhook_records = r.webhook_records,
            "retention periods applied"
        ),
        Ok(Err(e)) => tracing::error!("applying the retention periods: {e}"),
        Err(e) => tracing::error!("applying the retention periods: {e}"),
    }
}

fn restrict(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("restricting {}", path.display()))
}

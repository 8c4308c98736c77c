//! The client side: connect to the store's daemon — starting one when
//! none runs and the store is a sandbox (it exits again when idle) — send
//! one request, read its frames.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _, Result};
use serde::de::DeserializeOwned;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

use super::daemon::{recorded_mode, socket_path};
use super::wire::{self, Failure, Frame, Request, Upload, MAX_LINE};
use crate::cli::{Context, Mode, Refused};
use crate::engine::ops::Hello;

/// How long a client waits for a daemon it started.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A connection point to the daemon of one store.
#[derive(Debug, Clone)]
pub struct Client {
    socket: PathBuf,
    /// Who answered.
    pub hello: Hello,
}

/// A file to send along with a request.
pub struct Attachment {
    path: PathBuf,
    len: u64,
}

impl Attachment {
    /// The file at `path` (must be a readable file).
    pub fn open(path: &Path) -> Result<(Self, Upload)> {
        let meta = std::fs::metadata(path).with_context(|| format!("{}", path.display()))?;
        if !meta.is_file() {
            bail!(
                "{}: not a regular file (bote reads the whole file; save a pipe to a file first)",
                path.display()
            );
        }
        let upload = Upload {
            name: path.display().to_string(),
            len: meta.len(),
        };
        Ok((
            Self {
                path: path.to_owned(),
                len: meta.len(),
            },
            upload,
        ))
    }
}

fn failure(f: Failure) -> anyhow::Error {
    match f {
        Failure::Refused(m) => Refused(m).into(),
        Failure::Error(m) => anyhow!(m),
    }
}

impl Client {
    /// Connects to the daemon of `ctx`'s store, starting one for a sandbox
    /// store; a live store without a daemon is an error that says what to run.
    pub async fn connect(ctx: &Context) -> Result<Self> {
        let socket = socket_path(&ctx.store_dir);
        if let Some(c) = Self::try_hello(&socket).await? {
            return Ok(c);
        }
        let live = recorded_mode(&ctx.store_dir) == Some(Mode::Live)
            || (recorded_mode(&ctx.store_dir).is_none() && ctx.mode == Mode::Live);
        if live {
            bail!(
                "no bote daemon runs for the live store {}: start it with `bote daemon --store {}` \
                 (contrib/bote.service runs it under systemd)",
                ctx.store_dir.display(),
                ctx.store_dir.display()
            );
        }
        start_daemon(ctx)?;
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(c) = Self::try_hello(&socket).await? {
                return Ok(c);
            }
            if Instant::now() > deadline {
                bail!(
                    "the sandbox daemon for {} did not start in {}s; see {}",
                    ctx.store_dir.display(),
                    START_TIMEOUT.as_secs(),
                    start_log(&ctx.store_dir).display()
                );
            }
            if let Some(msg) = start_failure(&ctx.store_dir) {
                // Another client's daemon may have won the race for the store.
                if let Some(c) = Self::try_hello(&socket).await? {
                    return Ok(c);
                }
                if !msg.contains("in use by") {
                    bail!("the sandbox daemon did not start: {msg}");
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The daemon listening on `socket` (an in-process one, in tests).
    pub async fn at(socket: &Path) -> Result<Self> {
        Self::try_hello(socket)
            .await?
            .ok_or_else(|| anyhow!("no bote daemon listens on {}", socket.display()))
    }

    /// The daemon running for `ctx`'s store, if any; never starts one.
    pub async fn running(ctx: &Context) -> Result<Option<Self>> {
        Self::try_hello(&socket_path(&ctx.store_dir)).await
    }

    async fn try_hello(socket: &Path) -> Result<Option<Self>> {
        match exchange::<Hello>(socket, &Request::Hello, None, |_| {}, unasked_bytes).await {
            Ok(hello) => Ok(Some(Self {
                socket: socket.to_owned(),
                hello,
            })),
            Err(e) => match e.downcast_ref::<std::io::Error>().map(std::io::Error::kind) {
                Some(
                    std::io::ErrorKind::NotFound
                    | std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::UnexpectedEof
                    | std::io::ErrorKind::BrokenPipe,
                ) => Ok(None),
                _ => Err(e),
            },
        }
    }

    /// Whether the store is a sandbox store.
    pub fn is_sandbox(&self) -> bool {
        self.hello.mode == "sandbox"
    }

    /// Sends `request` and returns its answer.
    pub async fn call<T: DeserializeOwned>(
        &self,
        request: &Request,
        attachment: Option<&Attachment>,
    ) -> Result<T> {
        self.stream(request, attachment, |_| {}).await
    }

    /// Sends `request`, hands every progress frame to `on_frame`, returns the answer.
    pub async fn stream<T: DeserializeOwned>(
        &self,
        request: &Request,
        attachment: Option<&Attachment>,
        on_frame: impl FnMut(Frame),
    ) -> Result<T> {
        exchange(&self.socket, request, attachment, on_frame, unasked_bytes).await
    }

    /// Sends `request`, hands the raw bytes of every `bytes` frame to
    /// `on_bytes` (a backup's ciphertext, in order), returns the answer.
    pub async fn download<T: DeserializeOwned>(
        &self,
        request: &Request,
        on_bytes: impl FnMut(&[u8]) -> Result<()>,
    ) -> Result<T> {
        exchange(&self.socket, request, None, |_| {}, on_bytes).await
    }
}

fn unasked_bytes(_: &[u8]) -> Result<()> {
    bail!("the daemon sent raw bytes this request does not take")
}

/// One request to the daemon on `socket`: the line, the attachment, then
/// every frame to `on_frame` until the answer.
async fn exchange<T: DeserializeOwned>(
    socket: &Path,
    request: &Request,
    attachment: Option<&Attachment>,
    mut on_frame: impl FnMut(Frame),
    mut on_bytes: impl FnMut(&[u8]) -> Result<()>,
) -> Result<T> {
    let stream = UnixStream::connect(socket).await?;
    let (r, mut w) = stream.into_split();
    let mut line = serde_json::to_vec(request)?;
    line.push(b'\n');
    w.write_all(&line).await?;
    if let Some(a) = attachment {
        let mut f = tokio::fs::File::open(&a.path)
            .await
            .with_context(|| format!("{}", a.path.display()))?;
        let sent = tokio::io::copy(&mut f, &mut w).await?;
        if sent != a.len {
            bail!("{} changed while it was being sent", a.path.display());
        }
    }
    w.flush().await?;
    let mut reader = BufReader::new(r);
    loop {
        let frame: Option<Frame> = wire::read_line(&mut reader, MAX_LINE * 64).await?;
        match frame {
            None => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the daemon closed the connection without an answer",
                )
                .into())
            }
            Some(Frame::Done { result }) => {
                let v = result.map_err(failure)?;
                return Ok(serde_json::from_value(v)?);
            }
            Some(Frame::Bytes { len }) => {
                use tokio::io::AsyncReadExt;
                let mut left = len;
                let mut buf = vec![0u8; 64 * 1024];
                while left > 0 {
                    let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    let n = reader.read(&mut buf[..want]).await?;
                    if n == 0 {
                        bail!("the daemon closed the connection in the middle of the data");
                    }
                    on_bytes(&buf[..n])?;
                    left -= n as u64;
                }
            }
            Some(f) => on_frame(f),
        }
    }
}

fn start_log(store: &Path) -> PathBuf {
    crate::paths::log_dir(store).join("daemon-start.log")
}

/// The error line an auto-started daemon left before it exited, if any.
fn start_failure(store: &Path) -> Option<String> {
    let text = std::fs::read_to_string(start_log(store)).ok()?;
    text.lines()
        .rev()
        .find(|l| l.starts_with("error: "))
        .map(|l| l.trim_start_matches("error: ").to_string())
}

/// Starts `bote daemon --auto` for the store, in its own process group so
/// that a Ctrl-C in this terminal never reaches it.
fn start_daemon(ctx: &Context) -> Result<()> {
    use std::os::unix::process::CommandExt;
    // The start log goes into the store: claim it first, so that a
    // directory that cannot be one is refused here, untouched.
    crate::consent::store::claim_store_dir(&ctx.store_dir)?;
    let logs = crate::paths::log_dir(&ctx.store_dir);
    crate::consent::store::create_private_dir(&logs)
        .with_context(|| format!("creating {}", logs.display()))?;
    // Owner-only like every file in the store: a start-up error may name the caller.
    let log = crate::consent::store::open_private(
        &start_log(&ctx.store_dir),
        crate::consent::store::PrivateFile::Replace,
    )?;
    let exe = std::env::current_exe().context("locating the bote binary")?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("daemon").arg("--auto");
    // The default sandbox store is found by the daemon as it was found
    // here; naming it would make it an explicit store, which is never
    // seeded with the sample consents.
    if !ctx.default_sandbox_store {
        cmd.arg("--store").arg(&ctx.store_dir);
    }
    // A directory that is not there means the built-in templates: the
    // daemon finds them by itself (it refuses a named one that is missing).
    if ctx.templates_dir.is_dir() {
        cmd.arg("--templates").arg(&ctx.templates_dir);
    }
    if let Some(c) = &ctx.config_path {
        cmd.arg("--config").arg(c);
    }
    if ctx.mode == Mode::Sandbox {
        cmd.arg("--sandbox");
    }
    if crate::consent::store::shared_store_allowed() {
        cmd.arg("--allow-shared-store");
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .process_group(0);
    cmd.spawn().context("starting the bote daemon")?;
    tracing::info!(store = %ctx.store_dir.display(), "started a sandbox daemon");
    Ok(())
}

//! Connection limits of bote's HTTP servers — the webhook receiver, which
//! faces the internet, and the simulator: a cap on open connections, and
//! deadlines for a request's head, its body and the idle time between
//! requests, so that slow or silent clients cannot hold sockets (and file
//! descriptors) for ever.
//!
//! axum's `serve` sets no timeouts and gives no handle on hyper's, so the
//! limits live in the listener and its streams, which see every byte:
//!
//! ```text
//!  accept ── waits for one of `max_open` permits (the rest wait in the
//!    │       kernel's backlog, costing this process no descriptor)
//!    ▼
//!  idle ──first byte──► head ──blank line──► body ──Content-Length bytes──► busy
//!   ▲  idle_timeout      header_timeout       body_timeout       (the handler works;
//!   │                                                              no read deadline)
//!   └──────────────────── the response is written ◄──────────────────────┘
//! ```
//!
//! A read still waiting when its phase's deadline passes fails with
//! `TimedOut`, and hyper closes the connection. A body without a length
//! (chunked) keeps its deadline until the response, so such a request must
//! also be answered within `body_timeout`. A write that makes no progress
//! for `body_timeout` fails too (a client that never reads its response).
//! HTTP/2 (prior knowledge) is not parsed: such a connection is closed
//! after `idle_timeout` without reads or writes.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// The most head bytes kept to find the body's length; a longer head is
/// still timed, its body then has no known length.
const MAX_HEAD: usize = 16 * 1024;
/// The HTTP/2 connection preface's first line.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0";

/// What a server allows its clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections open at once; more wait to be accepted.
    pub max_open: usize,
    /// From a request's first byte to the end of its head.
    pub header_timeout: Duration,
    /// From the end of the head to the body's last byte (and for a stalled write).
    pub body_timeout: Duration,
    /// A connection without a request in progress (keep-alive), including
    /// a new one that has sent nothing yet.
    pub idle_timeout: Duration,
}

impl ConnectionLimits {
    /// The webhook receiver's: Meta's bodies are a few KiB and come at most
    /// some dozens of connections at once; 512 leaves most of a common
    /// 1,024-descriptor limit to the store.
    pub const RECEIVER: Self = Self {
        max_open: 512,
        header_timeout: Duration::from_secs(10),
        body_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(15),
    };

    /// The simulator's: the dispatcher may keep up to 1,024 workers'
    /// connections busy, and a connection waiting for a permit would stall
    /// a send for up to an idle timeout.
    pub const SIMULATOR: Self = Self {
        max_open: 2048,
        header_timeout: Duration::from_secs(10),
        body_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(30),
    };
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self::RECEIVER
    }
}

/// Counters of a guarded listener, shared with its streams.
#[derive(Debug, Default)]
pub struct ConnectionStats {
    open: AtomicUsize,
    peak: AtomicUsize,
    accepted: AtomicU64,
    timed_out: AtomicU64,
}

impl ConnectionStats {
    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// The most open at once so far.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// Connections closed for a missed deadline so far.
    pub fn timed_out(&self) -> u64 {
        self.timed_out.load(Ordering::Relaxed)
    }
}

/// Connections the kernel completes and queues while every slot is taken:
/// std and tokio listen with 128, and a connection that finds the queue
/// full is dropped before its client sends anything (Linux caps this at
/// `net.core.somaxconn`).
pub const BACKLOG: u32 = 1024;

/// Binds `addr` (`127.0.0.1:8443`; port 0 picks one) with a [`BACKLOG`]
/// for connections waiting for a slot.
pub async fn bind(addr: &str) -> io::Result<TcpListener> {
    let mut last = None;
    for a in tokio::net::lookup_host(addr).await? {
        let socket = if a.is_ipv4() {
            tokio::net::TcpSocket::new_v4()
        } else {
            tokio::net::TcpSocket::new_v6()
        };
        let bound = socket.and_then(|s| {
            s.set_reuseaddr(true)?;
            s.bind(a)?;
            s.listen(BACKLOG)
        });
        match bound {
            Ok(l) => return Ok(l),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{addr} names no address"),
        )
    }))
}

/// A TCP listener that holds its connections to [`ConnectionLimits`].
#[derive(Debug)]
pub struct GuardedListener {
    tcp: TcpListener,
    limits: ConnectionLimits,
    permits: Arc<Semaphore>,
    stats: Arc<ConnectionStats>,
}

impl GuardedListener {
    /// Guards a bound listener.
    pub fn new(tcp: TcpListener, limits: ConnectionLimits) -> Self {
        Self {
            tcp,
            limits,
            permits: Arc::new(Semaphore::new(limits.max_open.max(1))),
            stats: Arc::default(),
        }
    }

    /// The counters (open, peak, timed out).
    pub fn stats(&self) -> Arc<ConnectionStats> {
        Arc::clone(&self.stats)
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.local_addr()
    }

    /// The next connection, once fewer than `max_open` are open.
    pub async fn accept(&mut self) -> (GuardedStream, SocketAddr) {
        loop {
            // Never closed, so this waits for a permit and never fails.
            let Ok(permit) = Arc::clone(&self.permits).acquire_owned().await else {
                return std::future::pending().await;
            };
            match self.tcp.accept().await {
                Ok((inner, remote)) => {
                    let _ = inner.set_nodelay(true);
                    let open = self.stats.open.fetch_add(1, Ordering::Relaxed) + 1;
                    self.stats.peak.fetch_max(open, Ordering::Relaxed);
                    self.stats.accepted.fetch_add(1, Ordering::Relaxed);
                    let stream = GuardedStream {
                        inner,
                        limits: self.limits,
                        phase: Phase::Idle {
                            since: Instant::now(),
                        },
                        read_timer: Timer::default(),
                        write_timer: Timer::default(),
                        write_stalled: None,
                        stats: Arc::clone(&self.stats),
                        _permit: permit,
                    };
                    return (stream, remote);
                }
                // Reset before accept, out of descriptors: wait, as axum does.
                Err(e) => {
                    drop(permit);
                    tracing::debug!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

impl axum::serve::Listener for GuardedListener {
    type Io = GuardedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        GuardedListener::accept(self).await
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        GuardedListener::local_addr(self)
    }
}

/// Where a connection is in its current request.
#[derive(Debug)]
enum Phase {
    /// Waiting for a request's first byte.
    Idle { since: Instant },
    /// Reading a request's head.
    Head { started: Instant, scan: HeadScan },
    /// Reading a body: `remaining` bytes, or until the response if unknown.
    Body {
        started: Instant,
        remaining: Option<u64>,
    },
    /// The request is read; the handler works on it.
    Busy,
    /// Not HTTP/1 (an HTTP/2 preface): only idleness is timed.
    Opaque { last: Instant },
}

/// A request head being read: enough to find its end and its body's length.
#[derive(Debug, Default)]
struct HeadScan {
    /// Bytes of the current line, not counting `\r`.
    line_len: usize,
    /// Non-empty lines so far.
    lines: usize,
    /// The head's first [`MAX_HEAD`] bytes.
    head: Vec<u8>,
    truncated: bool,
}

/// What follows a head.
enum Next {
    Body(Option<u64>),
    Opaque,
}

impl HeadScan {
    /// Consumes head bytes; the count used when the head ended in them.
    fn feed(&mut self, bytes: &[u8]) -> Option<usize> {
        for (i, &b) in bytes.iter().enumerate() {
            if self.head.len() < MAX_HEAD {
                self.head.push(b);
            } else {
                self.truncated = true;
            }
            match b {
                // An empty line after the request line ends the head
                // (leading empty lines are skipped, as hyper does).
                b'\n' if self.line_len == 0 && self.lines > 0 => return Some(i + 1),
                b'\n' => {
                    self.lines += usize::from(self.line_len > 0);
                    self.line_len = 0;
                }
                b'\r' => {}
                _ => self.line_len += 1,
            }
        }
        None
    }

    fn next(&self) -> Next {
        if self.head.starts_with(H2_PREFACE) {
            return Next::Opaque;
        }
        if self.truncated {
            return Next::Body(None);
        }
        let mut length = None;
        for line in self.head.split(|&b| b == b'\n').skip(1) {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                continue;
            };
            let (name, value) = (&line[..colon], &line[colon + 1..]);
            if name.eq_ignore_ascii_case(b"transfer-encoding") {
                return Next::Body(None);
            }
            if name.eq_ignore_ascii_case(b"content-length") {
                let parsed = std::str::from_utf8(value)
                    .ok()
                    .and_then(|v| v.trim().parse::<u64>().ok());
                match (parsed, length) {
                    (Some(n), None) => length = Some(n),
                    (Some(n), Some(m)) if n == m => {}
                    // Unreadable or contradictory: hyper refuses it; time
                    // it until the answer.
                    _ => return Next::Body(None),
                }
            }
        }
        Next::Body(Some(length.unwrap_or(0)))
    }
}

impl Phase {
    fn read_deadline(&self, l: &ConnectionLimits) -> Option<Instant> {
        match self {
            Self::Idle { since } => Some(*since + l.idle_timeout),
            Self::Head { started, .. } => Some(*started + l.header_timeout),
            Self::Body { started, .. } => Some(*started + l.body_timeout),
            Self::Busy => None,
            Self::Opaque { last } => Some(*last + l.idle_timeout),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Self::Idle { .. } => "idle connection",
            Self::Head { .. } => "request head",
            Self::Body { .. } => "request body",
            Self::Busy => "request",
            Self::Opaque { .. } => "connection",
        }
    }

    /// Bytes read from the client.
    fn read(&mut self, mut bytes: &[u8], now: Instant) {
        while !bytes.is_empty() {
            match self {
                // The first byte of a request (after a response, a pipelined one).
                Self::Idle { .. } | Self::Busy => {
                    *self = Self::Head {
                        started: now,
                        scan: HeadScan::default(),
                    };
                }
                Self::Head { scan, .. } => {
                    let Some(used) = scan.feed(bytes) else {
                        return;
                    };
                    bytes = &bytes[used..];
                    *self = match scan.next() {
                        Next::Body(Some(0)) => Self::Busy,
                        Next::Body(remaining) => Self::Body {
                            started: now,
                            remaining,
                        },
                        Next::Opaque => Self::Opaque { last: now },
                    };
                }
                Self::Body {
                    remaining: Some(n), ..
                } => {
                    let take = (*n).min(bytes.len() as u64);
                    *n -= take;
                    // `take` ≤ bytes.len(), so this cannot truncate.
                    bytes = &bytes[take as usize..];
                    if *n == 0 {
                        *self = Self::Busy;
                    }
                }
                Self::Body {
                    remaining: None, ..
                } => return,
                Self::Opaque { last } => {
                    *last = now;
                    return;
                }
            }
        }
    }

    /// Bytes written to the client: the answer to the request.
    fn wrote(&mut self, now: Instant) {
        match self {
            Self::Busy
            | Self::Body {
                remaining: None, ..
            } => *self = Self::Idle { since: now },
            Self::Idle { since } => *since = now,
            Self::Opaque { last } => *last = now,
            // An early answer (413, 100-continue) while the body is still
            // owed: the body's deadline stands.
            Self::Head { .. } | Self::Body { .. } => {}
        }
    }
}

/// A sleep made on first use and moved to each new deadline.
#[derive(Debug, Default)]
struct Timer(Option<Pin<Box<Sleep>>>);

impl Timer {
    fn poll_until(&mut self, deadline: Instant, cx: &mut Context<'_>) -> Poll<()> {
        let sleep = match &mut self.0 {
            Some(s) => {
                if s.deadline() != deadline {
                    s.as_mut().reset(deadline);
                }
                s
            }
            None => self.0.insert(Box::pin(tokio::time::sleep_until(deadline))),
        };
        sleep.as_mut().poll(cx)
    }
}

/// An accepted connection, held to its listener's limits; gives its permit
/// back when dropped.
#[derive(Debug)]
pub struct GuardedStream {
    inner: TcpStream,
    limits: ConnectionLimits,
    phase: Phase,
    read_timer: Timer,
    write_timer: Timer,
    /// Since when a write has been waiting for the client.
    write_stalled: Option<Instant>,
    stats: Arc<ConnectionStats>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for GuardedStream {
    fn drop(&mut self) {
        self.stats.open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl GuardedStream {
    fn timed_out(&self, what: &str) -> io::Error {
        self.stats.timed_out.fetch_add(1, Ordering::Relaxed);
        // Debug only: under a slow-client attack this happens constantly.
        tracing::debug!("closing a connection: {what} took too long");
        io::Error::new(io::ErrorKind::TimedOut, format!("{what} took too long"))
    }

    /// Runs a write, timing it while it waits for the client.
    fn write_with<T>(
        &mut self,
        cx: &mut Context<'_>,
        write: impl FnOnce(Pin<&mut TcpStream>, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match write(Pin::new(&mut self.inner), cx) {
            Poll::Ready(r) => {
                self.write_stalled = None;
                if r.is_ok() {
                    self.phase.wrote(Instant::now());
                }
                Poll::Ready(r)
            }
            Poll::Pending => {
                let since = *self.write_stalled.get_or_insert_with(Instant::now);
                let deadline = since + self.limits.body_timeout;
                if self.write_timer.poll_until(deadline, cx).is_ready() {
                    return Poll::Ready(Err(self.timed_out("writing the response")));
                }
                Poll::Pending
            }
        }
    }
}

impl AsyncRead for GuardedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let Some(deadline) = this.phase.read_deadline(&this.limits) {
            if this.read_timer.poll_until(deadline, cx).is_ready() {
                let what = this.phase.name();
                return Poll::Ready(Err(this.timed_out(what)));
            }
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        this.phase.read(&buf.filled()[before..], Instant::now());
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for GuardedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.write_with(cx, |s, cx| s.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.write_with(cx, |s, cx| s.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Clients that hold connections without finishing requests (the unit
/// tests of both servers' listeners).
#[cfg(test)]
pub(crate) mod slow_clients {
    use std::net::SocketAddr;
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    use tokio::time::Instant;

    /// How a slow client misbehaves.
    #[derive(Debug, Clone, Copy)]
    pub(crate) enum Slow {
        /// Connects and sends nothing.
        Silent,
        /// Sends a head one byte at a time, never ending it.
        Head,
        /// Sends a head, then its body one byte at a time.
        Body,
    }

    /// Misbehaves until the server closes the connection (then: after how
    /// long, counted from the connect) or `bound` passes (`None`).
    pub(crate) async fn slow_client(
        addr: SocketAddr,
        how: Slow,
        bound: Duration,
    ) -> Option<Duration> {
        let start = Instant::now();
        let mut s = tokio::time::timeout(bound, TcpStream::connect(addr))
            .await
            .ok()?
            .ok()?;
        let (head, trickle): (&[u8], &[u8]) = match how {
            Slow::Silent => (b"", b""),
            Slow::Head => (b"", b"POST /webhook HTTP/1.1\r\nHost: x\r\nX-Slow: "),
            Slow::Body => (
                b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n",
                b"{",
            ),
        };
        if s.write_all(head).await.is_err() {
            return Some(start.elapsed());
        }
        let mut sent = 0usize;
        let mut buf = [0u8; 512];
        while start.elapsed() < bound {
            tokio::select! {
                r = s.read(&mut buf) => match r {
                    Ok(0) | Err(_) => return Some(start.elapsed()),
                    // An answer (408, 413): the close follows.
                    Ok(_) => {}
                },
                _ = tokio::time::sleep(Duration::from_millis(40)) => {
                    if trickle.is_empty() {
                        continue;
                    }
                    // The script once, then the same filler byte for ever.
                    let b = trickle.get(sent).copied().unwrap_or(b'a');
                    sent += 1;
                    if s.write_all(&[b]).await.is_err() {
                        return Some(start.elapsed());
                    }
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phase_after(chunks: &[&[u8]]) -> Phase {
        let now = Instant::now();
        let mut p = Phase::Idle { since: now };
        for c in chunks {
            p.read(c, now);
        }
        p
    }

    #[test]
    fn the_head_ends_at_the_first_empty_line_in_any_split() {
        let req = b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
        for cut in 0..req.len() {
            let (a, b) = req.split_at(cut);
            assert!(
                matches!(phase_after(&[a, b]), Phase::Busy),
                "split at {cut}: {:?}",
                phase_after(&[a, b])
            );
        }
        assert!(matches!(
            phase_after(&[b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhel"]),
            Phase::Body {
                remaining: Some(2),
                ..
            }
        ));
        // Bare line feeds, leading empty lines, no body.
        assert!(matches!(
            phase_after(&[b"\r\nGET / HTTP/1.1\nHost: x\n\n"]),
            Phase::Busy
        ));
        assert!(matches!(
            phase_after(&[b"GET / HTTP/1.1\r\nHost: x\r\n"]),
            Phase::Head { .. }
        ));
    }

    #[test]
    fn bodies_without_a_trustworthy_length_are_timed_until_the_answer() {
        for head in [
            &b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
            b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: lots\r\n\r\n",
        ] {
            let mut p = phase_after(&[head, b"12345678"]);
            assert!(
                matches!(
                    p,
                    Phase::Body {
                        remaining: None,
                        ..
                    }
                ),
                "{p:?}"
            );
            p.wrote(Instant::now());
            assert!(matches!(p, Phase::Idle { .. }), "{p:?}");
        }
        let p = phase_after(&[b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"]);
        assert!(matches!(p, Phase::Opaque { .. }), "{p:?}");
    }

    #[test]
    fn an_answer_returns_to_idle_and_a_pipelined_request_starts_a_head() {
        let now = Instant::now();
        let mut p = phase_after(&[b"GET / HTTP/1.1\r\n\r\n"]);
        assert!(p.read_deadline(&ConnectionLimits::default()).is_none());
        p.wrote(now);
        assert!(matches!(p, Phase::Idle { .. }));
        p.read(b"GET / HTTP/1.1\r\n\r\nGET /again", now);
        assert!(matches!(p, Phase::Head { .. }), "{p:?}");
        // An early answer while the body is owed keeps the body's deadline.
        let mut p = phase_after(&[b"POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\n"]);
        p.wrote(now);
        assert!(matches!(p, Phase::Body { .. }), "{p:?}");
    }

    /// Silent, head-trickling and body-trickling clients, far more than the
    /// cap: every one is closed within its deadline (plus waiting for a
    /// slot), never more than the cap are open, and a normal request still
    /// gets through.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn slow_clients_are_cut_off_and_never_exceed_the_cap() {
        use slow_clients::{slow_client, Slow};
        let limits = ConnectionLimits {
            max_open: 8,
            header_timeout: Duration::from_millis(200),
            body_timeout: Duration::from_millis(200),
            idle_timeout: Duration::from_millis(200),
        };
        let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let listener = GuardedListener::new(tcp, limits);
        let (addr, stats) = (listener.local_addr().expect("addr"), listener.stats());
        let app = axum::Router::new().route(
            "/webhook",
            axum::routing::post(|body: axum::body::Bytes| async move { body.len().to_string() }),
        );
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        let bound = Duration::from_secs(10);
        let clients: Vec<_> = (0..48)
            .map(|i| {
                let how = [Slow::Silent, Slow::Head, Slow::Body][i % 3];
                tokio::spawn(slow_client(addr, how, bound))
            })
            .collect();
        let mut closed = Vec::new();
        for c in clients {
            closed.push(c.await.expect("client"));
        }
        assert!(closed.iter().all(Option::is_some), "{closed:?}");
        assert!(stats.peak() <= 8, "peak {}", stats.peak());
        assert!(stats.timed_out() >= 48, "{}", stats.timed_out());
        let ok = reqwest::Client::new()
            .post(format!("http://{addr}/webhook"))
            .body("hello")
            .send()
            .await
            .expect("request");
        assert_eq!(ok.text().await.expect("body"), "5");
        server.abort();
    }
}

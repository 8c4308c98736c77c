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

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;

mod phase;
pub mod slow_clients;
mod stream;

pub use stream::GuardedStream;

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
                    let stream =
                        GuardedStream::new(inner, self.limits, Arc::clone(&self.stats), permit);
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

#[cfg(test)]
mod tests {
    use super::*;

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

//! A TCP listener whose connections a handler can cut.
//!
//! To simulate "accepted, but the response was lost" the simulator must close
//! the connection instead of answering. axum gives handlers no socket, so
//! each accepted stream carries a shared flag that the handler reaches
//! through `ConnectInfo`: once set, writes fail, hyper drops the connection,
//! and the client sees it closed before a response arrived.
//!
//! The listener holds its connections to [`ConnectionLimits::SIMULATOR`]
//! (a cap on open connections, head, body and idle deadlines): the sandbox
//! simulator listens on a port any local process can reach.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;

use crate::connections::{ConnectionLimits, GuardedListener, GuardedStream};

/// Wraps a bound [`TcpListener`], held to connection limits.
#[derive(Debug)]
pub(crate) struct CuttableListener {
    guarded: GuardedListener,
}

impl CuttableListener {
    /// Accepts on `tcp` with [`ConnectionLimits::SIMULATOR`].
    pub(crate) fn new(tcp: TcpListener) -> Self {
        Self::with_limits(tcp, ConnectionLimits::SIMULATOR)
    }

    /// Over `tcp`, with `limits`.
    pub(crate) fn with_limits(tcp: TcpListener, limits: ConnectionLimits) -> Self {
        Self {
            guarded: GuardedListener::new(tcp, limits),
        }
    }
}

/// A connection's cut switch (the handler's view).
#[derive(Debug, Clone)]
pub(crate) struct Conn {
    cut: Arc<AtomicBool>,
}

impl Conn {
    /// Closes the connection before anything more is written.
    pub(crate) fn cut(&self) {
        self.cut.store(true, Relaxed);
    }
}

/// A TCP stream that fails once cut.
#[derive(Debug)]
pub(crate) struct CuttableStream {
    inner: GuardedStream,
    cut: Arc<AtomicBool>,
}

impl Listener for CuttableListener {
    type Io = CuttableStream;
    type Addr = Conn;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // Waits for a free connection slot; retries failed accepts itself.
        let (inner, _remote) = self.guarded.accept().await;
        let cut = Arc::new(AtomicBool::new(false));
        let conn = Conn { cut: cut.clone() };
        (CuttableStream { inner, cut }, conn)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.guarded.local_addr()?;
        Ok(Conn {
            cut: Arc::new(AtomicBool::new(false)),
        })
    }
}

impl Connected<IncomingStream<'_, CuttableListener>> for Conn {
    fn connect_info(stream: IncomingStream<'_, CuttableListener>) -> Self {
        stream.remote_addr().clone()
    }
}

fn cut_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "connection cut by the simulator",
    )
}

impl AsyncRead for CuttableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.cut.load(Relaxed) {
            return Poll::Ready(Err(cut_error()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for CuttableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.cut.load(Relaxed) {
            return Poll::Ready(Err(cut_error()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.cut.load(Relaxed) {
            return Poll::Ready(Err(cut_error()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.cut.load(Relaxed) {
            return Poll::Ready(Err(cut_error()));
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::extract::ConnectInfo;
    use axum::routing::get;

    use super::*;
    use crate::connections::slow_clients::{slow_client, Slow};

    /// The simulator's listener keeps its limits and still cuts on demand:
    /// slow clients are closed, no more than the cap are open, `/cut`
    /// closes without an answer and `/` answers.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn slow_clients_are_closed_and_cuts_still_work() {
        let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let listener = CuttableListener::with_limits(
            tcp,
            ConnectionLimits {
                max_open: 4,
                header_timeout: Duration::from_millis(200),
                body_timeout: Duration::from_millis(200),
                idle_timeout: Duration::from_millis(200),
            },
        );
        let addr = listener.guarded.local_addr().expect("addr");
        let stats = listener.guarded.stats();
        let app = axum::Router::new()
            .route("/", get(|| async { "ok" }))
            .route(
                "/cut",
                get(|ConnectInfo(conn): ConnectInfo<Conn>| async move {
                    conn.cut();
                    "never seen"
                }),
            )
            .into_make_service_with_connect_info::<Conn>();
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        let clients: Vec<_> = (0..12)
            .map(|i| {
                let how = [Slow::Silent, Slow::Head, Slow::Body][i % 3];
                tokio::spawn(slow_client(addr, how, Duration::from_secs(10)))
            })
            .collect();
        for c in clients {
            assert!(c.await.expect("client").is_some(), "a slow client stayed");
        }
        assert!(stats.peak() <= 4, "peak {}", stats.peak());
        let http = reqwest::Client::new();
        let ok = http
            .get(format!("http://{addr}/"))
            .send()
            .await
            .expect("get");
        assert_eq!(ok.text().await.expect("body"), "ok");
        assert!(http.get(format!("http://{addr}/cut")).send().await.is_err());
        server.abort();
    }
}

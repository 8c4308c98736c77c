//! An accepted connection: reads and writes timed by its phase.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, Sleep};

use super::phase::Phase;
use super::{ConnectionLimits, ConnectionStats};

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
    /// A stream just accepted, holding one of its listener's slots.
    pub(super) fn new(
        inner: TcpStream,
        limits: ConnectionLimits,
        stats: Arc<ConnectionStats>,
        permit: OwnedSemaphorePermit,
    ) -> Self {
        Self {
            inner,
            limits,
            phase: Phase::Idle {
                since: Instant::now(),
            },
            read_timer: Timer::default(),
            write_timer: Timer::default(),
            write_stalled: None,
            stats,
            _permit: permit,
        }
    }

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

//! Clients that hold connections without finishing requests: the
//! listeners' tests and the receiver's slowloris test drive them.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// How a slow client misbehaves.
#[derive(Debug, Clone, Copy)]
pub enum Slow {
    /// Connects and sends nothing.
    Silent,
    /// Sends a head one byte at a time, never ending it.
    Head,
    /// Sends a head, then its body one byte at a time.
    Body,
}

/// Misbehaves until the server closes the connection (then: after how
/// long, counted from the connect) or `bound` passes (`None`).
pub async fn slow_client(addr: SocketAddr, how: Slow, bound: Duration) -> Option<Duration> {
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

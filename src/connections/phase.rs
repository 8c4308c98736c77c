//! Where a connection is in its current request, from the bytes it read
//! and wrote: which deadline applies (see the module doc of `connections`).

use tokio::time::Instant;

use super::ConnectionLimits;

/// The most head bytes kept to find the body's length; a longer head is
/// still timed, its body then has no known length.
const MAX_HEAD: usize = 16 * 1024;
/// The HTTP/2 connection preface's first line.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0";

/// Where a connection is in its current request.
#[derive(Debug)]
pub(super) enum Phase {
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
pub(super) struct HeadScan {
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
    pub(super) fn read_deadline(&self, l: &ConnectionLimits) -> Option<Instant> {
        match self {
            Self::Idle { since } => Some(*since + l.idle_timeout),
            Self::Head { started, .. } => Some(*started + l.header_timeout),
            Self::Body { started, .. } => Some(*started + l.body_timeout),
            Self::Busy => None,
            Self::Opaque { last } => Some(*last + l.idle_timeout),
        }
    }

    pub(super) fn name(&self) -> &'static str {
        match self {
            Self::Idle { .. } => "idle connection",
            Self::Head { .. } => "request head",
            Self::Body { .. } => "request body",
            Self::Busy => "request",
            Self::Opaque { .. } => "connection",
        }
    }

    /// Bytes read from the client.
    pub(super) fn read(&mut self, mut bytes: &[u8], now: Instant) {
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
    pub(super) fn wrote(&mut self, now: Instant) {
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
}

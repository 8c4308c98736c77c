//! What the CLI writes and how: standard output that knows when its reader
//! has gone (`bote … | head` ends quietly, exit 0), error chains printed
//! without saying the same cause twice, colours only on a terminal.

use std::error::Error;
use std::io::{self, IsTerminal, StdoutLock, Write};

/// The reader of standard output has gone (a closed pipe): the command
/// stops writing and ends as if it had finished — what `head` asked for.
#[derive(Debug, thiserror::Error)]
#[error("standard output was closed")]
pub struct StdoutClosed;

/// Standard output, locked; a broken pipe becomes [`StdoutClosed`], so
/// it can be told apart from a broken pipe to the daemon's socket (which
/// is an error).
pub struct Out(StdoutLock<'static>);

/// Standard output for a command's results.
pub fn stdout() -> Out {
    Out(io::stdout().lock())
}

fn closed(e: io::Error) -> io::Error {
    match e.kind() {
        io::ErrorKind::BrokenPipe => io::Error::new(io::ErrorKind::BrokenPipe, StdoutClosed),
        _ => e,
    }
}

impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf).map_err(closed)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush().map_err(closed)
    }
}

/// Whether `err` only says that standard output's reader went away.
pub fn is_stdout_closed(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.is::<StdoutClosed>()
            || cause
                .downcast_ref::<io::Error>()
                .and_then(|e| e.get_ref())
                .is_some_and(|inner| inner.is::<StdoutClosed>())
    })
}

/// The error and its causes on one line, `outer: cause: root`, leaving out
/// a cause the message before it already says: many errors put their
/// source in their own message ("store database error: IO error: …") and
/// still report it as their source, which printed every OS error twice.
pub fn describe(err: &(dyn Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !text.is_empty() && !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}

/// [`describe`] for an `anyhow` error (its context first).
pub fn describe_anyhow(err: &anyhow::Error) -> String {
    describe(err.as_ref())
}

/// Whether colours are welcome on a stream: a terminal, and `NO_COLOR`
/// unset or empty. Never into a file or a pipe.
pub fn use_color(stream_is_terminal: bool) -> bool {
    stream_is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Whether standard error may carry colours (logs, progress).
pub fn stderr_color() -> bool {
    use_color(io::stderr().is_terminal())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("store database error: {0}")]
    struct Db(#[source] io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("store {path}: {source}")]
    struct Store {
        path: &'static str,
        source: io::Error,
    }

    fn os(code: i32) -> io::Error {
        io::Error::from_raw_os_error(code)
    }

    #[test]
    fn a_cause_the_message_already_says_is_not_said_again() {
        // What `bote daemon` printed for a store whose db was a file.
        let e = anyhow::Error::new(Db(os(20)));
        assert_eq!(
            format!("{e:#}").matches("os error 20").count(),
            2,
            "the old way"
        );
        let line = describe_anyhow(&e);
        assert_eq!(line.matches("os error 20").count(), 1, "{line}");
        assert!(line.starts_with("store database error: "), "{line}");
        let e = anyhow::Error::new(Store {
            path: "/x",
            source: os(13),
        })
        .context("opening the store");
        let line = describe_anyhow(&e);
        assert_eq!(line.matches("os error 13").count(), 1, "{line}");
        assert!(line.starts_with("opening the store: store /x: "), "{line}");
    }

    #[test]
    fn causes_that_add_something_are_kept() {
        let e = anyhow::Error::new(os(2)).context("reading list.csv");
        let line = describe_anyhow(&e);
        assert!(line.starts_with("reading list.csv: "), "{line}");
        assert!(line.contains("os error 2"), "{line}");
    }

    #[test]
    fn a_closed_stdout_is_told_apart_from_another_broken_pipe() {
        let ours = anyhow::Error::new(closed(io::Error::from(io::ErrorKind::BrokenPipe)))
            .context("listing consents");
        assert!(is_stdout_closed(&ours));
        let socket = anyhow::Error::new(io::Error::from(io::ErrorKind::BrokenPipe))
            .context("talking to the daemon");
        assert!(
            !is_stdout_closed(&socket),
            "the daemon's socket closing is an error"
        );
        assert!(is_stdout_closed(&anyhow::Error::new(StdoutClosed)));
    }

    #[test]
    fn colours_only_on_a_terminal() {
        assert!(!use_color(false));
    }
}

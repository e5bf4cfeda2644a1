//! The child's standard streams as byte streams on the loop: [`ChildStdin`],
//! [`ChildStdout`], [`ChildStderr`].
//!
//! Each is one end of a pipe, made non-blocking and registered with the reactor
//! (through `io::Async`, as any other descriptor), with `TcpStream`'s methods.
//! `shutdown` closes the pipe: for `ChildStdin` that is how the child learns its
//! input ended; dropping the stream does the same.

use std::cell::RefCell;
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::fd::OwnedFd;
use std::task::{Context, Poll};

use crate::io::Async;
use crate::net::stream::{drained, reads, writes};

/// One end of a pipe to the child; empty once shut down.
struct Pipe(RefCell<Option<Async<File>>>);

impl Pipe {
    /// Registers one end of a pipe that `std::process` made.
    fn new(end: impl Into<OwnedFd>) -> io::Result<Pipe> {
        let file = File::from(end.into());
        Ok(Pipe(RefCell::new(Some(Async::new(file)?))))
    }

    /// The error of a stream used after `shutdown`.
    fn closed() -> io::Error {
        io::Error::new(
            io::ErrorKind::BrokenPipe,
            "this end of the child's pipe was shut down",
        )
    }

    /// Polls a read into `buf`.
    fn poll_read_buf(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let pipe = self.0.borrow();
        let Some(pipe) = pipe.as_ref() else {
            return Poll::Ready(Ok(0)); // shut down for reading: the end of the stream
        };
        let read = pipe.poll_read_with(cx, |mut file| file.read(buf));
        if let Poll::Ready(Ok(n)) = read {
            if drained(n, buf.len()) {
                pipe.clear_readable();
            }
        }
        read
    }

    /// Polls a write of `buf`.
    fn poll_write_buf(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.0.borrow().as_ref() {
            Some(pipe) => pipe.poll_write_with(cx, |mut file| file.write(buf)),
            None => Poll::Ready(Err(Pipe::closed())),
        }
    }

    /// Closes the pipe (a pipe has one direction, so any `how` closes it).
    fn shutdown(&self, _how: Shutdown) -> io::Result<()> {
        drop(self.0.borrow_mut().take());
        Ok(())
    }
}

/// The child's standard input: what is written here, the child reads. Drop it
/// (or `shutdown` it) to end the child's input; `Child::wait` does so first.
pub struct ChildStdin(Pipe);

/// The child's standard output, read as it is written.
pub struct ChildStdout(Pipe);

/// The child's standard error, read as it is written.
pub struct ChildStderr(Pipe);

/// What every end has: made from `std`'s end, `shutdown`, and `{:?}` saying which
/// stream it is and whether it is still open.
macro_rules! pipe_end {
    ($end:ident, $std:ty, $shutdown:literal) => {
        impl $end {
            pub(super) fn new(end: $std) -> io::Result<$end> {
                Pipe::new(end).map($end)
            }

            #[doc = $shutdown]
            pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
                self.0.shutdown(how)
            }
        }

        impl fmt::Debug for $end {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($end))
                    .field("open", &self.0 .0.borrow().is_some())
                    .finish()
            }
        }
    };
}

pipe_end!(
    ChildStdin,
    std::process::ChildStdin,
    "Closes the child's input: it reads the end of its stream."
);
pipe_end!(
    ChildStdout,
    std::process::ChildStdout,
    "Closes this end: the child's further writes fail (`EPIPE`)."
);
pipe_end!(
    ChildStderr,
    std::process::ChildStderr,
    "Closes this end: the child's further writes fail (`EPIPE`)."
);

impl ChildStdin {
    /// Polls a write of `buf`.
    pub fn poll_write_buf(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.0.poll_write_buf(cx, buf)
    }
}

impl ChildStdout {
    /// Polls a read into `buf`.
    pub fn poll_read_buf(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.0.poll_read_buf(cx, buf)
    }
}

impl ChildStderr {
    /// Polls a read into `buf`.
    pub fn poll_read_buf(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.0.poll_read_buf(cx, buf)
    }
}

writes!(ChildStdin, stdin => stdin);
reads!(ChildStdout, stdout => stdout);
reads!(ChildStderr, stderr => stderr);

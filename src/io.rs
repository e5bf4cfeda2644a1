//! Any descriptor as an async source: [`Async`]; and in-memory byte streams,
//! [`duplex`].
//!
//! Floor 3. evloop's own sockets are one use of the reactor; `Async` is the same
//! tool for every other descriptor: pipes, child processes' stdio, `inotify`, a
//! `timerfd`, a socket made by another library. It puts the descriptor in
//! non-blocking mode, registers it with the current runtime's reactor, and turns
//! each operation that would block into a wait for readiness.
//!
//! ```
//! use std::io::{Read, Write};
//! use std::os::unix::net::UnixStream;
//! use evloop::io::Async;
//!
//! evloop::run(async {
//!     let (reader, mut writer) = UnixStream::pair().unwrap(); // made elsewhere
//!     let reader = Async::new(reader).unwrap();
//!     let waiting = evloop::spawn(async move {
//!         let mut buf = [0u8; 5];
//!         let n = reader.read_with(|mut socket| socket.read(&mut buf)).await.unwrap();
//!         buf[..n].to_vec()
//!     });
//!     evloop::yield_now().await; // the reader is waiting now
//!     writer.write_all(b"hello").unwrap();
//!     assert_eq!(waiting.await.unwrap(), b"hello");
//! });
//! ```

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{Context, Poll};

use crate::reactor::{Direction, Fd, IoSource};
use crate::sys::FileKind;

mod duplex;

pub use duplex::{duplex, DuplexStream};

/// A descriptor `T` registered with the current runtime's reactor: its blocking
/// operations become futures.
///
/// Do every operation through [`read_with`](Async::read_with) and
/// [`write_with`](Async::write_with) (or the `futures-io` traits): they retry when
/// the descriptor is ready and tell the reactor when it is not. The reactor is
/// edge-triggered — it reports a descriptor when it *becomes* ready — so a
/// `WouldBlock` that it does not hear of would leave [`readable`](Async::readable)
/// answering "may be ready" once too often.
///
/// Like evloop's sockets, an `Async` belongs to the runtime it was made on and is
/// not `Send`. The descriptor stays non-blocking after
/// [`into_inner`](Async::into_inner).
pub struct Async<T: AsFd> {
    /// The descriptor, registered.
    source: IoSource<Fd<T>>,
}

impl<T: AsFd> Async<T> {
    /// Puts `inner`'s descriptor in non-blocking mode and registers it with the
    /// current runtime's reactor.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a regular file or a directory, which are always ready (read
    /// them with `spawn_blocking` instead); whatever the OS says if the descriptor
    /// cannot be made non-blocking or epoll refuses it. On an error, or the panic
    /// below, the descriptor is left as it was.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    pub fn new(inner: T) -> io::Result<Async<T>> {
        // Every check first: on any error the descriptor is left as it was (its
        // flags are shared with every dup of it).
        let reactor = crate::runtime::current_reactor().unwrap_or_else(|| {
            panic!(
                "evloop::io::Async::new called outside a runtime: call it inside Runtime::block_on"
            )
        });
        let what = match crate::sys::file_kind(inner.as_fd())? {
            FileKind::Regular => Some("a regular file"),
            FileKind::Directory => Some("a directory"),
            FileKind::Other => None,
        };
        if let Some(what) = what {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "evloop::io::Async::new: descriptor {} is {what}, which is always ready: \
                     epoll cannot wait for it. Read and write it on the blocking pool \
                     instead, with evloop::spawn_blocking",
                    inner.as_fd().as_raw_fd()
                ),
            ));
        }
        // Registered first, then made non-blocking: a refused registration has
        // changed nothing.
        let source = IoSource::new(Fd(inner), reactor)?;
        crate::sys::set_nonblocking(source.get_ref().0.as_fd())?;
        Ok(Async { source })
    }

    /// Waits until the descriptor may be readable: at once, unless a read said
    /// `WouldBlock` since the reactor last reported it readable.
    pub async fn readable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_readable(cx)).await
    }

    /// Waits until the descriptor may be writable, as [`readable`](Async::readable).
    pub async fn writable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_writable(cx)).await
    }

    /// [`readable`](Async::readable) as a poll function.
    pub fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.source.poll_ready(Direction::Read, cx).map(Ok)
    }

    /// [`writable`](Async::writable) as a poll function.
    pub fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.source.poll_ready(Direction::Write, cx).map(Ok)
    }

    /// Runs the non-blocking read `op` until it does not say `WouldBlock`, waiting
    /// for readability between tries; returns what it returned.
    pub async fn read_with<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        poll_fn(|cx| self.source.poll_io(Direction::Read, cx, |fd| op(&fd.0))).await
    }

    /// [`read_with`](Async::read_with) for an operation that needs `&mut T`.
    pub async fn read_with_mut<R>(
        &mut self,
        mut op: impl FnMut(&mut T) -> io::Result<R>,
    ) -> io::Result<R> {
        poll_fn(|cx| {
            self.source
                .poll_io_mut(Direction::Read, cx, |fd| op(&mut fd.0))
        })
        .await
    }

    /// Runs the non-blocking write `op` until it does not say `WouldBlock`, waiting
    /// for writability between tries; returns what it returned.
    pub async fn write_with<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        poll_fn(|cx| self.source.poll_io(Direction::Write, cx, |fd| op(&fd.0))).await
    }

    /// [`write_with`](Async::write_with) for an operation that needs `&mut T`.
    pub async fn write_with_mut<R>(
        &mut self,
        mut op: impl FnMut(&mut T) -> io::Result<R>,
    ) -> io::Result<R> {
        poll_fn(|cx| {
            self.source
                .poll_io_mut(Direction::Write, cx, |fd| op(&mut fd.0))
        })
        .await
    }

    /// The descriptor's owner, for operations that cannot block (its address,
    /// its options).
    pub fn get_ref(&self) -> &T {
        &self.source.get_ref().0
    }

    /// Takes the descriptor off the reactor and hands it back (still non-blocking).
    pub fn into_inner(self) -> T {
        self.source.into_inner().0
    }

    /// Polls the read `op` once through the reactor, for poll-based code.
    pub(crate) fn poll_read_with<R>(
        &self,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.source.poll_io(Direction::Read, cx, |fd| op(&fd.0))
    }

    /// Polls the write `op` once through the reactor, for poll-based code.
    pub(crate) fn poll_write_with<R>(
        &self,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.source.poll_io(Direction::Write, cx, |fd| op(&fd.0))
    }

    /// The reads are drained: wait for the next readiness event before trying again.
    pub(crate) fn clear_readable(&self) {
        self.source.clear_ready(Direction::Read);
    }
}

// Nothing here is pinned: an `Async` moves freely whatever `T` is.
impl<T: AsFd> Unpin for Async<T> {}

impl<T: AsFd> AsFd for Async<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.get_ref().as_fd()
    }
}

impl<T: AsFd> AsRawFd for Async<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.as_fd().as_raw_fd()
    }
}

impl<T: AsFd + fmt::Debug> fmt::Debug for Async<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Async").field(self.get_ref()).finish()
    }
}

#[cfg(feature = "futures-io")]
impl<T: AsFd + io::Read> futures_io::AsyncRead for Async<T> {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.source
            .poll_io_mut(Direction::Read, cx, |fd| fd.0.read(buf))
    }
}

#[cfg(feature = "futures-io")]
impl<T: AsFd + io::Write> futures_io::AsyncWrite for Async<T> {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.source
            .poll_io_mut(Direction::Write, cx, |fd| fd.0.write(buf))
    }

    fn poll_flush(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.source
            .poll_io_mut(Direction::Write, cx, |fd| fd.0.flush())
    }

    fn poll_close(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

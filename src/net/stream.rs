//! What every byte stream here offers (`TcpStream`, `UnixStream`, and the halves
//! they split into), written once; and the descriptor traits every socket has.
//!
//! A stream type provides three functions — `poll_read_buf`, `poll_write_buf`
//! and `shutdown` — and the macros below build the rest on them: the `async`
//! methods `read`, `read_exact`, `read_to_end` ([`reads!`]), `write`, `write_all`
//! ([`writes!`]), and the `futures-io` traits.

use std::rc::Rc;

/// Adds `read`, `read_exact`, `read_to_end` and `futures_io::AsyncRead` to `$type`,
/// reading through `$stream` (an expression in `$this`, the value itself).
macro_rules! reads {
    ($type:ty, $this:ident => $stream:expr) => {
        impl $type {
            /// Reads what is available, up to `buf.len()` bytes, waiting if nothing
            /// is. Returns 0 at the end of the stream.
            ///
            /// **Cancel safety**: dropping the future loses no data: bytes are taken
            /// from the socket only by the poll that returns them.
            pub async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let $this = &*self;
                std::future::poll_fn(|cx| $stream.poll_read_buf(cx, buf)).await
            }

            /// Reads exactly `buf.len()` bytes.
            ///
            /// **Not cancel safe**: dropped midway, the bytes it read so far are lost
            /// (they are in `buf`, but nothing says how many). Use `read` in a
            /// `select!`.
            ///
            /// # Errors
            ///
            /// `UnexpectedEof` if the stream ends first.
            pub async fn read_exact(&mut self, mut buf: &mut [u8]) -> std::io::Result<()> {
                while !buf.is_empty() {
                    match self.read(buf).await? {
                        0 => {
                            return Err(std::io::Error::new(
                                std::io::ErrorKind::UnexpectedEof,
                                "the stream ended before read_exact filled its buffer",
                            ))
                        }
                        n => buf = &mut buf[n..],
                    }
                }
                Ok(())
            }

            /// Reads until the end of the stream, appending to `buf`; returns how
            /// many bytes were read.
            pub async fn read_to_end(&mut self, buf: &mut Vec<u8>) -> std::io::Result<usize> {
                let start = buf.len();
                let mut chunk = [0u8; 8192];
                loop {
                    match self.read(&mut chunk).await? {
                        0 => return Ok(buf.len() - start),
                        n => buf.extend_from_slice(&chunk[..n]),
                    }
                }
            }
        }

        #[cfg(feature = "futures-io")]
        impl futures_io::AsyncRead for $type {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $this = &*self.get_mut();
                $stream.poll_read_buf(cx, buf)
            }
        }
    };
}

/// Adds `write`, `write_all` and `futures_io::AsyncWrite` to `$type`, writing
/// through `$stream` (an expression in `$this`, the value itself).
macro_rules! writes {
    ($type:ty, $this:ident => $stream:expr) => {
        impl $type {
            /// Writes some of `buf`, waiting for room if there is none; returns how
            /// much.
            ///
            /// **Cancel safety**: a future dropped before it completed wrote nothing.
            pub async fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                let $this = &*self;
                std::future::poll_fn(|cx| $stream.poll_write_buf(cx, buf)).await
            }

            /// Writes all of `buf`.
            ///
            /// **Not cancel safe**: dropped midway, part of `buf` may have been sent.
            pub async fn write_all(&mut self, mut buf: &[u8]) -> std::io::Result<()> {
                while !buf.is_empty() {
                    match self.write(buf).await? {
                        0 => return Err(std::io::ErrorKind::WriteZero.into()),
                        n => buf = &buf[n..],
                    }
                }
                Ok(())
            }
        }

        #[cfg(feature = "futures-io")]
        impl futures_io::AsyncWrite for $type {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $this = &*self.get_mut();
                $stream.poll_write_buf(cx, buf)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                // Writes go straight to the socket: nothing is buffered.
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let $this = &*self.get_mut();
                std::task::Poll::Ready($stream.shutdown(std::net::Shutdown::Write))
            }
        }
    };
}

/// A byte stream, read and written whole, and split into halves: `split` lends
/// two halves for one task (say, inside `select!`); `into_split` makes two owned
/// halves, so one task reads while another writes — as tokio's.
macro_rules! byte_stream {
    ($stream:ident) => {
        reads!($stream, stream => stream);
        writes!($stream, stream => stream);
        reads!($crate::net::ReadHalf<'_, $stream>, half => half.stream);
        writes!($crate::net::WriteHalf<'_, $stream>, half => half.stream);
        reads!($crate::net::OwnedReadHalf<$stream>, half => half.stream);
        writes!($crate::net::OwnedWriteHalf<$stream>, half => half.stream);

        impl $stream {
            /// Two borrowed halves, one to read with and one to write with, usable
            /// at once (in one task: in `select!`, say).
            pub fn split(&mut self) -> ($crate::net::ReadHalf<'_, $stream>, $crate::net::WriteHalf<'_, $stream>) {
                let stream = &*self;
                ($crate::net::ReadHalf { stream }, $crate::net::WriteHalf { stream })
            }

            /// Two owned halves, so one task reads while another writes. Dropping the
            /// write half shuts the write direction down (the peer reads the end of
            /// the stream); [`OwnedReadHalf::reunite`]($crate::net::OwnedReadHalf::reunite)
            /// puts them back together.
            pub fn into_split(self) -> ($crate::net::OwnedReadHalf<$stream>, $crate::net::OwnedWriteHalf<$stream>) {
                $crate::net::stream::into_split(self)
            }
        }

        impl $crate::net::stream::sealed::Split for $stream {
            fn shutdown_write(&self) {
                let _ = self.shutdown(std::net::Shutdown::Write); // a closed socket is fine
            }
        }
    };
}

pub(super) use byte_stream;
pub(crate) use {reads, writes};

/// Whether a read into `len` bytes that returned `n` drained the socket: some
/// bytes, but fewer than asked. Then the reactor waits for the next readiness
/// event instead of trying a read that would say `WouldBlock` (as tokio does).
pub(crate) fn drained(n: usize, len: usize) -> bool {
    n > 0 && n < len
}

pub(super) mod sealed {
    /// A stream that splits into halves: `TcpStream`, `UnixStream`.
    pub trait Split {
        /// Shuts the write direction down, as dropping an owned write half does.
        fn shutdown_write(&self);
    }
}

/// The read half of a stream, borrowed from [`split`](super::TcpStream::split).
#[derive(Debug)]
pub struct ReadHalf<'a, S> {
    pub(super) stream: &'a S,
}

/// The write half of a stream, borrowed from [`split`](super::TcpStream::split).
#[derive(Debug)]
pub struct WriteHalf<'a, S> {
    pub(super) stream: &'a S,
}

/// The read half of a stream, owned: from [`into_split`](super::TcpStream::into_split).
#[derive(Debug)]
pub struct OwnedReadHalf<S> {
    pub(super) stream: Rc<S>,
}

/// The write half of a stream, owned: from
/// [`into_split`](super::TcpStream::into_split). Dropping it shuts the write
/// direction down.
#[derive(Debug)]
pub struct OwnedWriteHalf<S: sealed::Split> {
    pub(super) stream: Rc<S>,
    /// Whether dropping it shuts the write direction down (not when reunited).
    shut_down_on_drop: bool,
}

/// Splits `stream` into owned halves.
pub(super) fn into_split<S: sealed::Split>(stream: S) -> (OwnedReadHalf<S>, OwnedWriteHalf<S>) {
    let stream = Rc::new(stream);
    let read = OwnedReadHalf {
        stream: stream.clone(),
    };
    let write = OwnedWriteHalf {
        stream,
        shut_down_on_drop: true,
    };
    (read, write)
}

impl<S: sealed::Split> OwnedReadHalf<S> {
    /// Puts the halves back together.
    ///
    /// # Errors
    ///
    /// If `write` came from another stream: both halves come back in the error.
    pub fn reunite(self, mut write: OwnedWriteHalf<S>) -> Result<S, ReuniteError<S>> {
        if !Rc::ptr_eq(&self.stream, &write.stream) {
            return Err(ReuniteError(self, write));
        }
        let stream = Rc::clone(&self.stream);
        drop(self);
        write.shut_down_on_drop = false; // the stream lives on, whole
        drop(write);
        Ok(Rc::try_unwrap(stream)
            .unwrap_or_else(|_| unreachable!("the halves were its only owners")))
    }
}

impl<S: sealed::Split> Drop for OwnedWriteHalf<S> {
    fn drop(&mut self) {
        if self.shut_down_on_drop {
            self.stream.shutdown_write();
        }
    }
}

/// [`OwnedReadHalf::reunite`] was given halves of two different streams.
pub struct ReuniteError<S: sealed::Split>(pub OwnedReadHalf<S>, pub OwnedWriteHalf<S>);

impl<S: sealed::Split> std::fmt::Debug for ReuniteError<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReuniteError(halves of two different streams)")
    }
}

impl<S: sealed::Split> std::fmt::Display for ReuniteError<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("tried to reunite halves of two different streams")
    }
}

impl<S: sealed::Split> std::error::Error for ReuniteError<S> {}

/// `AsFd` and `AsRawFd` for a socket type whose `source` is an `IoSource`.
macro_rules! socket_fd {
    ($socket:ty) => {
        impl std::os::fd::AsFd for $socket {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                self.source.get_ref().as_fd()
            }
        }

        impl std::os::fd::AsRawFd for $socket {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                std::os::fd::AsRawFd::as_raw_fd(&std::os::fd::AsFd::as_fd(self))
            }
        }
    };
}

pub(super) use socket_fd;

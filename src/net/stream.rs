//! What every byte stream here offers (`TcpStream`, `UnixStream`), written once;
//! and the descriptor traits every socket has.
//!
//! A stream type provides three functions — `poll_read_buf`, `poll_write_buf`
//! and `shutdown` — and [`byte_stream!`] builds the rest on them: the `async`
//! methods `read`, `write`, `read_exact`, `write_all`, `read_to_end`, and the
//! `futures-io` traits.

/// Adds the async read/write methods and the `futures-io` traits to `$stream`,
/// which has `poll_read_buf`, `poll_write_buf` and `shutdown`.
macro_rules! byte_stream {
    ($stream:ty) => {
        impl $stream {
            /// Reads what is available, up to `buf.len()` bytes, waiting if nothing
            /// is. Returns 0 at the end of the stream.
            ///
            /// **Cancel safety**: dropping the future loses no data: bytes are taken
            /// from the socket only by the poll that returns them.
            pub async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                std::future::poll_fn(|cx| self.poll_read_buf(cx, buf)).await
            }

            /// Writes some of `buf`, waiting for room if there is none; returns how
            /// much.
            ///
            /// **Cancel safety**: a future dropped before it completed wrote nothing.
            pub async fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                std::future::poll_fn(|cx| self.poll_write_buf(cx, buf)).await
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
        impl futures_io::AsyncRead for $stream {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.get_mut().poll_read_buf(cx, buf)
            }
        }

        #[cfg(feature = "futures-io")]
        impl futures_io::AsyncWrite for $stream {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.get_mut().poll_write_buf(cx, buf)
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
                std::task::Poll::Ready(self.shutdown(std::net::Shutdown::Write))
            }
        }
    };
}

pub(super) use byte_stream;

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

/// Whether a read into `len` bytes that returned `n` drained the socket: some
/// bytes, but fewer than asked. Then the reactor waits for the next readiness
/// event instead of trying a read that would say `WouldBlock` (as tokio does).
pub(super) fn drained(n: usize, len: usize) -> bool {
    n > 0 && n < len
}

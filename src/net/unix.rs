//! Unix-domain sockets: [`UnixListener`], [`UnixStream`], [`UnixDatagram`] — std's
//! sockets inside an [`Async`], so they need no code of the reactor's own.

use std::fmt;
use std::future::poll_fn;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::{self as std_unix, SocketAddr};
use std::path::Path;
use std::task::{Context, Poll};

use super::stream::{byte_stream, drained, reads, writes};
use crate::io::Async;

/// A Unix-domain socket that accepts connections, bound to a path.
///
/// ```
/// use evloop::net::{UnixListener, UnixStream};
/// evloop::run(async {
///     let path = std::env::temp_dir().join(format!("evloop-doc-{}.sock", std::process::id()));
///     let listener = UnixListener::bind(&path).unwrap();
///     let client = evloop::spawn({
///         let path = path.clone();
///         async move { UnixStream::connect(&path).await.unwrap().write_all(b"hi").await }
///     });
///     let (mut server_side, _) = listener.accept().await.unwrap();
///     let mut buf = [0u8; 2];
///     server_side.read_exact(&mut buf).await.unwrap();
///     assert_eq!(&buf, b"hi");
///     client.await.unwrap().unwrap();
///     std::fs::remove_file(&path).unwrap();
/// });
/// ```
pub struct UnixListener {
    /// The std listener, registered.
    inner: Async<std_unix::UnixListener>,
}

impl UnixListener {
    /// Binds to `path` (which must not exist yet) and listens.
    ///
    /// # Errors
    ///
    /// If the path exists or cannot be created: the OS's error, naming the path.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        let path = path.as_ref();
        let listener = std_unix::UnixListener::bind(path).map_err(naming(path, "bind"))?;
        UnixListener::from_std(listener)
    }

    /// Waits for a connection and returns it with the peer's address.
    ///
    /// **Cancel safety**: dropping the future loses no connection.
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a connection; `accept` as a poll function.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        let (stream, peer) = std::task::ready!(self.inner.poll_read_with(cx, |l| l.accept()))?;
        Poll::Ready(UnixStream::from_std(stream).map(|stream| (stream, peer)))
    }

    /// The address this listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// A listener made elsewhere, registered with the current runtime's reactor;
    /// it is made non-blocking.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    pub fn from_std(listener: std_unix::UnixListener) -> io::Result<UnixListener> {
        Ok(UnixListener {
            inner: Async::new(listener)?,
        })
    }

    /// Takes the listener off the reactor. It stays non-blocking.
    pub fn into_std(self) -> io::Result<std_unix::UnixListener> {
        Ok(self.inner.into_inner())
    }
}

/// A Unix-domain stream: a connection to a [`UnixListener`], or one end of a
/// [`pair`](UnixStream::pair). The same methods as
/// [`TcpStream`](super::TcpStream), and the `futures-io` traits.
pub struct UnixStream {
    /// The std stream, registered.
    inner: Async<std_unix::UnixStream>,
}

impl UnixStream {
    /// Connects to the listener at `path`.
    ///
    /// # Errors
    ///
    /// If nothing listens there: the OS's error, naming the path.
    ///
    /// # Panics
    ///
    /// If awaited outside a runtime.
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let path = path.as_ref();
        let named = naming(path, "connect to");
        // mio's connect never blocks; the connection is complete when it is writable.
        let socket = mio::net::UnixStream::connect(path).map_err(&named)?;
        let stream = UnixStream::from_std(OwnedFd::from(socket).into())?;
        stream.inner.writable().await?;
        match stream.inner.get_ref().take_error()? {
            Some(e) => Err(named(e)),
            None => Ok(stream),
        }
    }

    /// Two connected streams (`socketpair`).
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = std_unix::UnixStream::pair()?;
        Ok((UnixStream::from_std(a)?, UnixStream::from_std(b)?))
    }

    /// A stream made elsewhere (connected already), registered with the current
    /// runtime's reactor; it is made non-blocking.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    pub fn from_std(stream: std_unix::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream {
            inner: Async::new(stream)?,
        })
    }

    /// Takes the stream off the reactor. It stays non-blocking.
    pub fn into_std(self) -> io::Result<std_unix::UnixStream> {
        Ok(self.inner.into_inner())
    }

    /// The address of the other end.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// The address of this end.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// Shuts down the read half, the write half, or both, as `std`'s does.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.get_ref().shutdown(how)
    }

    /// Polls a read into `buf`.
    pub fn poll_read_buf(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let read = self.inner.poll_read_with(cx, |mut s| s.read(buf));
        if let Poll::Ready(Ok(n)) = read {
            if drained(n, buf.len()) {
                self.inner.clear_readable();
            }
        }
        read
    }

    /// Polls a write of `buf`.
    pub fn poll_write_buf(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.inner.poll_write_with(cx, |mut s| s.write(buf))
    }
}

byte_stream!(UnixStream);

/// A Unix-domain datagram socket. Every method takes `&self`.
pub struct UnixDatagram {
    /// The std socket, registered.
    inner: Async<std_unix::UnixDatagram>,
}

impl UnixDatagram {
    /// A socket bound to `path` (which must not exist yet).
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        let path = path.as_ref();
        let socket = std_unix::UnixDatagram::bind(path).map_err(naming(path, "bind"))?;
        UnixDatagram::from_std(socket)
    }

    /// A socket bound to no path: it can send, and receive replies once connected.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(std_unix::UnixDatagram::unbound()?)
    }

    /// Two connected sockets (`socketpair`).
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = std_unix::UnixDatagram::pair()?;
        Ok((UnixDatagram::from_std(a)?, UnixDatagram::from_std(b)?))
    }

    /// Sets the socket `send` and `recv` talk to.
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.inner.get_ref().connect(path)
    }

    /// Sends `buf` as one datagram to the socket at `path`.
    pub async fn send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let path = path.as_ref();
        self.inner.write_with(|s| s.send_to(buf, path)).await
    }

    /// Receives one datagram into `buf`; returns its length and sender.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.read_with(|s| s.recv_from(buf)).await
    }

    /// Sends `buf` to the connected socket.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write_with(|s| s.send(buf)).await
    }

    /// Receives one datagram from the connected socket.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read_with(|s| s.recv(buf)).await
    }

    /// The address of this end.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// The address of the connected socket.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// A socket made elsewhere, registered with the current runtime's reactor; it
    /// is made non-blocking.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    pub fn from_std(socket: std_unix::UnixDatagram) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            inner: Async::new(socket)?,
        })
    }

    /// Takes the socket off the reactor. It stays non-blocking.
    pub fn into_std(self) -> io::Result<std_unix::UnixDatagram> {
        Ok(self.inner.into_inner())
    }
}

/// Makes an OS error say what was tried on which path: "could not bind /tmp/x: …".
fn naming<'a>(path: &'a Path, what: &'a str) -> impl Fn(io::Error) -> io::Error + 'a {
    move |e| {
        io::Error::new(
            e.kind(),
            format!("could not {what} {}: {e}", path.display()),
        )
    }
}

/// `AsFd`, `AsRawFd` and `Debug` for the Unix sockets, through their `Async`.
macro_rules! unix_socket {
    ($socket:ty) => {
        impl AsFd for $socket {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.inner.as_fd()
            }
        }

        impl AsRawFd for $socket {
            fn as_raw_fd(&self) -> RawFd {
                self.inner.as_raw_fd()
            }
        }

        impl fmt::Debug for $socket {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($socket))
                    .field(self.inner.get_ref())
                    .finish()
            }
        }
    };
}

unix_socket!(UnixListener);
unix_socket!(UnixStream);
unix_socket!(UnixDatagram);

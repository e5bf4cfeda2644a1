//! TCP: [`TcpListener`] and [`TcpStream`], non-blocking sockets on the reactor.

use std::fmt;
use std::future::poll_fn;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::OwnedFd;
use std::task::{Context, Poll};

use super::addr::{first_success, ToSocketAddrs};
use super::current_reactor;
use super::stream::{byte_stream, drained, reads, socket_fd, writes};
use crate::reactor::{Direction, IoSource};

/// A TCP socket that accepts connections.
///
/// ```
/// evloop::run(async {
///     let listener = evloop::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let addr = listener.local_addr().unwrap();
///     let client = evloop::spawn(async move {
///         evloop::net::TcpStream::connect(addr).await.unwrap()
///     });
///     let (_server_side, peer) = listener.accept().await.unwrap();
///     let client = client.await.unwrap();
///     assert_eq!(peer, client.local_addr().unwrap());
/// });
/// ```
pub struct TcpListener {
    /// The registered mio listener.
    source: IoSource<mio::net::TcpListener>,
}

/// How many connections the kernel queues for a listener until `accept` takes
/// them: 1,024, as tokio's documentation uses. std and mio use 128, which a burst
/// of a few hundred simultaneous connects overflows (the kernel then drops or
/// resets the rest); Linux caps any larger value at `net.core.somaxconn` (4,096 on
/// recent kernels), so asking for more costs nothing where the kernel allows less.
pub const DEFAULT_BACKLOG: u32 = 1024;

impl TcpListener {
    /// Binds to `addr` (a literal like `"127.0.0.1:0"` for any free port, a
    /// `SocketAddr`, or a host name and port, resolved off the loop), with a listen
    /// queue of [`DEFAULT_BACKLOG`] connections. With several addresses, the first
    /// that binds wins. For other options, see [`TcpListener::builder`].
    ///
    /// # Errors
    ///
    /// If no address binds: the last error, its message naming the address
    /// (`"could not bind 127.0.0.1:8080: Address already in use"`).
    ///
    /// # Panics
    ///
    /// If awaited outside a runtime.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        TcpListener::builder(addr).bind().await
    }

    /// A listener with options: the listen backlog, `SO_REUSEPORT`.
    ///
    /// ```
    /// evloop::run(async {
    ///     let listener = evloop::net::TcpListener::builder("127.0.0.1:0")
    ///         .backlog(4096)
    ///         .bind()
    ///         .await
    ///         .unwrap();
    ///     assert_ne!(listener.local_addr().unwrap().port(), 0);
    /// });
    /// ```
    pub fn builder<A: ToSocketAddrs>(addr: A) -> TcpListenerBuilder<A> {
        TcpListenerBuilder {
            addr,
            backlog: DEFAULT_BACKLOG,
            reuse_port: false,
        }
    }

    /// Waits for a connection and returns it with the peer's address.
    ///
    /// **Cancel safety**: dropping the future loses no connection: one is taken
    /// from the kernel's queue only by the poll that returns it.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, peer) = poll_fn(|cx| self.poll_accept(cx)).await?;
        Ok((stream, peer))
    }

    /// Polls for a connection; `accept` as a poll function.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let (stream, peer) =
            std::task::ready!(self
                .source
                .poll_io(Direction::Read, cx, |listener| listener.accept()))?;
        Poll::Ready(TcpStream::from_mio(stream).map(|stream| (stream, peer)))
    }

    /// The address this listener is bound to (with the real port, if it was 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.source.get_ref().local_addr()
    }

    /// A listener made elsewhere (listening already), registered with the current
    /// runtime's reactor; it is made non-blocking.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        let reactor = current_reactor("TcpListener::from_std"); // before any change
        listener.set_nonblocking(true)?;
        let listener = mio::net::TcpListener::from_std(listener);
        let source = IoSource::new(listener, reactor)?;
        Ok(TcpListener { source })
    }

    /// Takes the listener off the reactor. It stays non-blocking
    /// (`set_nonblocking(false)` to change that).
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        Ok(OwnedFd::from(self.source.into_inner()).into())
    }
}

/// Options for a [`TcpListener`]; made by [`TcpListener::builder`].
#[derive(Debug, Clone)]
pub struct TcpListenerBuilder<A> {
    /// Where to listen.
    addr: A,
    /// The listen queue's length.
    backlog: u32,
    /// Whether to set `SO_REUSEPORT`.
    reuse_port: bool,
}

impl<A: ToSocketAddrs> TcpListenerBuilder<A> {
    /// How many connections the kernel may queue until `accept` takes them
    /// (default [`DEFAULT_BACKLOG`]; the kernel caps it at `net.core.somaxconn`).
    pub fn backlog(mut self, connections: u32) -> Self {
        self.backlog = connections;
        self
    }

    /// Sets `SO_REUSEPORT`: several listeners — one per loop, say — may bind the
    /// same address, and the kernel spreads new connections among them.
    pub fn reuse_port(mut self, on: bool) -> Self {
        self.reuse_port = on;
        self
    }

    /// Binds and listens, as [`TcpListener::bind`] does.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a backlog of 0; otherwise as [`TcpListener::bind`].
    pub async fn bind(self) -> io::Result<TcpListener> {
        if self.backlog == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "TcpListener::builder(..).backlog(0): the listen queue must hold at least one connection",
            ));
        }
        let backlog = libc::c_int::try_from(self.backlog).unwrap_or(libc::c_int::MAX);
        let reuse_port = self.reuse_port;
        first_success(&self.addr, "bind", |addr| async move {
            let listener = crate::sys::tcp_listener(addr, backlog, reuse_port)?;
            let listener = mio::net::TcpListener::from_std(listener);
            let source = IoSource::new(listener, current_reactor("TcpListener::bind"))?;
            Ok(TcpListener { source })
        })
        .await
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}

/// A TCP connection.
///
/// Reads and writes are `async` methods on `&mut self`; the `futures-io` traits
/// `AsyncRead` and `AsyncWrite` are implemented too (feature `futures-io`, on by
/// default). Dropping the stream closes the connection.
pub struct TcpStream {
    /// The registered mio stream.
    source: IoSource<mio::net::TcpStream>,
}

impl TcpStream {
    /// Connects to `addr`, trying each of its addresses in turn.
    ///
    /// # Errors
    ///
    /// If every address fails: the last error, its message naming the address
    /// (`"could not connect to 127.0.0.1:9: Connection refused"`).
    ///
    /// # Panics
    ///
    /// If awaited outside a runtime.
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        first_success(&addr, "connect to", TcpStream::connect_one).await
    }

    /// Connects to one address: starts a non-blocking connect, then waits until the
    /// socket is writable and checks how the connect ended.
    async fn connect_one(addr: SocketAddr) -> io::Result<TcpStream> {
        let stream = TcpStream::from_mio(mio::net::TcpStream::connect(addr)?)?;
        poll_fn(|cx| {
            stream.source.poll_io(Direction::Write, cx, |s| {
                if let Some(e) = s.take_error()? {
                    return Err(e);
                }
                match s.peer_addr() {
                    Ok(_) => Ok(()),
                    // Not connected yet: wait for the next writable event.
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                        Err(io::ErrorKind::WouldBlock.into())
                    }
                    Err(e) => Err(e),
                }
            })
        })
        .await?;
        Ok(stream)
    }

    /// Registers a connected (or connecting) mio stream with the current reactor.
    fn from_mio(stream: mio::net::TcpStream) -> io::Result<TcpStream> {
        let source = IoSource::new(stream, current_reactor("TcpStream"))?;
        Ok(TcpStream { source })
    }

    /// A stream made elsewhere (connected already), registered with the current
    /// runtime's reactor; it is made non-blocking.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        let reactor = current_reactor("TcpStream::from_std"); // before any change
        stream.set_nonblocking(true)?;
        let source = IoSource::new(mio::net::TcpStream::from_std(stream), reactor)?;
        Ok(TcpStream { source })
    }

    /// Takes the stream off the reactor. It stays non-blocking
    /// (`set_nonblocking(false)` to change that).
    ///
    /// For socket options std has no method for (keep-alive, buffer sizes), use
    /// `socket2::SockRef::from(&stream)` on the evloop stream itself: it needs only
    /// [`AsFd`](std::os::fd::AsFd).
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        Ok(OwnedFd::from(self.source.into_inner()).into())
    }

    /// The address of the other end.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.source.get_ref().peer_addr()
    }

    /// The address of this end.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.source.get_ref().local_addr()
    }

    /// Turns Nagle's algorithm off (`true`) or on: off sends small writes at once.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.source.get_ref().set_nodelay(nodelay)
    }

    /// Whether Nagle's algorithm is off.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.source.get_ref().nodelay()
    }

    /// Shuts down the read half, the write half, or both, as `std`'s does.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.source.get_ref().shutdown(how)
    }

    /// Polls a read into `buf`.
    pub fn poll_read_buf(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let read = self
            .source
            .poll_io(Direction::Read, cx, |mut stream| stream.read(buf));
        if let Poll::Ready(Ok(n)) = read {
            if drained(n, buf.len()) {
                self.source.clear_ready(Direction::Read);
            }
        }
        read
    }

    /// Polls a write of `buf`.
    pub fn poll_write_buf(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.source
            .poll_io(Direction::Write, cx, |mut stream| stream.write(buf))
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}

byte_stream!(TcpStream);
socket_fd!(TcpListener);
socket_fd!(TcpStream);

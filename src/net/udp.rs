//! UDP: [`UdpSocket`], datagrams on the reactor.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;

use super::addr::{first_success, resolve, ToSocketAddrs};
use super::current_reactor;
use crate::reactor::{Direction, IoSource};

/// A UDP socket. Every method takes `&self`, so one socket can be shared by
/// several tasks (say, one sending and one receiving).
///
/// ```
/// use evloop::net::UdpSocket;
/// evloop::run(async {
///     let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
///     let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
///     a.send_to(b"ping", b.local_addr().unwrap()).await.unwrap();
///     let mut buf = [0u8; 16];
///     let (n, from) = b.recv_from(&mut buf).await.unwrap();
///     assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr().unwrap()));
/// });
/// ```
pub struct UdpSocket {
    /// The registered mio socket.
    source: IoSource<mio::net::UdpSocket>,
}

impl UdpSocket {
    /// Binds to `addr`; the first of its addresses that binds wins.
    ///
    /// # Errors
    ///
    /// If none binds: the last error, its message naming the address.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        first_success(&addr, "bind", |addr| async move {
            let socket = mio::net::UdpSocket::bind(addr)?;
            let source = IoSource::new(socket, current_reactor("UdpSocket::bind"))?;
            Ok(UdpSocket { source })
        })
        .await
    }

    /// Sends one datagram to `target`; returns how many bytes were sent.
    pub async fn send_to(&self, buf: &[u8], target: impl ToSocketAddrs) -> io::Result<usize> {
        let target = resolve(&target).await?[0];
        poll_fn(|cx| {
            self.source
                .poll_io(Direction::Write, cx, |socket| socket.send_to(buf, target))
        })
        .await
    }

    /// Waits for one datagram; returns its length and sender. A datagram longer
    /// than `buf` is cut short.
    ///
    /// **Cancel safety**: dropping the future loses no datagram.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| {
            self.source
                .poll_io(Direction::Read, cx, |socket| socket.recv_from(buf))
        })
        .await
    }

    /// Sets the default peer: `send` goes there, and `recv` takes datagrams only
    /// from there.
    pub async fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        let connect = |addr| std::future::ready(self.source.get_ref().connect(addr));
        first_success(&addr, "connect to", connect).await
    }

    /// Sends one datagram to the connected peer.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| {
            self.source
                .poll_io(Direction::Write, cx, |socket| socket.send(buf))
        })
        .await
    }

    /// Waits for one datagram from the connected peer.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| {
            self.source
                .poll_io(Direction::Read, cx, |socket| socket.recv(buf))
        })
        .await
    }

    /// The address this socket is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.source.get_ref().local_addr()
    }

    /// The connected peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.source.get_ref().peer_addr()
    }
}

impl UdpSocket {
    /// A socket made elsewhere (bound already), registered with the current
    /// runtime's reactor; it is made non-blocking.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        let reactor = current_reactor("UdpSocket::from_std"); // before any change
        socket.set_nonblocking(true)?;
        let socket = mio::net::UdpSocket::from_std(socket);
        let source = IoSource::new(socket, reactor)?;
        Ok(UdpSocket { source })
    }

    /// Takes the socket off the reactor. It stays non-blocking
    /// (`set_nonblocking(false)` to change that).
    pub fn into_std(self) -> io::Result<std::net::UdpSocket> {
        Ok(std::os::fd::OwnedFd::from(self.source.into_inner()).into())
    }
}

super::stream::socket_fd!(UdpSocket);

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}

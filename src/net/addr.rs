//! Addresses: what `bind` and `connect` accept, and how host names are resolved
//! without blocking the loop.
//!
//! A socket-address literal (`"127.0.0.1:8080"`, a `SocketAddr`, `(IpAddr, port)`)
//! is used as it is. A host name (`"localhost:8080"`, `("example.com", 80)`) needs
//! DNS, and the resolver (`getaddrinfo`) blocks — so it runs on the blocking pool
//! while the loop goes on.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// Something `bind` and `connect` accept as an address: a socket-address literal,
/// or a host name and a port.
///
/// Implemented for `&str` and `String` (`"127.0.0.1:0"`, `"localhost:8080"`,
/// `"[::1]:80"`), `SocketAddr` and its V4/V6 forms, `(IpAddr, u16)` and its
/// V4/V6 forms, `(&str, u16)`, `(String, u16)`, and `&[SocketAddr]`.
pub trait ToSocketAddrs {
    /// What this address needs before it can be used. Not for calling directly.
    #[doc(hidden)]
    fn to_target(&self) -> io::Result<Target>;
}

/// An address, ready to use or waiting for DNS.
#[doc(hidden)]
#[derive(Debug, Clone)]
pub enum Target {
    /// Literal addresses: no lookup needed.
    Ready(Vec<SocketAddr>),
    /// A host name and port to resolve.
    Lookup(String, u16),
}

impl ToSocketAddrs for SocketAddr {
    fn to_target(&self) -> io::Result<Target> {
        Ok(Target::Ready(vec![*self]))
    }
}

impl ToSocketAddrs for SocketAddrV4 {
    fn to_target(&self) -> io::Result<Target> {
        SocketAddr::V4(*self).to_target()
    }
}

impl ToSocketAddrs for SocketAddrV6 {
    fn to_target(&self) -> io::Result<Target> {
        SocketAddr::V6(*self).to_target()
    }
}

impl ToSocketAddrs for (IpAddr, u16) {
    fn to_target(&self) -> io::Result<Target> {
        SocketAddr::from(*self).to_target()
    }
}

impl ToSocketAddrs for (Ipv4Addr, u16) {
    fn to_target(&self) -> io::Result<Target> {
        SocketAddr::from(*self).to_target()
    }
}

impl ToSocketAddrs for (Ipv6Addr, u16) {
    fn to_target(&self) -> io::Result<Target> {
        SocketAddr::from(*self).to_target()
    }
}

impl ToSocketAddrs for &[SocketAddr] {
    fn to_target(&self) -> io::Result<Target> {
        Ok(Target::Ready(self.to_vec()))
    }
}

impl ToSocketAddrs for (&str, u16) {
    fn to_target(&self) -> io::Result<Target> {
        let (host, port) = *self;
        match host.parse::<IpAddr>() {
            Ok(ip) => (ip, port).to_target(),
            Err(_) => Ok(Target::Lookup(host.to_string(), port)),
        }
    }
}

impl ToSocketAddrs for (String, u16) {
    fn to_target(&self) -> io::Result<Target> {
        (self.0.as_str(), self.1).to_target()
    }
}

impl ToSocketAddrs for str {
    fn to_target(&self) -> io::Result<Target> {
        if let Ok(addr) = self.parse::<SocketAddr>() {
            return addr.to_target();
        }
        let bad = || {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid address {self:?}: expected host:port, like \"127.0.0.1:8080\""),
            )
        };
        let (host, port) = self.rsplit_once(':').ok_or_else(bad)?;
        let port: u16 = port.parse().map_err(|_| bad())?;
        if host.is_empty() {
            return Err(bad());
        }
        (host, port).to_target()
    }
}

impl ToSocketAddrs for &str {
    fn to_target(&self) -> io::Result<Target> {
        (**self).to_target()
    }
}

impl ToSocketAddrs for String {
    fn to_target(&self) -> io::Result<Target> {
        self.as_str().to_target()
    }
}

impl ToSocketAddrs for &String {
    fn to_target(&self) -> io::Result<Target> {
        self.as_str().to_target()
    }
}

/// Resolves `addr` to socket addresses: at once for a literal, on the blocking
/// pool for a host name. Never empty on success.
pub(crate) async fn resolve(addr: &(impl ToSocketAddrs + ?Sized)) -> io::Result<Vec<SocketAddr>> {
    let addrs = match addr.to_target()? {
        Target::Ready(addrs) => addrs,
        Target::Lookup(host, port) => lookup(host, port).await?,
    };
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "no address to use: the list of addresses is empty",
        ));
    }
    Ok(addrs)
}

/// Resolves `addr`, then tries `attempt` on each address in turn: the first
/// success wins. If every attempt fails, returns the last error, its message
/// naming `action` and the address ("could not bind 127.0.0.1:80: …").
pub(crate) async fn first_success<T, F, Fut>(
    addr: &(impl ToSocketAddrs + ?Sized),
    action: &str,
    mut attempt: F,
) -> io::Result<T>
where
    F: FnMut(SocketAddr) -> Fut,
    Fut: std::future::Future<Output = io::Result<T>>,
{
    let mut last_error = None;
    for addr in resolve(addr).await? {
        match attempt(addr).await {
            Ok(value) => return Ok(value),
            Err(e) => {
                let message = format!("could not {action} {addr}: {e}");
                last_error = Some(io::Error::new(e.kind(), message));
            }
        }
    }
    Err(last_error.expect("resolve never returns an empty list"))
}

/// Asks the system resolver (`getaddrinfo`, which blocks) for `host`, on the
/// blocking pool.
async fn lookup(host: String, port: u16) -> io::Result<Vec<SocketAddr>> {
    let job = move || {
        std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
            .map(Iterator::collect)
            .map_err(|e| io::Error::new(e.kind(), format!("could not resolve {host}:{port}: {e}")))
    };
    crate::runtime::spawn_blocking(job)
        .await
        .unwrap_or_else(|e| {
            Err(io::Error::other(format!(
                "the name lookup did not finish: {e}"
            )))
        })
}

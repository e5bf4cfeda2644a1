//! Networking on the reactor: TCP, UDP and Unix-domain sockets whose operations
//! are futures.
//!
//! Floor 3. Every socket here is a mio socket registered with the current
//! runtime's reactor (`reactor.rs`): an operation is tried at once, and only if
//! the OS says `WouldBlock` does the task wait for the reactor to report the
//! socket ready. Sockets belong to the runtime they were made on and are not
//! `Send`.
//!
//! `bind` and `connect` are `async`, as in tokio: an address literal is used as it
//! is, a host name is resolved off the loop (see [`ToSocketAddrs`]). Unix sockets
//! take paths; they are built on [`io::Async`](crate::io::Async), the same tool
//! for any descriptor.
//!
//! Every socket is [`AsFd`](std::os::fd::AsFd) and converts from and into its std
//! twin (`from_std`, `into_std`). For options std has no method for, use
//! `socket2::SockRef::from(&socket)`: it needs only `AsFd`.

use std::rc::Rc;

mod addr;
pub(crate) mod stream;
mod tcp;
mod udp;
mod unix;

pub use addr::{Target, ToSocketAddrs};
pub use stream::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
pub use tcp::{TcpListener, TcpListenerBuilder, TcpStream, DEFAULT_BACKLOG};
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixListener, UnixStream};

use crate::reactor::Reactor;

/// The current runtime's reactor, for `what`; panics with a clear message outside one.
fn current_reactor(what: &str) -> Rc<Reactor> {
    crate::runtime::current_reactor().unwrap_or_else(|| {
        panic!("evloop::net::{what} used outside a runtime: await it inside Runtime::block_on")
    })
}

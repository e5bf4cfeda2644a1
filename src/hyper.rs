//! hyper 1.x on evloop, without glue to copy: [`Executor`], [`Timer`] and [`Io`]
//! implement `hyper::rt`'s traits (feature `hyper`, off by default).
//!
//! Floor 3. hyper is runtime-agnostic: it asks its runtime for three things, and
//! each is a few lines here.
//!
//! - [`Executor`] spawns hyper's background tasks (HTTP/2's, or a client's
//!   connection) on the current loop; they need not be `Send`.
//! - [`Timer`] gives hyper its timeouts — header read, keep-alive. **Without a timer
//!   hyper silently turns those timeouts off**: a client that connects and sends
//!   nothing would hold its connection for ever. hyper wants `Send + Sync` sleeps,
//!   and evloop's `Sleep` belongs to its loop, so each sleep is a small task on the
//!   loop, watched through a [`RemoteHandle`] and aborted when
//!   hyper drops it.
//! - [`Io`] wraps any evloop byte stream (`TcpStream`, `UnixStream`,
//!   `DuplexStream`, a child's pipes — anything with the `futures-io` traits) as
//!   hyper's `Read` and `Write`. Safe Rust: a read lands in a buffer of its own and
//!   is copied into hyper's (hyper's buffer may be uninitialised, which only
//!   `unsafe` could fill directly); a copy of at most 8 KiB beside a system call.
//!
//! ```no_run
//! use std::convert::Infallible;
//! use std::time::Duration;
//! use evloop::hyper::{Io, Timer};
//!
//! evloop::run(async {
//!     let listener = evloop::net::TcpListener::bind("127.0.0.1:8080").await.unwrap();
//!     loop {
//!         let (stream, _) = listener.accept().await.unwrap();
//!         evloop::spawn(async move {
//!             let hello = hyper::service::service_fn(|_request| async {
//!                 Ok::<_, Infallible>(hyper::Response::new(String::from("hello\n")))
//!             });
//!             let _ = hyper::server::conn::http1::Builder::new()
//!                 .timer(Timer::new())
//!                 .header_read_timeout(Duration::from_secs(5))
//!                 .serve_connection(Io::new(stream), hello)
//!                 .await;
//!         });
//!     }
//! });
//! ```

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_io::{AsyncRead, AsyncWrite};

use crate::runtime::{Handle, RemoteHandle};

/// hyper's executor: spawns each future as a detached task on the current loop.
///
/// # Panics
///
/// `execute` panics outside a runtime, as [`spawn`](crate::spawn) does.
#[derive(Clone, Copy, Debug, Default)]
pub struct Executor;

impl<F> ::hyper::rt::Executor<F> for Executor
where
    F: Future + 'static,
    F::Output: 'static,
{
    fn execute(&self, future: F) {
        drop(crate::spawn(future)); // detached, as hyper expects
    }
}

/// hyper's timer, on a runtime's timers (virtual ones too, under
/// `Builder::virtual_time(true)`).
#[derive(Clone, Debug)]
pub struct Timer(Handle);

impl Timer {
    /// A timer on the current runtime.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    pub fn new() -> Timer {
        Timer(Handle::current())
    }
}

impl Default for Timer {
    fn default() -> Timer {
        Timer::new()
    }
}

impl From<Handle> for Timer {
    /// A timer on the runtime `handle` drives (from any thread).
    fn from(handle: Handle) -> Timer {
        Timer(handle)
    }
}

impl ::hyper::rt::Timer for Timer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn ::hyper::rt::Sleep>> {
        Box::pin(Sleep(
            self.0.spawn_with(move || crate::time::sleep(duration)),
        ))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn ::hyper::rt::Sleep>> {
        Box::pin(Sleep(
            self.0
                .spawn_with(move || crate::time::sleep_until(deadline)),
        ))
    }

    /// The loop's clock (virtual under `virtual_time(true)`), so that hyper's
    /// deadlines are on the clock its sleeps wait on.
    fn now(&self) -> Instant {
        crate::time::now()
    }
}

/// One of hyper's sleeps: ends when the loop's sleep does; dropped, it stops it.
struct Sleep(RemoteHandle<()>);

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // Cancelled only when the runtime is gone: then no sleep can end, and
        // ending now lets hyper close the connection rather than hang.
        Pin::new(&mut self.0).poll(cx).map(drop)
    }
}

impl ::hyper::rt::Sleep for Sleep {}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Any evloop byte stream (anything with the `futures-io` traits) as hyper's
/// `Read` and `Write`.
#[derive(Debug)]
pub struct Io<S>(S);

impl<S> Io<S> {
    /// Wraps `stream`.
    pub fn new(stream: S) -> Io<S> {
        Io(stream)
    }

    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.0
    }

    /// The stream, to change.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.0
    }

    /// Unwraps the stream.
    pub fn into_inner(self) -> S {
        self.0
    }
}

impl<S: AsyncRead + Unpin> ::hyper::rt::Read for Io<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ::hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let mut chunk = [0u8; 8192];
        let room = buf.remaining().min(chunk.len());
        let n = std::task::ready!(Pin::new(&mut self.0).poll_read(cx, &mut chunk[..room]))?;
        buf.put_slice(&chunk[..n]);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> ::hyper::rt::Write for Io<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_close(cx)
    }
}

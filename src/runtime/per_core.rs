//! One loop per core: [`run_per_core`] and the [`Loops`] it returns.
//!
//! Floor 2. A runtime is one thread; a server that outgrows a core runs several,
//! each on its own thread with its own tasks, sockets and timers — nothing shared,
//! nothing locked between them (the design of glommio and monoio, where tokio's
//! multi-thread scheduler moves tasks between threads instead). To share the
//! connections of one port, each loop binds its own listener with `SO_REUSEPORT`
//! ([`TcpListenerBuilder::reuse_port`](crate::net::TcpListenerBuilder::reuse_port))
//! and the kernel spreads new connections over them.

use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::thread;

use super::{Handle, Runtime};
use crate::sync::Event;

/// Starts `loops` event loops, each on a thread of its own (`evloop-loop-<i>`)
/// with its own [`Runtime`], and runs `setup(i)` on loop `i` as its main future.
/// A loop ends when its `setup` returns, or when [`Loops::stop`] is called (its
/// remaining tasks are then dropped, as when any runtime is dropped).
///
/// `std::thread::available_parallelism()` says how many cores there are.
///
/// # Errors
///
/// `InvalidInput` for 0 loops; whatever the OS says if a thread or a runtime
/// cannot be created (the loops started so far are stopped).
///
/// ```
/// use evloop::net::TcpListener;
/// // A free port, then every loop listens on it with SO_REUSEPORT.
/// let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
/// let loops = evloop::run_per_core(2, move |_index| async move {
///     let listener = TcpListener::builder(("127.0.0.1", port)).reuse_port(true).bind().await.unwrap();
///     while let Ok((mut stream, _)) = listener.accept().await {
///         evloop::spawn(async move { stream.write_all(b"hi").await });
///     }
/// })
/// .unwrap();
/// // ... later:
/// loops.stop();
/// ```
pub fn run_per_core<F, Fut>(loops: usize, setup: F) -> io::Result<Loops>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + 'static,
{
    if loops == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "evloop::run_per_core(0, …): run at least one loop",
        ));
    }
    let setup = Arc::new(setup);
    let stop = Arc::new(Event::new());
    let mut started = Loops {
        threads: Vec::with_capacity(loops),
        handles: Vec::with_capacity(loops),
        stop: stop.clone(),
    };
    for index in 0..loops {
        let (setup, stop) = (setup.clone(), stop.clone());
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = thread::Builder::new()
            .name(format!("evloop-loop-{index}"))
            .spawn(move || run_one(index, &*setup, &stop, ready_tx));
        let handle = thread.and_then(|thread| {
            started.threads.push(thread);
            ready_rx
                .recv()
                .unwrap_or_else(|_| Err(io::Error::other("a loop's thread died")))
        });
        match handle {
            Ok(handle) => started.handles.push(handle),
            Err(e) => {
                started.stop();
                return Err(e);
            }
        }
    }
    Ok(started)
}

/// One loop's thread: makes its runtime, says so, runs `setup(index)` until it
/// returns or `stop` is set.
fn run_one<Fut: Future<Output = ()>>(
    index: usize,
    setup: &dyn Fn(usize) -> Fut,
    stop: &Event,
    ready: std::sync::mpsc::Sender<io::Result<Handle>>,
) {
    let runtime = match Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => return drop(ready.send(Err(e))),
    };
    let _ = ready.send(Ok(runtime.handle()));
    runtime.block_on(async {
        let mut work = pin!(setup(index));
        let mut stopped = pin!(stop.wait());
        // Whichever comes first: the setup returns, or every loop is told to stop.
        poll_fn(|cx| match work.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(()),
            Poll::Pending => stopped.as_mut().poll(cx),
        })
        .await;
    });
}

/// The loops [`run_per_core`] started.
pub struct Loops {
    /// Each loop's thread.
    threads: Vec<thread::JoinHandle<()>>,
    /// Each loop's handle, to spawn on it from elsewhere.
    handles: Vec<Handle>,
    /// Set to stop every loop.
    stop: Arc<Event>,
}

impl Loops {
    /// Each loop's [`Handle`], in the order of their index.
    pub fn handles(&self) -> &[Handle] {
        &self.handles
    }

    /// Stops every loop — each drops its tasks, as a dropped runtime does — and
    /// waits for their threads to end.
    pub fn stop(mut self) {
        self.stop.set();
        self.join_threads();
    }

    /// Waits until every loop's setup has returned (or the loops were stopped).
    pub fn join(mut self) {
        self.join_threads();
    }

    /// Joins the threads; a loop that panicked passes its panic on.
    fn join_threads(&mut self) {
        for thread in self.threads.drain(..) {
            if let Err(panic) = thread.join() {
                std::panic::resume_unwind(panic);
            }
        }
    }
}

impl Drop for Loops {
    /// Dropping the `Loops` stops them (without waiting).
    fn drop(&mut self) {
        self.stop.set();
    }
}

impl fmt::Debug for Loops {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loops")
            .field("loops", &self.handles.len())
            .finish()
    }
}

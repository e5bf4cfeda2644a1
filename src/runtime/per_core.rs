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
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::thread;

use super::{Builder, Handle};
use crate::lock::lock;
use crate::sync::Event;

/// Starts `loops` event loops, each on a thread of its own (`evloop-loop-<i>`)
/// with its own [`Runtime`](super::Runtime), and runs `setup(i)` on loop `i` as its main future.
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
    Builder::new().run_per_core(loops, setup)
}

impl Builder {
    /// [`run_per_core`] with this builder's options for every loop. With a seed,
    /// loop `i` gets a seed of its own, mixed from this one and `i` (so the loops
    /// do not all draw the same order); [`Loops::seed`] says which.
    ///
    /// # Errors
    ///
    /// As [`run_per_core`], and as [`Builder::build`] for a bad option.
    ///
    /// ```
    /// let loops = evloop::Builder::new()
    ///     .seed(7)
    ///     .run_per_core(2, |_index| async {})
    ///     .unwrap();
    /// assert_ne!(loops.seed(0), loops.seed(1));
    /// loops.join();
    /// ```
    pub fn run_per_core<F, Fut>(self, loops: usize, setup: F) -> io::Result<Loops>
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
        let shared = Arc::new(Shared {
            stop: Event::new(),
            first_panic: Mutex::new(None),
        });
        let mut started = Loops {
            threads: Vec::with_capacity(loops),
            handles: Vec::with_capacity(loops),
            seeds: Vec::with_capacity(loops),
            shared: shared.clone(),
        };
        for index in 0..loops {
            let mut builder = self.clone();
            builder.seed = self.seed.map(|seed| loop_seed(seed, index));
            started.seeds.push(builder.seed);
            let (setup, shared) = (setup.clone(), shared.clone());
            let (ready_tx, ready_rx) = std::sync::mpsc::channel();
            let thread = thread::Builder::new()
                .name(format!("evloop-loop-{index}"))
                .spawn(move || run_one(index, builder, &*setup, &shared, ready_tx));
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
}

/// Loop `index`'s seed, mixed from the builder's.
fn loop_seed(seed: u64, index: usize) -> u64 {
    crate::replay::mix(seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// What the loops share: the signal to stop, and which loop panicked first.
struct Shared {
    /// Set to stop every loop: by [`Loops::stop`], a dropped `Loops`, or a loop
    /// that panicked.
    stop: Event,
    /// The index of the first loop that panicked, if one did.
    first_panic: Mutex<Option<usize>>,
}

/// Stops every loop if the loop whose thread holds it panics: dropped while its
/// thread unwinds, it tells the others before this loop's own destructors run.
struct StopOnPanic<'a> {
    /// This loop's index.
    index: usize,
    /// What the loops share.
    shared: &'a Shared,
}

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if thread::panicking() {
            lock(&self.shared.first_panic).get_or_insert(self.index);
            self.shared.stop.set();
        }
    }
}

/// One loop's thread: makes its runtime, says so, runs `setup(index)` until it
/// returns or the loops are stopped.
fn run_one<Fut: Future<Output = ()>>(
    index: usize,
    builder: Builder,
    setup: &dyn Fn(usize) -> Fut,
    shared: &Shared,
    ready: std::sync::mpsc::Sender<io::Result<Handle>>,
) {
    let runtime = match builder.build() {
        Ok(runtime) => runtime,
        Err(e) => return drop(ready.send(Err(e))),
    };
    let _ = ready.send(Ok(runtime.handle()));
    let _stop_on_panic = StopOnPanic { index, shared }; // dropped before the runtime
    runtime.block_on(async {
        let mut work = pin!(setup(index));
        let mut stopped = pin!(shared.stop.wait());
        // Whichever comes first: the setup returns, or every loop is told to stop.
        poll_fn(|cx| match work.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(()),
            Poll::Pending => stopped.as_mut().poll(cx),
        })
        .await;
    });
}

/// The loops [`run_per_core`] started.
///
/// A loop whose main future panics stops the others at once (they see it within
/// a turn: the stop wakes their main futures); [`Loops::join`] and
/// [`Loops::stop`] then join every thread and re-raise the first loop's panic.
pub struct Loops {
    /// Each loop's thread.
    threads: Vec<thread::JoinHandle<()>>,
    /// Each loop's handle, to spawn on it from elsewhere.
    handles: Vec<Handle>,
    /// Each loop's seed, if the builder had one.
    seeds: Vec<Option<u64>>,
    /// The stop signal and the first panic.
    shared: Arc<Shared>,
}

impl Loops {
    /// Each loop's [`Handle`], in the order of their index.
    pub fn handles(&self) -> &[Handle] {
        &self.handles
    }

    /// Loop `index`'s seed, if the builder had one (see [`Builder::run_per_core`]).
    ///
    /// # Panics
    ///
    /// If there is no loop `index`.
    pub fn seed(&self, index: usize) -> Option<u64> {
        self.seeds[index]
    }

    /// Stops every loop — each drops its tasks, as a dropped runtime does — and
    /// waits for all their threads to end; then, if a loop panicked, re-raises the
    /// first panic.
    pub fn stop(mut self) {
        self.shared.stop.set();
        self.join_threads();
    }

    /// Waits until every loop's setup has returned, the loops were stopped, or one
    /// of them panicked — which stops the others — and joins every thread; then
    /// re-raises the first loop's panic, if one did.
    pub fn join(mut self) {
        self.join_threads();
    }

    /// Joins every thread, then passes on the panic of the loop that panicked first.
    fn join_threads(&mut self) {
        let mut panics: Vec<_> = self
            .threads
            .drain(..)
            .enumerate()
            .filter_map(|(index, thread)| thread.join().err().map(|panic| (index, panic)))
            .collect();
        let first = *lock(&self.shared.first_panic);
        if let Some(at) = panics.iter().position(|(index, _)| Some(*index) == first) {
            panics.swap(0, at);
        }
        if let Some((_, panic)) = panics.into_iter().next() {
            std::panic::resume_unwind(panic);
        }
    }
}

impl Drop for Loops {
    /// Dropping the `Loops` stops them (without waiting).
    fn drop(&mut self) {
        self.shared.stop.set();
    }
}

impl fmt::Debug for Loops {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loops")
            .field("loops", &self.handles.len())
            .finish()
    }
}

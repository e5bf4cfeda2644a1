//! The runtime: one loop, turning. Start reading here.
//!
//! Floor 2. A [`Runtime`] owns the executor (tasks and the run queue), the reactor
//! (sockets), the timers and the clock. [`Runtime::turn`] is one iteration of the
//! loop, and it does exactly this, in this order:
//!
//! ```text
//!          ┌──────────────────────────────────────────────────────────────┐
//!          │                                                              │
//!          ▼                                                              │
//!  1. Timers         fire every timer whose deadline has passed          │
//!          │         (wake its waker)                     time/timers.rs │
//!          ▼                                                              │
//!  2. Remote wakes   move wakes and spawns that other threads pushed     │
//!          │         onto the injection queue to the run queue           │
//!          │                                              task/waker.rs  │
//!          ▼                                                              │
//!  3. Run tasks      poll ready tasks, FIFO, each at most once, at most  │
//!          │         `event_interval` of them          task/executor.rs  │
//!          ▼                                                              │
//!  4. Reactor        wait for I/O: not at all if work is ready, else     │
//!          │         until the next timer (or for ever); wake the tasks  │
//!          │         whose sockets became ready     runtime/drivers.rs,  │
//!          │                                        reactor.rs           │
//!          └──────────────────────────────────────────────────────────────┘
//! ```
//!
//! [`Runtime::block_on`] is: poll the main future when its own waker fires,
//! otherwise `turn()`, until the main future is ready. Nothing else drives the loop.
//!
//! Two pitfalls the shape avoids, by name:
//!
//! - *the lost wake-up*: a task woken while it is being polled goes to the back of
//!   the queue (its waker is "unscheduled" before the poll, not after);
//! - *the sleeping loop with a ready main future*: `block_on`'s waker sets a flag
//!   that step 4 checks, so the loop never sleeps while the main future is woken.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::io;
use std::panic::Location;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_task::waker_ref;

use crate::context;
use crate::task::{BlockOnWaker, Executor, JoinError, JoinHandle, TaskMeta};

mod alarm;
mod builder;
mod drivers;
mod handle;

pub use builder::Builder;
pub(crate) use drivers::{current_now, current_reactor, current_timers};
pub use handle::Handle;

/// Runs the blocking function `f` on the runtime's thread pool and returns a
/// handle to its result; `loop.run_in_executor(None, f)`.
///
/// Use it for anything that would block the loop: a blocking system call, a
/// `std::net` client, CPU work that takes milliseconds. The loop keeps running
/// meanwhile. Threads start as needed, up to `Builder::max_blocking_threads`; more
/// jobs wait in a queue. A panic in `f` comes back as a [`JoinError`] whose
/// `is_panic()` is true; the pool's thread lives on.
///
/// Aborting the handle stops waiting for the result, but cannot stop `f`: a
/// thread cannot be interrupted. It runs to the end and its result is dropped.
///
/// # Panics
///
/// Outside a runtime.
///
/// ```
/// evloop::run(async {
///     let sum = evloop::spawn_blocking(|| (1..=100u64).sum::<u64>()).await.unwrap();
///     assert_eq!(sum, 5050);
/// });
/// ```
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let meta = TaskMeta::new(None, Location::caller());
    let id = meta.id;
    let Some(pool) = drivers::current_pool() else {
        panic!(
            "evloop::spawn_blocking called outside a runtime: call it inside \
             Runtime::block_on (or evloop::run)"
        );
    };
    let mut result = pool.spawn(f);
    // A closure over the receiver, not an `async` block: it stays `Unpin`.
    let wait_for_result = std::future::poll_fn(move |cx| {
        Pin::new(&mut result)
            .poll(cx)
            .map(|received| match received {
                Ok(Ok(Ok(value))) => Ok(value),
                Ok(Ok(Err(panic))) => Err(JoinError::panicked(id, panic)),
                Ok(Err(refused)) => Err(JoinError::cancelled(id, refused)),
                Err(_) => Err(JoinError::cancelled(
                    id,
                    "the runtime was dropped before the job ran",
                )),
            })
    });
    crate::task::on_current("evloop::spawn_blocking", |executor| {
        executor.spawn_fallible(wait_for_result, meta)
    })
}

use drivers::Drivers;

/// What the owning thread is doing with a runtime right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Activity {
    /// Nothing: the runtime is not being driven.
    Idle,
    /// Inside `block_on`, between turns.
    BlockingOn,
    /// Inside `turn`, or polling `block_on`'s main future: no loop may start here.
    Running,
}

/// A single-threaded event loop, with its tasks, sockets and timers.
///
/// A `Runtime` is driven by the thread that owns it (it is `!Send`), through
/// [`block_on`](Runtime::block_on) or, for embedding in another loop,
/// [`turn`](Runtime::turn). Dropping it drops every task it still holds (their
/// destructors run) and resolves every `JoinHandle` as cancelled.
///
/// ```
/// let rt = evloop::Runtime::new().unwrap();
/// let handle = rt.spawn(async { "spawned before block_on" });
/// assert_eq!(rt.block_on(handle).unwrap(), "spawned before block_on");
/// ```
pub struct Runtime {
    /// Tasks and the run queue.
    executor: Rc<Executor>,
    /// Reactor, timers and clock, shared with the futures that use them.
    drivers: Rc<Drivers>,
    /// The waker of `block_on`'s main future: a flag, plus a nudge from other threads.
    main_waker: Arc<BlockOnWaker>,
    /// Polls per turn, at most.
    event_interval: usize,
    /// Whether the loop is being driven, and how: catches `block_on` in `block_on`.
    activity: Cell<Activity>,
}

impl Runtime {
    /// A runtime with the default options (see [`Builder`]).
    ///
    /// # Errors
    ///
    /// If the OS refuses the reactor's epoll instance or eventfd (usually: out of
    /// file descriptors).
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }

    /// Builds the runtime a builder describes.
    fn from_builder(builder: Builder) -> io::Result<Runtime> {
        let drivers = Rc::new(Drivers::new(&builder)?);
        let executor = Executor::new(drivers.reactor.unparker());
        let main_waker = Arc::new(BlockOnWaker::new(executor.injector()));
        Ok(Runtime {
            executor,
            drivers,
            main_waker,
            event_interval: builder.event_interval,
            activity: Cell::new(Activity::Idle),
        })
    }

    /// Runs `future` to completion on this thread, running the loop — and every
    /// task spawned on it — meanwhile; `asyncio.run`'s inner half.
    ///
    /// # Panics
    ///
    /// If this thread is already running a loop (inside another `block_on` or
    /// `turn`): one thread cannot run two loops at once. `.await` the future, or
    /// spawn it, instead. A panic of `future` itself passes through.
    ///
    /// ```
    /// let rt = evloop::Runtime::new().unwrap();
    /// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
    /// ```
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _active = self.enter(Activity::BlockingOn, "block_on");
        let mut future = pin!(future);
        let waker = waker_ref(&self.main_waker);
        let mut cx = Context::from_waker(&waker);
        self.main_waker.set_woken();
        loop {
            if self.main_waker.take_woken() {
                // The main future runs like a task: it may not start a loop either.
                self.activity.set(Activity::Running);
                let poll = future.as_mut().poll(&mut cx);
                self.activity.set(Activity::BlockingOn);
                if let Poll::Ready(output) = poll {
                    return output;
                }
            }
            self.turn(None);
        }
    }

    /// Runs one iteration of the loop — timers, remote wakes, ready tasks, reactor —
    /// and returns how many tasks were polled. Step 4 waits no longer than
    /// `max_wait` (`None`: until a timer, an I/O event or a remote wake), and not at
    /// all if work is ready. For driving evloop from another loop.
    ///
    /// # Panics
    ///
    /// If this thread is already running a loop, as [`block_on`](Runtime::block_on).
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = evloop::Runtime::new().unwrap();
    /// let task = rt.spawn(async { 7 });
    /// while !task.is_finished() {
    ///     rt.turn(Some(Duration::from_millis(10)));
    /// }
    /// ```
    pub fn turn(&self, max_wait: Option<Duration>) -> usize {
        let _active = self.enter(Activity::Running, "turn");
        // 1. Timers: wake every timer whose deadline has passed.
        self.drivers.timers.fire_due();
        // 2. Remote wakes: move what other threads woke or spawned onto the run queue.
        self.executor.take_injected();
        // 3. Run tasks: poll ready tasks in FIFO order, each at most once per turn.
        let polled = self.executor.run_ready(self.event_interval);
        // 4. Reactor: wait for I/O (not at all if work is ready), then wake its waiters.
        let work_ready = self.executor.has_ready() || self.main_waker.is_woken();
        self.drivers.wait_for_io(work_ready, max_wait);
        polled
    }

    /// Spawns a task on this runtime, from outside it or inside it. The future need
    /// not be `Send`. See [`evloop::spawn`](crate::spawn).
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let meta = TaskMeta::new(None, Location::caller());
        self.executor.spawn(future, meta)
    }

    /// A handle other threads can spawn through.
    pub fn handle(&self) -> Handle {
        Handle {
            injector: Arc::downgrade(self.executor.injector()),
        }
    }

    /// Marks this thread as driving the loop for as long as the guard lives, and
    /// makes this runtime the current one (for `evloop::spawn`, `sleep`, …).
    /// `caller` names the public function, for the panic message.
    fn enter(&self, activity: Activity, caller: &str) -> Active<'_> {
        let previous = self.activity.get();
        let threads = match previous {
            // block_on's own loop calling turn: the thread is entered already.
            Activity::BlockingOn if activity == Activity::Running => None,
            Activity::Idle => match context::start_driving() {
                Some(driving) => Some((driving, self.executor.enter(), self.drivers.enter())),
                None => already_running(caller), // another runtime, on this thread
            },
            _ => already_running(caller),
        };
        self.activity.set(activity);
        Active {
            runtime: self,
            previous,
            _threads: threads,
        }
    }
}

/// Refuses to start a loop inside a loop.
fn already_running(caller: &str) -> ! {
    panic!(
        "Runtime::{caller} called while this thread is already running an evloop loop \
         (inside block_on or turn): one thread cannot run two loops at once; \
         .await the future or spawn it instead"
    )
}

/// The guard of [`Runtime::enter`]: restores what the thread was doing.
struct Active<'a> {
    /// The runtime being driven.
    runtime: &'a Runtime,
    /// What it was doing before.
    previous: Activity,
    /// The thread-local marks, if this entry set them.
    _threads: Option<(
        context::Driving,
        crate::task::executor::Entered,
        drivers::Entered,
    )>,
}

impl Drop for Active<'_> {
    fn drop(&mut self) {
        self.runtime.activity.set(self.previous);
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Destructors of the dropped tasks may spawn or sleep: let them find us.
        let _executor = self.executor.enter();
        let _drivers = self.drivers.enter();
        self.executor.shutdown();
        self.drivers.blocking.shutdown();
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("virtual_time", &self.drivers.timers.clock().is_virtual())
            .field("event_interval", &self.event_interval)
            .field("timers", &self.drivers.timers.len())
            .field("io_sources", &self.drivers.reactor.source_count())
            .field("blocking_pool", &self.drivers.blocking)
            .finish()
    }
}

//! The runtime: one loop, turning. Start reading here.
//!
//! Floor 2. A [`Runtime`] owns the executor (tasks and the run queue) and the
//! resources its futures use: the reactor (sockets), the timers and clock, and the
//! blocking pool. [`Runtime::turn`] is one iteration of the loop, and it does
//! exactly this, in this order:
//!
//! ```text
//!        ┌─────────────────────────────────────────────────────────────────┐
//!        ▼                                                                 │
//!   1. Timers        wake every timer whose deadline has passed            │
//!        │                                               timer/timers.rs   │
//!        ▼                                                                 │
//!   2. Remote wakes  move what other threads woke or spawned onto the      │
//!        │           run queue                        task/executor.rs     │
//!        ▼                                                                 │
//!   3. Run tasks     poll the ready tasks, oldest first (or in a seeded    │
//!        │           order), each once, at most `event_interval` of them   │
//!        │                              task/executor.rs, run_queue.rs     │
//!        ▼                                                                 │
//!   4. Reactor       decide how long to wait (`decide_wait`: not at all    │
//!        │           if work is ready, else until the next timer), wait    │
//!        │           for I/O, wake the tasks whose sockets are ready       │
//!        │                                            reactor.rs           │
//!        └─────────────────────────────────────────────────────────────────┘
//! ```
//!
//! [`Runtime::block_on`] is: poll the main future when its own waker fires,
//! otherwise `turn`, until the main future is ready. Nothing else drives the loop.
//! An embedder calls `turn` itself, or `run_until_stalled` (see `Runtime::turn`).
//!
//! Two pitfalls the shape avoids, by name:
//!
//! - *the lost wake-up*: a task woken while it is being polled goes to the back of
//!   the queue (its `SCHEDULED` flag is cleared before the poll, not after);
//! - *the sleeping loop with a ready main future*: `block_on`'s waker sets a flag
//!   that step 4 reads, so the loop never sleeps while the main future is woken.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::io;
use std::panic::Location;
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use crate::context::{self, Driving};
use crate::task::{Executor, Injector, JoinHandle};

mod alarm;
mod builder;
mod embed;
mod handle;
mod narrate;
mod observe;
mod per_core;
mod replay;
mod resources;
mod spawn_blocking;

pub use builder::Builder;
pub use handle::{Handle, RemoteHandle};
pub use per_core::{run_per_core, Loops};
pub(crate) use resources::{current_now, current_pool, current_reactor, current_timers};
pub use spawn_blocking::spawn_blocking;

use alarm::Alarm;
use resources::Resources;

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
    /// Reactor, timers and blocking pool, shared with the futures that use them.
    resources: Rc<Resources>,
    /// Wakes the reactor at the next timer's deadline (step 4).
    alarm: Alarm,
    /// The waker of `block_on`'s main future.
    main: Arc<MainWaker>,
    /// Polls per turn, at most.
    event_interval: usize,
    /// Whether to print the timeline when dropped (`EVLOOP_TRACE=timeline`).
    print_timeline: bool,
    /// Where to write the trace JSON and the SVG picture when dropped
    /// (`EVLOOP_TRACE=perfetto:PATH`, `svg:PATH`).
    pictures: [Option<std::path::PathBuf>; 2],
    /// Tells each turn on stderr (`EVLOOP_TRACE=turns`), if asked.
    narrator: Option<narrate::Narrator>,
    /// Whether the stuck-program report was printed (it is, once).
    stuck_reported: Cell<bool>,
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
        let resources = Rc::new(Resources::new(&builder)?);
        let observers = resources.observers.clone();
        let executor = Executor::new(resources.reactor.unparker(), builder.seed, observers);
        resources.timers.set_owner(executor.owner());
        let alarm = Alarm::new(&resources.reactor);
        let main = Arc::new(MainWaker {
            woken: AtomicBool::new(true),
            owner: executor.owner(),
            injector: Arc::downgrade(executor.injector()),
        });
        Ok(Runtime {
            executor,
            resources,
            alarm,
            main,
            event_interval: builder.event_interval,
            print_timeline: builder.tracing.print_on_drop,
            pictures: [
                builder.tracing.perfetto.clone(),
                builder.tracing.svg.clone(),
            ],
            narrator: builder.tracing.turns.then(narrate::Narrator::default),
            stuck_reported: Cell::new(false),
        })
    }

    /// Runs `future` to completion on this thread, running the loop — and every
    /// task spawned on it — meanwhile; `asyncio.run`'s inner half.
    ///
    /// # Panics
    ///
    /// If this thread is already running a loop (inside another `block_on`, or in
    /// a task): one thread cannot run two loops at once. `.await` the future, or
    /// spawn it, instead. A panic of `future` itself passes through.
    ///
    /// ```
    /// let rt = evloop::Runtime::new().unwrap();
    /// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
    /// ```
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let location = Location::caller();
        let _driving = self.enter("block_on");
        let mut future = pin!(future);
        let waker = Waker::from(self.main.clone());
        let mut cx = Context::from_waker(&waker);
        self.main.woken.store(true, Ordering::Release);
        loop {
            if self.main.take_woken() {
                let poll = || context::with_budget(|| future.as_mut().poll(&mut cx));
                if let Poll::Ready(output) = self.poll_main(location, poll) {
                    return output;
                }
            }
            self.turn_once(None, Jump::Allowed);
        }
    }

    /// Runs one iteration of the loop — timers, remote wakes, ready tasks,
    /// reactor — and returns how many tasks were polled. Step 4 waits no longer than
    /// `max_wait` (`None`: until a timer, an I/O event or a wake from another
    /// thread), and not at all if work is ready.
    ///
    /// This is the entry point for driving evloop from another loop: call it with
    /// `Some(Duration::ZERO)` whenever the runtime's file descriptor is readable or
    /// [`next_wakeup`](Runtime::next_wakeup) has come.
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
        let _driving = self.enter("turn");
        self.main.forget_wakes(); // outside block_on there is no main future
        self.turn_once(max_wait, Jump::Allowed)
    }

    /// One turn, on a thread already marked as driving this runtime. `jump` says
    /// whether step 4 may move a virtual clock to the next timer.
    fn turn_once(&self, max_wait: Option<Duration>, jump: Jump) -> usize {
        // 1. Timers: wake every timer whose deadline has passed.
        self.resources.timers.fire_due();
        // 2. Remote wakes: move what other threads woke or spawned onto the run queue.
        self.executor.take_injected();
        // 3. Run tasks: poll the tasks that are ready, each at most once.
        let polled = self.executor.run_ready(self.event_interval);
        // 4. Reactor: decide how long to wait, wait for I/O, wake its waiters.
        let wait = decide_wait(&self.outlook(max_wait, jump));
        self.wait_for_io(wait);
        self.narrate(wait); // EVLOOP_TRACE=turns: say what this turn did
        polled
    }

    /// What step 4's decision reads, all at once.
    fn outlook(&self, max_wait: Option<Duration>, jump: Jump) -> Outlook {
        let clock = self.resources.timers.clock();
        Outlook {
            work_ready: self.executor.has_ready() || self.main.woken.load(Ordering::Acquire),
            io_possible: self.resources.reactor.may_have_events() || self.alarm.is_due(),
            next_timer: self.resources.timers.next_deadline(),
            virtual_clock: clock.is_virtual() && jump == Jump::Allowed,
            blocking_jobs: self.resources.pool.is_busy(),
            max_wait,
        }
    }

    /// Step 4 as decided: arm the alarm for the next timer, wait for I/O and wake
    /// the tasks it concerns, and under virtual time let the clock jump.
    fn wait_for_io(&self, wait: Wait) {
        let (timeout, ring_at, limit) = match wait {
            Wait::Skip => return,
            Wait::Poll | Wait::JumpTo(_) => (Some(Duration::ZERO), None, None),
            Wait::Sleep { deadline, limit } => {
                self.executor.give_back_room(); // idle now: a burst is over
                self.resources.timers.give_back_room();
                let ring_at = deadline.map(|first| self.resources.timers.ring_at(first));
                (shorter(self.alarm.arm(ring_at), limit), ring_at, limit)
            }
        };
        if timeout.is_none() {
            self.report_if_stuck(); // a wait for ever: is anything left to end it?
        }
        let alarm_rang = self.alarm.is_due(); // its event is in this wait's reach
        let events = self.reactor_wait(timeout, ring_at, limit);
        if alarm_rang {
            self.alarm.heard();
        }
        if let Wait::JumpTo(deadline) = wait {
            if events == 0 {
                self.jump_clock(deadline);
            }
        }
    }

    /// Spawns a task on this runtime, from outside it or inside it. The future need
    /// not be `Send`. See [`evloop::spawn`](crate::spawn).
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let id = self.executor.next_id();
        self.executor.spawn(future, id, Location::caller(), None)
    }

    /// A handle other threads can spawn through.
    pub fn handle(&self) -> Handle {
        Handle::new(Arc::downgrade(self.executor.injector()))
    }

    /// Marks this thread as driving this runtime while the guard lives. `caller`
    /// names the public function, for the panic message.
    fn enter(&self, caller: &str) -> context::Guard {
        context::enter(self.record()).unwrap_or_else(|| {
            panic!(
                "Runtime::{caller} called while this thread is already running an evloop \
                 loop (inside block_on, turn, or a task): one thread cannot run two loops \
                 at once; .await the future or spawn it instead"
            )
        })
    }

    /// The record `context` keeps of this runtime while a thread drives it.
    fn record(&self) -> Driving {
        Driving {
            id: self.executor.owner(),
            executor: self.executor.clone(),
            resources: self.resources.clone(),
        }
    }
}

/// Whether a turn may move a virtual clock forward to the next timer: not when
/// the caller asked to run only what is ready (`run_until_stalled`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Jump {
    Allowed,
    Forbidden,
}

/// What step 4 does this turn, as [`decide_wait`] decides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// Work is ready and no I/O can be waiting: skip the reactor's syscall.
    Skip,
    /// Work is ready: look for I/O without waiting.
    Poll,
    /// Virtual time with nothing else to do: look for I/O without waiting, and if
    /// none came, jump the clock to this deadline.
    JumpTo(Instant),
    /// Wait for I/O or a wake until `deadline` (the next timer's; the alarm is
    /// armed for it), and no longer than `limit`; `None` is no bound.
    Sleep {
        deadline: Option<Instant>,
        limit: Option<Duration>,
    },
}

/// Everything step 4's decision reads.
#[derive(Debug, Clone, Copy)]
struct Outlook {
    /// A task or the main future is ready to run, or another thread handed work in.
    work_ready: bool,
    /// A look at the reactor could find something (a socket is registered, a wake
    /// from another thread or a due alarm is unread).
    io_possible: bool,
    /// The earliest timer's deadline.
    next_timer: Option<Instant>,
    /// Whether the clock is virtual (and may jump this turn).
    virtual_clock: bool,
    /// Whether a blocking job is queued or running (its result is a reason to wake).
    blocking_jobs: bool,
    /// The caller's limit (`turn`'s `max_wait`).
    max_wait: Option<Duration>,
}

/// How long step 4 waits: asyncio's rule — not at all if something is ready, else
/// until the earliest timer — plus virtual time, which jumps instead of waiting
/// when nothing else can happen first.
fn decide_wait(outlook: &Outlook) -> Wait {
    if outlook.work_ready {
        return if outlook.io_possible {
            Wait::Poll
        } else {
            Wait::Skip
        };
    }
    match outlook.next_timer {
        Some(deadline) if outlook.virtual_clock && !outlook.blocking_jobs => Wait::JumpTo(deadline),
        // A virtual deadline says nothing about real time: wait for a wake.
        _ if outlook.virtual_clock => Wait::Sleep {
            deadline: None,
            limit: outlook.max_wait,
        },
        deadline => Wait::Sleep {
            deadline,
            limit: outlook.max_wait,
        },
    }
}

/// The shorter of two optional timeouts (`None` is for ever).
fn shorter(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Destructors of the dropped tasks may spawn or sleep: let them find us.
        let _driving = context::enter_for_shutdown(self.record());
        self.executor.shutdown();
        self.resources.pool.shutdown();
        self.stop_observing();
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("virtual_time", &self.resources.timers.clock().is_virtual())
            .field("event_interval", &self.event_interval)
            .field("timers", &self.resources.timers.len())
            .field("io_sources", &self.resources.reactor.source_count())
            .field("blocking_pool", &self.resources.pool)
            .finish()
    }
}

/// The waker `block_on` gives its own future: a flag step 4 reads, so that the loop
/// never sleeps while the main future is woken, plus a nudge from other threads.
struct MainWaker {
    /// Set by a wake; taken by `block_on` before it polls the future.
    woken: AtomicBool,
    /// The executor whose thread may skip the nudge.
    owner: u32,
    /// How to nudge the loop from another thread.
    injector: Weak<Injector>,
}

impl MainWaker {
    /// Forgets wakes of a main future that is gone: outside `block_on`, a stale
    /// flag must not keep the loop from waiting.
    fn forget_wakes(&self) {
        self.woken.store(false, Ordering::Release);
    }

    /// Whether the main future was woken since the last call, clearing the flag.
    /// Loads before it swaps: most turns it was not, and a swap is a locked op.
    fn take_woken(&self) -> bool {
        self.woken.load(Ordering::Acquire) && self.woken.swap(false, Ordering::AcqRel)
    }
}

impl Wake for MainWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.woken.swap(true, Ordering::AcqRel) {
            return;
        }
        // On the loop's own thread the flag is enough: step 4 reads it.
        let home = context::driving_id() == self.owner;
        if !home {
            if let Some(injector) = self.injector.upgrade() {
                injector.notify();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outlook() -> Outlook {
        Outlook {
            work_ready: false,
            io_possible: true,
            next_timer: None,
            virtual_clock: false,
            blocking_jobs: false,
            max_wait: None,
        }
    }

    #[test]
    fn ready_work_never_waits_and_skips_the_syscall_when_no_io_can_be_pending() {
        let ready = Outlook {
            work_ready: true,
            ..outlook()
        };
        assert_eq!(decide_wait(&ready), Wait::Poll);
        let quiet = Outlook {
            io_possible: false,
            ..ready
        };
        assert_eq!(decide_wait(&quiet), Wait::Skip);
    }

    #[test]
    fn an_idle_loop_sleeps_until_the_next_timer_or_the_callers_limit() {
        let at = Instant::now() + Duration::from_secs(1);
        let limit = Some(Duration::from_millis(5));
        let timer = Outlook {
            next_timer: Some(at),
            max_wait: limit,
            ..outlook()
        };
        let expected = Wait::Sleep {
            deadline: Some(at),
            limit,
        };
        assert_eq!(decide_wait(&timer), expected);
    }

    #[test]
    fn virtual_time_jumps_unless_a_blocking_job_may_still_wake_the_loop() {
        let at = Instant::now() + Duration::from_secs(3600);
        let virtual_timer = Outlook {
            next_timer: Some(at),
            virtual_clock: true,
            ..outlook()
        };
        assert_eq!(decide_wait(&virtual_timer), Wait::JumpTo(at));
        let busy = Outlook {
            blocking_jobs: true,
            ..virtual_timer
        };
        let expected = Wait::Sleep {
            deadline: None,
            limit: None,
        };
        assert_eq!(decide_wait(&busy), expected);
    }
}

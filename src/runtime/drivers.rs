//! The drivers: what a runtime offers the futures running on it — the reactor, the
//! timers and clock, the alarm — and the thread-local "current runtime" through
//! which `net` and `time` find them.
//!
//! Floor 2. Step 4 of the loop lives here ([`Drivers::wait_for_io`]), because how
//! long to wait is a question for the timers, the clock and the reactor together.

use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::alarm::Alarm;
use super::Builder;
use crate::blocking::BlockingPool;
use crate::reactor::Reactor;
use crate::time::timers::Timers;

thread_local! {
    /// The drivers of the runtime this thread is running, if any.
    static CURRENT: RefCell<Option<Rc<Drivers>>> = const { RefCell::new(None) };
}

/// The I/O and time drivers of one runtime.
#[derive(Debug)]
pub(crate) struct Drivers {
    /// Sockets and their waiting tasks.
    pub(crate) reactor: Rc<Reactor>,
    /// Timers and the clock.
    pub(crate) timers: Rc<Timers>,
    /// Wakes the reactor at the next deadline.
    alarm: Alarm,
    /// Threads for `spawn_blocking`.
    pub(crate) blocking: BlockingPool,
}

impl Drivers {
    /// Fresh drivers, as the builder says.
    pub(crate) fn new(builder: &Builder) -> io::Result<Drivers> {
        let reactor = Rc::new(Reactor::new()?);
        let alarm = Alarm::new(&reactor);
        Ok(Drivers {
            reactor,
            timers: Rc::new(Timers::new(builder.virtual_time)),
            alarm,
            blocking: BlockingPool::new(builder.max_blocking_threads, builder.blocking_keep_alive),
        })
    }

    /// Step 4: waits for I/O — not at all if `work_ready`, else until the next
    /// timer, and never past `max_wait` — and wakes the tasks whose I/O is ready.
    ///
    /// Under virtual time the loop never sleeps for a timer: it polls I/O without
    /// waiting, and if that brought nothing (and no work is ready, and no blocking
    /// job is running, whose result could be a reason to wake), the clock jumps to
    /// the next deadline, which step 1 of the next turn then fires.
    pub(crate) fn wait_for_io(&self, work_ready: bool, max_wait: Option<Duration>) {
        let virtual_time = self.timers.clock().is_virtual();
        let next_deadline = self.timers.next_deadline();
        let jump_to = next_deadline.filter(|_| virtual_time && !self.blocking.is_busy());
        let timeout = if work_ready || jump_to.is_some() {
            Some(Duration::ZERO)
        } else if virtual_time {
            max_wait // a virtual deadline says nothing about real time: wait for a wake
        } else {
            shorter(self.alarm.timeout_until(next_deadline), max_wait)
        };
        let events = if timeout == Some(Duration::ZERO) && !self.has_io_sources() {
            // Nothing to poll: with no socket registered, a zero-timeout poll could
            // only report a remote wake, which step 2 sees by itself. Skip the syscall.
            0
        } else {
            self.reactor
                .wait(timeout)
                .unwrap_or_else(|e| panic!("evloop: the reactor failed to wait for I/O: {e}"))
        };
        if let Some(deadline) = jump_to {
            if events == 0 && !work_ready {
                self.timers.clock().advance_to(deadline);
            }
        }
    }

    /// Whether any I/O source besides the alarm's timerfd is registered.
    fn has_io_sources(&self) -> bool {
        self.reactor.source_count() > self.alarm.sources()
    }

    /// Makes these the current thread's drivers until the guard drops.
    pub(crate) fn enter(self: &Rc<Self>) -> Entered {
        let previous = CURRENT.with(|current| current.replace(Some(self.clone())));
        Entered { previous }
    }
}

/// The shorter of two optional timeouts (`None` is forever).
fn shorter(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// The time on the current runtime's clock, if this thread is running one.
pub(crate) fn current_now() -> Option<Instant> {
    CURRENT.with(|current| current.borrow().as_ref().map(|d| d.timers.clock().now()))
}

/// The current runtime's timers, if this thread is running one.
pub(crate) fn current_timers() -> Option<Rc<Timers>> {
    CURRENT.with(|current| current.borrow().as_ref().map(|d| d.timers.clone()))
}

/// The current runtime's blocking pool, if this thread is running one.
pub(crate) fn current_pool() -> Option<BlockingPool> {
    CURRENT.with(|current| current.borrow().as_ref().map(|d| d.blocking.clone()))
}

/// The current runtime's reactor, if this thread is running one.
pub(crate) fn current_reactor() -> Option<Rc<Reactor>> {
    CURRENT.with(|current| current.borrow().as_ref().map(|d| d.reactor.clone()))
}

/// Undoes [`Drivers::enter`] on drop.
#[derive(Debug)]
pub(crate) struct Entered {
    /// The drivers that were current before.
    previous: Option<Rc<Drivers>>,
}

impl Drop for Entered {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let _ = CURRENT.try_with(|current| current.replace(previous));
    }
}

//! Driving evloop from another loop: a GUI or game loop, another event loop, a
//! plugin host.
//!
//! Floor 2. The host needs three things, and gets them without a helper thread:
//!
//! - a descriptor to wait on beside its own: the runtime's [`AsFd`] — the reactor's
//!   epoll instance, readable whenever the loop has something to do (I/O, a wake or
//!   spawn from another thread, a task woken from outside the loop, a timer due —
//!   the alarm's `timerfd` is one of its sources);
//! - how long it may wait: [`Runtime::next_wakeup`];
//! - a way to do the work without waiting: [`Runtime::turn`] with
//!   `Some(Duration::ZERO)`, or [`Runtime::run_until_stalled`].
//!
//! ```no_run
//! use std::time::{Duration, Instant};
//! let rt = evloop::Runtime::new().unwrap();
//! rt.spawn(async { /* sockets, timers… */ });
//! loop {
//!     let timeout = rt.next_wakeup().map(|at| at.saturating_duration_since(Instant::now()));
//!     // the host waits here: poll(2) on its own fds and on `rt.as_fd()`, for `timeout`
//!     rt.turn(Some(Duration::ZERO)); // then evloop does what became ready
//! }
//! ```

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::{Duration, Instant};

use super::{Jump, Runtime};

impl Runtime {
    /// Turns the loop until no task is ready, never waiting for I/O or timers (it
    /// does look for I/O, without waiting, and fires timers already due; a virtual
    /// clock does not jump). Returns how many tasks it polled.
    ///
    /// # Panics
    ///
    /// If this thread is already running a loop, as [`block_on`](Runtime::block_on).
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = evloop::Runtime::new().unwrap();
    /// let quick = rt.spawn(async { evloop::yield_now().await });
    /// let _slow = rt.spawn(evloop::time::sleep(Duration::from_secs(3600)));
    /// assert_eq!(rt.run_until_stalled(), 3); // quick twice, slow once; no waiting
    /// assert!(quick.is_finished());
    /// ```
    pub fn run_until_stalled(&self) -> usize {
        let _driving = self.enter("run_until_stalled");
        self.main.forget_wakes(); // outside block_on there is no main future
        let mut polled = self.turn_once(Some(Duration::ZERO), Jump::Forbidden);
        while self.executor.has_ready() {
            polled += self.turn_once(Some(Duration::ZERO), Jump::Forbidden);
        }
        polled
    }

    /// When the loop next has something to do, for a host that waits on the
    /// runtime's descriptor: now if work is ready (or, under virtual time, whenever
    /// a timer is pending: the clock jumps inside `turn`), the next timer's deadline
    /// otherwise, `None` if no timer is pending — then only the descriptor can say
    /// when. Off Linux (no `timerfd`) the deadline is the only alarm, to the
    /// millisecond.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = evloop::Runtime::new().unwrap();
    /// assert_eq!(rt.next_wakeup(), None);
    /// ```
    pub fn next_wakeup(&self) -> Option<Instant> {
        let timers = &self.resources.timers;
        if self.executor.has_ready() {
            return Some(Instant::now());
        }
        let deadline = timers.next_deadline()?;
        match timers.clock().is_virtual() {
            true => Some(Instant::now()),
            false => Some(deadline),
        }
    }
}

/// The runtime's descriptor: readable whenever the loop has work (see the module).
impl AsFd for Runtime {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.resources.reactor.as_fd()
    }
}

impl AsRawFd for Runtime {
    fn as_raw_fd(&self) -> RawFd {
        self.as_fd().as_raw_fd()
    }
}

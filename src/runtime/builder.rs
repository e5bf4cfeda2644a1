//! [`Builder`]: a runtime with options.

use std::io;
use std::time::Duration;

use super::Runtime;
use crate::blocking;

/// How many tasks step 3 polls at most before the loop checks timers and I/O
/// again. The same as tokio's current-thread runtime, so benchmarks compare like
/// with like: high enough that the reactor's syscall is paid rarely, low enough
/// that a crowd of busy tasks cannot starve a socket for long.
pub(crate) const DEFAULT_EVENT_INTERVAL: usize = 61;

/// How long an idle blocking thread waits for another job before it exits.
pub(crate) const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(10);

/// Builds a [`Runtime`] with options; `Runtime::new()` is `Builder::new().build()`.
///
/// ```
/// use std::time::Duration;
/// let rt = evloop::Builder::new()
///     .virtual_time(true)
///     .event_interval(32)
///     .build()
///     .unwrap();
/// rt.block_on(evloop::time::sleep(Duration::from_secs(60))); // instant
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    /// Whether the clock is virtual.
    pub(super) virtual_time: bool,
    /// Polls per turn at most.
    pub(super) event_interval: usize,
    /// Threads of the blocking pool, at most.
    pub(super) max_blocking_threads: usize,
    /// How long an idle blocking thread lives.
    pub(super) blocking_keep_alive: Duration,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

impl Builder {
    /// The defaults: real time, `event_interval` 61, at most `min(32, cores + 4)`
    /// blocking threads, which exit after 10 s idle.
    pub fn new() -> Builder {
        Builder {
            virtual_time: false,
            event_interval: DEFAULT_EVENT_INTERVAL,
            max_blocking_threads: blocking::default_max_threads(),
            blocking_keep_alive: DEFAULT_KEEP_ALIVE,
        }
    }

    /// The most threads the blocking pool may run at once (default
    /// `min(32, cores + 4)`, as Python's default executor). Jobs beyond that wait
    /// in a queue. Must be at least 1.
    pub fn max_blocking_threads(mut self, threads: usize) -> Builder {
        self.max_blocking_threads = threads;
        self
    }

    /// How long an idle blocking thread waits for another job before it exits
    /// (default 10 s). Threads start again as needed.
    pub fn blocking_keep_alive(mut self, keep_alive: Duration) -> Builder {
        self.blocking_keep_alive = keep_alive;
        self
    }

    /// Runs the runtime on a virtual clock (for tests): it starts at the real time
    /// of `build()` and moves only when the loop has nothing to do but wait for a
    /// timer — then it jumps straight to that timer's deadline. An hour of sleeps
    /// takes no time at all; I/O still works, and an open socket does not stop
    /// the clock.
    pub fn virtual_time(mut self, enabled: bool) -> Builder {
        self.virtual_time = enabled;
        self
    }

    /// How many tasks one turn polls at most before it checks timers and I/O
    /// (default 61). Must be at least 1.
    pub fn event_interval(mut self, polls: usize) -> Builder {
        self.event_interval = polls;
        self
    }

    /// Builds the runtime.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an option that makes no sense (0 blocking threads, an
    /// `event_interval` of 0),
    /// naming the option; otherwise whatever the OS says when the reactor's epoll
    /// instance or eventfd cannot be created (usually: out of file descriptors).
    pub fn build(self) -> io::Result<Runtime> {
        if self.max_blocking_threads == 0 {
            return Err(invalid(
                "Builder::max_blocking_threads(0): spawn_blocking needs at least one thread; use 1 or more",
            ));
        }
        if self.event_interval == 0 {
            return Err(invalid(
                "Builder::event_interval(0): a turn must poll at least one task; use 1 or more",
            ));
        }
        Runtime::from_builder(self)
    }
}

/// An `InvalidInput` error saying `what`.
fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, what)
}

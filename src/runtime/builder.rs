//! [`Builder`]: a runtime with options.

use std::io;

use super::Runtime;

/// How many tasks step 3 polls at most before the loop checks timers and I/O
/// again. The same as tokio's current-thread runtime, so benchmarks compare like
/// with like: high enough that the reactor's syscall is paid rarely, low enough
/// that a crowd of busy tasks cannot starve a socket for long.
pub(crate) const DEFAULT_EVENT_INTERVAL: usize = 61;

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
}

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

impl Builder {
    /// The defaults: real time, `event_interval` 61.
    pub fn new() -> Builder {
        Builder {
            virtual_time: false,
            event_interval: DEFAULT_EVENT_INTERVAL,
        }
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
    /// `InvalidInput` for an option that makes no sense (an `event_interval` of 0),
    /// naming the option; otherwise whatever the OS says when the reactor's epoll
    /// instance or eventfd cannot be created (usually: out of file descriptors).
    pub fn build(self) -> io::Result<Runtime> {
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

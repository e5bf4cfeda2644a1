//! [`Builder`]: a runtime with options.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::Runtime;
use crate::blocking;
use crate::trace::watch::Sink;
use crate::trace::SlowPoll;

/// How many tasks step 3 polls at most before the loop checks timers and I/O
/// again. The same as tokio's current-thread runtime, so benchmarks compare like
/// with like: high enough that the reactor's syscall is paid rarely, low enough
/// that a crowd of busy tasks cannot starve a socket for long.
pub(crate) const DEFAULT_EVENT_INTERVAL: usize = 61;

/// How long an idle blocking thread waits for another job before it exits.
pub(crate) const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(10);

/// The slow-poll threshold `EVLOOP_DEBUG=1` sets: asyncio's debug-mode default.
pub(crate) const DEBUG_SLOW_POLL: Duration = Duration::from_millis(100);

/// What tracing records and shows (`Builder::trace`, `EVLOOP_TRACE`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Tracing {
    /// Whether the runtime records at all.
    pub(crate) on: bool,
    /// Print each wake as it happens (`EVLOOP_TRACE=wakes`).
    pub(crate) print_wakes: bool,
    /// Print the chart to stderr when the runtime is dropped (`EVLOOP_TRACE=timeline`).
    pub(crate) print_on_drop: bool,
    /// Write the Chrome Trace Event JSON here when the runtime is dropped
    /// (`EVLOOP_TRACE=perfetto:PATH`).
    pub(crate) perfetto: Option<PathBuf>,
    /// Write the SVG picture here when the runtime is dropped (`EVLOOP_TRACE=svg:PATH`).
    pub(crate) svg: Option<PathBuf>,
    /// Tell each turn on stderr (`EVLOOP_TRACE=turns`).
    pub(crate) turns: bool,
}

impl Tracing {
    /// What the environment asks for: `EVLOOP_TRACE` is a comma-separated list
    /// of `timeline`, `wakes`, `turns`, `perfetto:PATH` and `svg:PATH`. An unknown word is an error,
    /// said when the runtime is built.
    fn from_env() -> Result<Tracing, String> {
        let mut tracing = Tracing::default();
        let Ok(value) = std::env::var("EVLOOP_TRACE") else {
            return Ok(tracing);
        };
        for word in value.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            match word {
                "timeline" => tracing.print_on_drop = true,
                "wakes" => tracing.print_wakes = true,
                "turns" => tracing.turns = true,
                _ => match word.split_once(':') {
                    Some(("perfetto", path)) if !path.is_empty() => {
                        tracing.perfetto = Some(path.into());
                    }
                    Some(("svg", path)) if !path.is_empty() => tracing.svg = Some(path.into()),
                    _ => {
                        return Err(format!(
                            "EVLOOP_TRACE={value:?}: {word:?} is not a trace; use timeline, \
                             wakes, turns, perfetto:PATH or svg:PATH, several joined with commas"
                        ))
                    }
                },
            }
            tracing.on = true;
        }
        Ok(tracing)
    }
}

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
#[derive(Clone)]
pub struct Builder {
    /// Whether the clock is virtual.
    pub(super) virtual_time: bool,
    /// Polls per turn at most.
    pub(super) event_interval: usize,
    /// Threads of the blocking pool, at most.
    pub(super) max_blocking_threads: usize,
    /// How long an idle blocking thread lives.
    pub(super) blocking_keep_alive: Duration,
    /// What tracing records and shows.
    pub(super) tracing: Tracing,
    /// How long a poll may hold the loop before the alarm reports it; `None`: off.
    pub(super) slow_poll_threshold: Option<Duration>,
    /// Where the alarm's reports go; `None`: stderr.
    pub(super) slow_poll_sink: Option<Sink>,
    /// The seed the loop's orders are drawn from; `None`: FIFO.
    pub(crate) seed: Option<u64>,
    /// What was wrong with `EVLOOP_SEED` or `EVLOOP_TRACE`, if anything: `build()`
    /// says so.
    pub(super) env_error: Option<String>,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("virtual_time", &self.virtual_time)
            .field("event_interval", &self.event_interval)
            .field("max_blocking_threads", &self.max_blocking_threads)
            .field("blocking_keep_alive", &self.blocking_keep_alive)
            .field("trace", &self.tracing.on)
            .field("slow_poll_threshold", &self.slow_poll_threshold)
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

impl Builder {
    /// The defaults: real time, `event_interval` 61, at most `min(32, cores + 4)`
    /// blocking threads, which exit after 10 s idle; tracing and the slow-poll
    /// alarm off — unless the environment turns them on: `EVLOOP_TRACE=timeline`
    /// (record, and print the chart to stderr when the runtime is dropped),
    /// `EVLOOP_TRACE=wakes` (record, and print each wake as it happens),
    /// `EVLOOP_DEBUG=1` (report polls longer than 100 ms); and no seed unless
    /// `EVLOOP_SEED=N` sets one (see [`Builder::seed`]).
    pub fn new() -> Builder {
        let debug = std::env::var("EVLOOP_DEBUG").is_ok_and(|v| !v.is_empty() && v != "0");
        let (seed, seed_error) = match seed_from_env() {
            Ok(seed) => (seed, None),
            Err(error) => (None, Some(error)),
        };
        let (tracing, trace_error) = match Tracing::from_env() {
            Ok(tracing) => (tracing, None),
            Err(error) => (Tracing::default(), Some(error)),
        };
        Builder {
            virtual_time: false,
            event_interval: DEFAULT_EVENT_INTERVAL,
            max_blocking_threads: blocking::default_max_threads(),
            blocking_keep_alive: DEFAULT_KEEP_ALIVE,
            tracing,
            slow_poll_threshold: debug.then_some(DEBUG_SLOW_POLL),
            slow_poll_sink: None,
            seed,
            env_error: seed_error.or(trace_error),
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

    /// Records what the loop does — each poll, wake (and its cause) and wait — for
    /// [`Runtime::timeline`] and [`Runtime::tasks`]' poll times. Off by default (or
    /// as `EVLOOP_TRACE` says). The recording keeps the last
    /// [`trace::CAPACITY`](crate::trace::CAPACITY) events. What it costs: see
    /// [`trace`](crate::trace).
    pub fn trace(mut self, enabled: bool) -> Builder {
        self.tracing.on = enabled;
        self
    }

    /// Reports, on stderr, a poll that has held the loop longer than `threshold`
    /// *while it still runs* — naming the task and its spawn site — and once more
    /// with its total when it returns. `EVLOOP_DEBUG=1` sets 100 ms. It starts one
    /// watchdog thread for the runtime's life (see [`trace`](crate::trace)).
    pub fn slow_poll_threshold(mut self, threshold: Duration) -> Builder {
        self.slow_poll_threshold = Some(threshold);
        self
    }

    /// Sends the slow-poll alarm's reports to `sink` instead of stderr (a test, a
    /// logger). Called on the watchdog thread for the live report, on the loop's
    /// thread for the total. Takes effect with a threshold.
    pub fn on_slow_poll(mut self, sink: impl Fn(&SlowPoll) + Send + Sync + 'static) -> Builder {
        self.slow_poll_sink = Some(Arc::new(sink));
        self
    }

    /// Seeds the loop's order (default: none, or `EVLOOP_SEED=N`). With a seed,
    /// the tasks ready in one turn are polled in an order drawn from it, and so are
    /// timers that fall due together and wakes from other threads; without one the
    /// order is FIFO. Fairness is the same either way: a turn polls the same tasks
    /// FIFO would — the first `event_interval` ready ones, each at most once — only
    /// in another order, so a task with `p` tasks ahead of it is polled within
    /// `p / event_interval + 1` turns.
    ///
    /// With `virtual_time(true)` as well, a program that uses only evloop's
    /// timers, channels, sync primitives, `JoinSet`, `yield_now` and
    /// [`io::duplex`](crate::io::duplex) streams runs the same polls in the same
    /// order every time ([`Runtime::schedule_digest`] tells). What a seed cannot
    /// fix: when a real socket becomes ready, and when another thread (a blocking
    /// job, a `Handle::spawn`, a waker woken elsewhere) hands something in — a seed
    /// orders what arrived in one turn, not when it arrives. Use
    /// [`io::duplex`](crate::io::duplex) in place of sockets and keep threads out of
    /// a test that must replay. See [`check`](crate::check).
    ///
    /// ```
    /// let rt = evloop::Builder::new().seed(17).virtual_time(true).build().unwrap();
    /// assert_eq!(rt.seed(), Some(17));
    /// ```
    pub fn seed(mut self, seed: u64) -> Builder {
        self.seed = Some(seed);
        self
    }

    /// Builds the runtime.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an option that makes no sense (0 blocking threads, an
    /// `event_interval` of 0, a zero slow-poll threshold, an `EVLOOP_SEED` that is
    /// not a number), naming the option; otherwise whatever the OS says when the reactor's epoll
    /// instance or eventfd cannot be created (usually: out of file descriptors).
    pub fn build(self) -> io::Result<Runtime> {
        if let Some(error) = &self.env_error {
            return Err(invalid(error));
        }
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
        if self.slow_poll_threshold == Some(Duration::ZERO) {
            return Err(invalid(
                "Builder::slow_poll_threshold(0): every poll would be slow; use at least a millisecond",
            ));
        }
        Runtime::from_builder(self)
    }
}

/// The seed `EVLOOP_SEED` sets, if it is set; an error naming the value if it is
/// not a number.
fn seed_from_env() -> Result<Option<u64>, String> {
    match std::env::var("EVLOOP_SEED") {
        Err(_) => Ok(None),
        Ok(value) if value.trim().is_empty() => Ok(None),
        Ok(value) => value.trim().parse().map(Some).map_err(|_| {
            format!(
                "EVLOOP_SEED={value:?} is not a seed: use a number from 0 to {}",
                u64::MAX
            )
        }),
    }
}

/// An `InvalidInput` error saying `what`.
fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, what)
}

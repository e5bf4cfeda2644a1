//! The live slow-poll alarm: a poll that holds the loop longer than a threshold is
//! reported *while it still runs*, then once more with its total when it returns.
//!
//! Floor 0. Something outside the loop's thread must notice a poll that never
//! returns, so the alarm is one watchdog thread, started only when the alarm is on
//! (`Builder::slow_poll_threshold`, or `EVLOOP_DEBUG=1`). The executor tells it when
//! each poll starts and ends — a lock taken twice per poll, never contended but for
//! the moments the watchdog looks — and the watchdog looks again when the poll it
//! saw would pass the threshold, or a threshold later if none ran: a slow poll is
//! reported between one and two thresholds after it began.

use std::fmt;
use std::panic::Location;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::context::MAIN;
use crate::lock::lock;

/// A poll that held the loop too long, as the alarm reports it.
#[derive(Debug, Clone)]
pub struct SlowPoll {
    /// The task's id.
    pub task: u64,
    /// Its name, if it was given one.
    pub name: Option<String>,
    /// Where it was spawned.
    pub spawned_at: &'static Location<'static>,
    /// How long the poll has held the loop so far (or in all, once it returned).
    pub elapsed: Duration,
    /// Whether the poll has returned (the second report) or still runs (the first).
    pub returned: bool,
}

impl fmt::Display for SlowPoll {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (file, line) = (self.spawned_at.file(), self.spawned_at.line());
        let who = match (self.task, &self.name) {
            (MAIN, _) => format!("block_on's future ({file}:{line})"),
            (task, Some(name)) => format!("task {task} '{name}' ({file}:{line})"),
            (task, None) => format!("task {task} ({file}:{line})"),
        };
        let ms = self.elapsed.as_secs_f64() * 1e3;
        if self.returned {
            write!(f, "evloop: {who} held the loop for {ms:.0} ms in all")
        } else {
            write!(
                f,
                "evloop: {who} has held the loop for {ms:.0} ms and still runs: no other \
                 task, timer or socket is served meanwhile. Move blocking work to \
                 spawn_blocking, or let long computations yield_now().await now and then"
            )
        }
    }
}

/// Where a slow-poll report goes: stderr, or a function given to the builder.
pub(crate) type Sink = Arc<dyn Fn(&SlowPoll) + Send + Sync>;

/// The poll in progress, as the watchdog sees it.
struct Current {
    /// What to report about it.
    poll: SlowPoll,
    /// When it started (real time: the alarm is about the loop's thread, not the clock).
    started: Instant,
    /// Whether it was reported already.
    reported: bool,
}

/// The poll in progress, and whether to stop watching.
#[derive(Default)]
struct Watched {
    /// The poll in progress, if any.
    current: Option<Current>,
    /// The runtime is gone: the watchdog ends.
    gone: bool,
}

/// What the executor and the watchdog share.
pub(crate) struct Watch {
    /// What the watchdog looks at.
    state: Mutex<Watched>,
    /// Wakes the watchdog when the runtime goes.
    gone: Condvar,
    /// How long a poll may hold the loop before it is reported.
    threshold: Duration,
    /// Where reports go.
    sink: Sink,
}

impl Watch {
    /// Starts the watchdog thread; the returned `Watch` is what the executor tells.
    pub(crate) fn start(threshold: Duration, sink: Sink) -> std::io::Result<Arc<Watch>> {
        let watch = Arc::new(Watch {
            state: Mutex::new(Watched::default()),
            gone: Condvar::new(),
            threshold,
            sink,
        });
        let watched = watch.clone();
        thread::Builder::new()
            .name("evloop-watchdog".into())
            .spawn(move || watched.run())?;
        Ok(watch)
    }

    /// A poll of task `task` starts.
    pub(crate) fn started(
        &self,
        task: u64,
        name: Option<String>,
        spawned_at: &'static Location<'static>,
    ) {
        let poll = SlowPoll {
            task,
            name,
            spawned_at,
            elapsed: Duration::ZERO,
            returned: false,
        };
        lock(&self.state).current = Some(Current {
            poll,
            started: Instant::now(),
            reported: false,
        });
    }

    /// The poll returned: if it was reported, report its total.
    pub(crate) fn finished(&self) {
        let finished = lock(&self.state).current.take();
        if let Some(Current {
            mut poll,
            started,
            reported: true,
        }) = finished
        {
            poll.elapsed = started.elapsed();
            poll.returned = true;
            (self.sink)(&poll);
        }
    }

    /// The runtime is gone: the watchdog thread ends.
    pub(crate) fn stop(&self) {
        lock(&self.state).gone = true;
        self.gone.notify_all();
    }

    /// The watchdog: reports a poll running longer than the threshold. It looks
    /// again when the poll it saw would pass the threshold, or a threshold later.
    fn run(&self) {
        let mut state = lock(&self.state);
        while !state.gone {
            let mut look_again = self.threshold;
            if let Some(poll) = state.current.as_mut().filter(|p| !p.reported) {
                let elapsed = poll.started.elapsed();
                if elapsed >= self.threshold {
                    poll.reported = true;
                    let mut report = poll.poll.clone();
                    report.elapsed = elapsed;
                    drop(state);
                    (self.sink)(&report);
                    state = lock(&self.state);
                    continue;
                }
                look_again = self.threshold - elapsed; // when this poll would be slow
            }
            state = self
                .gone
                .wait_timeout(state, look_again)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
    }
}

impl fmt::Debug for Watch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watch")
            .field("threshold", &self.threshold)
            .finish()
    }
}

//! The recording half of tracing: a bounded ring of what the loop did.
//!
//! Floor 0, so that every part of the loop can write to it without importing what
//! lies above: the executor records spawns, polls and wakes, the timers and the
//! reactor say what caused the wakes they make, the runtime records its waits. The
//! drawing half (`trace/mod.rs`, floor 3) turns a recording into a chart.
//!
//! Only the loop's thread records (a wake from another thread is recorded when
//! step 2 takes it in), so the ring is a plain `RefCell`. With tracing off, no
//! recorder exists and each place that would record pays one branch.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::panic::Location;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use super::watch::Watch;
use crate::context::MAIN;
use crate::replay::Replay;

/// What watches a runtime's loop, when anything does: the recording, the
/// slow-poll alarm, the record of a seeded schedule. A runtime with none of them
/// has none, and pays one branch a poll.
#[derive(Debug, Default)]
pub(crate) struct Observers {
    /// The recording, if tracing is on.
    pub(crate) recorder: Option<Rc<Recorder>>,
    /// The alarm's shared state, if the alarm is on.
    pub(crate) watch: Option<Arc<Watch>>,
    /// The record of the schedule, if a seed is set.
    pub(crate) replay: Option<Rc<Replay>>,
}

impl Observers {
    /// Runs one poll of task `task` (spawned at `location`, named as `name` says)
    /// under the observers' eyes: the recording notes when it ran, and that the
    /// wakes it makes are its doing; the alarm watches it run.
    pub(crate) fn poll<R>(
        &self,
        task: u64,
        name: impl FnOnce() -> Option<String>,
        location: &'static Location<'static>,
        poll: impl FnOnce() -> R,
    ) -> R {
        if let Some(watch) = &self.watch {
            watch.started(task, name(), location);
        }
        let result = match &self.recorder {
            Some(recorder) => {
                let start = recorder.now();
                let cause = if task == MAIN {
                    Cause::Main
                } else {
                    Cause::Task(task)
                };
                let result = recorder.because(cause, poll);
                let end = recorder.now();
                recorder.record(Event::Polled { task, start, end });
                result
            }
            None => poll(),
        };
        if let Some(watch) = &self.watch {
            watch.finished();
        }
        result
    }
}

/// How many events a recording keeps: the last 65,536 (48 bytes each, 3 MB). Older ones
/// are dropped as new ones come, so a long program never grows without end.
pub const CAPACITY: usize = 65_536;

/// What made a task ready to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// It was just spawned.
    Spawn,
    /// A timer it waited for fired.
    Timer,
    /// A socket (or another descriptor) it waited on became ready: its fd.
    Io(i32),
    /// Another task woke it, during its own poll: that task's id.
    Task(u64),
    /// `block_on`'s own future woke it.
    Main,
    /// It woke itself during its poll (`yield_now`, say).
    Itself,
    /// Another thread woke it.
    Thread,
    /// A blocking job's result arrived from the pool.
    Pool,
    /// It was aborted: it is ready so that the loop drops its future.
    Abort,
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Spawn => f.write_str("spawn"),
            Cause::Timer => f.write_str("a timer"),
            Cause::Io(fd) => write!(f, "I/O on fd {fd}"),
            Cause::Task(id) => write!(f, "task {id}"),
            Cause::Main => f.write_str("block_on's future"),
            Cause::Itself => f.write_str("itself (it yielded)"),
            Cause::Thread => f.write_str("another thread"),
            Cause::Pool => f.write_str("the blocking pool"),
            Cause::Abort => f.write_str("abort"),
        }
    }
}

/// One thing the loop did, as a [`Timeline`](super::Timeline) lists it. Times are
/// on the runtime's clock (virtual under virtual time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Task `task` was polled from `start` to `end`.
    #[allow(missing_docs)]
    Polled {
        task: u64,
        start: Instant,
        end: Instant,
    },
    /// Task `task` became ready at `at`, because of `cause`.
    #[allow(missing_docs)]
    Woken {
        task: u64,
        at: Instant,
        cause: Cause,
    },
    /// Task `task` ended at `at`.
    #[allow(missing_docs)]
    Ended { task: u64, at: Instant },
    /// The loop waited in the reactor from `start` to `end`; `events` I/O events
    /// (or a wake from another thread) ended the wait.
    #[allow(missing_docs)]
    Slept {
        start: Instant,
        end: Instant,
        events: usize,
    },
    /// A blocking job ran on pool thread `thread` (as the loop saw it: from its
    /// submission to its result's arrival).
    #[allow(missing_docs)]
    Job {
        thread: usize,
        start: Instant,
        end: Instant,
    },
}

/// A runtime's recording.
pub(crate) struct Recorder {
    /// The runtime's clock (virtual under virtual time).
    clock: Box<dyn Fn() -> Instant>,
    /// When recording began.
    pub(crate) start: Instant,
    /// The last [`CAPACITY`] events, oldest first.
    events: RefCell<VecDeque<Event>>,
    /// Each task's label (its name, or its spawn site), by id.
    labels: RefCell<HashMap<u64, String>>,
    /// What the loop is doing now, so that a wake knows its cause.
    cause: Cell<Cause>,
    /// Whether to print each wake as it happens (`EVLOOP_TRACE=wakes`).
    print_wakes: bool,
    /// How many events were ever recorded (the ring keeps the last ones).
    recorded: Cell<u64>,
}

impl Recorder {
    /// A new, empty recording on `clock`.
    pub(crate) fn new(clock: Box<dyn Fn() -> Instant>, print_wakes: bool) -> Recorder {
        let start = clock();
        Recorder {
            clock,
            start,
            events: RefCell::new(VecDeque::new()),
            labels: RefCell::new(HashMap::from([(MAIN, "block_on's future".to_string())])),
            cause: Cell::new(Cause::Spawn),
            print_wakes,
            recorded: Cell::new(0),
        }
    }

    /// The time on the runtime's clock.
    pub(crate) fn now(&self) -> Instant {
        (self.clock)()
    }

    /// Records `event`, dropping the oldest if the ring is full.
    pub(crate) fn record(&self, event: Event) {
        if let (true, Event::Woken { task, at, cause }) = (self.print_wakes, event) {
            let since = at.saturating_duration_since(self.start).as_secs_f64() * 1e3;
            let label = self.label(task);
            eprintln!("evloop {since:>10.3} ms  task {task} ({label}) woken by {cause}");
        }
        let mut events = self.events.borrow_mut();
        if events.len() == CAPACITY {
            events.pop_front();
        }
        events.push_back(event);
        self.recorded.set(self.recorded.get() + 1);
    }

    /// How many events were ever recorded: a mark for [`Recorder::events_since`].
    pub(crate) fn recorded(&self) -> u64 {
        self.recorded.get()
    }

    /// The events recorded since `mark` (those the ring still holds), oldest first.
    pub(crate) fn events_since(&self, mark: u64) -> Vec<Event> {
        let new = (self.recorded.get() - mark.min(self.recorded.get())) as usize;
        let events = self.events.borrow();
        let skip = events.len().saturating_sub(new);
        events.iter().skip(skip).copied().collect()
    }

    /// Notes task `id`'s label (at its spawn).
    pub(crate) fn label_task(&self, id: u64, label: String) {
        let mut labels = self.labels.borrow_mut();
        if labels.len() >= CAPACITY {
            // Tasks whose events all left the ring no longer need their labels.
            let events = self.events.borrow();
            let mut seen: Vec<u64> = events.iter().filter_map(Event::task).collect();
            seen.sort_unstable();
            labels.retain(|id, _| seen.binary_search(id).is_ok());
        }
        labels.insert(id, label);
    }

    /// Task `id`'s label, or its number if it has none.
    pub(crate) fn label(&self, id: u64) -> String {
        match self.labels.borrow().get(&id) {
            Some(label) => label.clone(),
            None => format!("task {id}"),
        }
    }

    /// Runs `f` with the cause of the wakes it makes set to `cause`.
    pub(crate) fn because<R>(&self, cause: Cause, f: impl FnOnce() -> R) -> R {
        let before = self.cause.replace(cause);
        let result = f();
        self.cause.set(before);
        result
    }

    /// The cause of a wake made now.
    pub(crate) fn cause(&self) -> Cause {
        self.cause.get()
    }

    /// A copy of the events recorded, oldest first.
    pub(crate) fn events(&self) -> Vec<Event> {
        self.events.borrow().iter().copied().collect()
    }

    /// How many events the ring holds now.
    pub(crate) fn len(&self) -> usize {
        self.events.borrow().len()
    }
}

impl Event {
    /// The task an event is about, if it is about one.
    pub fn task(&self) -> Option<u64> {
        match *self {
            Event::Polled { task, .. } | Event::Woken { task, .. } | Event::Ended { task, .. } => {
                Some(task)
            }
            Event::Slept { .. } | Event::Job { .. } => None,
        }
    }
}

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder")
            .field("events", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_costs_what_the_docs_say() {
        // CAPACITY's doc: 48 bytes an event, 3 MB for 65,536 of them.
        assert!(
            std::mem::size_of::<Event>() <= 48,
            "{}",
            std::mem::size_of::<Event>()
        );
    }

    #[test]
    fn a_full_ring_drops_its_oldest_event() {
        let clock = Instant::now();
        let recorder = Recorder::new(Box::new(move || clock), false);
        for task in 0..CAPACITY as u64 + 10 {
            recorder.record(Event::Ended { task, at: clock });
        }
        let events = recorder.events();
        assert_eq!(events.len(), CAPACITY);
        assert_eq!(events[0].task(), Some(10));
    }
}

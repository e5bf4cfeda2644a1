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
use std::collections::HashMap;
use std::fmt;
use std::panic::Location;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::ring::{Ring, CAPACITY};
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
    /// Whether a poll is timed (the recording is on) or watched (the alarm is):
    /// then it runs through [`Observers::poll`]. The schedule's record alone only
    /// notes each poll's end.
    pub(crate) fn times_polls(&self) -> bool {
        self.recorder.is_some() || self.watch.is_some()
    }

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
                // One clock read a poll: its start is the last poll's end, when
                // the two follow each other in one turn; its wakes take its start.
                let start = recorder.chain.take().unwrap_or_else(|| recorder.stamp());
                let cause = if task == MAIN {
                    Cause::Main
                } else {
                    Cause::Task(task)
                };
                let known = recorder.known.replace(Some(start));
                let result = recorder.because(cause, poll);
                recorder.known.set(known);
                let end = recorder.stamp();
                recorder.chain.set(Some(end));
                recorder.events.borrow_mut().push_poll(task, start, end);
                recorder.recorded.set(recorder.recorded.get() + 1);
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

/// Why step 4 waited as long as it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WaitWhy {
    /// Until the next timer's deadline (the alarm, or the virtual clock's jump).
    NextTimer,
    /// Until the `max_wait` the caller of `Runtime::turn` gave, sooner than any timer.
    MaxWait,
    /// No task ready and no timer: until I/O, or a wake from another thread.
    NothingReady,
}

impl fmt::Display for WaitWhy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WaitWhy::NextTimer => "the next timer",
            WaitWhy::MaxWait => "turn's max_wait",
            WaitWhy::NothingReady => "nothing ready: I/O or another thread",
        })
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
    /// Task `task` ended at `at`: its future returned, or (`panicked`) its last
    /// poll panicked.
    #[allow(missing_docs)]
    Ended {
        task: u64,
        at: Instant,
        panicked: bool,
    },
    /// The loop waited in the reactor from `start` to `end`; `events` I/O events
    /// (or a wake from another thread) ended the wait. It chose to wait up to
    /// `timeout` (`None`: until an event), for the reason `why`.
    #[allow(missing_docs)]
    Slept {
        start: Instant,
        end: Instant,
        events: usize,
        timeout: Option<Duration>,
        why: WaitWhy,
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

/// What a task is called in a recording: its name, or where it was spawned (kept
/// as the location, and spelled out only when the recording is read).
#[derive(Debug)]
pub(crate) enum Label {
    /// The name it was given.
    Name(Box<str>),
    /// Its spawn site.
    Site(&'static Location<'static>),
}

/// A runtime's recording. Its times are *stamps*: nanoseconds after it began, read
/// from the monotonic clock straight (or from the virtual clock), which costs less
/// than `Instant`'s arithmetic; they become `Instant`s when the events are read.
pub(crate) struct Recorder {
    /// The runtime's clock (virtual under virtual time).
    clock: Box<dyn Fn() -> Instant>,
    /// When recording began.
    pub(crate) start: Instant,
    /// For a real clock, the monotonic clock's nanoseconds at `start`: stamps are
    /// read from it directly. `None` for a virtual clock.
    raw_start: Option<u64>,
    /// The last [`CAPACITY`] events.
    events: RefCell<Ring>,
    /// Each task's label (its name, or its spawn site), by id.
    labels: RefCell<HashMap<u64, Label>>,
    /// What the loop is doing now, so that a wake knows its cause.
    cause: Cell<Cause>,
    /// Whether to print each wake as it happens (`EVLOOP_TRACE=wakes`).
    print_wakes: bool,
    /// How many events were ever recorded (the ring keeps the last ones).
    recorded: Cell<u64>,
    /// The time a wake recorded now may take as its own, without reading the
    /// clock: the start of the poll that is running, or of the batch of wakes
    /// (timers, sockets, remote wakes) being made.
    known: Cell<Option<u64>>,
    /// The end of the poll just recorded, if the next poll follows at once (in the
    /// same turn): its start.
    chain: Cell<Option<u64>>,
}

impl Recorder {
    /// A new, empty recording on `clock`, which is the real clock unless
    /// `virtual_time`.
    pub(crate) fn new(
        clock: Box<dyn Fn() -> Instant>,
        virtual_time: bool,
        print_wakes: bool,
    ) -> Recorder {
        let start = clock();
        Recorder {
            clock,
            start,
            raw_start: (!virtual_time).then(crate::sys::monotonic_nanos),
            events: RefCell::new(Ring::new(start)),
            labels: RefCell::new(HashMap::from([(
                MAIN,
                Label::Name("block_on's future".into()),
            )])),
            cause: Cell::new(Cause::Spawn),
            print_wakes,
            recorded: Cell::new(0),
            known: Cell::new(None),
            chain: Cell::new(None),
        }
    }

    /// The time on the runtime's clock.
    pub(crate) fn now(&self) -> Instant {
        self.instant(self.stamp())
    }

    /// The time on the runtime's clock, as a stamp.
    #[inline]
    fn stamp(&self) -> u64 {
        match self.raw_start {
            Some(raw_start) => crate::sys::monotonic_nanos().saturating_sub(raw_start),
            None => {
                let after = (self.clock)().saturating_duration_since(self.start);
                u64::try_from(after.as_nanos()).unwrap_or(u64::MAX)
            }
        }
    }

    /// A stamp as an instant.
    fn instant(&self, stamp: u64) -> Instant {
        self.start + std::time::Duration::from_nanos(stamp)
    }

    /// The stamp of something happening now: a known one, if a poll or a batch of
    /// wakes is under way, else the clock's.
    fn at(&self) -> u64 {
        self.known.get().unwrap_or_else(|| self.stamp())
    }

    /// Records a wake of `task` by `cause`, now — or, if `after_poll`, at the end
    /// of the poll just recorded (it woke itself, it ended), without reading the
    /// clock again.
    pub(crate) fn record_wake(&self, task: u64, cause: Cause, after_poll: bool) {
        let at = match after_poll {
            true => self.chain.get().unwrap_or_else(|| self.at()),
            false => self.at(),
        };
        if self.print_wakes {
            let since = at as f64 / 1e6;
            let label = self.label(task);
            eprintln!("evloop {since:>10.3} ms  task {task} ({label}) woken by {cause}");
        }
        self.events.borrow_mut().push_wake(task, at, cause);
        self.recorded.set(self.recorded.get() + 1);
    }

    /// Records that `task` ended, at the end of its last poll (which `panicked`,
    /// or returned).
    pub(crate) fn record_end(&self, task: u64, panicked: bool) {
        let at = self.chain.get().unwrap_or_else(|| self.at());
        self.record(Event::Ended {
            task,
            at: self.instant(at),
            panicked,
        });
    }

    /// A turn's step 3 begins: its first poll reads the clock afresh (the loop did
    /// other things since the last poll ended).
    pub(crate) fn break_chain(&self) {
        self.chain.set(None);
    }

    /// Records `event` (a wait, a job, an end: wakes and polls have their own, faster
    /// ways in), over the oldest if the ring is full.
    pub(crate) fn record(&self, event: Event) {
        self.events.borrow_mut().push(event);
        self.recorded.set(self.recorded.get() + 1);
    }

    /// How many events were ever recorded: a mark for [`Recorder::events_since`].
    pub(crate) fn recorded(&self) -> u64 {
        self.recorded.get()
    }

    /// The events recorded since `mark` (those the ring still holds), oldest first.
    pub(crate) fn events_since(&self, mark: u64) -> Vec<Event> {
        let new = self.recorded.get() - mark.min(self.recorded.get());
        self.events
            .borrow()
            .last(usize::try_from(new).unwrap_or(usize::MAX))
    }

    /// Notes task `id`'s label (at its spawn).
    pub(crate) fn label_task(&self, id: u64, label: Label) {
        let mut labels = self.labels.borrow_mut();
        if labels.len() >= 2 * CAPACITY {
            // Tasks whose events all left the ring no longer need their labels.
            let events = self.events.borrow().last(CAPACITY);
            let mut seen: Vec<u64> = events.iter().filter_map(Event::task).collect();
            seen.sort_unstable();
            labels.retain(|id, _| seen.binary_search(id).is_ok());
        }
        labels.insert(id, label);
    }

    /// Task `id`'s label, or its number if it has none.
    pub(crate) fn label(&self, id: u64) -> String {
        match self.labels.borrow().get(&id) {
            Some(Label::Name(name)) => name.to_string(),
            Some(Label::Site(site)) => format!("{}:{}", site.file(), site.line()),
            None => format!("task {id}"),
        }
    }

    /// Runs `f` with the cause of the wakes it makes set to `cause`.
    pub(crate) fn because<R>(&self, cause: Cause, f: impl FnOnce() -> R) -> R {
        let before = self.cause.replace(cause);
        // A batch of wakes outside a poll shares one clock read.
        let known = self.known.get();
        if known.is_none() {
            self.known.set(Some(self.stamp()));
        }
        let result = f();
        self.known.set(known);
        self.cause.set(before);
        result
    }

    /// The cause of a wake made now.
    pub(crate) fn cause(&self) -> Cause {
        self.cause.get()
    }

    /// A copy of the events recorded, oldest first.
    pub(crate) fn events(&self) -> Vec<Event> {
        self.events.borrow().last(CAPACITY)
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
    #[cfg_attr(
        miri,
        ignore = "a hundred thousand events; slow under Miri, and plain safe code"
    )]
    fn a_full_ring_drops_its_oldest_event() {
        let clock = Instant::now();
        let recorder = Recorder::new(Box::new(move || clock), true, false);
        for task in 0..CAPACITY as u64 + 10 {
            recorder.record(Event::Ended {
                task,
                at: clock,
                panicked: false,
            });
        }
        let events = recorder.events();
        assert_eq!(events.len(), CAPACITY);
        assert_eq!(events[0].task(), Some(10));
    }
}

//! The recording's ring: the last [`CAPACITY`] events, 32 bytes each.
//!
//! Floor 0, part of the recording. An [`Event`] as users see it is 48 bytes of
//! `Instant`s; in the ring it is a task id, two times in nanoseconds after the
//! recording began, and two small numbers — a fixed array written round and round,
//! so recording an event is a few stores, and 3 MB hold half as many events again.

use std::time::{Duration, Instant};

use super::record::{Cause, Event, WaitWhy};

/// How many events a recording keeps: the last 98,304 (32 bytes each, 3 MB). Older
/// ones are overwritten as new ones come, so a long program never grows without end.
pub const CAPACITY: usize = 98_304;

/// One event, compact.
#[derive(Clone, Copy)]
struct Entry {
    /// The task (or, for a wait, how many events ended it; for a job, its thread).
    who: u64,
    /// When it happened or began: nanoseconds after the recording began.
    at: u64,
    /// When it ended, for polls, waits and jobs; the waking task or the fd for a
    /// wake.
    extra: u64,
    /// Which kind of event.
    kind: Kind,
    /// For a wake, its cause's kind; for a wait, its reason; for an end, whether
    /// it panicked.
    cause: u8,
    /// For a wait, the timeout it chose, in microseconds (`u32::MAX`: none, or
    /// longer than 71 minutes).
    timeout: u32,
}

/// A wait's timeout as an entry keeps it.
fn timeout_code(timeout: Option<Duration>) -> u32 {
    timeout.map_or(u32::MAX, |t| {
        u32::try_from(t.as_micros()).unwrap_or(u32::MAX)
    })
}

/// A wait's reason as a small code, and back.
fn why_code(why: WaitWhy) -> u8 {
    match why {
        WaitWhy::NextTimer => 0,
        WaitWhy::MaxWait => 1,
        WaitWhy::NothingReady => 2,
    }
}

fn why_of(code: u8) -> WaitWhy {
    match code {
        0 => WaitWhy::NextTimer,
        1 => WaitWhy::MaxWait,
        _ => WaitWhy::NothingReady,
    }
}

/// The kinds of [`Event`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Polled,
    Woken,
    Ended,
    Slept,
    Job,
}

/// The last [`CAPACITY`] events.
pub(crate) struct Ring {
    /// When the recording began: time 0 of the entries.
    start: Instant,
    /// The entries, written round and round once full.
    entries: Vec<Entry>,
    /// Where the oldest entry is, once the ring is full.
    oldest: usize,
}

impl Ring {
    /// An empty ring whose times count from `start`.
    pub(crate) fn new(start: Instant) -> Ring {
        Ring {
            start,
            entries: Vec::new(),
            oldest: 0,
        }
    }

    /// How many events it holds.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Records `event`, over the oldest once full.
    pub(crate) fn push(&mut self, event: Event) {
        let entry = self.entry(event);
        self.push_entry(entry);
    }

    /// Records a poll of `task` from `start` to `end` (nanoseconds after the start).
    #[inline]
    pub(crate) fn push_poll(&mut self, task: u64, start: u64, end: u64) {
        self.push_entry(Entry {
            who: task,
            at: start,
            extra: end,
            kind: Kind::Polled,
            cause: 0,
            timeout: 0,
        });
    }

    /// Records a wake of `task` at `at` (nanoseconds after the start).
    #[inline]
    pub(crate) fn push_wake(&mut self, task: u64, at: u64, cause: Cause) {
        let (code, extra) = cause_code(cause);
        self.push_entry(Entry {
            who: task,
            at,
            extra,
            kind: Kind::Woken,
            cause: code,
            timeout: 0,
        });
    }

    /// Writes `entry` into the ring.
    #[inline]
    fn push_entry(&mut self, entry: Entry) {
        if self.entries.len() < CAPACITY {
            self.entries.push(entry);
        } else {
            self.entries[self.oldest] = entry;
            self.oldest = (self.oldest + 1) % CAPACITY;
        }
    }

    /// The last `n` events, oldest first.
    pub(crate) fn last(&self, n: usize) -> Vec<Event> {
        let len = self.entries.len();
        let n = n.min(len);
        (len - n..len)
            .map(|i| self.event(self.entries[(self.oldest + i) % len]))
            .collect()
    }

    /// Nanoseconds after the start.
    fn nanos(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.start).as_nanos()).unwrap_or(u64::MAX)
    }

    /// The instant `nanos` after the start.
    fn instant(&self, nanos: u64) -> Instant {
        self.start + Duration::from_nanos(nanos)
    }

    /// `event`, compact.
    fn entry(&self, event: Event) -> Entry {
        let (who, at, extra, kind, cause) = match event {
            Event::Polled { task, start, end } => {
                (task, self.nanos(start), self.nanos(end), Kind::Polled, 0)
            }
            Event::Woken { task, at, cause } => {
                let (code, extra) = cause_code(cause);
                (task, self.nanos(at), extra, Kind::Woken, code)
            }
            Event::Ended { task, at, panicked } => {
                (task, self.nanos(at), 0, Kind::Ended, u8::from(panicked))
            }
            Event::Slept {
                start,
                end,
                events,
                why,
                ..
            } => (
                events as u64,
                self.nanos(start),
                self.nanos(end),
                Kind::Slept,
                why_code(why),
            ),
            Event::Job { thread, start, end } => (
                thread as u64,
                self.nanos(start),
                self.nanos(end),
                Kind::Job,
                0,
            ),
        };
        let timeout = match event {
            Event::Slept { timeout, .. } => timeout_code(timeout),
            _ => 0,
        };
        Entry {
            who,
            at,
            extra,
            kind,
            cause,
            timeout,
        }
    }

    /// The event `entry` stands for.
    fn event(&self, entry: Entry) -> Event {
        let (at, end) = (self.instant(entry.at), self.instant(entry.extra));
        match entry.kind {
            Kind::Polled => Event::Polled {
                task: entry.who,
                start: at,
                end,
            },
            Kind::Woken => Event::Woken {
                task: entry.who,
                at,
                cause: cause_of(entry.cause, entry.extra),
            },
            Kind::Ended => Event::Ended {
                task: entry.who,
                at,
                panicked: entry.cause != 0,
            },
            Kind::Slept => Event::Slept {
                start: at,
                end,
                events: entry.who as usize,
                timeout: (entry.timeout != u32::MAX)
                    .then(|| Duration::from_micros(entry.timeout.into())),
                why: why_of(entry.cause),
            },
            Kind::Job => Event::Job {
                thread: entry.who as usize,
                start: at,
                end,
            },
        }
    }
}

/// A cause as a small code and, for the causes that carry one, a number.
fn cause_code(cause: Cause) -> (u8, u64) {
    match cause {
        Cause::Spawn => (0, 0),
        Cause::Timer => (1, 0),
        Cause::Io(fd) => (2, fd as u32 as u64),
        Cause::Task(task) => (3, task),
        Cause::Main => (4, 0),
        Cause::Itself => (5, 0),
        Cause::Thread => (6, 0),
        Cause::Pool => (7, 0),
        Cause::Abort => (8, 0),
    }
}

/// The cause `code` and `extra` stand for.
fn cause_of(code: u8, extra: u64) -> Cause {
    match code {
        0 => Cause::Spawn,
        1 => Cause::Timer,
        2 => Cause::Io(extra as u32 as i32),
        3 => Cause::Task(extra),
        4 => Cause::Main,
        5 => Cause::Itself,
        6 => Cause::Thread,
        7 => Cause::Pool,
        _ => Cause::Abort,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_32_bytes_and_the_ring_3_megabytes() {
        assert_eq!(std::mem::size_of::<Entry>(), 32);
        assert!(CAPACITY * std::mem::size_of::<Entry>() <= 3 << 20);
    }

    #[test]
    fn every_event_comes_back_as_it_went_in() {
        let start = Instant::now();
        let t = |us| start + Duration::from_micros(us);
        let events = [
            Event::Polled {
                task: 7,
                start: t(1),
                end: t(3),
            },
            Event::Woken {
                task: 7,
                at: t(4),
                cause: Cause::Io(-1),
            },
            Event::Woken {
                task: 8,
                at: t(5),
                cause: Cause::Task(u64::MAX),
            },
            Event::Ended {
                task: 8,
                at: t(6),
                panicked: true,
            },
            Event::Slept {
                start: t(7),
                end: t(9),
                events: 3,
                timeout: Some(Duration::from_micros(2)),
                why: WaitWhy::MaxWait,
            },
            Event::Slept {
                start: t(9),
                end: t(11),
                events: 0,
                timeout: None,
                why: WaitWhy::NothingReady,
            },
            Event::Job {
                thread: 2,
                start: t(10),
                end: t(12),
            },
        ];
        let mut ring = Ring::new(start);
        for event in events {
            ring.push(event);
        }
        assert_eq!(ring.last(10), events);
        assert_eq!(ring.last(3), events[4..]);
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "a hundred thousand pushes; slow under Miri, and plain safe code"
    )]
    fn a_full_ring_overwrites_its_oldest() {
        let start = Instant::now();
        let mut ring = Ring::new(start);
        for task in 0..CAPACITY as u64 + 10 {
            ring.push(Event::Ended {
                task,
                at: start,
                panicked: false,
            });
        }
        let events = ring.last(CAPACITY);
        assert_eq!(events.len(), CAPACITY);
        assert_eq!(events[0].task(), Some(10));
        assert_eq!(events[CAPACITY - 1].task(), Some(CAPACITY as u64 + 9));
    }
}

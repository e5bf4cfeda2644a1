//! Timer storage: which wakers to wake, and when. Step 1 of the loop fires them.
//!
//! Floor 1 (std only). The timers are a `BTreeMap` ordered by `(deadline, seq)`:
//!
//! - the earliest deadline, which step 4 needs to decide how long to sleep, is the
//!   map's first key;
//! - firing pops keys from the front until one lies in the future;
//! - a `Sleep` dropped before it fires removes its own key, so nothing is left
//!   behind: a million created-and-dropped sleeps use no memory afterwards. (A
//!   binary heap cannot remove from the middle; it would keep dead entries until
//!   their deadlines pass.)
//!
//! Every operation is O(log n), with exact deadlines (no wheel slots to round to):
//! a key is the deadline in nanoseconds after the timers were made, and a number.
//! `seq` tells apart timers with equal deadlines and makes them fire in the order
//! they were set. A deadline more than 584 years after that (past `u64`'s
//! nanoseconds — only a virtual clock gets there) waits in a small list of its
//! own with its exact `Instant`, and fires at its time, after every nearer one.

use std::cell::{Cell, OnceCell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::task::Waker;
use std::time::{Duration, Instant};

use super::clock::Clock;
use crate::replay::{Rng, Stream};
use crate::trace::record::{Cause, Recorder};

/// How far after the earliest deadline the alarm may ring to serve the timers
/// due in between with one wake. Well inside the promise that a timer fires
/// within 0.1 ms; a timer alone is not delayed at all.
pub(crate) const COALESCE: Duration = Duration::from_micros(60);

/// A key's `at` for a deadline too far off to count in nanoseconds.
const FAR: u64 = u64::MAX;

/// Names one registered timer. 16 bytes: the map moves entries about as it
/// inserts, so a small key (with the 16-byte waker, a 32-byte entry rather than
/// 40) is measurably cheaper with thousands of timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct TimerKey {
    /// When the timer fires: nanoseconds after the timers' `origin`.
    at: u64,
    /// Tells apart timers with the same deadline.
    seq: u64,
}

/// The timers of one runtime, and its clock.
#[derive(Debug)]
pub(crate) struct Timers {
    /// The clock the deadlines are measured on.
    clock: Clock,
    /// The instant keys count from: the clock's time when the timers were made.
    origin: Instant,
    /// Registered timers, earliest first, each with the waker to wake.
    entries: RefCell<BTreeMap<TimerKey, Waker>>,
    /// Timers too far off for a key's nanoseconds, by `seq`, with their exact
    /// deadlines. (Their keys' `at` is `FAR`.)
    far: RefCell<BTreeMap<u64, (Instant, Waker)>>,
    /// Whether `far` holds any timer: read each turn, so no borrow is needed.
    any_far: Cell<bool>,
    /// The next `seq` to hand out.
    next_seq: Cell<u64>,
    /// Scratch space for `fire_due`, kept to avoid an allocation per turn.
    due: RefCell<Vec<Waker>>,
    /// The clock's time when `fire_due` last looked: every deadline up to it has
    /// passed, which a sleep can check without reading the clock.
    fired_up_to: Cell<Instant>,
    /// The recording, if tracing is on: the wakes `fire_due` makes are the timers'.
    recorder: OnceCell<Rc<Recorder>>,
    /// With a seed: shuffles the timers that fall due in the same turn.
    shuffle: Option<RefCell<Rng>>,
    /// The runtime these timers belong to (its executor's id; 0 until told).
    owner: Cell<u32>,
}

impl Timers {
    /// No timers, on a real or virtual clock; with a seed, timers due together
    /// fire in an order drawn from it.
    pub(crate) fn new(virtual_time: bool, seed: Option<u64>) -> Timers {
        let clock = Clock::new(virtual_time);
        Timers {
            fired_up_to: Cell::new(clock.now()),
            origin: clock.now(),
            clock,
            entries: RefCell::new(BTreeMap::new()),
            far: RefCell::new(BTreeMap::new()),
            any_far: Cell::new(false),
            next_seq: Cell::new(0),
            due: RefCell::new(Vec::new()),
            recorder: OnceCell::new(),
            shuffle: seed.map(|seed| RefCell::new(Rng::new(seed, Stream::Timers))),
            owner: Cell::new(0),
        }
    }

    /// The runtime these timers belong to is `owner` (its executor's id).
    pub(crate) fn set_owner(&self, owner: u32) {
        self.owner.set(owner);
    }

    /// The runtime these timers belong to.
    pub(crate) fn owner(&self) -> u32 {
        self.owner.get()
    }

    /// Tracing is on: say so to the recording at each wake.
    pub(crate) fn observe(&self, recorder: Rc<Recorder>) {
        let _ = self.recorder.set(recorder);
    }

    /// The clock deadlines are measured on.
    pub(crate) fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Registers a timer that wakes `waker` at `deadline`.
    pub(crate) fn insert(&self, deadline: Instant, waker: Waker) -> TimerKey {
        let seq = self.next_seq.get();
        self.next_seq.set(seq + 1);
        let key = TimerKey {
            at: self.nanos(deadline),
            seq,
        };
        if key.at == FAR {
            self.far.borrow_mut().insert(seq, (deadline, waker));
            self.any_far.set(true);
        } else {
            self.entries.borrow_mut().insert(key, waker);
        }
        key
    }

    /// Replaces the waker of a registered timer, unless it is the same one.
    /// Returns false if the timer is no longer registered (it fired).
    pub(crate) fn update(&self, key: TimerKey, waker: &Waker) -> bool {
        if key.at == FAR {
            return self.update_far(key.seq, waker);
        }
        let mut entries = self.entries.borrow_mut();
        match entries.get_mut(&key) {
            Some(current) => {
                if !current.will_wake(waker) {
                    let old = std::mem::replace(current, waker.clone());
                    drop(entries);
                    drop(old);
                }
                true
            }
            None => false,
        }
    }

    /// [`Timers::update`] for a far timer.
    #[cold]
    fn update_far(&self, seq: u64, waker: &Waker) -> bool {
        let mut far = self.far.borrow_mut();
        let Some((_, current)) = far.get_mut(&seq) else {
            return false;
        };
        let old = (!current.will_wake(waker)).then(|| std::mem::replace(current, waker.clone()));
        drop(far);
        drop(old);
        true
    }

    /// Removes a timer, if it is still registered.
    pub(crate) fn remove(&self, key: TimerKey) {
        if key.at == FAR {
            let mut far = self.far.borrow_mut();
            let removed = far.remove(&key.seq);
            self.any_far.set(!far.is_empty());
            drop(far);
            return drop(removed);
        }
        let removed = self.entries.borrow_mut().remove(&key);
        drop(removed);
    }

    /// Whether `deadline` had passed when step 1 last fired timers (it may have
    /// passed since, too: only `true` is sure).
    pub(crate) fn surely_passed(&self, deadline: Instant) -> bool {
        deadline <= self.fired_up_to.get()
    }

    /// The earliest deadline of any registered timer.
    #[inline]
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let near = self
            .entries
            .borrow()
            .first_key_value()
            .map(|(key, _)| key.at);
        match near {
            Some(at) => Some(self.instant(at)),
            None if self.any_far.get() => self.next_far_deadline(),
            None => None,
        }
    }

    /// The earliest far deadline.
    #[cold]
    fn next_far_deadline(&self) -> Option<Instant> {
        self.far.borrow().values().map(|(at, _)| *at).min()
    }

    /// When the alarm should ring for timers whose earliest deadline is `first`:
    /// at the latest deadline no more than [`COALESCE`] after it, so that one wake
    /// serves every timer in that window (each at most `COALESCE` late) instead of
    /// one alarm — a `timerfd_settime` and a wake — per timer.
    pub(crate) fn ring_at(&self, first: Instant) -> Instant {
        let Some(window_end) = first.checked_add(COALESCE) else {
            return first;
        };
        let last = TimerKey {
            at: self.nanos(window_end),
            seq: u64::MAX,
        };
        let entries = self.entries.borrow();
        let latest = entries.range(..=last).next_back();
        latest.map_or(first, |(key, _)| self.instant(key.at).max(first))
    }

    /// `deadline` as a key's `at`: nanoseconds after `origin` (0 for one before
    /// it, which has passed anyway; `FAR` for one too far off to count so).
    fn nanos(&self, deadline: Instant) -> u64 {
        let after = deadline.saturating_duration_since(self.origin).as_nanos();
        u64::try_from(after).unwrap_or(FAR) // at FAR itself: far too, which is exact
    }

    /// A key's `at` as an instant.
    fn instant(&self, at: u64) -> Instant {
        self.origin + Duration::from_nanos(at)
    }

    /// Moves the far timers due by `now` onto `due`, in deadline order.
    #[cold]
    fn take_far_due(&self, now: Instant, due: &mut Vec<Waker>) {
        let mut far = self.far.borrow_mut();
        let mut fired: Vec<(Instant, u64)> = far
            .iter()
            .filter(|(_, (at, _))| *at <= now)
            .map(|(seq, (at, _))| (*at, *seq))
            .collect();
        fired.sort_unstable();
        due.extend(
            fired
                .into_iter()
                .filter_map(|(_, seq)| far.remove(&seq).map(|(_, w)| w)),
        );
        self.any_far.set(!far.is_empty());
    }

    /// How many timers are registered.
    pub(crate) fn len(&self) -> usize {
        self.entries.borrow().len() + self.far.borrow().len()
    }

    /// Step 1: removes every timer whose deadline has passed and wakes it, in
    /// deadline order (with a seed, in an order drawn from it). Returns how many
    /// fired.
    pub(crate) fn fire_due(&self) -> usize {
        if self.entries.borrow().is_empty() && !self.any_far.get() {
            return 0; // no clock read for a loop without timers
        }
        let now = self.clock.now();
        self.fired_up_to.set(now);
        let mut due = self.due.take();
        {
            let at = self.nanos(now);
            let mut entries = self.entries.borrow_mut();
            while let Some(entry) = entries.first_entry() {
                if entry.key().at > at {
                    break;
                }
                due.push(entry.remove());
            }
        }
        if self.any_far.get() {
            self.take_far_due(now, &mut due);
        }
        let fired = due.len();
        if let Some(rng) = &self.shuffle {
            rng.borrow_mut().shuffle(&mut due);
        }
        // Wake with no borrow held: a waker may run code that sets a new timer.
        let mut wake_all = || due.drain(..).for_each(Waker::wake);
        match self.recorder.get() {
            Some(recorder) => recorder.because(Cause::Timer, wake_all),
            None => wake_all(),
        }
        *self.due.borrow_mut() = due;
        fired
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    /// A waker that counts its wakes.
    struct Counter(AtomicUsize);
    impl futures_task::ArcWake for Counter {
        fn wake_by_ref(arc_self: &Arc<Self>) {
            arc_self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn fire_due_wakes_only_passed_deadlines_and_removes_them() {
        let timers = Timers::new(true, None);
        let counter = Arc::new(Counter(AtomicUsize::new(0)));
        let waker = futures_task::waker(counter.clone());
        let start = timers.clock().now();
        timers.insert(start + Duration::from_secs(2), waker.clone());
        let first = timers.insert(start + Duration::from_secs(1), waker.clone());
        assert_eq!(timers.next_deadline(), Some(start + Duration::from_secs(1)));

        assert_eq!(timers.fire_due(), 0);
        timers.clock().advance_to(start + Duration::from_secs(1));
        assert_eq!(timers.fire_due(), 1);
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        assert!(!timers.update(first, &waker), "a fired timer is gone");
        assert_eq!(timers.len(), 1);
    }

    #[test]
    fn removed_timers_leave_nothing_behind() {
        let timers = Timers::new(true, None);
        let waker = futures_task::noop_waker();
        let start = timers.clock().now();
        for i in 0..1000 {
            let key = timers.insert(start + Duration::from_secs(i), waker.clone());
            timers.remove(key);
        }
        assert_eq!(timers.len(), 0);
        assert_eq!(timers.next_deadline(), None);
    }
}

//! Timer storage: which wakers to wake, and when. Step 1 of the loop fires them.
//!
//! Floor 1 (std only). The timers wait in a hierarchical timing wheel
//! (`wheel.rs`, which draws it): arming and cancelling are O(1) — a slot found by
//! bit arithmetic, an entry linked into its list, a cancelled one marked — where
//! a `BTreeMap` costs O(log n). A cancelled entry is freed soon after (when its
//! slot is reached, or by a sweep once the cancelled outnumber twice the armed by
//! 1,024), so a million created-and-dropped sleeps leave next to nothing behind.
//! Deadlines stay exact: the earliest one, which step 4 arms the alarm for, is the
//! earliest entry itself, not its slot's boundary, and step 1 fires only entries
//! whose deadline has passed, in deadline order (equal deadlines in the order they
//! were set).
//!
//! A deadline is kept as nanoseconds after the timers were made. One more than
//! 584 years after that (past `u64`'s nanoseconds — only a virtual clock gets
//! there) waits in a small list of its own with its exact `Instant`, and fires at
//! its time, after every nearer one.

use std::cell::{Cell, OnceCell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::task::Waker;
use std::time::{Duration, Instant};

use super::clock::Clock;
use super::wheel::{Wheel, WheelKey};
use crate::replay::{Rng, Stream};
use crate::trace::record::{Cause, Recorder};

/// How far after the earliest deadline the alarm may ring to serve the timers
/// due in between with one wake. Well inside the promise that a timer fires
/// within 0.1 ms; a timer alone is not delayed at all.
pub(crate) const COALESCE: Duration = Duration::from_micros(60);

/// Nanoseconds for a deadline too far off to count in nanoseconds.
const FAR: u64 = u64::MAX;

/// Names one registered timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TimerKey {
    /// A timer in the wheel.
    Near(WheelKey),
    /// A timer too far off for the wheel's nanoseconds, by its number.
    Far(u64),
}

/// The timers of one runtime, and its clock.
#[derive(Debug)]
pub(crate) struct Timers {
    /// The clock the deadlines are measured on.
    clock: Clock,
    /// The instant keys count from: the clock's time when the timers were made.
    origin: Instant,
    /// The timers, each with the waker to wake.
    wheel: RefCell<Wheel>,
    /// Timers too far off for nanoseconds, by number, with their exact deadlines.
    far: RefCell<BTreeMap<u64, (Instant, Waker)>>,
    /// Whether `far` holds any timer: read each turn, so no borrow is needed.
    any_far: Cell<bool>,
    /// The next far timer's number.
    next_far: Cell<u64>,
    /// Scratch space for `fire_due`, kept to avoid allocations per turn: the due
    /// timers with their deadlines and order, then their wakers alone.
    due_keyed: RefCell<Vec<(u64, u64, Waker)>>,
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
            wheel: RefCell::new(Wheel::new()),
            far: RefCell::new(BTreeMap::new()),
            any_far: Cell::new(false),
            next_far: Cell::new(0),
            due_keyed: RefCell::new(Vec::new()),
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

    /// Registers a timer that wakes `waker` at `deadline`. O(1).
    pub(crate) fn insert(&self, deadline: Instant, waker: Waker) -> TimerKey {
        let at = self.nanos(deadline);
        if at == FAR {
            let number = self.next_far.get();
            self.next_far.set(number + 1);
            self.far.borrow_mut().insert(number, (deadline, waker));
            self.any_far.set(true);
            return TimerKey::Far(number);
        }
        TimerKey::Near(self.wheel.borrow_mut().insert(at, waker))
    }

    /// Whether the timer `key` names is still registered (false: it fired). If it
    /// is, it wakes `waker` from now on.
    pub(crate) fn still_registered(&self, key: TimerKey, waker: &Waker) -> bool {
        let replaced = match key {
            TimerKey::Near(key) => self.wheel.borrow_mut().still_armed(key, waker),
            TimerKey::Far(number) => self.still_registered_far(number, waker),
        };
        // The replaced waker is dropped with no borrow held: dropping it may drop
        // a task, whose own sleeps then come back here.
        replaced.is_some()
    }

    /// [`Timers::still_registered`] for a far timer.
    #[cold]
    fn still_registered_far(&self, number: u64, waker: &Waker) -> Option<Option<Waker>> {
        let mut far = self.far.borrow_mut();
        let (_, current) = far.get_mut(&number)?;
        Some((!current.will_wake(waker)).then(|| std::mem::replace(current, waker.clone())))
    }

    /// Removes a timer, if it is still registered. O(1).
    pub(crate) fn remove(&self, key: TimerKey) {
        match key {
            TimerKey::Near(key) => {
                let removed = self.wheel.borrow_mut().remove(key);
                drop(removed); // with no borrow held: it may drop a task
            }
            TimerKey::Far(number) => {
                let mut far = self.far.borrow_mut();
                let removed = far.remove(&number);
                self.any_far.set(!far.is_empty());
                drop(far);
                drop(removed);
            }
        }
    }

    /// Gives back the memory a burst of timers grew, once few are left (the loop
    /// calls it when it is about to sleep).
    pub(crate) fn give_back_room(&self) {
        self.wheel.borrow_mut().give_back_room();
    }

    /// Whether `deadline` had passed when step 1 last fired timers (it may have
    /// passed since, too: only `true` is sure).
    pub(crate) fn surely_passed(&self, deadline: Instant) -> bool {
        deadline <= self.fired_up_to.get()
    }

    /// The earliest deadline of any registered timer, exactly.
    #[inline]
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        match self.wheel.borrow_mut().earliest() {
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
        let latest = self.wheel.borrow().latest_soon(self.nanos(window_end));
        latest.map_or(first, |at| self.instant(at).max(first))
    }

    /// `deadline` as nanoseconds after `origin` (0 for one before it, which has
    /// passed anyway; `FAR` for one too far off to count so).
    #[inline]
    fn nanos(&self, deadline: Instant) -> u64 {
        let Some(after) = deadline.checked_duration_since(self.origin) else {
            return 0;
        };
        // In u64 arithmetic, not `as_nanos`'s u128: a fifth of an arm's cost.
        (after.as_secs().checked_mul(1_000_000_000))
            .and_then(|nanos| nanos.checked_add(u64::from(after.subsec_nanos())))
            .unwrap_or(FAR) // at FAR itself: far too, which is exact
    }

    /// Nanoseconds after `origin` as an instant.
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
        self.wheel.borrow().len() + self.far.borrow().len()
    }

    /// Step 1: removes every timer whose deadline has passed and wakes it, in
    /// deadline order (with a seed, in an order drawn from it). Returns how many
    /// fired.
    pub(crate) fn fire_due(&self) -> usize {
        if self.wheel.borrow().len() == 0 && !self.any_far.get() {
            return 0; // no clock read for a loop without timers
        }
        let now = self.clock.now();
        self.fired_up_to.set(now);
        let mut due = self.due.take();
        {
            let mut keyed = self.due_keyed.borrow_mut();
            self.wheel.borrow_mut().advance(self.nanos(now), &mut keyed);
            keyed.sort_unstable_by_key(|&(at, seq, _)| (at, seq));
            due.extend(keyed.drain(..).map(|(_, _, waker)| waker));
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
        assert!(
            !timers.still_registered(first, &waker),
            "a fired timer is gone"
        );
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

//! What this thread is driving: one record, set and cleared by one guard; and the
//! cooperative budget of the poll in progress.
//!
//! Floor 0. A thread is *driving* a runtime while it is inside `Runtime::block_on`,
//! `Runtime::turn` or `Runtime::run_until_stalled`. Everything that needs "the
//! current runtime" reads the one record kept here: `evloop::spawn` and a waker
//! woken on the loop's thread (the executor, floor 1), `sleep` and the sockets
//! (the runtime's timers and reactor, floor 2), the checks that refuse a loop
//! inside a loop, and the blocking methods of `sync`, which must not park the
//! loop's own thread.
//!
//! The record holds the executor and the runtime's resources *type-erased*
//! (`Rc<dyn Any>`), as tokio's tasks reach their scheduler through a trait: this
//! floor names nothing above it, and each floor above takes out the part it owns.
//!
//! The **budget** is how a runtime defends the loop against a task that never
//! meets a pending future (an accept loop that keeps failing with `EMFILE`, a
//! receive loop on a channel that is never empty): each poll of a task may complete
//! [`BUDGET`] operations on evloop's own resources; after that, they say `Pending`
//! and wake the task, so it goes to the back of the run queue and the rest of the
//! loop runs. tokio does the same, with the same number.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::task::{Context, Poll};

/// Operations on evloop's resources one poll may complete before they make the
/// task yield: socket reads, writes and accepts, channel sends and receives,
/// timers, joins, semaphore and mutex acquires, event waits. tokio's figure.
pub(crate) const BUDGET: u8 = 128;

/// The runtime a thread drives, as the floors below the runtime see it.
pub(crate) struct Driving {
    /// Which runtime: its executor's id, unique in the process (never 0).
    pub(crate) id: u32,
    /// The runtime's executor (the task layer takes it out).
    pub(crate) executor: Rc<dyn Any>,
    /// The runtime's reactor, timers and blocking pool (the runtime takes them out).
    pub(crate) resources: Rc<dyn Any>,
}

/// The id the trace and the slow-poll alarm give `block_on`'s own future, which
/// is not a task but is polled like one (task ids start at 1). Here, below both,
/// so that neither reaches into the other for it.
pub const MAIN: u64 = 0;

thread_local! {
    /// The runtime this thread is driving, if any.
    static CURRENT: RefCell<Option<Driving>> = const { RefCell::new(None) };
    /// What is left of the budget of the poll in progress; `None` outside a poll
    /// that evloop started (no limit then, so `sync` works under any executor).
    static LEFT: Cell<Option<u8>> = const { Cell::new(None) };
}

/// Marks this thread as driving `runtime` until the guard drops; `None` if it
/// already drives one (one thread cannot run two loops at once).
pub(crate) fn enter(runtime: Driving) -> Option<Guard> {
    CURRENT.with(|current| {
        let mut current = current.borrow_mut();
        if current.is_some() {
            return None;
        }
        *current = Some(runtime);
        Some(Guard { previous: None })
    })
}

/// Makes `runtime` current until the guard drops, whatever was current before,
/// which the guard then puts back. For a runtime being dropped: the destructors of
/// its tasks may spawn or sleep, and must find it, even inside another loop.
pub(crate) fn enter_for_shutdown(runtime: Driving) -> Guard {
    let previous = CURRENT.with(|current| current.replace(Some(runtime)));
    Guard { previous }
}

/// Proof that this thread drives a runtime; puts back what was current before.
pub(crate) struct Guard {
    /// The record the guard replaced.
    previous: Option<Driving>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // The replaced record is dropped after the borrow ends: dropping the last
        // `Rc` of a runtime's parts may run code that looks here.
        let ours = CURRENT.try_with(|current| current.replace(previous));
        drop(ours);
    }
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("context::Guard")
    }
}

/// Whether this thread is driving a runtime ("is a loop running here?").
pub(crate) fn is_driving() -> bool {
    CURRENT
        .try_with(|current| current.borrow().is_some())
        .unwrap_or(false)
}

/// The id of the runtime this thread drives; 0 if none. Cheap: a wake asks it to
/// know whether it is on its task's own loop.
#[inline]
pub(crate) fn driving_id() -> u32 {
    CURRENT
        .try_with(|current| current.borrow().as_ref().map_or(0, |d| d.id))
        .unwrap_or(0)
}

/// Panics if this thread is driving a runtime other than `owner` (0: none): a
/// future of runtime `owner` — `what` — awaited inside another runtime's loop on
/// this thread would wait for ever, since nothing drives `owner` meanwhile. (Polled
/// outside any loop, by an embedder between its `turn`s, it is fine.)
#[track_caller]
pub(crate) fn check_driven_by(owner: u32, what: &str) {
    let current = driving_id();
    if current != 0 && current != owner {
        panic!(
            "evloop: {what} of runtime #{owner} was awaited inside runtime #{current}'s loop, \
             on the same thread: runtime #{owner} does not run meanwhile, so it would wait \
             for ever. Await it where runtime #{owner} runs (its block_on, or a task spawned \
             on it), or hand the work to runtime #{owner} through a Handle from another thread"
        );
    }
}

/// The part of the current record that `part` picks, as a `T`, if this thread
/// drives a runtime.
#[inline]
pub(crate) fn current<T: 'static>(part: fn(&Driving) -> &Rc<dyn Any>) -> Option<Rc<T>> {
    let any = CURRENT
        .try_with(|current| current.borrow().as_ref().map(|d| part(d).clone()))
        .ok()??;
    any.downcast().ok()
}

/// Runs `f` on the part of the current record that `part` picks, as a `T`, if this
/// thread drives a runtime. `f` must not enter or leave a runtime.
#[inline]
pub(crate) fn with_current<T: 'static, R>(
    part: fn(&Driving) -> &Rc<dyn Any>,
    f: impl FnOnce(&T) -> R,
) -> Option<R> {
    CURRENT
        .try_with(|current| {
            let current = current.borrow();
            current.as_ref().and_then(|d| part(d).downcast_ref()).map(f)
        })
        .ok()?
}

thread_local! {
    /// Which of its pool's threads this is, if it is a blocking pool's (its wakes
    /// and its jobs say so in a trace).
    static POOL_THREAD: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Marks this thread as its blocking pool's thread number `index`, for life.
pub(crate) fn mark_pool_thread(index: usize) {
    POOL_THREAD.with(|pool| pool.set(Some(index)));
}

/// Which of its pool's threads this is, if it is a blocking pool's.
pub(crate) fn pool_thread() -> Option<usize> {
    POOL_THREAD.try_with(Cell::get).ok().flatten()
}

/// Runs one poll with a fresh budget, and puts back the budget of whatever poll
/// it is nested in (none, usually) when it returns or unwinds. One thread-local
/// lookup a poll: the guard keeps the cell it found.
#[inline(always)] // measured: out of line, the lookup cost 5 instructions a poll more
pub(crate) fn with_budget<R>(poll: impl FnOnce() -> R) -> R {
    /// Puts the outer budget back into the cell, also when `poll` panics.
    struct Restore<'a>(&'a Cell<Option<u8>>, Option<u8>);
    impl Drop for Restore<'_> {
        fn drop(&mut self) {
            self.0.set(self.1);
        }
    }
    LEFT.with(|left| {
        let _restore = Restore(left, left.replace(Some(BUDGET)));
        poll()
    })
}

/// An operation on one of evloop's resources, kept within the budget: if the
/// budget is spent, the task is woken and `Pending` returned, so that it yields;
/// otherwise `op` runs, and a `Ready` result spends one unit.
pub(crate) fn budgeted<T>(
    cx: &mut Context<'_>,
    op: impl FnOnce(&mut Context<'_>) -> Poll<T>,
) -> Poll<T> {
    let left = LEFT.with(Cell::get);
    if left == Some(0) {
        cx.waker().wake_by_ref();
        return Poll::Pending;
    }
    let result = op(cx);
    if let (Some(left), Poll::Ready(_)) = (left, &result) {
        LEFT.with(|cell| cell.set(Some(left - 1)));
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Driving {
        Driving {
            id: 7,
            executor: Rc::new(1u8),
            resources: Rc::new(2u16),
        }
    }

    #[test]
    fn driving_is_exclusive_and_cleared_on_drop() {
        assert!(!is_driving());
        let guard = enter(record()).expect("first entry");
        assert!(is_driving());
        assert!(enter(record()).is_none());
        assert_eq!(current::<u8>(|d| &d.executor).as_deref(), Some(&1));
        assert_eq!(driving_id(), 7);
        assert_eq!(current::<u16>(|d| &d.resources).as_deref(), Some(&2));
        drop(guard);
        assert!(!is_driving());
    }

    #[test]
    fn a_spent_budget_makes_operations_yield_until_the_next_poll() {
        let waker = futures_task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let ready = with_budget(|| {
            (0..200)
                .filter(|_| budgeted(&mut cx, |_| Poll::Ready(())).is_ready())
                .count()
        });
        assert_eq!(ready, usize::from(BUDGET));
        assert!(
            budgeted(&mut cx, |_| Poll::Ready(())).is_ready(),
            "no limit outside"
        );
    }
}

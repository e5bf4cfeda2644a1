//! Tasks spawned from other threads, and the [`RemoteHandle`] that waits for them.
//!
//! Floor 1. `Handle::spawn` wraps the future so that its result lands in a shared,
//! mutex-guarded slot, then sends it through the injection queue. The wrapper owns a
//! guard that settles the slot as cancelled if the task is dropped before it
//! finishes — whether the runtime drops it, it never reaches the runtime at all, or
//! `abort` stops it — so a `RemoteHandle` is never left waiting forever.

use std::fmt;
use std::future::{poll_fn, Future};
use std::panic::{self, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use super::join::JoinError;
use super::waker::RemoteSpawn;
use super::{SendTaskFuture, TaskMeta};

/// The state a remote task and its handle share.
struct Slot<T> {
    /// The mutable part.
    state: Mutex<State<T>>,
    /// Signalled when the outcome arrives, for [`RemoteHandle::join`].
    settled: Condvar,
}

/// What a remote task and its handle know about each other.
struct State<T> {
    /// The task's output, once it has one.
    outcome: Option<Result<T, JoinError>>,
    /// Whether the outcome was already handed out.
    taken: bool,
    /// The waker of whoever awaits the handle.
    joiner: Option<Waker>,
    /// The task's own waker, so `abort` can bring it round.
    task: Option<Waker>,
    /// Set by `abort`.
    aborted: bool,
    /// A thread waits in `join` (a `Condvar` notify is a syscall: only pay it
    /// when someone is there).
    blocked: bool,
}

impl<T> Slot<T> {
    /// Locks the state, shrugging off poison (the state is never left half-written).
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stores the outcome (unless one is already there) and wakes whoever waits.
    fn settle(&self, outcome: Result<T, JoinError>) {
        let mut state = self.lock();
        if state.outcome.is_some() || state.taken {
            return;
        }
        state.outcome = Some(outcome);
        let joiner = state.joiner.take();
        let task = state.task.take(); // the task is over: let its waker be reused
        let blocked = state.blocked;
        drop(state);
        drop(task);
        if blocked {
            self.settled.notify_all();
        }
        if let Some(joiner) = joiner {
            joiner.wake();
        }
    }
}

/// Settles the slot as cancelled if the task is dropped before it settles it.
struct CancelOnDrop<T> {
    /// The shared slot.
    slot: Arc<Slot<T>>,
    /// The task's id, for the error.
    task: u64,
}

impl<T> Drop for CancelOnDrop<T> {
    fn drop(&mut self) {
        let why = if self.slot.lock().aborted {
            "aborted"
        } else {
            "its runtime was dropped before it finished"
        };
        self.slot.settle(Err(JoinError::cancelled(self.task, why)));
    }
}

/// Wraps `future` for the trip to the loop. Returns the spawn to push onto the
/// injection queue, and the handle for the caller.
pub(crate) fn remote_task<F>(future: F, meta: TaskMeta) -> (RemoteSpawn, RemoteHandle<F::Output>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let slot = Arc::new(Slot {
        state: Mutex::new(State {
            outcome: None,
            taken: false,
            joiner: None,
            task: None,
            aborted: false,
            blocked: false,
        }),
        settled: Condvar::new(),
    });
    // Made out here, not inside the async block: a future that is never polled
    // still drops what it captured, and the guard with it.
    let guard = CancelOnDrop {
        slot: slot.clone(),
        task: meta.id,
    };
    let wrapped: SendTaskFuture = Box::pin(async move {
        let guard = guard;
        let mut future = pin!(future);
        let outcome = poll_fn(|cx| poll_unless_aborted(&guard, future.as_mut(), cx)).await;
        guard.slot.settle(outcome);
    });
    let handle = RemoteHandle { slot, done: false };
    (
        RemoteSpawn {
            future: wrapped,
            meta,
        },
        handle,
    )
}

/// One poll of a remote task: gives up if aborted, catches a panic as an error.
fn poll_unless_aborted<T>(
    guard: &CancelOnDrop<T>,
    future: Pin<&mut impl Future<Output = T>>,
    cx: &mut Context<'_>,
) -> Poll<Result<T, JoinError>> {
    let mut state = guard.slot.lock();
    if state.aborted {
        return Poll::Ready(Err(JoinError::cancelled(guard.task, "aborted")));
    }
    if !matches!(&state.task, Some(w) if w.will_wake(cx.waker())) {
        state.task = Some(cx.waker().clone());
    }
    drop(state);
    match panic::catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
        Ok(Poll::Pending) => Poll::Pending,
        Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
        Err(payload) => Poll::Ready(Err(JoinError::panicked(guard.task, payload))),
    }
}

/// A handle to a task spawned with `Handle::spawn` from another thread: `Send`,
/// so it can be awaited anywhere, or waited for with [`join`](RemoteHandle::join)
/// on a thread that is not running a loop.
///
/// Dropping it detaches the task, as with [`JoinHandle`](crate::JoinHandle).
pub struct RemoteHandle<T> {
    /// Shared with the task.
    slot: Arc<Slot<T>>,
    /// Set once the outcome was taken.
    done: bool,
}

impl<T> RemoteHandle<T> {
    /// Blocks this thread until the task ends, then returns its outcome.
    ///
    /// # Panics
    ///
    /// On a thread that is running an evloop loop: the task could then never run,
    /// and the thread would wait forever. `.await` the handle there instead.
    pub fn join(mut self) -> Result<T, JoinError> {
        assert!(
            !crate::context::is_driving(),
            "RemoteHandle::join called on a thread that is running an evloop loop: \
             it would deadlock; .await the handle instead"
        );
        let mut state = self.slot.lock();
        loop {
            if let Some(outcome) = state.outcome.take() {
                state.taken = true;
                self.done = true;
                return outcome;
            }
            state.blocked = true;
            state = self
                .slot
                .settled
                .wait(state)
                .unwrap_or_else(|e| e.into_inner());
            state.blocked = false;
        }
    }

    /// Cancels the task: its future is dropped at the loop's next step, and the
    /// handle resolves as cancelled. Does nothing if it already finished.
    pub fn abort(&self) {
        let mut state = self.slot.lock();
        state.aborted = true;
        let task = state.task.take();
        drop(state);
        if let Some(task) = task {
            task.wake();
        }
    }

    /// Whether the task has ended.
    pub fn is_finished(&self) -> bool {
        let state = self.slot.lock();
        state.outcome.is_some() || state.taken
    }
}

impl<T> Future for RemoteHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(
            !this.done,
            "RemoteHandle polled again after it returned its output"
        );
        let mut state = this.slot.lock();
        if let Some(outcome) = state.outcome.take() {
            state.taken = true;
            this.done = true;
            return Poll::Ready(outcome);
        }
        if !matches!(&state.joiner, Some(w) if w.will_wake(cx.waker())) {
            state.joiner = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl<T> fmt::Debug for RemoteHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

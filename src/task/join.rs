//! Waiting for a task: [`JoinHandle`].
//!
//! Floor 1. A `JoinHandle` is a reference to the task's cell: the output waits in
//! the cell until the handle takes it, so spawning allocates nothing for the handle.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::{JoinError, Joiner, Task};
use crate::context;

/// An owned permission to wait for a task's output: `.await` it for
/// `Result<T, JoinError>`.
///
/// Dropping the handle *detaches* the task: it keeps running and its output is
/// thrown away, as with tokio's `JoinHandle` and asyncio's tasks. To stop the task,
/// call [`abort`](JoinHandle::abort).
///
/// A `JoinHandle` is not `Send`: the task lives on one loop's thread, and so does
/// its handle. Awaiting it counts against the cooperative budget, like every
/// operation on evloop's resources.
///
/// ```
/// let answer = evloop::run(async {
///     let handle = evloop::spawn(async { 6 * 7 });
///     handle.await.unwrap()
/// });
/// assert_eq!(answer, 42);
/// ```
pub struct JoinHandle<T> {
    /// The task; this reference is why its cell keeps the output.
    task: Task,
    /// The output type; `fn() -> T` keeps the handle `Unpin` whatever `T` is.
    _output: PhantomData<fn() -> T>,
}

impl<T> JoinHandle<T> {
    /// The handle of a task just spawned.
    pub(crate) fn new(task: Task) -> JoinHandle<T> {
        JoinHandle {
            task,
            _output: PhantomData,
        }
    }

    /// Cancels the task. Its future is dropped when the loop next comes to it —
    /// never inside another task's poll — and the handle then resolves to an error
    /// whose [`is_cancelled`](JoinError::is_cancelled) is true. Does nothing if the
    /// task already finished.
    ///
    /// ```
    /// use std::time::Duration;
    /// evloop::run(async {
    ///     let sleeper = evloop::spawn(evloop::time::sleep(Duration::from_secs(3600)));
    ///     sleeper.abort();
    ///     assert!(sleeper.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn abort(&self) {
        self.task.remote().abort();
    }

    /// Whether the task has ended (finished, panicked or been cancelled). Cheap:
    /// never waits.
    pub fn is_finished(&self) -> bool {
        self.task.meta.flags.is_complete()
    }

    /// The task's id: unique in this process, shown in errors and `Debug`.
    pub fn id(&self) -> u64 {
        self.task.meta.id
    }

    /// Runs `call` on the loop's thread when the task ends, instead of waking a
    /// task that awaits this handle (for a `JoinSet`, a `RemoteHandle`).
    pub(crate) fn when_finished(&self, call: impl FnOnce() + 'static) {
        let old = self
            .task
            .meta
            .joiner
            .replace(Joiner::Call(Some(Box::new(Box::new(move |_| call())))));
        drop(old);
    }
}

impl<T: 'static> JoinHandle<T> {
    /// The output, if the task ended and it was not taken yet.
    pub(crate) fn try_take(&mut self) -> Option<Result<T, JoinError>> {
        if !self.task.meta.flags.is_complete() {
            return None;
        }
        self.task.take_output::<T>()
    }
}

impl<T> JoinHandle<T> {
    /// The runtime the task belongs to (its executor's id).
    pub(crate) fn owner(&self) -> u32 {
        self.task.shared.owner()
    }
}

impl<T: 'static> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        context::budgeted(cx, |cx| {
            if this.task.meta.flags.is_complete() {
                this.task.meta.flags.mark_joined();
                let output = this.task.take_output::<T>();
                return Poll::Ready(output.expect("JoinHandle polled after it returned"));
            }
            // Not done: whoever polls must be the loop that will finish it.
            context::check_driven_by(this.task.shared.owner(), "a JoinHandle");
            let joiner = &this.task.meta.joiner;
            match joiner.take() {
                Joiner::Waker(current) if current.will_wake(cx.waker()) => {
                    joiner.set(Joiner::Waker(current));
                }
                old => {
                    joiner.set(Joiner::Waker(cx.waker().clone()));
                    drop(old);
                }
            }
            Poll::Pending
        })
    }
}

/// Done once it returned the task's output: `futures::select!` needs no `.fuse()`.
#[cfg(feature = "futures-core")]
impl<T: 'static> futures_core::FusedFuture for JoinHandle<T> {
    fn is_terminated(&self) -> bool {
        self.task.meta.flags.is_joined()
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        // Nobody will read the output: drop it now, or have the task drop it when it
        // ends. The future and output are dropped here, on the loop's thread, before
        // the handle lets go of the cell.
        let joiner = self.task.meta.joiner.take();
        if self.task.meta.flags.drop_join_handle() {
            self.task.drop_output(); // if it is still there
        }
        drop(joiner);
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let meta = &self.task.meta;
        let location = meta.location;
        let name = super::executor::with_current(|executor| executor.name(meta.id)).flatten();
        f.debug_struct("JoinHandle")
            .field("id", &meta.id)
            .field("name", &name.as_deref().unwrap_or("-"))
            .field(
                "spawned_at",
                &format_args!("{}:{}", location.file(), location.line()),
            )
            .field("finished", &self.is_finished())
            .finish()
    }
}

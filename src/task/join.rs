//! Waiting for a task: [`JoinHandle`] and the [`JoinError`] it may give.
//!
//! Floor 1. A `JoinHandle` is only a name for a slab slot (key + id) and a `Weak`
//! reference to the executor: the output waits in the slot until the handle takes
//! it, so spawning allocates nothing for the handle.

use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Weak;
use std::task::{Context, Poll};

use super::executor::Executor;
use super::waker::TaskRef;

/// An owned permission to wait for a task's output: `.await` it for
/// `Result<T, JoinError>`.
///
/// Dropping the handle *detaches* the task: it keeps running and its output is
/// thrown away, as with tokio's `JoinHandle` and asyncio's tasks. To stop the task,
/// call [`abort`](JoinHandle::abort).
///
/// A `JoinHandle` is not `Send`: the task lives on one loop's thread, and so does
/// its handle.
///
/// ```
/// let answer = evloop::run(async {
///     let handle = evloop::spawn(async { 6 * 7 });
///     handle.await.unwrap()
/// });
/// assert_eq!(answer, 42);
/// ```
pub struct JoinHandle<T> {
    /// The executor that holds the task; dead once the runtime is dropped.
    executor: Weak<Executor>,
    /// Which slot holds the task.
    task: TaskRef,
    /// The task's id.
    id: u64,
    /// Set once the output was taken (or found cancelled).
    done: bool,
    /// The output type; `fn() -> T` keeps the handle `Unpin` whatever `T` is.
    _output: PhantomData<fn() -> T>,
}

impl<T> JoinHandle<T> {
    /// A handle for `task` in `executor`.
    pub(crate) fn new(executor: Weak<Executor>, task: TaskRef, id: u64) -> JoinHandle<T> {
        JoinHandle {
            executor,
            task,
            id,
            done: false,
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
        if let Some(executor) = self.executor.upgrade() {
            executor.abort(self.task);
        }
    }

    /// Whether the task has ended (finished, panicked or been cancelled). Cheap:
    /// never waits.
    pub fn is_finished(&self) -> bool {
        match self.executor.upgrade() {
            Some(executor) => self.done || executor.is_finished(self.task),
            None => true,
        }
    }

    /// The task's id: unique in this process, shown in errors and `Debug`.
    pub fn id(&self) -> u64 {
        self.id
    }
}

impl<T: 'static> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(
            !this.done,
            "JoinHandle polled again after it returned its output"
        );
        let output = match this.executor.upgrade() {
            Some(executor) => std::task::ready!(executor.poll_join(this.task, this.id, cx.waker())),
            None => Err(JoinError::cancelled(this.id, "its runtime was dropped")),
        };
        this.done = true;
        Poll::Ready(output.map(|boxed| match boxed.downcast::<T>() {
            Ok(value) => *value,
            Err(_) => unreachable!("a task's output has the type of its JoinHandle"),
        }))
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if let Some(executor) = self.executor.upgrade() {
            executor.detach(self.task);
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let described = self.executor.upgrade().and_then(|e| e.describe(self.task));
        let mut out = f.debug_struct("JoinHandle");
        out.field("id", &self.id);
        if let Some((name, site)) = &described {
            out.field("name", &name.as_deref().unwrap_or("-"));
            out.field("spawned_at", site);
        }
        out.field("finished", &self.is_finished()).finish()
    }
}

/// Why a task gave no output: it was cancelled, or it panicked.
///
/// A panic inside a task is caught at the task's poll (this needs the default
/// `panic = "unwind"`); the loop and the other tasks go on.
///
/// ```
/// evloop::run(async {
///     let err = evloop::spawn(async { panic!("boom") }).await.unwrap_err();
///     assert!(err.is_panic());
///     assert_eq!(err.to_string(), format!("task {} panicked: boom", err.task_id()));
/// });
/// ```
pub struct JoinError {
    /// Which task failed and how; boxed, so that a task's output slot (a value or
    /// this error) stays two words wide.
    failure: Box<Failure>,
}

/// Which task failed, and how.
struct Failure {
    /// The task that failed.
    task: u64,
    /// What went wrong.
    cause: Cause,
}

/// What went wrong with a task.
enum Cause {
    /// Cancelled, and why ("aborted", "its runtime was dropped", …).
    Cancelled(Cow<'static, str>),
    /// Panicked, with the panic's payload.
    Panicked(Box<dyn Any + Send + 'static>),
}

impl JoinError {
    /// A cancellation of task `task`, because `why`.
    pub(crate) fn cancelled(task: u64, why: impl Into<Cow<'static, str>>) -> JoinError {
        JoinError::new(task, Cause::Cancelled(why.into()))
    }

    /// A panic of task `task` with `payload`.
    pub(crate) fn panicked(task: u64, payload: Box<dyn Any + Send + 'static>) -> JoinError {
        JoinError::new(task, Cause::Panicked(payload))
    }

    /// Task `task` failed with `cause`.
    fn new(task: u64, cause: Cause) -> JoinError {
        JoinError {
            failure: Box::new(Failure { task, cause }),
        }
    }

    /// Whether the task was cancelled: aborted, or dropped with its runtime.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.failure.cause, Cause::Cancelled(_))
    }

    /// Whether the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.failure.cause, Cause::Panicked(_))
    }

    /// The panic's payload, to inspect or to re-raise with
    /// `std::panic::resume_unwind`.
    ///
    /// # Panics
    ///
    /// If the task was cancelled rather than panicked (check
    /// [`is_panic`](JoinError::is_panic) first, or use
    /// [`try_into_panic`](JoinError::try_into_panic)).
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .unwrap_or_else(|err| panic!("JoinError::into_panic called on a cancellation: {err}"))
    }

    /// The panic's payload, or the error back if the task was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        if !self.is_panic() {
            return Err(self);
        }
        match self.failure.cause {
            Cause::Panicked(payload) => Ok(payload),
            Cause::Cancelled(_) => unreachable!("checked above"),
        }
    }

    /// The id of the task that failed.
    pub fn task_id(&self) -> u64 {
        self.failure.task
    }
}

/// The text of a panic payload, when it is a string (as `panic!` makes it).
fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(text) = payload.downcast_ref::<&'static str>() {
        text
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text
    } else {
        "(a panic payload that is not a string)"
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let task = self.failure.task;
        match &self.failure.cause {
            Cause::Cancelled(why) => write!(f, "task {task} was cancelled: {why}"),
            Cause::Panicked(payload) => {
                write!(f, "task {task} panicked: {}", panic_message(&**payload))
            }
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let task = self.failure.task;
        match &self.failure.cause {
            Cause::Cancelled(why) => write!(f, "JoinError::Cancelled(task {task}: {why})"),
            Cause::Panicked(payload) => write!(
                f,
                "JoinError::Panic(task {task}: {:?})",
                panic_message(&**payload)
            ),
        }
    }
}

impl std::error::Error for JoinError {}

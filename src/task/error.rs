//! [`JoinError`]: why a task gave no output — it was cancelled, or it panicked.

use std::any::Any;
use std::borrow::Cow;
use std::fmt;

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

//! [`Handle`]: a way into a runtime from other threads; [`RemoteHandle`]: a task
//! spawned through it.
//!
//! Floor 2. A spawn from another thread travels to the loop as a closure, through
//! the injection queue; step 2 runs it, and it spawns an ordinary task there — one
//! that ends, panics and aborts through the same code as every other task. Its
//! output comes back through a `sync::oneshot`, so other threads never read a task.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};

use crate::context;
use crate::lock::lock;
use crate::sync::oneshot;
use crate::task::{self, Injector, JoinError, RemoteTask};

/// A handle to a [`Runtime`](crate::Runtime) that other threads can use to spawn
/// tasks on it. `Send + Sync + Clone`; it does not keep the runtime alive.
///
/// There is no `Handle::block_on`: a runtime is driven only by the thread that owns
/// it, so another thread cannot run its loop. To wait for a task from another
/// thread, spawn it and call [`RemoteHandle::join`].
///
/// ```
/// let rt = evloop::Runtime::new().unwrap();
/// let handle = rt.handle();
/// let from_thread = std::thread::spawn(move || handle.spawn(async { 6 * 7 }))
///     .join()
///     .unwrap();
/// assert_eq!(rt.block_on(from_thread).unwrap(), 42);
/// ```
pub struct Handle {
    /// The runtime's injection queue; dead once the runtime is dropped.
    injector: Weak<Injector>,
}

impl Handle {
    /// The handle of the runtime whose injection queue this is.
    pub(super) fn new(injector: Weak<Injector>) -> Handle {
        if let Some(injector) = injector.upgrade() {
            injector.count_handle(true);
        }
        Handle { injector }
    }

    /// The handle of the runtime this thread is running (inside `block_on`, `turn`
    /// or one of its tasks) — tokio's `Handle::current`. Pass it to another
    /// thread, or to a library that spawns.
    ///
    /// # Panics
    ///
    /// Outside a runtime.
    ///
    /// ```
    /// evloop::run(async {
    ///     let handle = evloop::Handle::current();
    ///     let from_thread = std::thread::spawn(move || handle.spawn(async { 1 }));
    ///     assert_eq!(from_thread.join().unwrap().await.unwrap(), 1);
    /// });
    /// ```
    #[track_caller]
    pub fn current() -> Handle {
        let executor = task::current_executor("evloop::Handle::current");
        Handle::new(Arc::downgrade(executor.injector()))
    }

    /// Spawns a task on the runtime from any thread. The future must be `Send`: it
    /// crosses to the loop's thread, where it then stays. (A future that is not
    /// `Send` — one using evloop's sockets or sleeps, say — can be built on the loop
    /// instead, with [`spawn_with`](Handle::spawn_with).)
    ///
    /// The task starts when the loop next runs (in step 2 of a turn). If the
    /// runtime is dropped first — or already was — the task never runs and the
    /// handle resolves as cancelled: nothing is left waiting.
    ///
    /// Cost: a lock and, at most once per turn, a write to the loop's eventfd.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> RemoteHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_with(move || future)
    }

    /// Spawns a task whose future `make` builds on the loop's thread, so the
    /// future need not be `Send` — only `make` crosses threads (the pattern of
    /// tokio-util's `spawn_pinned`). Use it for futures that use evloop's own
    /// sockets and timers, which belong to one loop.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = evloop::Runtime::new().unwrap();
    /// let handle = rt.handle();
    /// let task = std::thread::spawn(move || {
    ///     handle.spawn_with(|| async {
    ///         evloop::time::sleep(Duration::from_millis(1)).await; // not Send
    ///         "slept on the loop"
    ///     })
    /// })
    /// .join()
    /// .unwrap();
    /// assert_eq!(rt.block_on(task).unwrap(), "slept on the loop");
    /// ```
    #[track_caller]
    pub fn spawn_with<M, F>(&self, make: M) -> RemoteHandle<F::Output>
    where
        M: FnOnce() -> F + Send + 'static,
        F: Future + 'static,
        F::Output: Send + 'static,
    {
        let injector = self.injector.upgrade();
        let id = injector
            .as_ref()
            .map_or_else(task::next_id, |i| i.ids.next());
        let location = Location::caller();
        let (sender, result) = oneshot::channel();
        let abort = Arc::new(Mutex::new(Abort::NotYet));
        let started = abort.clone();
        let spawn = Box::new(move |executor: &task::Executor| {
            let ended = started.clone();
            let deliver = move |output| {
                let _ = sender.send(output); // the handle may be gone: then nobody wants it
                *lock(&ended) = Abort::Over;
            };
            let task = executor.spawn_delivering(make(), id, location, deliver);
            let mut abort = lock(&started);
            match &*abort {
                Abort::Requested => task.abort(),
                Abort::NotYet => *abort = Abort::Running(task),
                Abort::Running(_) | Abort::Over => {}
            }
        });
        match injector {
            Some(injector) => injector.push_spawn(spawn),
            None => drop(spawn), // resolves the handle as cancelled
        }
        RemoteHandle { id, result, abort }
    }

    /// Whether the runtime still exists.
    pub fn is_alive(&self) -> bool {
        self.injector.strong_count() > 0
    }
}

impl Clone for Handle {
    fn clone(&self) -> Handle {
        Handle::new(self.injector.clone())
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        if let Some(injector) = self.injector.upgrade() {
            injector.count_handle(false);
        }
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("alive", &self.is_alive())
            .finish()
    }
}

/// How a remote task can be aborted, as far as its handle knows.
enum Abort {
    /// The task has not reached the loop yet.
    NotYet,
    /// `abort` came before the task reached the loop: it is aborted on arrival.
    Requested,
    /// The task runs: this reference aborts it from any thread.
    Running(RemoteTask),
    /// The task ended.
    Over,
}

/// A handle to a task spawned with [`Handle::spawn`] from another thread: `Send`,
/// so it can be awaited anywhere, or waited for with [`join`](RemoteHandle::join)
/// on a thread that is not running a loop.
///
/// Dropping it detaches the task, as with [`JoinHandle`](crate::JoinHandle).
pub struct RemoteHandle<T> {
    /// The task's id.
    id: u64,
    /// Where the task's output (or why it has none) arrives.
    result: oneshot::Receiver<Result<T, JoinError>>,
    /// How to abort it.
    abort: Arc<Mutex<Abort>>,
}

impl<T> RemoteHandle<T> {
    /// Blocks this thread until the task ends, then returns its outcome.
    ///
    /// # Panics
    ///
    /// On a thread that is running an evloop loop: the task could then never run,
    /// and the thread would wait for ever. `.await` the handle there instead.
    pub fn join(self) -> Result<T, JoinError> {
        assert!(
            !context::is_driving(),
            "RemoteHandle::join called on a thread that is running an evloop loop: \
             it would deadlock; .await the handle instead"
        );
        let id = self.id;
        self.result
            .blocking_recv()
            .unwrap_or_else(|_| Err(never_ran(id)))
    }

    /// Cancels the task: its future is dropped at the loop's next step, and the
    /// handle resolves as cancelled. Does nothing if it already finished.
    pub fn abort(&self) {
        let mut abort = lock(&self.abort);
        match &*abort {
            Abort::NotYet => *abort = Abort::Requested,
            Abort::Running(task) => task.abort(),
            Abort::Requested | Abort::Over => {}
        }
    }

    /// Whether the task has ended.
    pub fn is_finished(&self) -> bool {
        self.result.is_settled()
    }

    /// The task's id.
    pub fn id(&self) -> u64 {
        self.id
    }
}

/// The error of a task whose runtime was dropped before the task could start.
fn never_ran(id: u64) -> JoinError {
    JoinError::cancelled(id, "its runtime was dropped before it ran")
}

impl<T> Future for RemoteHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let id = this.id;
        Pin::new(&mut this.result)
            .poll(cx)
            .map(|received| received.unwrap_or_else(|_| Err(never_ran(id))))
    }
}

impl<T> fmt::Debug for RemoteHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteHandle")
            .field("id", &self.id)
            .field("finished", &self.is_finished())
            .finish()
    }
}

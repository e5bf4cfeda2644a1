//! Tasks: spawning them, storing them, waking them, and waiting for them.
//!
//! Floor 1 (it knows only `std`, `slab` and `futures-task`). Where to read:
//!
//! - [`executor`](self) (`executor.rs`) — the slab of tasks, the run queue, and
//!   steps 2 and 3 of the loop (`take_injected`, `run_ready`);
//! - `waker.rs` — what happens when a `Waker` is woken, on this thread or another;
//! - `join.rs` — [`JoinHandle`] and [`JoinError`];
//! - `remote.rs` — [`RemoteHandle`], for tasks spawned from other threads;
//! - `join_set.rs` — [`JoinSet`], a group of tasks awaited together;
//!
//! A task's life: [`spawn`] boxes the future into a slab slot and queues it; step 3
//! of a turn pops it and polls it once; if it returns `Pending` it waits in its
//! slot until a waker queues it again; when it returns `Ready` its output waits in
//! the slot for the `JoinHandle`.

use std::any::Any;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

pub(crate) mod executor;
mod join;
mod join_set;
mod remote;
mod waker;

pub use join::{JoinError, JoinHandle};
pub use join_set::JoinSet;
pub use remote::RemoteHandle;

pub(crate) use executor::Executor;
pub(crate) use remote::remote_task;
pub(crate) use waker::{BlockOnWaker, Injector};

/// What a finished task leaves behind: its output, boxed so that tasks of every
/// output type fit in one slab (a `()` output allocates nothing), or why it has none.
pub(crate) type TaskOutput = Result<Box<dyn Any>, JoinError>;

/// A task's future, boxed and pinned, its output type erased.
pub(crate) type TaskFuture = Pin<Box<dyn ErasedFuture>>;

/// A task's future that may cross threads (spawned from another thread).
pub(crate) type SendTaskFuture = Pin<Box<dyn ErasedFuture + Send>>;

/// A future of any output type, polled for a [`TaskOutput`]: what lets tasks of
/// every output type share one slab.
///
/// It is a trait rather than an `async` block around the user's future because
/// such a block stores the future twice (once as captured, once as awaited):
/// spawning would copy and allocate double the future's size.
pub(crate) trait ErasedFuture {
    /// Polls the future; its output comes boxed.
    fn poll_output(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<TaskOutput>;
}

impl<F> ErasedFuture for F
where
    F: Future,
    F::Output: 'static,
{
    fn poll_output(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<TaskOutput> {
        self.poll(cx)
            .map(|value| Ok(Box::new(value) as Box<dyn Any>))
    }
}

/// A future whose output already says how its task ended: with a value, or with
/// a [`JoinError`] (as `spawn_blocking`'s does when no thread could run the job).
/// `Unpin`, so that it can be wrapped without projecting a pin.
pub(crate) struct Fallible<F>(pub(crate) F);

impl<F, T> ErasedFuture for Fallible<F>
where
    F: Future<Output = Result<T, JoinError>> + Unpin,
    T: 'static,
{
    fn poll_output(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<TaskOutput> {
        let future = &mut self.get_mut().0;
        Pin::new(future)
            .poll(cx)
            .map(|result| result.map(|value| Box::new(value) as Box<dyn Any>))
    }
}

/// Who a task is: its id, its name if it was given one, and where it was spawned.
#[derive(Debug)]
pub(crate) struct TaskMeta {
    /// Unique in this process.
    pub(crate) id: u64,
    /// The name given with [`Builder::name`].
    pub(crate) name: Option<Box<str>>,
    /// Where `spawn` was called.
    pub(crate) location: &'static Location<'static>,
}

impl TaskMeta {
    /// A new task's identity, with a fresh id.
    pub(crate) fn new(name: Option<&str>, location: &'static Location<'static>) -> TaskMeta {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        TaskMeta {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            name: name.map(Box::from),
            location,
        }
    }
}

/// Spawns a task on the runtime this thread is running; `asyncio.create_task`.
///
/// The future need not be `Send`: it stays on this thread. The task starts at the
/// loop's next step 3, not inside this call. Dropping the returned handle detaches
/// the task (it keeps running).
///
/// Cost: one allocation for the boxed future (plus the output, unless it is
/// zero-sized), no lock, no syscall.
///
/// # Panics
///
/// Outside a runtime — when this thread is not inside `Runtime::block_on`,
/// `Runtime::turn` or `evloop::run`. Use [`Runtime::spawn`](crate::Runtime::spawn)
/// there.
///
/// ```
/// evloop::run(async {
///     let handles: Vec<_> = (0..3).map(|i| evloop::spawn(async move { i * 10 })).collect();
///     let mut sum = 0;
///     for handle in handles {
///         sum += handle.await.unwrap();
///     }
///     assert_eq!(sum, 30);
/// });
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    Builder::new().spawn(future)
}

/// Spawns tasks with options: for now, a name, shown in `Debug` and errors.
///
/// ```
/// evloop::run(async {
///     let handle = evloop::task::Builder::new().name("answer").spawn(async { 42 });
///     assert!(format!("{handle:?}").contains("answer"));
///     assert_eq!(handle.await.unwrap(), 42);
/// });
/// ```
#[derive(Debug, Default, Clone)]
pub struct Builder<'a> {
    /// The name to give the task.
    name: Option<&'a str>,
}

impl<'a> Builder<'a> {
    /// A builder with no options set.
    pub fn new() -> Builder<'a> {
        Builder { name: None }
    }

    /// Names the task.
    pub fn name(self, name: &'a str) -> Builder<'a> {
        Builder { name: Some(name) }
    }

    /// Spawns the task on the current runtime, as [`spawn`] does.
    ///
    /// # Panics
    ///
    /// Outside a runtime, as [`spawn`] does.
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let meta = TaskMeta::new(self.name, Location::caller());
        on_current("evloop::spawn", |executor| executor.spawn(future, meta))
    }
}

/// Runs `spawn` with the executor this thread is running. `caller` names the
/// public function, for the panic outside a runtime.
#[track_caller]
pub(crate) fn on_current<R>(caller: &str, spawn: impl FnOnce(&Rc<Executor>) -> R) -> R {
    match executor::with_current(spawn) {
        Some(spawned) => spawned,
        None => panic!(
            "{caller} called outside a runtime: call it inside Runtime::block_on \
             (or evloop::run), or use Runtime::spawn"
        ),
    }
}

/// Hands control back to the loop for one turn: `asyncio.sleep(0)`.
///
/// The task goes to the back of the run queue and runs again next turn, after
/// every other ready task, timer and I/O event got their chance. A long
/// computation that calls this now and then no longer freezes the loop.
///
/// ```
/// evloop::run(async {
///     for _ in 0..3 {
///         evloop::yield_now().await;
///     }
/// });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future returned by [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you .await them"]
pub struct YieldNow {
    /// Whether the first poll (the one that yields) has happened.
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

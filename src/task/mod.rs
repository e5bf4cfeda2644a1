//! Tasks: spawning them, storing them, waking them, and waiting for them.
//!
//! Floor 1: it knows only `std` and `context`. Where to read, in order:
//!
//! - this file — [`spawn`], [`Builder`], [`yield_now`], and the few types the
//!   others share;
//! - `cell.rs` — a task is one allocation (its *cell*): the future, then its output,
//!   behind a header with an atomic state word; its `Waker` points into the cell.
//!   The only `unsafe` code besides `src/sys.rs`, with its rules written out;
//! - `state.rs` — the state word's flags and every way they change;
//! - `executor.rs` — the tasks of a runtime, and steps 2 and 3 of the loop;
//!   `run_queue.rs` — the ready tasks and the order a turn polls them in (FIFO, or
//!   seeded); `injector.rs` — the queue other threads push wakes and spawns onto;
//! - `join.rs` — [`JoinHandle`]; `error.rs` — [`JoinError`]; `join_set.rs` — [`JoinSet`].
//!
//! A task's life: [`spawn`] moves the future into a new cell and queues it; step 3
//! of a turn pops it and polls it once; if it returns `Pending` it waits, in no
//! queue, until a waker puts it back; when it returns `Ready` its output waits in
//! the cell for the `JoinHandle`.

use std::cell::Cell;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};

mod cell;
mod error;
pub(crate) mod executor;
mod injector;
mod join;
mod join_set;
mod local;
mod run_queue;
mod state;

use state::Flags;

pub use error::JoinError;
pub use join::JoinHandle;
pub use join_set::JoinSet;
pub use local::{AccessError, LocalKey, Scope};

pub(crate) use cell::{RemoteTask, Task, TaskList, Woken};
pub(crate) use executor::{Awaits, Executor, TaskState};

/// A runtime's injection queue (`injector.rs`), carrying the executor's spawns.
pub(crate) type Injector = injector::Injector<executor::RemoteSpawn>;

/// Drops `value`, catching a panic from its destructor: one bad destructor must not
/// take the loop down.
pub(crate) fn drop_quietly<T>(value: T) {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(value)));
}

/// How a woken task gets back to its executor; the executor implements it, so
/// that the cell never names the executor.
pub(crate) trait Schedule: Send + Sync + 'static {
    /// Puts a woken task in a run queue. Called on any thread.
    fn schedule(&self, task: Woken<'_>);
}

/// Who waits for a task to end: a task awaiting its `JoinHandle`, or crate code run
/// on the loop's thread when it ends (a `JoinSet`'s or a `RemoteHandle`'s), or nobody.
/// The size of a `Waker`, 16 bytes: a call is boxed twice, so that its pointer is
/// thin and the enum's tag fits in the waker's unused null.
pub(crate) enum Joiner {
    /// Woken when the task ends.
    Waker(Waker),
    /// Called with the task when it ends; `None`, nobody waits (the default: no
    /// call through a waker's vtable for a task whose handle was dropped).
    Call(Option<Box<EndCall>>),
}

/// A call run on the loop's thread when a task ends, boxed once more in a `Joiner`.
pub(crate) type EndCall = Box<dyn FnOnce(&Task)>;

impl Default for Joiner {
    /// Nobody.
    fn default() -> Joiner {
        Joiner::Call(None)
    }
}

/// What the executor and the `JoinHandle` know of a task. It lives in the task's
/// cell and is touched only on the loop's thread. Kept to 56 bytes: with the state
/// word, the vtable and the smallest futures, a cell then fits a 96-byte block of
/// the allocator — at a million tasks, memory is the cost. (Names live with the
/// executor; the executor a task belongs to, in its state word.)
pub(crate) struct Meta {
    /// Unique in this process.
    pub(crate) id: u64,
    /// Where `spawn` was called.
    pub(crate) location: &'static Location<'static>,
    /// Who waits for it to end.
    pub(crate) joiner: Cell<Joiner>,
    /// Its place in the executor's list of tasks that have not ended.
    pub(crate) links: cell::Links,
    /// How many times it was polled.
    pub(crate) polls: Cell<u32>,
    /// The last turn it was polled in, counted modulo 2¹⁶ (a task idle for exactly
    /// 65,536 turns waits one turn more, once).
    pub(crate) turn: Cell<u16>,
    /// References held on the loop's thread (see `cell.rs`, rule 1): the executor's
    /// list, the run queue, the `JoinHandle`, and a passing one or two.
    pub(crate) refs: Cell<u8>,
    /// Scheduled, running, complete, … (`state.rs`).
    pub(crate) flags: Flags,
}

/// The next free id: each thread takes a block of them at a time, a seeded runtime
/// a range of its own.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A new task's id: unique in this process. Each thread takes ids from a global
/// counter a thousand at a time, so a spawn costs no atomic operation.
pub(crate) fn next_id() -> u64 {
    const BLOCK: u64 = 1024;
    thread_local! {
        /// The next id of this thread's block, and the end of the block.
        static IDS: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
    }
    IDS.with(|ids| {
        let (mut next, mut end) = ids.get();
        if next == end {
            next = NEXT_ID.fetch_add(BLOCK, Ordering::Relaxed);
            end = next + BLOCK;
        }
        ids.set((next + 1, end));
        next
    })
}

/// Where a runtime's task ids come from: the blocks of [`next_id`], or — seeded — a
/// range of 2³² of its own, whose ids' low half counts its spawns from 1, so that
/// the schedule's record names a task by its spawn number with no lookup (0 is
/// `block_on`'s future). Seeded tasks' ids are large numbers, then.
#[derive(Debug)]
pub(crate) enum Ids {
    Shared,
    Own(AtomicU64),
}

impl Ids {
    /// The ids of a runtime, seeded or not.
    pub(crate) fn new(seeded: bool) -> Ids {
        const RANGE: u64 = 1 << 32;
        if !seeded {
            return Ids::Shared;
        }
        let round_up = |next: u64| next.div_ceil(RANGE) * RANGE;
        let take = |next| round_up(next).checked_add(RANGE);
        let next = NEXT_ID.fetch_update(Ordering::Relaxed, Ordering::Relaxed, take);
        let start = round_up(next.expect("task ids used up"));
        Ids::Own(AtomicU64::new(start + 1))
    }

    /// The next task's id.
    pub(crate) fn next(&self) -> u64 {
        match self {
            Ids::Shared => next_id(),
            Ids::Own(next) => {
                let id = next.fetch_add(1, Ordering::Relaxed);
                assert!(id as u32 != 0, "a seeded runtime spawned 2³² tasks");
                id
            }
        }
    }
}

/// A task's spawn number in its seeded runtime (see [`Ids`]).
pub(crate) fn spawn_number(id: u64) -> u32 {
    id as u32
}

/// A future as a task runs it: its output already says how the task ended, with
/// a value or a [`JoinError`] (`spawn_blocking`'s does, when no thread could run
/// its job). Every future is one, ending with `Ok`; [`Fallible`] is the other kind.
pub(crate) trait TaskFuture: 'static {
    /// What the task gives its `JoinHandle` on success.
    type Output: 'static;

    /// Polls the future.
    fn poll_task(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Self::Output, JoinError>>;
}

impl<F: Future + 'static> TaskFuture for F {
    type Output = F::Output;

    fn poll_task(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<F::Output, JoinError>> {
        self.poll(cx).map(Ok)
    }
}

/// A future whose output is already a `Result<T, JoinError>`. `Unpin`, so that it
/// can be wrapped without projecting a pin.
pub(crate) struct Fallible<F>(pub(crate) F);

impl<F, T> TaskFuture for Fallible<F>
where
    F: Future<Output = Result<T, JoinError>> + Unpin + 'static,
    T: 'static,
{
    type Output = T;

    fn poll_task(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T, JoinError>> {
        Pin::new(&mut self.get_mut().0).poll(cx)
    }
}

/// Spawns a task on the runtime this thread is running; `asyncio.create_task`,
/// tokio's `spawn_local`.
///
/// The future need not be `Send`: it stays on this thread. The task starts at the
/// loop's next step 3, not inside this call. Dropping the returned handle detaches
/// the task (it keeps running).
///
/// Cost: one allocation (the task's cell, holding the future), no lock, no syscall.
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
#[doc(alias = "spawn_local")]
#[doc(alias = "LocalSet")]
#[doc(alias = "create_task")]
#[doc(alias = "ensure_future")]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    Builder::new().spawn(future)
}

/// Spawns tasks with options: for now, a name, shown in `Debug`, the task table
/// and the timeline.
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
        let location = Location::caller();
        let executor = current_executor("evloop::spawn");
        executor.spawn(future, executor.next_id(), location, self.name)
    }
}

/// The executor this thread is running. `caller` names the public function, for
/// the panic outside a runtime. (A spawn takes it first and then moves the future
/// straight into its cell: passed through a closure instead, the future was copied
/// twice more, and a spawn measured 10 % slower.)
#[track_caller]
pub(crate) fn current_executor(caller: &str) -> Rc<Executor> {
    match executor::current() {
        Some(executor) => executor,
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
#[doc(alias = "sleep(0)")]
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

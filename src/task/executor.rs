//! The executor: where tasks live (a slab), the run queue, and steps 2 and 3 of
//! the loop.
//!
//! Floor 1, owned by the runtime. A task is a boxed future in a slab slot; the run
//! queue holds [`TaskRef`]s (slot + id tag), never the futures themselves. Polling
//! takes the future *out* of its slot first, so the task's own code may spawn, join
//! or abort — which all touch the slab — without a `RefCell` conflict. The same rule
//! holds everywhere below: user code (a poll, a destructor, a foreign waker) never
//! runs while this module holds a borrow.
//!
//! A task owns a waker only while somebody else holds a clone of it: each poll
//! lends the task a spare one, and takes it back afterwards if nobody kept it. So
//! a task that finishes in one poll, or only ever yields, allocates no waker, and
//! an idle task costs its slab slot and its boxed future — see `idle_task_memory`
//! in `benches/memory.rs`.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use futures_task::{waker_ref, ArcWake};
use slab::Slab;

use super::join::{JoinError, JoinHandle};
use super::waker::{Injected, Injector, TaskRef, TaskWaker};
use super::{Fallible, TaskFuture, TaskMeta, TaskOutput};

thread_local! {
    /// The executor this thread is running right now, if any: where
    /// `evloop::spawn` puts tasks, and where a waker woken on this thread pushes.
    static CURRENT: RefCell<Option<Rc<Executor>>> = const { RefCell::new(None) };
}

/// How many wakers of finished tasks are kept for reuse, saving an allocation
/// when a later task hands out a waker. Beyond this, spares are freed.
const SPARE_WAKERS: usize = 1024;

/// Pushes `task` onto the local run queue if executor `executor` is the one this
/// thread is running. Returns false otherwise (the waker then takes the slow path).
pub(crate) fn push_local(executor: u64, task: TaskRef) -> bool {
    CURRENT
        .try_with(|current| match &*current.borrow() {
            Some(ex) if ex.id == executor => {
                ex.queue.borrow_mut().push_back(task);
                true
            }
            _ => false,
        })
        .unwrap_or(false)
}

/// Whether executor `executor` is the one this thread is running.
pub(crate) fn is_current(executor: u64) -> bool {
    CURRENT
        .try_with(|current| matches!(&*current.borrow(), Some(ex) if ex.id == executor))
        .unwrap_or(false)
}

/// Runs `f` with the executor this thread is running, or returns `None`.
pub(crate) fn with_current<R>(f: impl FnOnce(&Rc<Executor>) -> R) -> Option<R> {
    CURRENT.with(|current| current.borrow().as_ref().map(f))
}

/// Where a task is in its life.
enum Stage {
    /// Waiting to be polled (queued, or parked until a waker fires).
    Ready(TaskFuture),
    /// Taken out of the slab: being polled right now.
    Running,
    /// Done; the output waits for the `JoinHandle`.
    Finished(TaskOutput),
}

/// One slot of the slab: a task and its bookkeeping. Kept small (88 bytes): the
/// slab is the one place every task pays for, and the future lives in its own box.
struct Task {
    /// The future, or its output.
    stage: Stage,
    /// The task's waker while somebody besides the task holds a clone of it (a
    /// channel, a timer, another thread). `None` when nobody does: the next poll
    /// borrows a spare, so a task that never hands out its waker never owns one.
    waker: Option<Arc<TaskWaker>>,
    /// The waker of whoever awaits the `JoinHandle`, once someone does.
    joiner: Option<Waker>,
    /// Id, name and spawn site.
    meta: TaskMeta,
    /// The last turn this task was polled in: a task runs at most once per turn.
    last_turn: u32,
    /// Whether the task sits in the run queue though it holds no waker (it was just
    /// spawned, or aborted). With a waker, the waker's own flag says so instead:
    /// wakes from other threads set it.
    queued: bool,
    /// Set by `JoinHandle::abort`: drop the future at its next turn instead of polling.
    aborted: bool,
    /// The handle was dropped: the output is thrown away when the task ends.
    detached: bool,
}

/// What happened to one entry popped from the run queue.
enum Step {
    /// The task was polled (or, if aborted, dropped).
    Polled,
    /// The entry was stale: its task had already ended.
    Skipped,
    /// The task already ran this turn; it waits for the next.
    Again,
}

/// Task storage and the run queue of one runtime.
pub(crate) struct Executor {
    /// Tells wakers of this executor from those of another runtime.
    id: u64,
    /// Every task not yet joined or, if detached, not yet finished.
    tasks: RefCell<Slab<Task>>,
    /// Tasks ready to be polled, in the order they were woken.
    queue: RefCell<VecDeque<TaskRef>>,
    /// The way in from other threads.
    injector: Arc<Injector>,
    /// Scratch vectors swapped with the injector's each turn, to keep their capacity.
    injected: RefCell<Injected>,
    /// Counts calls to `run_ready`, so each task runs at most once per turn.
    turn: Cell<u32>,
    /// Set when the runtime shuts down: new tasks end at once as cancelled.
    closed: Cell<bool>,
    /// Wakers that nobody holds any more, lent to the next tasks polled.
    spare_wakers: RefCell<Vec<Arc<TaskWaker>>>,
}

impl Executor {
    /// An empty executor. `unpark` must interrupt the loop's wait for I/O; other
    /// threads call it after they push a wake or a spawn.
    pub(crate) fn new(unpark: Waker) -> Rc<Executor> {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        Rc::new(Executor {
            id,
            tasks: RefCell::new(Slab::new()),
            queue: RefCell::new(VecDeque::new()),
            injector: Arc::new(Injector::new(id, unpark)),
            injected: RefCell::new(Injected::default()),
            turn: Cell::new(0),
            closed: Cell::new(false),
            spare_wakers: RefCell::new(Vec::new()),
        })
    }

    /// The injection queue, for handles that spawn from other threads.
    pub(crate) fn injector(&self) -> &Arc<Injector> {
        &self.injector
    }

    /// Makes this the executor of the current thread until the guard drops.
    pub(crate) fn enter(self: &Rc<Self>) -> Entered {
        let previous = CURRENT.with(|current| current.replace(Some(self.clone())));
        Entered { previous }
    }

    /// Spawns a task and returns its handle.
    pub(crate) fn spawn<F>(self: &Rc<Self>, future: F, meta: TaskMeta) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.insert_joinable(Box::pin(future), meta)
    }

    /// Spawns a task whose output already says how it ends: with a value, or (for
    /// `spawn_blocking`) with a `JoinError`.
    pub(crate) fn spawn_fallible<F, T>(self: &Rc<Self>, future: F, meta: TaskMeta) -> JoinHandle<T>
    where
        F: Future<Output = Result<T, JoinError>> + Unpin + 'static,
        T: 'static,
    {
        self.insert_joinable(Box::pin(Fallible(future)), meta)
    }

    /// Stores a task that has a `JoinHandle`, and returns the handle.
    fn insert_joinable<T>(self: &Rc<Self>, future: TaskFuture, meta: TaskMeta) -> JoinHandle<T> {
        let id = meta.id;
        let task = self.insert(future, meta, false);
        JoinHandle::new(Rc::downgrade(self), task, id)
    }

    /// Stores a new task and queues it. On a closed executor the task ends at once
    /// as cancelled, without being polled.
    fn insert(&self, future: TaskFuture, meta: TaskMeta, detached: bool) -> TaskRef {
        let mut tasks = self.tasks.borrow_mut();
        let entry = tasks.vacant_entry();
        let task = TaskRef::new(entry.key(), meta.id);
        if self.closed.get() {
            if !detached {
                let cancelled = JoinError::cancelled(meta.id, "its runtime was shutting down");
                entry.insert(Task::new(Stage::Finished(Err(cancelled)), meta, false));
            }
            drop(tasks);
            drop(future);
            return task;
        }
        entry.insert(Task::new(Stage::Ready(future), meta, detached));
        drop(tasks);
        self.queue.borrow_mut().push_back(task);
        task
    }

    /// Whether any task is queued to run, or other threads handed in work that
    /// step 2 has not taken yet.
    pub(crate) fn has_ready(&self) -> bool {
        !self.queue.borrow().is_empty() || self.injector.has_pending()
    }

    /// Step 2: moves wakes and spawns from other threads onto the run queue.
    pub(crate) fn take_injected(&self) {
        let mut injected = self.injected.take();
        self.injector.take(&mut injected);
        self.queue.borrow_mut().extend(injected.wakes.drain(..));
        for spawn in injected.spawns.drain(..) {
            self.insert(spawn.future, spawn.meta, true);
        }
        *self.injected.borrow_mut() = injected;
    }

    /// Step 3: polls ready tasks in FIFO order, each at most once, at most `budget`
    /// polls. Returns how many tasks were polled.
    pub(crate) fn run_ready(&self, budget: usize) -> usize {
        let turn = self.turn.get().wrapping_add(1);
        self.turn.set(turn);
        let mut polled = 0;
        while polled < budget {
            let Some(task) = self.queue.borrow_mut().pop_front() else {
                break;
            };
            match self.poll_task(task, turn) {
                Step::Polled => polled += 1,
                Step::Skipped => {}
                Step::Again => {
                    // Woken while it ran this turn: it goes first next turn.
                    self.queue.borrow_mut().push_front(task);
                    break;
                }
            }
        }
        polled
    }

    /// Polls one task: takes its future out of the slab, polls it with the panic
    /// caught, and puts it back or records its output.
    fn poll_task(&self, task: TaskRef, turn: u32) -> Step {
        let mut tasks = self.tasks.borrow_mut();
        let Some(entry) = tasks.get_mut(task.key()).filter(|t| task.names(t.meta.id)) else {
            return Step::Skipped;
        };
        if entry.last_turn == turn {
            return Step::Again;
        }
        let Stage::Ready(mut future) = std::mem::replace(&mut entry.stage, Stage::Running) else {
            unreachable!("a queued task is always ready: it is never queued twice");
        };
        entry.last_turn = turn;
        entry.queued = false;
        let aborted = entry.aborted;
        let id = entry.meta.id;
        let waker = match entry.waker.take() {
            Some(waker) => waker,
            None => self.lend_waker(task),
        };
        drop(tasks);
        waker.start_running();

        if aborted {
            drop_quietly(future);
            self.finish(task, waker, Err(JoinError::cancelled(id, "aborted")));
            return Step::Polled;
        }
        let result = {
            let waker_ref = waker_ref(&waker);
            let mut cx = Context::from_waker(&waker_ref);
            panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll_output(&mut cx)))
        };
        match result {
            Ok(Poll::Pending) => self.park(task, future, waker),
            Ok(Poll::Ready(output)) => {
                drop_quietly(future);
                self.finish(task, waker, output);
            }
            Err(payload) => {
                drop_quietly(future);
                self.finish(task, waker, Err(JoinError::panicked(id, payload)));
            }
        }
        Step::Polled
    }

    /// A waker for one poll of `task`, which holds none: a spare one if there is
    /// one, else a new one.
    fn lend_waker(&self, task: TaskRef) -> Arc<TaskWaker> {
        if let Some(mut waker) = self.spare_wakers.borrow_mut().pop() {
            if let Some(unique) = Arc::get_mut(&mut waker) {
                unique.reuse_for(task);
                return waker;
            }
        }
        Arc::new(TaskWaker::new(task, &self.injector))
    }

    /// After a poll that returned `Pending`: the task keeps its waker if somebody
    /// else holds a clone (that is who will wake it) or it was `woken` (it runs
    /// again soon: lending it a spare then would be work for nothing). Otherwise
    /// it holds no waker until its next poll, and the waker goes back to the spares.
    fn keep_or_return(&self, waker: Arc<TaskWaker>, woken: bool) -> Option<Arc<TaskWaker>> {
        if !woken && Self::is_only_holder(&waker) {
            self.return_waker(waker);
            return None;
        }
        Some(waker)
    }

    /// Whether `waker` is the last reference: no clone is left anywhere, and none
    /// can be made.
    fn is_only_holder(waker: &Arc<TaskWaker>) -> bool {
        Arc::strong_count(waker) == 1
    }

    /// Keeps a waker nobody else holds for a later task, if there is room.
    fn return_waker(&self, waker: Arc<TaskWaker>) {
        let mut spare = self.spare_wakers.borrow_mut();
        if spare.len() < SPARE_WAKERS {
            spare.push(waker);
        }
    }

    /// Puts a task that returned `Pending` back into its slot, to wait for its waker
    /// — or at the back of the run queue, if it was woken while it ran.
    fn park(&self, task: TaskRef, future: TaskFuture, waker: Arc<TaskWaker>) {
        let woken = waker.stop_running();
        let waker = self.keep_or_return(waker, woken);
        let mut tasks = self.tasks.borrow_mut();
        let entry = &mut tasks[task.key()];
        entry.stage = Stage::Ready(future);
        entry.waker = waker;
        if woken {
            // The wake only marked the waker (see `TaskWaker::wake_by_ref`).
            entry.queued = entry.waker.is_none();
            self.queue.borrow_mut().push_back(task);
        } else if entry.aborted {
            // Aborted from inside its own poll: make sure it comes round again.
            self.schedule(entry, task);
        }
    }

    /// Queues `task` (whose slot is `entry`) unless it is queued already.
    fn schedule(&self, entry: &mut Task, task: TaskRef) {
        match &entry.waker {
            Some(waker) => ArcWake::wake_by_ref(waker),
            None if entry.queued => {}
            None => {
                entry.queued = true;
                self.queue.borrow_mut().push_back(task);
            }
        }
    }

    /// Records a task's output for its handle, or throws it away if detached.
    fn finish(&self, task: TaskRef, waker: Arc<TaskWaker>, output: TaskOutput) {
        // Wakes that still come (from clones kept elsewhere) must do nothing.
        waker.retire();
        if Self::is_only_holder(&waker) {
            self.return_waker(waker);
        }
        let mut tasks = self.tasks.borrow_mut();
        let entry = &mut tasks[task.key()];
        if entry.detached {
            let entry = tasks.remove(task.key());
            drop(tasks);
            drop_quietly((entry, output));
            return;
        }
        entry.stage = Stage::Finished(output);
        let joiner = entry.joiner.take();
        drop(tasks);
        if let Some(joiner) = joiner {
            joiner.wake();
        }
    }

    /// For `JoinHandle::poll`: the output if the task is done, else registers `waker`.
    pub(crate) fn poll_join(&self, task: TaskRef, id: u64, waker: &Waker) -> Poll<TaskOutput> {
        let mut tasks = self.tasks.borrow_mut();
        let Some(entry) = tasks.get_mut(task.key()).filter(|t| task.names(t.meta.id)) else {
            // Only a shutdown removes a task its handle has not joined.
            return Poll::Ready(Err(JoinError::cancelled(id, "its runtime was dropped")));
        };
        if let Stage::Finished(..) = entry.stage {
            let entry = tasks.remove(task.key());
            drop(tasks);
            let Stage::Finished(output) = entry.stage else {
                unreachable!()
            };
            return Poll::Ready(output);
        }
        let old = match &entry.joiner {
            Some(current) if current.will_wake(waker) => None,
            _ => entry.joiner.replace(waker.clone()),
        };
        drop(tasks);
        drop(old);
        Poll::Pending
    }

    /// For a dropped `JoinHandle`: the task keeps running, its output is thrown away.
    pub(crate) fn detach(&self, task: TaskRef) {
        let mut tasks = self.tasks.borrow_mut();
        let Some(entry) = tasks.get_mut(task.key()).filter(|t| task.names(t.meta.id)) else {
            return;
        };
        if let Stage::Finished(..) = entry.stage {
            let entry = tasks.remove(task.key());
            drop(tasks);
            drop_quietly(entry);
        } else {
            entry.detached = true;
            let old = entry.joiner.take();
            drop(tasks);
            drop(old);
        }
    }

    /// For `JoinHandle::abort`: marks the task and queues it, so the loop drops its
    /// future when it comes round (never inside another task's poll).
    pub(crate) fn abort(&self, task: TaskRef) {
        let mut tasks = self.tasks.borrow_mut();
        let Some(entry) = tasks.get_mut(task.key()).filter(|t| task.names(t.meta.id)) else {
            return;
        };
        if matches!(entry.stage, Stage::Finished(..)) || entry.aborted {
            return;
        }
        entry.aborted = true;
        // While the task runs, its waker is out of the slab; `park` queues it.
        if let Stage::Ready(_) = entry.stage {
            self.schedule(entry, task);
        }
    }

    /// Whether the task has ended (a task gone from the slab, at shutdown, has).
    pub(crate) fn is_finished(&self, task: TaskRef) -> bool {
        let tasks = self.tasks.borrow();
        match tasks.get(task.key()).filter(|t| task.names(t.meta.id)) {
            Some(t) => matches!(t.stage, Stage::Finished(_)),
            None => true,
        }
    }

    /// For `Debug`: the task's name and spawn site, while the executor has it.
    pub(crate) fn describe(&self, task: TaskRef) -> Option<(Option<Box<str>>, String)> {
        let tasks = self.tasks.borrow();
        let t = tasks.get(task.key()).filter(|t| task.names(t.meta.id))?;
        let site = format!("{}:{}", t.meta.location.file(), t.meta.location.line());
        Some((t.meta.name.clone(), site))
    }

    /// Drops every task (their destructors run), resolves every handle as cancelled,
    /// and refuses new tasks. Called when the runtime is dropped.
    pub(crate) fn shutdown(&self) {
        self.closed.set(true);
        drop_quietly(self.injector.close());
        let tasks = std::mem::take(&mut *self.tasks.borrow_mut());
        let mut joiners = Vec::new();
        for (_, mut task) in tasks {
            joiners.extend(task.joiner.take());
            drop_quietly(task);
        }
        // Destructors may have spawned (into a closed executor) or woken tasks.
        let late = std::mem::take(&mut *self.tasks.borrow_mut());
        drop_quietly(late);
        self.queue.borrow_mut().clear();
        self.spare_wakers.borrow_mut().clear();
        for joiner in joiners {
            joiner.wake();
        }
    }
}

impl Task {
    /// A task record in `stage`, never polled yet (and queued, unless it ended
    /// at once).
    fn new(stage: Stage, meta: TaskMeta, detached: bool) -> Task {
        Task {
            queued: matches!(stage, Stage::Ready(_)),
            stage,
            waker: None,
            joiner: None,
            meta,
            last_turn: 0,
            aborted: false,
            detached,
        }
    }
}

/// Drops `value`, catching a panic from its destructor so that one bad destructor
/// cannot take the loop down.
fn drop_quietly<T>(value: T) {
    let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(value)));
}

/// Undoes [`Executor::enter`] on drop.
pub(crate) struct Entered {
    /// The executor that was current before, restored on drop.
    previous: Option<Rc<Executor>>,
}

impl Drop for Entered {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // The replaced `Rc` is dropped after the borrow ends.
        let _ = CURRENT.try_with(|current| current.replace(previous));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every spawned task pays for a slab slot and a queue entry; the memory bench
    /// (`idle_task_memory`) beats tokio's only while these stay this small.
    #[test]
    fn a_task_costs_a_small_slot_and_an_eight_byte_queue_entry() {
        assert!(
            std::mem::size_of::<Task>() <= 88,
            "Task grew: {}",
            std::mem::size_of::<Task>()
        );
        assert_eq!(std::mem::size_of::<TaskOutput>(), 16);
        assert_eq!(std::mem::size_of::<TaskRef>(), 8);
    }
}

//! The executor: where tasks live (a slab), the run queue, and steps 2 and 3 of
//! the loop.
//!
//! Floor 1, owned by the runtime. A task is a boxed future in a slab slot; the run
//! queue holds [`TaskRef`]s (slot + id), never the futures themselves. Polling takes
//! the future *out* of its slot first, so the task's own code may spawn, join or
//! abort — which all touch the slab — without a `RefCell` conflict. The same rule
//! holds everywhere below: user code (a poll, a destructor, a foreign waker) never
//! runs while this module holds a borrow.

use std::any::Any;
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
use super::{TaskFuture, TaskMeta, TaskOutput};

thread_local! {
    /// The executor this thread is running right now, if any: where
    /// `evloop::spawn` puts tasks, and where a waker woken on this thread pushes.
    static CURRENT: RefCell<Option<Rc<Executor>>> = const { RefCell::new(None) };
}

/// How many finished tasks' wakers are kept for reuse, saving an allocation per
/// spawn. Beyond this, spares are freed.
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
    /// Done; the output waits for the `JoinHandle`. The number says in which
    /// order tasks finished (for `JoinSet::join_next`).
    Finished(TaskOutput, u64),
}

/// Who waits for a task's output.
enum Join {
    /// A `JoinHandle` exists; the waker of whoever awaits it, if anyone does yet.
    Waiting(Option<Waker>),
    /// The handle was dropped: the output is thrown away when the task ends.
    Detached,
}

/// One slot of the slab: a task and its bookkeeping.
struct Task {
    /// The future, or its output.
    stage: Stage,
    /// The task's waker; `None` while it is being polled (moved out beside the future).
    waker: Option<Arc<TaskWaker>>,
    /// Whether a `JoinHandle` still waits for the output.
    join: Join,
    /// Set by `JoinHandle::abort`: drop the future at its next turn instead of polling.
    aborted: bool,
    /// The last turn this task was polled in: a task runs at most once per turn.
    last_turn: u64,
    /// Id, name and spawn site.
    meta: TaskMeta,
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
    turn: Cell<u64>,
    /// Set when the runtime shuts down: new tasks end at once as cancelled.
    closed: Cell<bool>,
    /// Wakers of finished tasks that nobody else holds, ready for reuse.
    spare_wakers: RefCell<Vec<Arc<TaskWaker>>>,
    /// How many tasks have finished: numbers the `Finished` stages.
    finished: Cell<u64>,
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
            finished: Cell::new(0),
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
        let future: TaskFuture =
            Box::pin(async move { Ok(Box::new(future.await) as Box<dyn Any>) });
        self.insert_joinable(future, meta)
    }

    /// Spawns a task whose output already says how it ends: with a value, or (for
    /// `spawn_blocking`) with a `JoinError`.
    pub(crate) fn spawn_fallible<F, T>(self: &Rc<Self>, future: F, meta: TaskMeta) -> JoinHandle<T>
    where
        F: Future<Output = Result<T, JoinError>> + 'static,
        T: 'static,
    {
        let future: TaskFuture =
            Box::pin(async move { future.await.map(|value| Box::new(value) as Box<dyn Any>) });
        self.insert_joinable(future, meta)
    }

    /// Stores a task that has a `JoinHandle`, and returns the handle.
    fn insert_joinable<T>(self: &Rc<Self>, future: TaskFuture, meta: TaskMeta) -> JoinHandle<T> {
        let task = self.insert(future, meta, Join::Waiting(None));
        JoinHandle::new(Rc::downgrade(self), task)
    }

    /// Stores a new task and queues it. On a closed executor the task ends at once
    /// as cancelled, without being polled.
    fn insert(&self, future: TaskFuture, meta: TaskMeta, join: Join) -> TaskRef {
        let mut tasks = self.tasks.borrow_mut();
        let entry = tasks.vacant_entry();
        let task = TaskRef {
            key: entry.key(),
            id: meta.id,
        };
        if self.closed.get() {
            if matches!(join, Join::Waiting(_)) {
                let cancelled = JoinError::cancelled(meta.id, "its runtime was shutting down");
                entry.insert(Task::new(
                    Stage::Finished(Err(cancelled), 0),
                    None,
                    join,
                    meta,
                ));
            }
            drop(tasks);
            drop(future);
            return task;
        }
        let waker = self.new_waker(task);
        entry.insert(Task::new(Stage::Ready(future), Some(waker), join, meta));
        drop(tasks);
        self.queue.borrow_mut().push_back(task);
        task
    }

    /// A waker for `task`, recycled from a finished task when one is spare.
    fn new_waker(&self, task: TaskRef) -> Arc<TaskWaker> {
        if let Some(mut waker) = self.spare_wakers.borrow_mut().pop() {
            if let Some(unique) = Arc::get_mut(&mut waker) {
                unique.reuse_for(task);
                return waker;
            }
        }
        Arc::new(TaskWaker::new(task, &self.injector))
    }

    /// Keeps a finished task's waker for reuse if no `Waker` clone still points at it.
    fn recycle(&self, mut waker: Arc<TaskWaker>) {
        if Arc::get_mut(&mut waker).is_some() {
            let mut spare = self.spare_wakers.borrow_mut();
            if spare.len() < SPARE_WAKERS {
                spare.push(waker);
            }
        }
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
            self.insert(spawn.future, spawn.meta, Join::Detached);
        }
        *self.injected.borrow_mut() = injected;
    }

    /// Step 3: polls ready tasks in FIFO order, each at most once, at most `budget`
    /// polls. Returns how many tasks were polled.
    pub(crate) fn run_ready(&self, budget: usize) -> usize {
        let turn = self.turn.get() + 1;
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
    fn poll_task(&self, task: TaskRef, turn: u64) -> Step {
        let mut tasks = self.tasks.borrow_mut();
        let Some(entry) = tasks.get_mut(task.key).filter(|t| t.meta.id == task.id) else {
            return Step::Skipped;
        };
        if entry.last_turn == turn {
            return Step::Again;
        }
        let Stage::Ready(mut future) = std::mem::replace(&mut entry.stage, Stage::Running) else {
            unreachable!("a queued task is always ready: it is queued once, by its waker");
        };
        entry.last_turn = turn;
        let waker = entry.waker.take().expect("a ready task owns its waker");
        // A wake that arrives while the task runs must queue it again, or it is lost.
        waker.unschedule();
        let aborted = entry.aborted;
        drop(tasks);

        if aborted {
            drop_quietly(future);
            self.finish(task, waker, Err(JoinError::cancelled(task.id, "aborted")));
            return Step::Polled;
        }
        let result = {
            let waker_ref = waker_ref(&waker);
            let mut cx = Context::from_waker(&waker_ref);
            panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut cx)))
        };
        match result {
            Ok(Poll::Pending) => self.park(task, future, waker),
            Ok(Poll::Ready(output)) => {
                drop_quietly(future);
                self.finish(task, waker, output);
            }
            Err(payload) => {
                drop_quietly(future);
                self.finish(task, waker, Err(JoinError::panicked(task.id, payload)));
            }
        }
        Step::Polled
    }

    /// Puts a task that returned `Pending` back into its slot, to wait for its waker.
    fn park(&self, task: TaskRef, future: TaskFuture, waker: Arc<TaskWaker>) {
        let mut tasks = self.tasks.borrow_mut();
        let entry = &mut tasks[task.key];
        entry.stage = Stage::Ready(future);
        if entry.aborted {
            // Aborted from inside its own poll: make sure it comes round again.
            ArcWake::wake_by_ref(&waker);
        }
        entry.waker = Some(waker);
    }

    /// Records a task's output for its handle, or throws it away if detached.
    fn finish(&self, task: TaskRef, waker: Arc<TaskWaker>, output: TaskOutput) {
        waker.retire();
        self.recycle(waker);
        let mut tasks = self.tasks.borrow_mut();
        let entry = &mut tasks[task.key];
        let joiner = match &mut entry.join {
            Join::Waiting(joiner) => {
                let joiner = joiner.take();
                self.finished.set(self.finished.get() + 1);
                entry.stage = Stage::Finished(output, self.finished.get());
                drop(tasks);
                joiner
            }
            Join::Detached => {
                let entry = tasks.remove(task.key);
                drop(tasks);
                drop_quietly((entry, output));
                None
            }
        };
        if let Some(joiner) = joiner {
            joiner.wake();
        }
    }

    /// For `JoinHandle::poll`: the output if the task is done, else registers `waker`.
    pub(crate) fn poll_join(&self, task: TaskRef, waker: &Waker) -> Poll<TaskOutput> {
        let mut tasks = self.tasks.borrow_mut();
        let Some(entry) = tasks.get_mut(task.key).filter(|t| t.meta.id == task.id) else {
            // Only a shutdown removes a task its handle has not joined.
            return Poll::Ready(Err(JoinError::cancelled(
                task.id,
                "its runtime was dropped",
            )));
        };
        if let Stage::Finished(..) = entry.stage {
            let entry = tasks.remove(task.key);
            drop(tasks);
            let Stage::Finished(output, _) = entry.stage else {
                unreachable!()
            };
            return Poll::Ready(output);
        }
        let old = match &mut entry.join {
            Join::Waiting(Some(current)) if current.will_wake(waker) => None,
            Join::Waiting(slot) => slot.replace(waker.clone()),
            Join::Detached => None,
        };
        drop(tasks);
        drop(old);
        Poll::Pending
    }

    /// For a dropped `JoinHandle`: the task keeps running, its output is thrown away.
    pub(crate) fn detach(&self, task: TaskRef) {
        let mut tasks = self.tasks.borrow_mut();
        let Some(entry) = tasks.get_mut(task.key).filter(|t| t.meta.id == task.id) else {
            return;
        };
        if let Stage::Finished(..) = entry.stage {
            let entry = tasks.remove(task.key);
            drop(tasks);
            drop_quietly(entry);
        } else {
            let old = std::mem::replace(&mut entry.join, Join::Detached);
            drop(tasks);
            drop(old);
        }
    }

    /// For `JoinHandle::abort`: marks the task and queues it, so the loop drops its
    /// future when it comes round (never inside another task's poll).
    pub(crate) fn abort(&self, task: TaskRef) {
        let mut tasks = self.tasks.borrow_mut();
        let Some(entry) = tasks.get_mut(task.key).filter(|t| t.meta.id == task.id) else {
            return;
        };
        if matches!(entry.stage, Stage::Finished(..)) {
            return;
        }
        entry.aborted = true;
        // While the task runs its waker is out of the slab; `park` re-queues it.
        let waker = entry.waker.clone();
        drop(tasks);
        if let Some(waker) = waker {
            ArcWake::wake_by_ref(&waker);
        }
    }

    /// When the task finished, counted in finishes of this executor; `None`
    /// while it runs. A task gone from the slab (at shutdown) counts as first.
    pub(crate) fn finish_order(&self, task: TaskRef) -> Option<u64> {
        let tasks = self.tasks.borrow();
        match tasks.get(task.key).filter(|t| t.meta.id == task.id) {
            Some(Task {
                stage: Stage::Finished(_, order),
                ..
            }) => Some(*order),
            Some(_) => None,
            None => Some(0),
        }
    }

    /// For `Debug`: the task's name and spawn site, while the executor has it.
    pub(crate) fn describe(&self, task: TaskRef) -> Option<(Option<Box<str>>, String)> {
        let tasks = self.tasks.borrow();
        let t = tasks.get(task.key).filter(|t| t.meta.id == task.id)?;
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
            if let Join::Waiting(Some(joiner)) = std::mem::replace(&mut task.join, Join::Detached) {
                joiners.push(joiner);
            }
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
    /// A task record in `stage`, never polled yet.
    fn new(stage: Stage, waker: Option<Arc<TaskWaker>>, join: Join, meta: TaskMeta) -> Task {
        Task {
            stage,
            waker,
            join,
            aborted: false,
            last_turn: 0,
            meta,
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

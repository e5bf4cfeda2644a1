//! Wakers: how a task gets back onto the run queue, from this thread or any other.
//!
//! Floor 1, used by the executor. A task that has given out a `Waker` has one
//! [`TaskWaker`], shared through an `Arc` by every `std::task::Waker` cloned from it
//! (a task whose waker nobody kept has none: see `Executor::poll_task`). Waking
//! does one of three things:
//!
//! - the task is already scheduled, or is being polled right now, or has finished:
//!   nothing but one atomic `or` (a task woken while it runs is queued again by
//!   the executor when its poll returns);
//! - we are on the loop's thread, inside this runtime: push onto the local run queue —
//!   no lock, no syscall;
//! - anywhere else: push onto the [`Injector`] (a mutex-guarded queue) and wake the
//!   reactor, which step 2 of the next turn drains.
//!
//! Wakers reach the runtime through a `Weak`, so a waker kept after the runtime is
//! dropped holds none of its memory or file descriptors, and waking it does nothing.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::Waker;

use futures_task::ArcWake;

use super::executor;
use super::SendTaskFuture;

/// Names one task in a queue: its slab key and a tag from its id. A slab slot is
/// reused after its task ends, so the tag tells a stale entry from the slot's new
/// task. Eight bytes, so a run queue of a million tasks takes 8 MB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TaskRef {
    /// The task's slot in the executor's slab.
    pub(crate) key: u32,
    /// The low 32 bits of the task's id: two tasks that share a slot, one after the
    /// other, differ here unless four billion tasks were spawned in between.
    pub(crate) tag: u32,
}

impl TaskRef {
    /// The name of task `id` in slab slot `key`.
    pub(crate) fn new(key: usize, id: u64) -> TaskRef {
        let key = u32::try_from(key).expect("more than 4 billion tasks alive at once");
        TaskRef {
            key,
            tag: id as u32, // truncation intended: the tag only tells slot-mates apart
        }
    }

    /// The slab key.
    pub(crate) fn key(self) -> usize {
        self.key as usize
    }

    /// Whether this names task `id` (and not an earlier or later task in its slot).
    pub(crate) fn names(self, id: u64) -> bool {
        self.tag == id as u32
    }
}

/// A wake came since the task was last polled: it sits in a run queue (or, if
/// [`RUNNING`] is set too, goes back into one when its poll returns).
const SCHEDULED: u8 = 1;
/// The task is being polled right now: a wake only sets [`SCHEDULED`].
const RUNNING: u8 = 2;

/// The waking half of a task: `Send + Sync`, shared by all its `Waker`s.
#[derive(Debug)]
pub(crate) struct TaskWaker {
    /// [`SCHEDULED`] and [`RUNNING`]. While either is set a wake queues nothing,
    /// so a task is never queued twice; a finished task stays `SCHEDULED`.
    state: AtomicU8,
    /// Which task to queue.
    task: TaskRef,
    /// Which executor the task belongs to, to recognise "we are on its thread".
    executor: u64,
    /// The way in from other threads; dead once the runtime is dropped.
    injector: Weak<Injector>,
}

impl TaskWaker {
    /// A waker for `task`, about to be polled.
    pub(crate) fn new(task: TaskRef, injector: &Arc<Injector>) -> TaskWaker {
        TaskWaker {
            state: AtomicU8::new(RUNNING),
            task,
            executor: injector.executor,
            injector: Arc::downgrade(injector),
        }
    }

    /// Points a waker nobody else holds at `task`, about to be polled.
    pub(crate) fn reuse_for(&mut self, task: TaskRef) {
        self.task = task;
        *self.state.get_mut() = RUNNING;
    }

    /// Called just before the task is polled: the wakes that queued it are used
    /// up, and a wake from now on (even one from inside this very poll) must bring
    /// it round again, or the wake is lost.
    pub(crate) fn start_running(&self) {
        self.state.store(RUNNING, Ordering::Release);
    }

    /// Called when the poll returned `Pending`: whether a wake came during it, in
    /// which case the executor must queue the task (nobody else did).
    pub(crate) fn stop_running(&self) -> bool {
        self.state.fetch_and(!RUNNING, Ordering::AcqRel) & SCHEDULED != 0
    }

    /// Called when the task has ended: every later wake is a no-op.
    pub(crate) fn retire(&self) {
        self.state.store(SCHEDULED, Ordering::Release);
    }
}

impl ArcWake for TaskWaker {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        if arc_self.state.fetch_or(SCHEDULED, Ordering::AcqRel) != 0 {
            return; // already queued, running (requeued when it returns), or finished
        }
        if executor::push_local(arc_self.executor, arc_self.task) {
            return;
        }
        if let Some(injector) = arc_self.injector.upgrade() {
            injector.push_wake(arc_self.task);
        }
    }
}

/// A task spawned from another thread (`Handle::spawn`), on its way to the loop.
pub(crate) struct RemoteSpawn {
    /// The task's future; `Send`, since it crosses threads.
    pub(crate) future: SendTaskFuture,
    /// Its id, name and spawn site.
    pub(crate) meta: super::TaskMeta,
}

/// What other threads have handed to the loop since step 2 last looked.
#[derive(Default)]
pub(crate) struct Injected {
    /// Tasks woken from other threads.
    pub(crate) wakes: Vec<TaskRef>,
    /// Tasks spawned from other threads.
    pub(crate) spawns: Vec<RemoteSpawn>,
}

/// The injection queue: the one way into a runtime from other threads.
pub(crate) struct Injector {
    /// The executor this queue feeds.
    executor: u64,
    /// Wakes and spawns waiting for step 2, and whether the runtime is gone.
    queue: Mutex<(Injected, bool)>,
    /// Set when something was pushed and the reactor was woken; cleared by step 2.
    /// Saves a syscall for every push after the first in one turn.
    notified: AtomicBool,
    /// Wakes the reactor out of its wait (the runtime hands in a waker for
    /// `mio::Waker`; the executor never needs to know what it is).
    unpark: Waker,
}

impl Injector {
    /// An open queue for executor `executor`; `unpark` interrupts the loop's wait.
    pub(crate) fn new(executor: u64, unpark: Waker) -> Injector {
        Injector {
            executor,
            queue: Mutex::new((Injected::default(), false)),
            notified: AtomicBool::new(false),
            unpark,
        }
    }

    /// Queues a wake from another thread.
    pub(crate) fn push_wake(&self, task: TaskRef) {
        let mut queue = self.lock();
        if queue.1 {
            return;
        }
        queue.0.wakes.push(task);
        drop(queue);
        self.notify();
    }

    /// Queues a spawn from another thread. If the runtime is gone, the spawn is
    /// dropped here, which resolves its handle as cancelled.
    pub(crate) fn push_spawn(&self, spawn: RemoteSpawn) {
        let mut queue = self.lock();
        if queue.1 {
            drop(queue);
            drop(spawn);
            return;
        }
        queue.0.spawns.push(spawn);
        drop(queue);
        self.notify();
    }

    /// Interrupts the loop's wait, unless a wake-up is already on its way.
    pub(crate) fn notify(&self) {
        if !self.notified.swap(true, Ordering::SeqCst) {
            self.unpark.wake_by_ref();
        }
    }

    /// Whether something was pushed (or the loop was nudged) since step 2 last looked.
    pub(crate) fn has_pending(&self) -> bool {
        self.notified.load(Ordering::SeqCst)
    }

    /// Step 2: swaps everything pushed since the last call into `into` (whose
    /// vectors must be empty), cheaply returning at once when nothing was.
    pub(crate) fn take(&self, into: &mut Injected) {
        if !self.notified.swap(false, Ordering::SeqCst) {
            return;
        }
        let mut queue = self.lock();
        std::mem::swap(&mut queue.0.wakes, &mut into.wakes);
        std::mem::swap(&mut queue.0.spawns, &mut into.spawns);
    }

    /// Closes the queue for good and returns what was still in it. Later pushes
    /// are dropped at once.
    pub(crate) fn close(&self) -> Injected {
        let mut queue = self.lock();
        queue.1 = true;
        std::mem::take(&mut queue.0)
    }

    /// Locks the queue, shrugging off poison: a panic elsewhere never leaves the
    /// two vectors half-updated.
    fn lock(&self) -> std::sync::MutexGuard<'_, (Injected, bool)> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The waker `block_on` gives its own future: a flag the loop checks before it
/// sleeps in step 4 (or the loop could sleep forever with the main future ready).
#[derive(Debug)]
pub(crate) struct BlockOnWaker {
    /// Set by a wake; taken by `block_on` before it polls its future.
    woken: AtomicBool,
    /// Which executor's thread may skip interrupting the reactor.
    executor: u64,
    /// How to interrupt the reactor from another thread.
    injector: Weak<Injector>,
}

impl BlockOnWaker {
    /// A waker that starts out woken, so `block_on` polls its future at once.
    pub(crate) fn new(injector: &Arc<Injector>) -> BlockOnWaker {
        BlockOnWaker {
            woken: AtomicBool::new(true),
            executor: injector.executor,
            injector: Arc::downgrade(injector),
        }
    }

    /// Whether the future was woken since the last call, clearing the flag.
    pub(crate) fn take_woken(&self) -> bool {
        self.woken.swap(false, Ordering::AcqRel)
    }

    /// Whether the future was woken, without clearing the flag.
    pub(crate) fn is_woken(&self) -> bool {
        self.woken.load(Ordering::Acquire)
    }

    /// Makes the next `take_woken` true (a fresh `block_on` polls at once).
    pub(crate) fn set_woken(&self) {
        self.woken.store(true, Ordering::Release);
    }
}

impl ArcWake for BlockOnWaker {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        if arc_self.woken.swap(true, Ordering::AcqRel) {
            return;
        }
        // On the loop's own thread the flag is enough: step 4 looks at it.
        if executor::is_current(arc_self.executor) {
            return;
        }
        if let Some(injector) = arc_self.injector.upgrade() {
            injector.notify();
        }
    }
}

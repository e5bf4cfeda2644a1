//! The injection queue: the one way into a runtime from other threads — a task
//! woken there, a task spawned there — and the registry a wake uses to find it.
//!
//! Floor 1, part of the executor. A wake on another thread finds its task's
//! runtime by the executor's id in a process-wide registry (each thread remembers
//! the last runtime it found), pushes the task onto that runtime's queue under a
//! mutex, and wakes the reactor out of its wait; step 2 of the next turn moves
//! everything queued onto the run queue. A task travels through here at most once
//! at a time (`state.rs`: `IN_TRANSIT`).
//!
//! A spawn from another thread travels as a value of type `S` (the executor's
//! `RemoteSpawn`, a closure that spawns the real task): this queue only carries it,
//! so it need not know the executor it is carried to.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::mem;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::Waker;

use super::{drop_quietly, RemoteTask};
use crate::context;
use crate::lock::lock;
use crate::trace::record::Cause;

/// The injection queue of every live runtime, by executor id: how a wake on another
/// thread finds its task's runtime. Held weakly; an entry goes when its runtime does.
pub(crate) static INJECTORS: Mutex<BTreeMap<u32, Weak<dyn Injects>>> = Mutex::new(BTreeMap::new());

/// What a wake on another thread needs of an injection queue, whatever its spawns'
/// type: the registry holds queues as this.
pub(crate) trait Injects: Send + Sync {
    /// Queues a wake from another thread.
    fn push_wake(&self, task: RemoteTask);
}

/// The injection queue of executor `owner`, if its runtime is alive. Each thread
/// remembers the last one it found: a thread that wakes tasks of one runtime again
/// and again takes the registry's lock once.
pub(crate) fn find_injector(owner: u32) -> Option<Arc<dyn Injects>> {
    thread_local! {
        static LAST: RefCell<Option<(u32, Weak<dyn Injects>)>> = const { RefCell::new(None) };
    }
    let cached = LAST.try_with(|last| match &*last.borrow() {
        Some((id, injector)) if *id == owner => injector.upgrade(),
        _ => None,
    });
    if let Ok(Some(injector)) = cached {
        return Some(injector);
    }
    let found = lock(&INJECTORS).get(&owner).cloned()?;
    let _ = LAST.try_with(|last| *last.borrow_mut() = Some((owner, found.clone())));
    found.upgrade()
}

/// What other threads handed to the loop since step 2 last looked.
pub(crate) struct Injected<S> {
    /// Tasks woken on other threads, and by what kind of thread.
    pub(crate) wakes: Vec<(RemoteTask, Cause)>,
    /// Tasks spawned on other threads.
    pub(crate) spawns: Vec<S>,
    /// The runtime is gone: later pushes are dropped at once.
    closed: bool,
}

impl<S> Default for Injected<S> {
    fn default() -> Injected<S> {
        Injected {
            wakes: Vec::new(),
            spawns: Vec::new(),
            closed: false,
        }
    }
}

/// The injection queue: the one way into a runtime from other threads.
pub(crate) struct Injector<S> {
    /// Wakes and spawns waiting for step 2.
    queue: Mutex<Injected<S>>,
    /// Set when something was pushed and the loop was woken; cleared by step 2.
    /// Saves a syscall for every push after the first in one turn.
    notified: AtomicBool,
    /// Wakes the loop out of its wait for I/O (the runtime hands in a waker over
    /// the reactor's eventfd; the executor need not know what it is).
    unpark: Waker,
    /// How many `Handle`s exist: while one does, another thread may spawn, so the
    /// program is not stuck.
    handles: AtomicUsize,
    /// Where the runtime's task ids come from: handles on other threads take
    /// them too.
    pub(crate) ids: super::Ids,
}

impl<S> Injected<S> {
    /// Shrinks vectors a burst grew, once step 2 has emptied them.
    pub(crate) fn give_back_room(&mut self) {
        crate::room::give_back_vec(&mut self.wakes);
        crate::room::give_back_vec(&mut self.spawns);
    }
}

impl<S: Send> Injects for Injector<S> {
    fn push_wake(&self, task: RemoteTask) {
        Injector::push_wake(self, task);
    }
}

impl<S> Injector<S> {
    pub(crate) fn new(unpark: Waker, ids: super::Ids) -> Injector<S> {
        Injector {
            ids,
            queue: Mutex::new(Injected::default()),
            notified: AtomicBool::new(false),
            unpark,
            handles: AtomicUsize::new(0),
        }
    }

    /// Counts `Handle`s as they are made (`+1`) and dropped (`-1`).
    pub(crate) fn count_handle(&self, made: bool) {
        match made {
            true => self.handles.fetch_add(1, Ordering::Relaxed),
            false => self.handles.fetch_sub(1, Ordering::Relaxed),
        };
    }

    /// Whether any `Handle` exists.
    pub(crate) fn has_handles(&self) -> bool {
        self.handles.load(Ordering::Relaxed) > 0
    }

    /// Queues a wake from another thread: a pool thread's, or any other's.
    pub(crate) fn push_wake(&self, task: RemoteTask) {
        let cause = if context::pool_thread().is_some() {
            Cause::Pool
        } else {
            Cause::Thread
        };
        let mut queue = lock(&self.queue);
        if queue.closed {
            drop(queue);
            return drop(task);
        }
        queue.wakes.push((task, cause));
        drop(queue);
        self.notify();
    }

    /// Queues a spawn from another thread. If the runtime is gone, the spawn is
    /// dropped here, which resolves its handle as cancelled.
    pub(crate) fn push_spawn(&self, spawn: S) {
        let mut queue = lock(&self.queue);
        if queue.closed {
            drop(queue);
            return drop_quietly(spawn);
        }
        queue.spawns.push(spawn);
        drop(queue);
        self.notify();
    }

    /// Interrupts the loop's wait, unless a wake-up is already on its way.
    pub(crate) fn notify(&self) {
        if !self.notified.swap(true, Ordering::SeqCst) {
            self.unpark.wake_by_ref();
        }
    }

    /// Whether something was pushed (or the loop nudged) since step 2 last looked.
    pub(crate) fn has_pending(&self) -> bool {
        self.notified.load(Ordering::SeqCst)
    }

    /// Step 2: swaps everything pushed since the last call into `into` (whose
    /// vectors must be empty); returns at once when nothing was.
    pub(crate) fn take(&self, into: &mut Injected<S>) {
        // A load first: most turns nothing came, and a swap would cost a locked op.
        if !self.has_pending() || !self.notified.swap(false, Ordering::SeqCst) {
            return;
        }
        let mut queue = lock(&self.queue);
        mem::swap(&mut queue.wakes, &mut into.wakes);
        mem::swap(&mut queue.spawns, &mut into.spawns);
    }

    /// Closes the queue for good and returns what was still in it.
    pub(crate) fn close(&self) -> Injected<S> {
        let mut queue = lock(&self.queue);
        queue.closed = true;
        mem::take(&mut *queue)
    }
}

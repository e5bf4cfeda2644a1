//! The executor: the tasks, the run queue, the way in from other threads, and
//! steps 2 and 3 of the loop.
//!
//! Floor 1, owned by the runtime. Read it in this order:
//!
//! 1. **A wake comes in.** A task's waker (`cell.rs`) asks the state word whether
//!    the task must be queued; if so, it calls [`Schedule::schedule`] below. On the
//!    loop's own thread that pushes the task onto the run queue — no lock, no
//!    syscall. On any other thread it pushes it onto the [`Injector`], a
//!    mutex-guarded queue, and wakes the reactor out of its wait (step 4).
//! 2. **Step 2** ([`Executor::take_injected`]) moves what other threads pushed onto
//!    the run queue, and starts the tasks they spawned.
//! 3. **Step 3** ([`Executor::run_ready`]) polls the tasks that were ready when it
//!    began, oldest wake first; a task woken during its own poll goes to the back.
//!
//! Each task is in the executor's list (`tasks`) from spawn until it ends: that is
//! how the runtime drops every task's future when it is dropped, and lists them.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::mem;
use std::panic::{self, AssertUnwindSafe, Location};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Poll, Waker};

use slab::Slab;

use super::state::{Flags, Wake};
use super::{JoinError, JoinHandle, Joiner, Meta, RemoteTask, Schedule, Task, TaskFuture, Woken};
use crate::context;
use crate::lock::lock;

/// A task spawned from another thread, on its way to the loop: it runs in step 2
/// and spawns the real task there (its future need not be `Send`).
pub(crate) type RemoteSpawn = Box<dyn FnOnce(&Executor) + Send>;

/// Task storage and the run queue of one runtime.
pub(crate) struct Executor {
    /// Every task that has not ended: the executor's own reference to each.
    tasks: RefCell<Slab<Task>>,
    /// The names of the tasks that have one, by id.
    names: RefCell<HashMap<u64, Box<str>>>,
    /// Tasks ready to be polled, oldest wake first.
    queue: RefCell<VecDeque<Task>>,
    /// The way in from other threads.
    injector: Arc<Injector>,
    /// Scratch space swapped with the injector's each turn, to keep its capacity.
    injected: RefCell<Injected>,
    /// Set when the runtime shuts down: a task spawned after that ends at once.
    closed: Cell<bool>,
    /// Counts the turns' step 3 (modulo 2¹⁶), so each task runs at most once per turn.
    turn: Cell<u16>,
    /// Which executor this is: unique in the process, never reused.
    owner: u32,
}

/// Runs `f` with the executor of the runtime this thread drives, if any. `f` must
/// not enter or leave a runtime.
pub(crate) fn with_current<R>(f: impl FnOnce(&Executor) -> R) -> Option<R> {
    context::with_current(|driving| &driving.executor, f)
}

/// How a waker finds its executor. Zero-sized: a task holds no reference to its
/// runtime, so a waker kept after the runtime is gone holds none of its memory or
/// descriptors, and waking it then does nothing.
struct Scheduler;

impl Schedule for Scheduler {
    fn schedule(&self, task: Woken<'_>) {
        let owner = task.owner();
        match context::driving_id() {
            // On the loop's own thread: onto the run queue — no lock, no syscall, not
            // even an atomic operation. (A task woken during its own poll is only
            // marked: `yield_now` is this path.)
            id if id == owner => {
                let task = task.into_local(owner);
                if task.meta.flags.wake() == Wake::Schedule {
                    with_current(|executor| executor.queue.borrow_mut().push_back(task));
                }
            }
            // Anywhere else: through the runtime's injection queue, which wakes the
            // loop (unless a wake from another thread is on its way already).
            _ => {
                if let Some(task) = task.into_remote() {
                    if let Some(injector) = find_injector(owner) {
                        injector.push_wake(task);
                    }
                }
            }
        }
    }
}

/// The injection queue of every live runtime, by executor id: how a wake on another
/// thread finds its task's runtime. Held weakly; an entry goes when its runtime does.
static INJECTORS: Mutex<BTreeMap<u32, Weak<Injector>>> = Mutex::new(BTreeMap::new());

/// The injection queue of executor `owner`, if its runtime is alive. Each thread
/// remembers the last one it found: a thread that wakes tasks of one runtime again
/// and again takes the registry's lock once.
fn find_injector(owner: u32) -> Option<Arc<Injector>> {
    thread_local! {
        static LAST: RefCell<Option<(u32, Weak<Injector>)>> = const { RefCell::new(None) };
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

impl Executor {
    /// An empty executor. `unpark` must interrupt the loop's wait for I/O; other
    /// threads call it after they push a wake or a spawn.
    pub(crate) fn new(unpark: Waker) -> Rc<Executor> {
        static NEXT_OWNER: AtomicU32 = AtomicU32::new(1);
        let owner = NEXT_OWNER.fetch_add(1, Ordering::Relaxed);
        assert!(
            owner != 0,
            "more than 4 billion runtimes made in one process"
        );
        let injector = Arc::new(Injector::new(unpark));
        lock(&INJECTORS).insert(owner, Arc::downgrade(&injector));
        Rc::new(Executor {
            tasks: RefCell::new(Slab::new()),
            names: RefCell::new(HashMap::new()),
            queue: RefCell::new(VecDeque::new()),
            injector,
            injected: RefCell::new(Injected::default()),
            closed: Cell::new(false),
            turn: Cell::new(0),
            owner,
        })
    }

    /// Which executor this is: unique in the process.
    pub(crate) fn owner(&self) -> u32 {
        self.owner
    }

    /// The injection queue, for handles that spawn from other threads.
    pub(crate) fn injector(&self) -> &Arc<Injector> {
        &self.injector
    }

    /// Spawns a task: one allocation, queued for the next step 3.
    pub(crate) fn spawn<F: TaskFuture>(
        &self,
        future: F,
        id: u64,
        location: &'static Location<'static>,
        name: Option<&str>,
    ) -> JoinHandle<F::Output> {
        JoinHandle::new(self.insert(future, id, location, name))
    }

    /// Spawns a task whose output goes to `deliver`, run on the loop's thread when
    /// the task ends (returned, panicked or cancelled), instead of to a
    /// `JoinHandle`: a task spawned from another thread. Returns a reference that
    /// can abort it from anywhere.
    pub(crate) fn spawn_delivering<F: TaskFuture>(
        &self,
        future: F,
        id: u64,
        location: &'static Location<'static>,
        deliver: impl FnOnce(Result<F::Output, JoinError>) + 'static,
    ) -> RemoteTask {
        let reader = self.insert(future, id, location, None);
        let (slot, remote) = (reader.meta.slot.get() as usize, reader.remote());
        let call = move || {
            let output = reader.take_output::<F::Output>();
            deliver(output.expect("an ended task holds its output"));
        };
        match self.tasks.borrow().get(slot) {
            Some(task) => task.meta.joiner.set(Some(Joiner::Call(Box::new(call)))),
            None => call(), // the runtime is shutting down: the task ended at once
        }
        remote
    }

    /// Makes a task's cell, lists it and queues it; returns the reference that
    /// reads its output. On a runtime shutting down, the task ends at once.
    fn insert<F: TaskFuture>(
        &self,
        future: F,
        id: u64,
        location: &'static Location<'static>,
        name: Option<&str>,
    ) -> Task {
        let meta = Meta {
            id,
            location,
            owner: self.owner,
            joiner: Cell::new(None),
            refs: Cell::new(0),
            slot: Cell::new(0),
            polls: Cell::new(0),
            turn: Cell::new(0),
            flags: Flags::new(),
        };
        let [task, queued, reader] = Task::new(future, Scheduler, meta);
        if self.closed.get() {
            // Spawned while the runtime shuts down: it ends at once, never polled.
            task.cancel(JoinError::cancelled(id, "its runtime was shutting down"));
            task.meta.flags.complete(); // the reader keeps the error
            drop(queued);
            return reader;
        }
        let mut tasks = self.tasks.borrow_mut();
        let entry = tasks.vacant_entry();
        task.meta
            .slot
            .set(u32::try_from(entry.key()).expect("4 billion tasks at once"));
        entry.insert(task);
        drop(tasks);
        if let Some(name) = name {
            self.names.borrow_mut().insert(id, name.into());
        }
        self.queue.borrow_mut().push_back(queued);
        reader
    }

    /// Whether a task is queued to run, or other threads handed in work that step 2
    /// has not taken yet.
    pub(crate) fn has_ready(&self) -> bool {
        !self.queue.borrow().is_empty() || self.injector.has_pending()
    }

    /// Step 2: moves wakes and spawns from other threads onto the run queue.
    pub(crate) fn take_injected(&self) {
        let mut injected = self.injected.take();
        self.injector.take(&mut injected);
        let owner = self.owner();
        for task in injected.wakes.drain(..) {
            let task = task.into_local(owner);
            task.shared.arrived(); // a later wake from another thread sends it again
            self.wake(task);
        }
        for spawn in injected.spawns.drain(..) {
            spawn(self);
        }
        injected.give_back_room();
        *self.injected.borrow_mut() = injected;
    }

    /// Step 3: polls ready tasks, oldest wake first, at most `max_polls` of them and
    /// each at most once: the turn ends at a task polled in it already (one that
    /// yielded goes to the back of the queue, so every other ready task ran first).
    /// Returns how many were polled.
    pub(crate) fn run_ready(&self, max_polls: usize) -> usize {
        let turn = self.turn.get().wrapping_add(1);
        self.turn.set(turn);
        let mut polled = 0;
        while polled < max_polls {
            let Some(task) = self.queue.borrow_mut().pop_front() else {
                give_back_room(&mut self.queue.borrow_mut());
                break;
            };
            if task.meta.turn.replace(turn) == turn {
                // Polled this turn already (it yielded, say): it goes first next turn.
                self.queue.borrow_mut().push_front(task);
                break;
            }
            self.poll_task(task);
            polled += 1;
        }
        polled
    }

    /// Polls one task (or, if it was aborted, drops its future unpolled), then
    /// queues it again if it was woken meanwhile, lets it wait, or ends it.
    fn poll_task(&self, task: Task) {
        task.meta.flags.start_running();
        if task.shared.is_aborted() {
            task.cancel(JoinError::cancelled(task.meta.id, "aborted"));
            return self.end(&task);
        }
        let polls = &task.meta.polls;
        polls.set(polls.get().wrapping_add(1));
        // A panic is caught here: it ends this task, never the loop.
        let poll = || panic::catch_unwind(AssertUnwindSafe(|| task.poll()));
        match context::with_budget(poll) {
            Ok(Poll::Pending) if task.meta.flags.stop_running() => {
                self.queue.borrow_mut().push_back(task); // woken during its own poll
            }
            Ok(Poll::Pending) => {} // waits; whoever holds its waker brings it back
            Ok(Poll::Ready(())) => self.end(&task),
            Err(panic) => {
                task.cancel(JoinError::panicked(task.meta.id, panic));
                self.end(&task);
            }
        }
    }

    /// A wake on the loop's thread: queues the task, unless it is queued already,
    /// running (then it is marked, and queued when its poll returns) or over.
    fn wake(&self, task: Task) {
        if task.meta.flags.wake() == Wake::Schedule {
            self.queue.borrow_mut().push_back(task);
        }
    }

    /// A task ended (its output, or why it has none, is stored): takes it off the
    /// list, marks it complete and tells whoever waits for it.
    fn end(&self, task: &Task) {
        let mut tasks = self.tasks.borrow_mut();
        let own = tasks.try_remove(task.meta.slot.get() as usize);
        if tasks.is_empty() && tasks.capacity() > ROOM_KEPT {
            *tasks = Slab::with_capacity(ROOM_KEPT / 10); // a burst is over
        }
        drop(tasks);
        drop(own); // after the borrow ends; `task` keeps the cell alive
        self.forget_name(task);
        complete(task);
    }

    /// The name of task `id`, if it has one and has not ended.
    pub(crate) fn name(&self, id: u64) -> Option<String> {
        self.names.borrow().get(&id).map(|name| name.to_string())
    }

    /// Drops a task's name, if it had one: it ended.
    fn forget_name(&self, task: &Task) {
        if !self.names.borrow().is_empty() {
            let name = self.names.borrow_mut().remove(&task.meta.id);
            drop(name);
        }
    }

    /// Drops every task's future (their destructors run) and resolves every handle
    /// as cancelled; refuses new tasks from then on. Called when the runtime drops.
    pub(crate) fn shutdown(&self) {
        self.closed.set(true);
        lock(&INJECTORS).remove(&self.owner);
        drop_quietly(self.injector.close());
        // Destructors may spawn (those end at once) or wake; repeat until quiet.
        loop {
            let tasks = mem::take(&mut *self.tasks.borrow_mut());
            if tasks.is_empty() {
                break;
            }
            for (_, task) in tasks {
                task.cancel(JoinError::cancelled(
                    task.meta.id,
                    "its runtime was dropped",
                ));
                complete(&task);
            }
        }
        drop(mem::take(&mut *self.queue.borrow_mut()));
        self.names.borrow_mut().clear();
    }
}

/// Marks an ended task complete (wakes do nothing from now on), drops its output if
/// no `JoinHandle` will read it, and tells whoever waits for it.
fn complete(task: &Task) {
    if !task.meta.flags.complete() {
        task.drop_output(); // no `JoinHandle` will read it
    }
    match task.meta.joiner.take() {
        Some(Joiner::Waker(waker)) => waker.wake(),
        Some(Joiner::Call(call)) => call(),
        None => {}
    }
}

/// Drops `value`, catching a panic from its destructor: one bad destructor must not
/// take the loop down.
fn drop_quietly<T>(value: T) {
    let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(value)));
}

/// Collections that a burst grew to this many entries give the memory back once
/// they are empty again (down to a tenth of it), instead of holding their peak.
const ROOM_KEPT: usize = 4096;

/// Shrinks an empty queue that a burst grew, keeping room for the usual load.
fn give_back_room<T>(queue: &mut VecDeque<T>) {
    if queue.is_empty() && queue.capacity() > ROOM_KEPT {
        queue.shrink_to(ROOM_KEPT / 10);
    }
}

/// What other threads handed to the loop since step 2 last looked.
#[derive(Default)]
pub(crate) struct Injected {
    /// Tasks woken on other threads.
    wakes: Vec<RemoteTask>,
    /// Tasks spawned on other threads.
    spawns: Vec<RemoteSpawn>,
    /// The runtime is gone: later pushes are dropped at once.
    closed: bool,
}

/// The injection queue: the one way into a runtime from other threads.
pub(crate) struct Injector {
    /// Wakes and spawns waiting for step 2.
    queue: Mutex<Injected>,
    /// Set when something was pushed and the loop was woken; cleared by step 2.
    /// Saves a syscall for every push after the first in one turn.
    notified: AtomicBool,
    /// Wakes the loop out of its wait for I/O (the runtime hands in a waker over
    /// the reactor's eventfd; the executor need not know what it is).
    unpark: Waker,
}

impl Injected {
    /// Shrinks vectors a burst grew, once step 2 has emptied them.
    fn give_back_room(&mut self) {
        if self.wakes.capacity() > ROOM_KEPT {
            self.wakes.shrink_to(ROOM_KEPT / 10);
        }
        if self.spawns.capacity() > ROOM_KEPT {
            self.spawns.shrink_to(ROOM_KEPT / 10);
        }
    }
}

impl Injector {
    fn new(unpark: Waker) -> Injector {
        Injector {
            queue: Mutex::new(Injected::default()),
            notified: AtomicBool::new(false),
            unpark,
        }
    }

    /// Queues a wake from another thread.
    fn push_wake(&self, task: RemoteTask) {
        let mut queue = lock(&self.queue);
        if queue.closed {
            drop(queue);
            return drop(task);
        }
        queue.wakes.push(task);
        drop(queue);
        self.notify();
    }

    /// Queues a spawn from another thread. If the runtime is gone, the spawn is
    /// dropped here, which resolves its handle as cancelled.
    pub(crate) fn push_spawn(&self, spawn: RemoteSpawn) {
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
    fn take(&self, into: &mut Injected) {
        // A load first: most turns nothing came, and a swap would cost a locked op.
        if !self.has_pending() || !self.notified.swap(false, Ordering::SeqCst) {
            return;
        }
        let mut queue = lock(&self.queue);
        mem::swap(&mut queue.wakes, &mut into.wakes);
        mem::swap(&mut queue.spawns, &mut into.spawns);
    }

    /// Closes the queue for good and returns what was still in it.
    fn close(&self) -> Injected {
        let mut queue = lock(&self.queue);
        queue.closed = true;
        mem::take(&mut *queue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// At a million tasks, memory is the cost: a task's cell must stay in the
    /// allocator's 96-byte blocks, and its entries in the list and the queue small.
    #[test]
    fn a_task_costs_a_small_cell_and_small_entries() {
        assert!(
            mem::size_of::<Meta>() <= 56,
            "Meta grew: {}",
            mem::size_of::<Meta>()
        );
        assert_eq!(mem::size_of::<Task>(), 8);
        assert_eq!(mem::size_of::<JoinHandle<()>>(), 8);
        assert_eq!(mem::size_of::<Option<Task>>(), 8);
    }
}

//! The executor: the tasks, the run queue, the way in from other threads, and
//! steps 2 and 3 of the loop.
//!
//! Floor 1, owned by the runtime. Read it in this order:
//!
//! 1. **A wake comes in.** A task's waker (`cell.rs`) hands the task to
//!    [`Schedule::schedule`] below. On the loop's own thread, the task's flags
//!    (`state.rs`) decide: a task queued already needs nothing, a running one is
//!    marked (it goes to the back of the queue when its poll returns), an idle one
//!    goes onto the run queue — no lock, no syscall, no atomic operation. On any
//!    other thread the task goes through the [`Injector`] (`injector.rs`), which
//!    wakes the reactor out of its wait (step 4).
//! 2. **Step 2** ([`Executor::take_injected`]) moves what other threads pushed onto
//!    the run queue, and starts the tasks they spawned.
//! 3. **Step 3** ([`Executor::run_ready`]) polls ready tasks in the order the run
//!    queue (`run_queue.rs`) gives — oldest wake first, or seeded — each at most
//!    once a turn; a task woken during its own poll goes to the back.
//!
//! Each task is in the executor's list (`tasks`) from spawn until it ends: that is
//! how the runtime drops every task's future when it is dropped, and lists them.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::panic::{self, AssertUnwindSafe, Location};
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::task::{Poll, Waker};

use super::drop_quietly;
use super::injector::{find_injector, Injected, Injector, Injects, INJECTORS};
use super::run_queue::RunQueue;
use super::state::{Flags, Wake};
use super::{spawn_number, EndCall, Ids, JoinError, JoinHandle, Joiner, Meta, RemoteTask};
use super::{Schedule, Task, TaskFuture, TaskList, Woken};
use crate::context;
use crate::lock::lock;
use crate::replay::{Polled, Replay};
use crate::trace::record::{Cause, Label, Observers, Recorder};

/// A task as `Runtime::tasks` shows it.
#[derive(Debug, Clone)]
pub(crate) struct TaskSnapshot {
    pub(crate) id: u64,
    pub(crate) name: Option<String>,
    pub(crate) location: &'static Location<'static>,
    pub(crate) state: TaskState,
    pub(crate) polls: u32,
}

/// Where a task is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TaskState {
    /// Being polled right now (it is the caller, or the caller's caller).
    Running,
    /// In the run queue, or on its way to it.
    Ready,
    /// Waiting for a wake; `held` says whether anything holds its waker.
    Waiting { held: bool },
}

/// What a stuck task waits for, as far as the executor can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Awaits {
    /// Nothing anyone holds: nobody has its waker.
    Nothing,
    /// Task `id` to end (it awaits that task's `JoinHandle`).
    Task(u64),
}

/// What happened to a task, as the executor records it.
enum Happened {
    /// It was spawned (and so is ready).
    Spawned,
    /// It was woken, by whatever the recording says is going on.
    Woken,
    /// It woke itself during its poll.
    WokeItself,
    /// It ended: its future returned, or its poll panicked.
    Ended { panicked: bool },
}

/// A task spawned from another thread, on its way to the loop: it runs in step 2
/// and spawns the real task there (its future need not be `Send`).
pub(crate) type RemoteSpawn = Box<dyn FnOnce(&Executor) + Send>;

/// What other threads hand this executor.
type Handed = Injected<RemoteSpawn>;

/// Task storage and the run queue of one runtime.
pub(crate) struct Executor {
    /// Every task that has not ended: the executor's own reference to each.
    tasks: TaskList,
    /// The names of the tasks that have one, by id.
    names: RefCell<HashMap<u64, Box<str>>>,
    /// Tasks ready to be polled, and the order of a turn's polls.
    queue: RefCell<RunQueue>,
    /// The way in from other threads.
    injector: Arc<Injector<RemoteSpawn>>,
    /// Scratch space swapped with the injector's each turn, to keep its capacity.
    injected: RefCell<Handed>,
    /// Set when the runtime shuts down: a task spawned after that ends at once.
    closed: Cell<bool>,
    /// Which executor this is: unique in the process, never reused.
    owner: u32,
    /// What watches the loop (`trace`) or records its schedule (a seed), if
    /// anything does: `None` costs one branch per poll.
    observers: Option<Rc<Observers>>,
    /// Spawn sites of tasks reported as never to be woken: each is reported once.
    orphans: RefCell<HashSet<(&'static str, u32)>>,
}

/// The executor of the runtime this thread drives, if any.
pub(crate) fn current() -> Option<Rc<Executor>> {
    context::current(|driving| &driving.executor)
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
        match task.into_local(context::driving_id()) {
            // On the loop's own thread: onto the run queue — no lock, no syscall, not
            // even an atomic operation. (A task woken during its own poll is only
            // marked: `yield_now` is this path.)
            Ok(task) => {
                if task.meta.flags.wake() == Wake::Schedule {
                    with_current(|executor| executor.enqueue(task));
                }
            }
            // Anywhere else: through the runtime's injection queue, which wakes the
            // loop (unless a wake from another thread is on its way already).
            Err(task) => {
                let owner = task.owner();
                if let Some(task) = task.into_remote() {
                    if let Some(injector) = find_injector(owner) {
                        injector.push_wake(task);
                    }
                }
            }
        }
    }
}

impl Executor {
    /// An empty executor. `unpark` must interrupt the loop's wait for I/O; other
    /// threads call it after they push a wake or a spawn.
    pub(crate) fn new(
        unpark: Waker,
        seed: Option<u64>,
        observers: Option<Rc<Observers>>,
    ) -> Rc<Executor> {
        static NEXT_OWNER: AtomicU32 = AtomicU32::new(1);
        let owner = NEXT_OWNER.fetch_add(1, Ordering::Relaxed);
        assert!(
            owner != 0,
            "more than 4 billion runtimes made in one process"
        );
        let injector = Arc::new(Injector::new(unpark, Ids::new(seed.is_some())));
        let registered: Arc<dyn Injects> = injector.clone();
        lock(&INJECTORS).insert(owner, Arc::downgrade(&registered));
        Rc::new(Executor {
            tasks: TaskList::new(owner),
            names: RefCell::new(HashMap::new()),
            queue: RefCell::new(RunQueue::new(seed)),
            injector,
            injected: RefCell::new(Injected::default()),
            closed: Cell::new(false),
            owner,
            observers,
            orphans: RefCell::new(HashSet::new()),
        })
    }

    /// Which executor this is: unique in the process.
    pub(crate) fn owner(&self) -> u32 {
        self.owner
    }

    /// A new task's id (see [`Ids`]).
    pub(crate) fn next_id(&self) -> u64 {
        self.injector.ids.next()
    }

    /// The injection queue, for handles that spawn from other threads.
    pub(crate) fn injector(&self) -> &Arc<Injector<RemoteSpawn>> {
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
        let call = move |task: &Task| {
            let output = task.take_output::<F::Output>();
            deliver(output.expect("an ended task holds its output"));
        };
        if reader.meta.flags.is_complete() {
            call(&reader); // the runtime is shutting down: the task ended at once
        } else {
            let call: EndCall = Box::new(call);
            reader.meta.joiner.set(Joiner::Call(Some(Box::new(call))));
        }
        reader.remote()
    }

    /// Makes a task's cell, lists it and queues it; returns the reference that
    /// reads its output. On a runtime shutting down, the task ends at once.
    #[inline(always)] // measured: out of line, `spawn_many_local` is 5–8 % slower
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
            joiner: Cell::default(),
            links: Default::default(),
            refs: Cell::new(0),
            polls: Cell::new(0),
            turn: Cell::new(0),
            flags: Flags::new(),
        };
        let [task, queued, reader] = Task::new(future, Scheduler, self.owner, meta);
        if self.closed.get() {
            // Spawned while the runtime shuts down: it ends at once, never polled.
            task.cancel(JoinError::cancelled(id, "its runtime was shutting down"));
            task.meta.flags.complete(); // the reader keeps the error
            drop(queued);
            return reader;
        }
        self.tasks.push(task);
        if let Some(name) = name {
            self.names.borrow_mut().insert(id, name.into());
        }
        if self.observers.is_some() {
            self.record(&queued, Happened::Spawned);
        }
        self.queue.borrow_mut().push(queued);
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
        // Other threads' timing decides what came; a seed decides the order.
        if injected.wakes.len() + injected.spawns.len() > 1 {
            let mut queue = self.queue.borrow_mut();
            queue.shuffle(&mut injected.wakes);
            queue.shuffle(&mut injected.spawns);
        }
        for (task, cause) in injected.wakes.drain(..) {
            let task = task.into_local(owner);
            task.shared.arrived(); // a later wake from another thread sends it again
            match self.recorder() {
                Some(recorder) => recorder.because(cause, || self.wake(task)),
                None => self.wake(task),
            }
        }
        for spawn in injected.spawns.drain(..) {
            spawn(self);
        }
        *self.injected.borrow_mut() = injected;
    }

    /// Step 3: polls ready tasks in the run queue's order, at most `max_polls` of
    /// them and each at most once (`run_queue.rs` states the turn's rules).
    /// Returns how many were polled.
    pub(crate) fn run_ready(&self, max_polls: usize) -> usize {
        if self.observers.is_some() {
            self.note_turn();
        }
        self.queue.borrow_mut().begin_turn();
        let mut polled = 0;
        while polled < max_polls {
            let Some(task) = self.queue.borrow_mut().next(max_polls - polled) else {
                break;
            };
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
            if let Some(replay) = self.replay() {
                let spawn = spawn_number(task.meta.id);
                replay.polled(spawn, task.meta.location, Polled::Aborted);
            }
            // Its future's destructor may wake others: that is this task's doing.
            return self.as_task(&task, || {
                task.cancel(JoinError::cancelled(task.meta.id, "aborted"));
                self.end(&task, false);
            });
        }
        let polls = &task.meta.polls;
        polls.set(polls.get().wrapping_add(1));
        // A panic is caught here: it ends this task, never the loop.
        let poll =
            || context::with_budget(|| panic::catch_unwind(AssertUnwindSafe(|| task.poll())));
        let polled = match &self.observers {
            None => poll(),
            // Only the schedule's record: it notes how the poll ended.
            Some(observers) if !observers.times_polls() => {
                let polled = poll();
                self.polled(observers, &task, &polled);
                polled
            }
            Some(observers) => self.poll_timed(observers, &task, poll),
        };
        match polled {
            Ok(Poll::Pending) if task.meta.flags.stop_running() => {
                self.queue.borrow_mut().push(task); // woken during its own poll
            }
            // It waits; whoever holds its waker brings it back — if anyone does.
            Ok(Poll::Pending) => self.check_wakeable(&task),
            Ok(Poll::Ready(())) => self.as_task(&task, || self.end(&task, false)),
            Err(panic) => self.as_task(&task, || {
                task.cancel(JoinError::panicked(task.meta.id, panic));
                self.end(&task, true);
            }),
        }
    }

    /// A turn's step 3 begins: the schedule's record counts it, and the recording
    /// reads the clock afresh for the turn's first poll.
    #[cold]
    fn note_turn(&self) {
        if let Some(replay) = self.replay() {
            replay.next_turn();
        }
        if let Some(recorder) = self.recorder() {
            recorder.break_chain();
        }
    }

    /// One poll of `task` through `poll`, timed by the recording or watched by
    /// the alarm. Out of line, so that the loop without them stays small.
    #[inline(never)]
    fn poll_timed(
        &self,
        observers: &Observers,
        task: &Task,
        poll: impl FnOnce() -> std::thread::Result<Poll<()>>,
    ) -> std::thread::Result<Poll<()>> {
        let (id, location) = (task.meta.id, task.meta.location);
        let polled = observers.poll(id, || self.name(id), location, poll);
        self.polled(observers, task, &polled);
        polled
    }

    /// After a poll, what the observers note of it: how it ended, in the
    /// schedule's record, and that it woke itself, in the recording.
    #[inline(always)] // measured: out of line, a seeded poll costs 17 instructions more
    fn polled(&self, observers: &Observers, task: &Task, polled: &std::thread::Result<Poll<()>>) {
        let woke_itself = task.meta.flags.is_scheduled(); // it goes to the back
        if let Some(replay) = &observers.replay {
            let spawn = spawn_number(task.meta.id);
            replay.polled(spawn, task.meta.location, polled_as(polled, woke_itself));
        }
        if woke_itself && observers.recorder.is_some() {
            self.record(task, Happened::WokeItself);
        }
    }

    /// Runs `f`, which ends `task`: the wakes it makes (of whoever awaits the
    /// task, or whatever its destructors wake) are the task's doing.
    fn as_task(&self, task: &Task, f: impl FnOnce()) {
        match self.recorder() {
            Some(recorder) => recorder.because(Cause::Task(task.meta.id), f),
            None => f(),
        }
    }

    /// Records what happened to `task` — out of line, so that with tracing and
    /// seed off a caller pays only its `observers.is_some()` branch.
    #[cold]
    #[inline(never)]
    fn record(&self, task: &Task, happened: Happened) {
        let task_id = task.meta.id;
        if let Some(replay) = self.replay() {
            match happened {
                Happened::Spawned => replay.spawned(spawn_number(task_id)),
                Happened::Woken => replay.woken(spawn_number(task_id)),
                // Part of its poll's record (`Polled::WokeItself`).
                Happened::WokeItself | Happened::Ended { .. } => {}
            }
        }
        let Some(recorder) = self.recorder() else {
            return; // only the alarm or the schedule's record is on
        };
        match happened {
            Happened::Spawned => {
                let label = match self.names.borrow().get(&task_id) {
                    Some(name) => Label::Name(name.clone()),
                    None => Label::Site(task.meta.location),
                };
                recorder.label_task(task_id, label);
                recorder.record_wake(task_id, Cause::Spawn, false);
            }
            Happened::Woken if task.shared.is_aborted() => {
                recorder.record_wake(task_id, Cause::Abort, false);
            }
            Happened::Woken => recorder.record_wake(task_id, recorder.cause(), false),
            Happened::WokeItself => recorder.record_wake(task_id, Cause::Itself, true),
            Happened::Ended { panicked } => recorder.record_end(task_id, panicked),
        }
    }

    /// After a `Pending` that nobody can answer — the task kept no waker anywhere
    /// and was not woken — says so on stderr, once per spawn site: nothing will
    /// ever poll the task again (asyncio's "Task was destroyed but it is pending!",
    /// found at the moment it happens).
    fn check_wakeable(&self, task: &Task) {
        if task.shared.refs() > 1 {
            return; // a waker (or an abort handle) is held somewhere
        }
        let location = task.meta.location;
        if self
            .orphans
            .borrow_mut()
            .insert((location.file(), location.line()))
        {
            eprintln!(
                "evloop: task {} ({}) returned Pending, but nobody holds its waker: it can \
                 never be woken. (Reported once per spawn site.)",
                task.meta.id,
                self.label(task)
            );
        }
    }

    /// A wake on the loop's thread: queues the task, unless it is queued already,
    /// running (then it is marked, and queued when its poll returns) or over.
    fn wake(&self, task: Task) {
        if task.meta.flags.wake() == Wake::Schedule {
            self.enqueue(task);
        }
    }

    /// Queues a task its flags say was woken and is not queued yet.
    fn enqueue(&self, task: Task) {
        if self.observers.is_some() {
            self.record(&task, Happened::Woken);
        }
        self.queue.borrow_mut().push(task);
    }

    /// A task ended (its output, or why it has none, is stored; `panicked` says
    /// whether its poll panicked): takes it off the list, marks it complete and
    /// tells whoever waits for it.
    fn end(&self, task: &Task, panicked: bool) {
        drop(self.tasks.remove(task)); // `task` keeps the cell alive
        if self.observers.is_some() {
            self.record(task, Happened::Ended { panicked });
        }
        self.forget_name(task);
        complete(task);
    }

    /// Gives back the memory a burst grew (the run queue, the injector's scratch
    /// space) once they are empty again, down to a tenth of `room::ROOM_KEPT`. The
    /// runtime calls it when the loop is about to sleep: not in the middle of a busy
    /// stretch, where the room would only be grown again.
    pub(crate) fn give_back_room(&self) {
        self.queue.borrow_mut().give_back_room();
        self.injected.borrow_mut().give_back_room();
    }

    /// Each task that has not ended, as `Runtime::tasks` shows it.
    pub(crate) fn snapshot(&self) -> Vec<TaskSnapshot> {
        let tasks = self.tasks.all();
        let snapshot = tasks.iter().map(|task| {
            let flags = &task.meta.flags;
            let state = if flags.is_running() {
                TaskState::Running
            } else if flags.is_scheduled() || task.shared.is_in_transit() {
                TaskState::Ready
            } else {
                TaskState::Waiting {
                    held: task.shared.refs() > 1,
                }
            };
            (
                task.meta.id,
                task.meta.location,
                state,
                task.meta.polls.get(),
            )
        });
        let snapshot: Vec<_> = snapshot.collect();
        drop(tasks);
        let with_names = snapshot
            .into_iter()
            .map(|(id, location, state, polls)| TaskSnapshot {
                id,
                name: self.name(id),
                location,
                state,
                polls,
            });
        with_names.collect()
    }

    /// If no task can ever run again — none is ready or on its way from another
    /// thread, and every task's waker is held, if at all, only by another task
    /// waiting for it to end (a `JoinHandle`'s waker, kept in the task it awaits),
    /// which nothing can start — what each task waits for, by id; `block_on`'s
    /// future is id 0, its waker `main`, of which `main_held` clones exist beyond
    /// the runtime's own. `None` if anything might still wake a task.
    pub(crate) fn stuck(&self, main: &Waker, main_held: usize) -> Option<Vec<(u64, Awaits)>> {
        if self.has_ready() {
            return None;
        }
        let tasks = self.tasks.all();
        let cell = |task: &Task| std::ptr::from_ref(&**task).cast::<()>();
        let ids: HashMap<*const (), u64> = tasks.iter().map(|t| (cell(t), t.meta.id)).collect();
        // Every waker held anywhere, less those held by tasks awaiting tasks.
        let mut held = main_held + tasks.iter().map(|t| t.shared.refs() - 1).sum::<usize>();
        let mut awaits = HashMap::new();
        for task in &tasks {
            let joiner = task.meta.joiner.take();
            if let Joiner::Waker(waker) = &joiner {
                // By data pointer, not `will_wake`: in a release build the same
                // waker type may have its vtable in several places, and then
                // `will_wake` says no to a clone of `main` itself.
                let waiter = match waker.data() == main.data() {
                    true => Some(0),
                    false => ids.get(&waker.data()).copied(),
                };
                if let Some(waiter) = waiter {
                    held = held.saturating_sub(1);
                    awaits.insert(waiter, task.meta.id);
                }
            }
            task.meta.joiner.set(joiner);
        }
        if held > 0 {
            return None;
        }
        let waits_for = |id| {
            awaits
                .get(&id)
                .map_or(Awaits::Nothing, |&task| Awaits::Task(task))
        };
        let mut report: Vec<_> = tasks
            .iter()
            .map(|t| (t.meta.id, waits_for(t.meta.id)))
            .collect();
        report.push((0, waits_for(0)));
        Some(report)
    }

    /// The recording, if tracing is on.
    fn recorder(&self) -> Option<&Recorder> {
        self.observers.as_ref()?.recorder.as_deref()
    }

    /// The record of the schedule, if a seed is set.
    pub(crate) fn replay(&self) -> Option<&Replay> {
        self.observers.as_ref()?.replay.as_deref()
    }

    /// A task's label: its name, or else its spawn site.
    fn label(&self, task: &Task) -> String {
        match self.name(task.meta.id) {
            Some(name) => name,
            None => format!(
                "{}:{}",
                task.meta.location.file(),
                task.meta.location.line()
            ),
        }
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
            let tasks = self.tasks.all();
            if tasks.is_empty() {
                break;
            }
            for task in tasks {
                drop(self.tasks.remove(&task));
                task.cancel(JoinError::cancelled(
                    task.meta.id,
                    "its runtime was dropped",
                ));
                complete(&task);
            }
        }
        drop(self.queue.borrow_mut().take_all());
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
        Joiner::Waker(waker) => waker.wake(),
        Joiner::Call(Some(call)) => call(task),
        Joiner::Call(None) => {}
    }
}

/// How a poll ended, as the schedule's record names it.
fn polled_as(polled: &std::thread::Result<Poll<()>>, woke_itself: bool) -> Polled {
    match polled {
        Ok(Poll::Pending) if woke_itself => Polled::WokeItself,
        Ok(Poll::Pending) => Polled::Pending,
        Ok(Poll::Ready(())) => Polled::Ready,
        Err(_) => Polled::Panicked,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem;

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

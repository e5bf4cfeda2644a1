//! The task cell: a task is one allocation, and its `Waker` points straight into it.
//!
//! Floor 1. Beside `src/sys.rs`, the only module with `unsafe` code: wakers on any
//! thread share a pointer to the cell, and safe Rust cannot say "other threads may
//! touch this word, the loop's thread alone the rest". The rules below do.
//!
//! A `Cell<F, S>` holds a `Header` — `shared` (references, and what other threads set:
//! `state.rs`), `vtable` (function pointers that know `F`: the executor polls a task
//! of any future type through them, as `Waker` calls ours) and `Meta` (flags, id…:
//! loop thread only) — then `S`, the way back to a run queue, and the stage: the
//! future, its output, then nothing. **The rules** each `SAFETY` comment names:
//!
//! 1. *Counted*: the loop counts its references (`Task`s: the executor's, the run
//!    queue's, a `JoinHandle`'s) in `Meta`; together they hold one in the shared word,
//!    as each `Waker` and `RemoteTask` does. The last one to go frees the cell.
//! 2. *One thread for the contents*: the stage and `Meta` are touched only through a
//!    `Task` (`!Send`, made only on the loop's thread) or the executor's `TaskList`
//!    (`!Send` too). A `Waker` or `RemoteTask` touches only the shared word.
//! 3. *Emptied first*: the loop's thread drops the future, output and joiner before
//!    it lets go of its references: the last reference drops nothing `!Send`.
//! 4. *Typed once*: the vtable is made for the cell's own `F` and `S`, and the output
//!    is read only as the type the vtable names.
//! 5. *Pinned*: a cell never moves until it is freed, so its future stays pinned.
//! 6. *Listed once*: a task is on at most one `TaskList`, its owner's (one list per
//!    executor), and its `Links` are its place there; the list holds a reference.
#![allow(unsafe_code)]

use std::any::TypeId;
use std::cell::UnsafeCell;
use std::marker::PhantomData;
use std::mem::{self, ManuallyDrop};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::{self, NonNull};
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use super::{state::Shared, JoinError, Meta, Schedule, TaskFuture};

/// The part of a cell that does not depend on its types; a `Task` derefs to it.
pub(crate) struct Header {
    pub(crate) shared: Shared,
    vtable: &'static Vtable,
    pub(crate) meta: Meta,
}

/// The allocation. `repr(C)`: a pointer to the cell is a pointer to its header.
#[repr(C)]
struct Cell<F: TaskFuture, S> {
    header: Header,
    scheduler: S,
    stage: UnsafeCell<Stage<F>>,
}
enum Stage<F: TaskFuture> {
    Future(F),
    Output(Out<F>),
    Empty,
}
type Out<F> = Result<<F as TaskFuture>::Output, JoinError>; // what a task ends with
/// How `Vtable::end` ends a stage: cancel the future, drop or take out the output.
enum End {
    Cancel(JoinError),
    Drop,
    Take(*mut ()),
}
/// The functions made for one cell type (rule 4), and the type of its output.
struct Vtable {
    poll: unsafe fn(NonNull<Header>) -> Poll<()>,
    end: unsafe fn(NonNull<Header>, End),
    schedule: unsafe fn(NonNull<Header>),
    free: unsafe fn(NonNull<Header>),
    output: fn() -> TypeId,
}

/// A reference on the loop's thread; `!Send`, as `NonNull` is (rule 2).
pub(crate) struct Task(NonNull<Header>);
/// A reference that may cross threads (a wake on its way, an abort): a task's `Waker`.
pub(crate) struct RemoteTask(Waker);
/// A task being woken, lent to its executor's `Schedule`.
pub(crate) struct Woken<'a>(NonNull<Header>, PhantomData<&'a Waker>);

impl Task {
    /// A scheduled task of executor `owner`, with three references: list, queue, handle.
    pub(crate) fn new<F: TaskFuture, S: Schedule>(
        future: F,
        sched: S,
        owner: u32,
        meta: Meta,
    ) -> [Task; 3] {
        let vtable = &Vtable {
            poll: poll::<F, S>,
            end: end::<F, S>,
            schedule: schedule::<F, S>,
            free: free::<F, S>,
            output: TypeId::of::<F::Output>,
        };
        meta.refs.set(3);
        let cell = Box::leak(Box::new(Cell {
            header: Header {
                shared: Shared::new(owner),
                vtable,
                meta,
            },
            scheduler: sched,
            stage: UnsafeCell::new(Stage::Future(future)),
        }));
        let header = NonNull::from(cell).cast(); // one pointer, copied: no reborrows
        [(); 3].map(|()| Task(header))
    }

    /// Polls the future once: `Ready` once it returned; a panic passes through.
    pub(crate) fn poll(&self) -> Poll<()> {
        // SAFETY: loop thread (rule 2); the vtable is this cell's (rule 4).
        unsafe { (self.vtable.poll)(self.0) }
    }

    /// Drops the future unpolled: the output becomes `why`.
    pub(crate) fn cancel(&self, why: JoinError) {
        // SAFETY: loop thread (rule 2); the vtable is this cell's (rule 4).
        unsafe { (self.vtable.end)(self.0, End::Cancel(why)) }
    }

    /// Drops the output, if there is one: nobody will read it.
    pub(crate) fn drop_output(&self) {
        // SAFETY: loop thread (rule 2); the vtable is this cell's (rule 4).
        unsafe { (self.vtable.end)(self.0, End::Drop) }
    }

    /// Takes the output, if there is one; panics if `T` is not its type (rule 4).
    pub(crate) fn take_output<T: 'static>(&self) -> Option<Result<T, JoinError>> {
        assert!((self.vtable.output)() == TypeId::of::<T>());
        let mut output: Option<Result<T, JoinError>> = None;
        let into = End::Take((&mut output as *mut Option<_>).cast());
        // SAFETY: loop thread (rule 2); `into` has the output's type (checked above).
        unsafe { (self.vtable.end)(self.0, into) };
        output
    }

    /// A reference that may cross threads, to abort the task from anywhere.
    pub(crate) fn remote(&self) -> RemoteTask {
        remote(self.0, &self.shared)
    }
}

impl std::ops::Deref for Task {
    type Target = Header;
    fn deref(&self) -> &Header {
        // SAFETY: our reference keeps the cell alive; `Task` is `!Send` (rules 1, 2).
        unsafe { self.0.as_ref() }
    }
}
impl Drop for Task {
    fn drop(&mut self) {
        self.meta.refs.set(self.meta.refs.get() - 1);
        if self.meta.refs.get() == 0 {
            // SAFETY: the loop's last reference gives up their one in the shared word.
            unsafe { release(self.0) }
        }
    }
}

impl Woken<'_> {
    /// The executor the task belongs to (rule 2: the shared word, readable anywhere).
    pub(crate) fn owner(&self) -> u32 {
        // SAFETY: the waker that lent us holds a reference (rule 1).
        unsafe { self.0.as_ref() }.shared.owner()
    }

    /// The task, on the thread that drives executor `driving`, if it is the task's own
    /// (rule 2's check). If the loop held none, it takes a reference again.
    #[inline] // the path of every wake on the loop's thread
    pub(crate) fn into_local(self, driving: u32) -> Result<Task, Self> {
        if self.owner() != driving {
            return Err(self);
        }
        let task = Task(self.0);
        if task.meta.refs.replace(task.meta.refs.get() + 1) == 0 {
            task.shared.add_ref();
        }
        Ok(task)
    }

    /// From another thread: the task to send to the loop, unless a wake is on its way.
    pub(crate) fn into_remote(self) -> Option<RemoteTask> {
        // SAFETY: the waker that lent us holds a reference (rule 1).
        let shared = unsafe { &self.0.as_ref().shared };
        shared.send().then(|| remote(self.0, shared))
    }
}

impl RemoteTask {
    /// Back home: see [`Woken::into_local`]; panics if `owner` is not the task's.
    pub(crate) fn into_local(self, owner: u32) -> Task {
        let woken = Woken(header(self.0.data()), PhantomData); // our waker's reference
        let task = woken.into_local(owner).ok();
        task.expect("a task woken into another runtime")
    }

    /// Sets `ABORTED` and wakes the task: the loop drops its future when it comes round.
    pub(crate) fn abort(&self) {
        // SAFETY: our waker is one of this task's (rule 1).
        unsafe { header(self.0.data()).as_ref() }.shared.abort();
        self.0.wake_by_ref();
    }
}

/// A task's place in its executor's `TaskList` (rule 6), touched on the loop's thread.
#[derive(Default)]
pub(crate) struct Links {
    prev: std::cell::Cell<Option<NonNull<Header>>>,
    next: std::cell::Cell<Option<NonNull<Header>>>,
}
/// The tasks of one executor that have not ended, oldest first, linked through their
/// cells (as tokio's `OwnedTasks` is): listing or unlisting one is a few pointer
/// writes, no allocation. It holds one reference to each task on it (rule 1), and is
/// dropped empty: `Executor::shutdown` ends every task first (if not, they would leak).
pub(crate) struct TaskList {
    owner: u32,
    ends: std::cell::Cell<Option<(NonNull<Header>, NonNull<Header>)>>, // head, tail
}

impl TaskList {
    /// The list of executor `owner`: the only one (rule 6).
    pub(crate) fn new(owner: u32) -> TaskList {
        TaskList {
            owner,
            ends: std::cell::Cell::new(None),
        }
    }

    /// Lists a new task, keeping its reference (panics if listed, or not this executor's).
    pub(crate) fn push(&self, task: Task) {
        let task = ManuallyDrop::new(task); // its reference is the list's (rule 1)
        assert_eq!(task.shared.owner(), self.owner, "a task listed elsewhere");
        let ends = self.ends.get();
        assert!(task.meta.links.prev.get().is_none() && ends.map(|e| e.0) != Some(task.0));
        let Some((head, tail)) = ends else {
            return self.ends.set(Some((task.0, task.0)));
        };
        task.meta.links.prev.set(Some(tail));
        // SAFETY: the list holds a reference to `tail` (rules 1, 6), on the loop's thread.
        unsafe { tail.as_ref() }.meta.links.next.set(Some(task.0));
        self.ends.set(Some((head, task.0)));
    }

    /// Unlists `task`, handing back the list's reference; `None` if it is not listed.
    pub(crate) fn remove(&self, task: &Task) -> Option<Task> {
        assert_eq!(task.shared.owner(), self.owner, "a task listed elsewhere");
        let (head, tail) = self.ends.get()?;
        let (prev, next) = (task.meta.links.prev.take(), task.meta.links.next.take());
        if prev.is_none() && head != task.0 {
            return None; // not listed (rule 6: if it were, it would be on this list)
        }
        // SAFETY: the list holds a reference to each neighbour (rules 1, 6), loop thread.
        let links = |at: NonNull<Header>| &unsafe { at.as_ref() }.meta.links;
        if let Some(prev) = prev {
            links(prev).next.set(next);
        }
        if let Some(next) = next {
            links(next).prev.set(prev);
        }
        let head = if prev.is_some() { Some(head) } else { next };
        let tail = if next.is_some() { Some(tail) } else { prev };
        self.ends.set(head.zip(tail));
        Some(Task(task.0)) // the list's reference (rule 1)
    }

    /// A new reference to each listed task, oldest first: the caller may then unlist them.
    pub(crate) fn all(&self) -> Vec<Task> {
        let (mut all, mut at) = (Vec::new(), self.ends.get().map(|e| e.0));
        while let Some(header) = at {
            let task = Task(header); // the new `Task`'s reference (rule 1):
            task.meta.refs.set(task.meta.refs.get() + 1);
            at = task.meta.links.next.get();
            all.push(task);
        }
        all
    }
}

/// Gives up one reference in the shared word, and frees the cell if it was the last.
/// # Safety
/// `header` is a live cell's, and the caller owns the reference it gives up.
unsafe fn release(header: NonNull<Header>) {
    // SAFETY: the caller's own reference (rule 1); rule 3 emptied what is not `Send`.
    unsafe {
        if header.as_ref().shared.release() {
            (header.as_ref().vtable.free)(header);
        }
    }
}
/// Makes the stage `output`, or empty, dropping the old in place (rule 5), catching its panic.
/// # Safety
/// `stage` is a live cell's, touched on the loop's thread (rule 2).
#[inline(never)] // `Pending` polls pay nothing for it; passed a whole `Stage`, its reload stalled
unsafe fn set_stage<F: TaskFuture>(stage: *mut Stage<F>, output: Option<Out<F>>) {
    // SAFETY: the stage is ours (rule 2); `write` never drops twice, even after a panic.
    unsafe {
        let _ = catch_unwind(AssertUnwindSafe(|| ptr::drop_in_place(stage)));
        ptr::write(stage, output.map_or(Stage::Empty, Stage::Output));
    }
}
/// Polls the future of the cell behind `header`.
/// # Safety
/// `header` is a live cell's, made for `F` and `S` (rule 4), on the loop's thread.
unsafe fn poll<F: TaskFuture, S: Schedule>(header: NonNull<Header>) -> Poll<()> {
    // SAFETY: rules 1, 2, 4, 5. The waker lent to the poll owns no reference: never dropped.
    unsafe {
        let stage = header.cast::<Cell<F, S>>().as_ref().stage.get();
        let Stage::Future(future) = &mut *stage else {
            return Poll::Ready(());
        };
        let waker = ManuallyDrop::new(waker(header));
        let mut cx = Context::from_waker(&waker);
        let Poll::Ready(output) = Pin::new_unchecked(future).poll_task(&mut cx) else {
            return Poll::Pending;
        };
        set_stage(stage, Some(output));
    }
    Poll::Ready(())
}

/// Ends the stage of the cell behind `header` as `end` says.
/// # Safety
/// As for [`poll`]; `End::Take`'s pointer is to an `Option<Out<F>>`.
unsafe fn end<F: TaskFuture, S: Schedule>(header: NonNull<Header>, end: End) {
    // SAFETY: as in `poll`; an output is not pinned, and `into` has its type (rule 4).
    unsafe {
        let stage = header.cast::<Cell<F, S>>().as_ref().stage.get();
        match (&*stage, end) {
            (Stage::Future(_), End::Cancel(why)) => set_stage(stage, Some(Err(why))),
            (Stage::Output(_), End::Drop) => set_stage(stage, None),
            (Stage::Output(_), End::Take(into)) => {
                if let Stage::Output(output) = mem::replace(&mut *stage, Stage::Empty) {
                    *into.cast::<Option<Out<F>>>() = Some(output);
                }
            }
            _ => {}
        }
    }
}
/// Hands the task behind `header` to its scheduler.
/// # Safety
/// `header` is a live cell's, made for `F` and `S`; any thread.
unsafe fn schedule<F: TaskFuture, S: Schedule>(header: NonNull<Header>) {
    // SAFETY: rule 4; the waking waker's reference keeps the cell alive meanwhile.
    let scheduler = unsafe { &header.cast::<Cell<F, S>>().as_ref().scheduler };
    scheduler.schedule(Woken(header, PhantomData));
}
/// Frees the cell behind `header`.
/// # Safety
/// Its last reference is gone, and it was made for `F` and `S`.
unsafe fn free<F: TaskFuture, S: Schedule>(header: NonNull<Header>) {
    // SAFETY: the last reference is gone (rule 1); the cell came from `Box::leak`.
    drop(unsafe { Box::from_raw(header.cast::<Cell<F, S>>().as_ptr()) });
}

/// A `Waker` is a counted pointer to its task's cell; a wake hands the task to its
/// executor's `Schedule` (`executor.rs`).
static WAKER: RawWakerVTable = RawWakerVTable::new(
    |ptr| {
        // SAFETY: `Waker::clone` calls this on a live waker (rule 1).
        unsafe { header(ptr).as_ref() }.shared.add_ref();
        RawWaker::new(ptr, &WAKER)
    },
    |ptr| {
        // SAFETY: `Waker::wake` calls this on a live waker, whose reference it gives up.
        unsafe {
            wake_by_ref(ptr);
            release(header(ptr));
        }
    },
    wake_by_ref,
    // SAFETY: `Waker::drop` calls this; the waker's reference is given up (rule 1).
    |ptr| unsafe { release(header(ptr)) },
);

/// A new reference to the task behind `header`, whose shared word is `shared`.
fn remote(header: NonNull<Header>, shared: &Shared) -> RemoteTask {
    shared.add_ref();
    // SAFETY: the reference just added is the new waker's (rule 1).
    RemoteTask(unsafe { waker(header) })
}
/// A waker for the task behind `header`, owning a reference the caller gives it.
/// # Safety
/// `header` is a live cell's; the caller gives the waker one of its references.
unsafe fn waker(header: NonNull<Header>) -> Waker {
    // SAFETY: `WAKER` keeps the `RawWaker` contract for a cell's pointer.
    unsafe { Waker::from_raw(RawWaker::new(header.as_ptr().cast(), &WAKER)) }
}
/// The header behind a waker's pointer (a waker's pointer is never null).
fn header(ptr: *const ()) -> NonNull<Header> {
    NonNull::new(ptr as *mut Header).expect("a waker's pointer")
}
/// Wakes the task behind a waker's pointer, keeping the waker's reference.
/// # Safety
/// `ptr` is a live waker's data pointer.
unsafe fn wake_by_ref(ptr: *const ()) {
    // SAFETY: called on a live waker, or by the holder of a reference (rule 1).
    unsafe { (header(ptr).as_ref().vtable.schedule)(header(ptr)) }
}

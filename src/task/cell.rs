//! The task cell: a task is one allocation, and its `Waker` points straight into it.
//!
//! Floor 1. Beside `src/sys.rs` this is the only module with `unsafe` code: wakers on
//! any thread share a pointer to the cell, and safe Rust cannot say "other threads
//! may touch this word, but only the loop's thread the rest". The rules below do.
//!
//! ```text
//!   Cell<F, S> ─┬─ Header ─┬─ state   flags and a reference count (state.rs)
//!               │          ├─ vtable  the functions that know the future's type
//!               │          └─ Meta    id, spawn site, name, joiner: loop thread only
//!               ├─ S         the way back to a run queue (the executor's Schedule)
//!               └─ Stage<F>  the future, then its output, then nothing
//! ```
//!
//! A *vtable* is a table of function pointers: `Waker` calls ours to clone, wake and
//! drop; the executor calls the cell's to poll and end a task of any future type.
//! **The rules** each `SAFETY` comment names:
//!
//! 1. *Counted*: each `Task`, `RemoteTask` and `Waker` holds one reference, counted
//!    in the state word; whoever lets go of the last one frees the cell.
//! 2. *One thread for the contents*: the stage and `Meta` are touched only through a
//!    `Task` (`!Send`, made only on the loop's thread). A `RemoteTask` crosses threads
//!    and touches only the state word.
//! 3. *Emptied first*: the loop's thread drops the future, output and joiner before
//!    the executor and `JoinHandle` let go: the last reference drops nothing `!Send`.
//! 4. *Typed once*: the vtable is made for the cell's own `F` and `S`, and the output
//!    is read only as the type the vtable names.
//! 5. *Pinned*: a cell never moves until it is freed, so its future stays pinned.
#![allow(unsafe_code)]

use std::any::TypeId;
use std::cell::UnsafeCell;
use std::mem::{self, ManuallyDrop};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::{self, NonNull};
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use super::state::{State, Wake};
use super::{JoinError, Meta, Schedule, TaskFuture};

/// The part of a cell that does not depend on its types; a `Task` derefs to it.
pub(crate) struct Header {
    pub(crate) state: State,
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
    Output(Result<F::Output, JoinError>),
    Empty,
}

/// How `Vtable::end` ends a stage: cancel the future, drop or take the output.
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

/// A reference on the loop's thread (the executor's, a queue's, a `JoinHandle`'s).
pub(crate) struct Task(NonNull<Header>); // `!Send`, as `NonNull` is: rule 2

/// A reference that may cross threads: a wake on its way to the loop, an abort.
pub(crate) struct RemoteTask(Task);

// SAFETY: a `RemoteTask` touches only its task's atomic state word (rule 2).
unsafe impl Send for RemoteTask {}

impl Task {
    /// A scheduled task: references for the executor, the run queue, the `JoinHandle`.
    pub(crate) fn new<F: TaskFuture, S: Schedule>(future: F, sched: S, meta: Meta) -> [Task; 3] {
        let vtable = &Vtable {
            poll: poll::<F, S>,
            end: end::<F, S>,
            schedule: schedule::<F, S>,
            free: free::<F, S>,
            output: TypeId::of::<F::Output>,
        };
        let cell = Box::new(Cell {
            header: Header {
                state: State::new(3),
                vtable,
                meta,
            },
            scheduler: sched,
            stage: UnsafeCell::new(Stage::Future(future)),
        });
        let header = NonNull::from(Box::leak(cell)).cast();
        [(); 3].map(|()| Task(header))
    }

    /// Polls the future once: `Ready` if it returned (its output is stored). A panic
    /// passes through: the executor catches it and cancels the task with it.
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
        RemoteTask(self.clone())
    }
}

impl Clone for Task {
    fn clone(&self) -> Task {
        self.state.add_ref();
        Task(self.0)
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
        // SAFETY: we give up our own reference (rule 1).
        unsafe { release(self.0) }
    }
}

impl RemoteTask {
    /// A `Task` again, on executor `owner`'s thread; panics if it is not its (rule 2).
    pub(crate) fn into_local(self, owner: usize) -> Task {
        let task = self.0; // `meta.owner` is set once, before the cell is shared
        assert_eq!(task.meta.owner, owner, "woken into another runtime");
        task
    }

    /// Sets `ABORTED` and wakes the task: the loop drops its future when it comes round.
    pub(crate) fn abort(&self) {
        self.0.state.abort();
        // SAFETY: our reference keeps the cell alive (rule 1), as a waker's would.
        unsafe { wake_by_ref(self.0 .0.as_ptr().cast()) };
    }
}

/// Gives up one reference, and frees the cell if it was the last (rule 1).
unsafe fn release(header: NonNull<Header>) {
    // SAFETY: the caller owns the reference it gives up (rule 1); if it was the last,
    // nobody else can reach the cell, and rule 3 emptied what is not `Send`.
    unsafe {
        let vtable = header.as_ref().vtable;
        if header.as_ref().state.release() {
            (vtable.free)(header);
        }
    }
}

/// Replaces the stage, dropping the old one in place (rule 5) and catching a panic
/// from its destructor, so that one bad destructor cannot take the loop down.
unsafe fn set_stage<F: TaskFuture>(stage: *mut Stage<F>, new: Stage<F>) {
    // SAFETY: the caller has the stage to itself (rule 2); `write` fills it without
    // dropping twice, even after a destructor that panicked halfway.
    unsafe {
        let _ = catch_unwind(AssertUnwindSafe(|| ptr::drop_in_place(stage)));
        ptr::write(stage, new);
    }
}

unsafe fn poll<F: TaskFuture, S: Schedule>(header: NonNull<Header>) -> Poll<()> {
    // SAFETY: rules 1, 2, 4 and 5: `F` and `S` are the cell's, it is alive, nothing
    // else reads the stage while we poll, and it never moves. The waker lent to the
    // poll owns no reference, so it is never dropped.
    unsafe {
        let stage = header.cast::<Cell<F, S>>().as_ref().stage.get();
        let Stage::Future(future) = &mut *stage else {
            return Poll::Ready(());
        };
        let raw = RawWaker::new(header.as_ptr().cast(), &WAKER);
        let waker = ManuallyDrop::new(Waker::from_raw(raw));
        let mut cx = Context::from_waker(&waker);
        let Poll::Ready(output) = Pin::new_unchecked(future).poll_task(&mut cx) else {
            return Poll::Pending;
        };
        set_stage(stage, Stage::Output(output));
    }
    Poll::Ready(())
}

unsafe fn end<F: TaskFuture, S: Schedule>(header: NonNull<Header>, end: End) {
    // SAFETY: as in `poll`. An output is not pinned, so it may move out, and
    // `into` points at an `Option` of its type (rule 4).
    unsafe {
        let stage = header.cast::<Cell<F, S>>().as_ref().stage.get();
        match (&*stage, end) {
            (Stage::Future(_), End::Cancel(why)) => set_stage(stage, Stage::Output(Err(why))),
            (Stage::Output(_), End::Drop) => set_stage(stage, Stage::Empty),
            (Stage::Output(_), End::Take(into)) => {
                if let Stage::Output(output) = mem::replace(&mut *stage, Stage::Empty) {
                    *into.cast::<Option<Result<F::Output, JoinError>>>() = Some(output);
                }
            }
            _ => {}
        }
    }
}

unsafe fn schedule<F: TaskFuture, S: Schedule>(header: NonNull<Header>) {
    // SAFETY: rule 4; the caller hands over the reference the run queue will hold.
    let scheduler = unsafe { &header.cast::<Cell<F, S>>().as_ref().scheduler };
    scheduler.schedule(RemoteTask(Task(header)));
}

unsafe fn free<F: TaskFuture, S: Schedule>(header: NonNull<Header>) {
    // SAFETY: the last reference is gone (rule 1); the cell came from `Box::leak`.
    drop(unsafe { Box::from_raw(header.cast::<Cell<F, S>>().as_ptr()) });
}

/// The waker's vtable: each `Waker` of a task is a counted pointer to its cell.
static WAKER: RawWakerVTable = RawWakerVTable::new(clone_waker, wake, wake_by_ref, drop_waker);

/// The header behind a live waker's pointer, which holds a reference (rule 1).
unsafe fn header(ptr: *const ()) -> NonNull<Header> {
    // SAFETY: the caller passes a live waker's pointer, never null.
    unsafe { NonNull::new_unchecked(ptr.cast_mut()).cast() }
}

unsafe fn clone_waker(ptr: *const ()) -> RawWaker {
    // SAFETY: `Waker::clone` calls this on a live waker.
    unsafe { header(ptr).as_ref() }.state.add_ref();
    RawWaker::new(ptr, &WAKER)
}

unsafe fn wake(ptr: *const ()) {
    // SAFETY: `Waker::wake` calls this on a live waker, which it consumes.
    unsafe {
        wake_by_ref(ptr);
        drop_waker(ptr);
    }
}

/// The wake. The state word decides (`State::wake`): a task queued already or
/// over needs nothing; a running one is only marked, and its executor queues it
/// when the poll returns; an idle one gains a reference and goes to its executor.
unsafe fn wake_by_ref(ptr: *const ()) {
    // SAFETY: called on a live waker, or by the holder of a reference (rule 1); the
    // reference `State::wake` adds goes with the task to its queue.
    unsafe {
        let header = header(ptr);
        if header.as_ref().state.wake() == Wake::Schedule {
            (header.as_ref().vtable.schedule)(header);
        }
    }
}

unsafe fn drop_waker(ptr: *const ()) {
    // SAFETY: `Waker::drop` calls this; the waker's reference is given up (rule 1).
    unsafe { release(header(ptr)) }
}

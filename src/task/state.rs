//! A task's state, in two parts: the flags only the loop's thread touches, and
//! the one word other threads share with it.
//!
//! Floor 1, part of the task cell (`cell.rs`). Safe code.
//!
//! [`Flags`] are plain memory (a `Cell<u8>`), so the loop spends no atomic
//! operation on a task nobody else touches:
//!
//! | flag | set by | means |
//! |---|---|---|
//! | `SCHEDULED` | a wake on the loop's thread | in the run queue |
//! | `RUNNING` | step 3, around a poll | being polled right now |
//! | `WOKEN` | a wake during the poll | queue it again when the poll returns |
//! | `COMPLETE` | the executor, once | the future is gone: wakes do nothing |
//! | `JOIN_HANDLE` | spawn; cleared when the handle drops | someone may read the output |
//! | `JOINED` | the `JoinHandle`, once it returned the output | the handle is done (a fused future) |
//!
//! Only a wake that sets `SCHEDULED` puts the task in the run queue, and only step 3
//! clears it, so a task is in the run queue (`run_queue.rs`) at most once.
//!
//! [`Shared`] is one atomic word: the references other threads may hold or drop
//! (each waker, each reference crossing threads, and one for all the loop's
//! references together), `IN_TRANSIT` — a wake from another thread is on its way
//! through the injection queue, so later ones need not send another: the task is
//! in that queue at most once too — and `ABORTED`, which another thread may set;
//! its high half names the executor the task belongs to (set once, before any
//! other thread sees the task), so that a waker on any thread knows where to go.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering::AcqRel, Ordering::Acquire, Ordering::Relaxed};

const SCHEDULED: u8 = 1;
const RUNNING: u8 = 1 << 1;
const WOKEN: u8 = 1 << 2;
const COMPLETE: u8 = 1 << 3;
const JOIN_HANDLE: u8 = 1 << 4;
const JOINED: u8 = 1 << 5;

/// What a wake must do, as [`Flags::wake`] decided it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Wake {
    /// Nothing: the task is queued already (the wake is not lost, it is not
    /// needed), or it is over.
    Nothing,
    /// The task is being polled: it is only marked, and the executor queues it
    /// again when the poll returns (a wake during the poll must not be lost).
    Marked,
    /// The task was idle: the caller must put it in the run queue.
    Schedule,
}

/// The flags of one task, touched only on the loop's thread.
#[derive(Debug)]
pub(crate) struct Flags(Cell<u8>);

impl Flags {
    /// A new task: scheduled (it runs at the next step 3), with a `JoinHandle`.
    pub(crate) fn new() -> Flags {
        Flags(Cell::new(SCHEDULED | JOIN_HANDLE))
    }

    fn has(&self, flag: u8) -> bool {
        self.0.get() & flag != 0
    }

    fn set(&self, on: u8, off: u8) {
        self.0.set((self.0.get() | on) & !off);
    }

    /// A wake: marks a running task, schedules an idle one, ignores the rest.
    pub(crate) fn wake(&self) -> Wake {
        if self.has(SCHEDULED | COMPLETE | WOKEN) {
            Wake::Nothing
        } else if self.has(RUNNING) {
            self.set(WOKEN, 0);
            Wake::Marked
        } else {
            self.set(SCHEDULED, 0);
            Wake::Schedule
        }
    }

    /// Step 3, before a poll: off the queue, running. From here on a wake must bring
    /// the task round again.
    pub(crate) fn start_running(&self) {
        debug_assert_eq!(
            self.0.get() & (SCHEDULED | RUNNING | COMPLETE),
            SCHEDULED,
            "a task in the run queue is scheduled and idle: never queued twice"
        );
        self.set(RUNNING, SCHEDULED);
    }

    /// After a poll that returned `Pending`: not running. Returns whether the task
    /// was woken during the poll; it is then scheduled again, and the executor
    /// puts it at the back of the queue.
    pub(crate) fn stop_running(&self) -> bool {
        let woken = self.has(WOKEN);
        self.set(if woken { SCHEDULED } else { 0 }, RUNNING | WOKEN);
        woken
    }

    /// Marks the task complete. Returns whether a `JoinHandle` may read the output.
    pub(crate) fn complete(&self) -> bool {
        self.set(COMPLETE, SCHEDULED | RUNNING | WOKEN);
        self.has(JOIN_HANDLE)
    }

    /// The `JoinHandle` is gone. Returns whether the task was complete already.
    pub(crate) fn drop_join_handle(&self) -> bool {
        self.set(0, JOIN_HANDLE);
        self.has(COMPLETE)
    }

    pub(crate) fn is_complete(&self) -> bool {
        self.has(COMPLETE)
    }

    /// The `JoinHandle` returned the output: it is done (a fused future).
    pub(crate) fn mark_joined(&self) {
        self.set(JOINED, 0);
    }

    /// Whether the `JoinHandle` returned the output.
    #[cfg_attr(not(feature = "futures-core"), allow(dead_code))] // FusedFuture asks
    pub(crate) fn is_joined(&self) -> bool {
        self.has(JOINED)
    }

    /// Whether the task is being polled right now.
    pub(crate) fn is_running(&self) -> bool {
        self.has(RUNNING)
    }

    /// Whether the task sits in the run queue (or will, when its poll returns).
    pub(crate) fn is_scheduled(&self) -> bool {
        self.has(SCHEDULED | WOKEN)
    }
}

const ABORTED: u64 = 1;
const IN_TRANSIT: u64 = 1 << 1;
/// One reference, counted above the flags, in the low half of the word.
const REF: u64 = 1 << 2;
/// The references fill bits 2 to 31; the executor the task belongs to, the high half.
const REFS: u64 = (1 << 32) - REF;
const OWNER_SHIFT: u32 = 32;

/// The word a task shares with other threads.
#[derive(Debug)]
pub(crate) struct Shared(AtomicU64);

impl Shared {
    /// A new task of executor `owner`: one reference, the loop's.
    pub(crate) fn new(owner: u32) -> Shared {
        Shared(AtomicU64::new(u64::from(owner) << OWNER_SHIFT | REF))
    }

    /// The executor the task belongs to: written before the task is shared, never
    /// changed, so any thread may read it.
    pub(crate) fn owner(&self) -> u32 {
        (self.0.load(Relaxed) >> OWNER_SHIFT) as u32
    }

    /// Counts one more reference. Half a billion of them (wakers leaked in a loop)
    /// would soon spill into the owner's half: the process aborts first, as `Arc`
    /// does, with room to spare for threads racing past the check.
    pub(crate) fn add_ref(&self) {
        if self.0.fetch_add(REF, AcqRel) & REFS > REFS / 2 {
            std::process::abort();
        }
    }

    /// Gives up one reference; true if it was the last (the cell must be freed).
    /// When it is the only one there is, nobody else can add one, so no atomic
    /// read-modify-write is needed: the common case of a task whose waker was
    /// never kept costs no locked instruction.
    pub(crate) fn release(&self) -> bool {
        self.0.load(Acquire) & REFS == REF || self.0.fetch_sub(REF, AcqRel) & REFS == REF
    }

    /// A wake from another thread: true if the caller must send the task through
    /// the injection queue (no other wake is on its way).
    pub(crate) fn send(&self) -> bool {
        self.0.fetch_or(IN_TRANSIT, AcqRel) & IN_TRANSIT == 0
    }

    /// Whether a wake from another thread is on its way through the injection queue.
    pub(crate) fn is_in_transit(&self) -> bool {
        self.0.load(Acquire) & IN_TRANSIT != 0
    }

    /// Step 2 took the task from the injection queue: a later wake from another
    /// thread must send it again.
    pub(crate) fn arrived(&self) {
        self.0.fetch_and(!IN_TRANSIT, AcqRel);
    }

    /// Asks for the task's future to be dropped; the caller then wakes it.
    pub(crate) fn abort(&self) {
        self.0.fetch_or(ABORTED, AcqRel);
    }

    pub(crate) fn is_aborted(&self) -> bool {
        self.0.load(Acquire) & ABORTED != 0
    }

    /// How many references are counted here: more than one means someone else
    /// (a waker, an abort handle) holds the task.
    pub(crate) fn refs(&self) -> usize {
        ((self.0.load(Acquire) & REFS) / REF) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_is_scheduled_once_whatever_the_wakes() {
        let flags = Flags::new();
        flags.start_running();
        assert_eq!(flags.wake(), Wake::Marked, "woken while it runs");
        assert_eq!(flags.wake(), Wake::Nothing, "twice while it runs");
        assert!(flags.stop_running(), "the executor requeues it");
        flags.start_running();
        assert!(!flags.stop_running());
        assert_eq!(flags.wake(), Wake::Schedule, "idle: to the run queue");
        assert_eq!(flags.wake(), Wake::Nothing, "queued already");
    }

    #[test]
    fn one_wake_from_other_threads_travels_at_a_time() {
        let shared = Shared::new(u32::MAX);
        assert!(shared.send());
        assert!(!shared.send(), "one is on its way already");
        shared.arrived();
        assert!(shared.send());
        shared.add_ref();
        assert!(!shared.release(), "the waker's reference goes");
        assert_eq!(shared.owner(), u32::MAX, "the flags never touch the owner");
        assert!(shared.release(), "then the loop's, the last");
    }

    /// One step of the model below.
    #[derive(Clone, Copy, Debug)]
    enum Step {
        /// Step 3 pops the task (if queued) and starts polling it.
        Start,
        /// The poll returns `Pending` (or, if aborted, the task ends).
        Stop,
        /// Step 2 takes the task from the injection queue, if it is there.
        Drain,
        /// `JoinHandle::abort`, on the loop's thread.
        Abort,
    }

    /// The task's state plus what the model tracks beside it.
    #[derive(Clone, Copy, Debug)]
    struct World {
        flags: u8,
        shared: u64,
        /// Entries in the run queue, and in the injection queue.
        queued: usize,
        in_transit: usize,
        done: bool,
        /// A wake came since the last poll started and has not been served.
        owed: bool,
    }

    /// Every interleaving of a few wakes from another thread with the loop's
    /// steps, explored exhaustively: the task is never twice in a queue, a wake is
    /// never lost, and an abort always ends the task.
    #[test]
    fn every_interleaving_keeps_the_task_queued_at_most_once() {
        use Step::*;
        let world = World {
            flags: Flags::new().0.get(),
            shared: Shared::new(7).0.into_inner(),
            queued: 1,
            in_transit: 0,
            done: false,
            owed: false,
        };
        let script = [Start, Stop, Drain, Start, Abort, Stop, Drain, Start, Stop];
        let mut explored = 0;
        explore(&script, 3, world, &mut explored);
        assert_eq!(
            explored, 220,
            "every way to place 3 wakes among 9 loop steps"
        );
    }

    fn explore(script: &[Step], wakes: usize, world: World, explored: &mut usize) {
        assert!(
            world.queued <= 1 && world.in_transit <= 1,
            "twice: {world:?}"
        );
        if script.is_empty() && wakes == 0 {
            *explored += 1;
            let waiting = world.queued + world.in_transit > 0;
            let running = world.flags & RUNNING != 0;
            assert!(
                !world.owed || world.done || waiting || running,
                "lost: {world:?}"
            );
            let aborted = world.shared & ABORTED != 0;
            assert!(!aborted || world.done || waiting, "abort lost: {world:?}");
            return;
        }
        if wakes > 0 {
            // A wake from another thread: only the shared word is touched.
            let mut next = world;
            let shared = Shared(AtomicU64::new(next.shared));
            if shared.send() {
                next.in_transit += 1;
            }
            next.shared = shared.0.into_inner();
            next.owed = !next.done;
            explore(script, wakes - 1, next, explored);
        }
        if let Some((&step, rest)) = script.split_first() {
            explore(rest, wakes, run(step, world), explored);
        }
    }

    /// One loop step (doing nothing where it cannot happen: nothing to pop).
    fn run(step: Step, mut world: World) -> World {
        let flags = Flags(Cell::new(world.flags));
        let shared = Shared(AtomicU64::new(world.shared));
        match step {
            Step::Start if world.queued == 1 && !world.done => {
                world.queued = 0;
                world.owed = false;
                flags.start_running();
                if shared.is_aborted() {
                    flags.complete();
                    world.done = true;
                }
            }
            Step::Stop if flags.has(RUNNING) && flags.stop_running() => world.queued += 1,
            Step::Drain if world.in_transit == 1 => {
                world.in_transit = 0;
                shared.arrived();
                if flags.wake() == Wake::Schedule {
                    world.queued += 1;
                }
            }
            Step::Abort => {
                shared.abort();
                if flags.wake() == Wake::Schedule {
                    world.queued += 1;
                }
            }
            _ => {}
        }
        world.flags = flags.0.get();
        world.shared = shared.0.into_inner();
        world
    }
}

//! A task's state word: five flags and a reference count in one atomic `usize`,
//! and every way they change.
//!
//! Floor 1, part of the task cell (`cell.rs`). Safe code: every change is one
//! atomic operation, so wakers on other threads and the loop's thread can race
//! on it freely. The flags:
//!
//! | flag | set by | means |
//! |---|---|---|
//! | `SCHEDULED` | a wake | in a run queue, or to be put back in one when its poll returns |
//! | `RUNNING` | step 3, around a poll | being polled right now |
//! | `COMPLETE` | the executor, once | the future is gone: wakes do nothing |
//! | `ABORTED` | `abort` | drop the future instead of polling it |
//! | `JOIN_HANDLE` | spawn; cleared when the handle drops | someone may still read the output |
//!
//! Only a wake that sets `SCHEDULED` puts a task in a run queue, and only step 3
//! clears it, so a task is in a run queue at most once whatever the interleaving.

use std::sync::atomic::{AtomicUsize, Ordering::AcqRel, Ordering::Acquire};

const SCHEDULED: usize = 1;
const RUNNING: usize = 1 << 1;
const COMPLETE: usize = 1 << 2;
const ABORTED: usize = 1 << 3;
const JOIN_HANDLE: usize = 1 << 4;
/// One reference, counted above the flags.
const REF: usize = 1 << 6;

/// What a wake must do, as [`State::wake`] decided it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Wake {
    /// Nothing: the task is queued already (the wake is not lost, it is not
    /// needed), or it is over.
    Nothing,
    /// The task is being polled: it is only marked, and the executor queues it
    /// again when the poll returns (a wake during the poll must not be lost).
    Marked,
    /// The task was idle: the caller now holds a new reference, which must go into
    /// a run queue.
    Schedule,
}

/// The state word of one task.
pub(crate) struct State(AtomicUsize);

impl State {
    /// A new task: scheduled (it runs at the next step 3), with a `JoinHandle`, and
    /// `refs` references.
    pub(crate) fn new(refs: usize) -> State {
        State(AtomicUsize::new(SCHEDULED | JOIN_HANDLE | (refs * REF)))
    }

    /// A wake, from any thread: sets `SCHEDULED` unless it is set already or the
    /// task is complete.
    pub(crate) fn wake(&self) -> Wake {
        let mut now = self.0.load(Acquire);
        loop {
            if now & (SCHEDULED | COMPLETE) != 0 {
                return Wake::Nothing;
            }
            let running = now & RUNNING != 0;
            let next = if running {
                now | SCHEDULED
            } else {
                (now | SCHEDULED) + REF
            };
            match self.0.compare_exchange_weak(now, next, AcqRel, Acquire) {
                Ok(_) if running => return Wake::Marked,
                Ok(_) => return Wake::Schedule,
                Err(actual) => now = actual,
            }
        }
    }

    /// Step 3, before a poll: clears `SCHEDULED` and sets `RUNNING` (from here on a
    /// wake must bring the task round again). Returns whether it was aborted.
    pub(crate) fn start_running(&self) -> bool {
        let before = self.0.fetch_xor(SCHEDULED | RUNNING, AcqRel);
        debug_assert_eq!(
            before & (SCHEDULED | RUNNING | COMPLETE),
            SCHEDULED,
            "a task in the run queue is scheduled and idle: never queued twice"
        );
        before & ABORTED != 0
    }

    /// After a poll that returned `Pending`: clears `RUNNING`. Returns whether the
    /// task was woken during the poll (the executor then queues it again).
    pub(crate) fn stop_running(&self) -> bool {
        self.0.fetch_and(!RUNNING, AcqRel) & SCHEDULED != 0
    }

    /// Marks the task complete. Returns whether a `JoinHandle` may read the output.
    pub(crate) fn complete(&self) -> bool {
        self.0.fetch_or(COMPLETE, AcqRel) & JOIN_HANDLE != 0
    }

    /// The `JoinHandle` is gone. Returns whether the task was complete already.
    pub(crate) fn drop_join_handle(&self) -> bool {
        self.0.fetch_and(!JOIN_HANDLE, AcqRel) & COMPLETE != 0
    }

    /// Sets `ABORTED`; the caller then wakes the task.
    pub(crate) fn abort(&self) {
        self.0.fetch_or(ABORTED, AcqRel);
    }

    pub(crate) fn is_complete(&self) -> bool {
        self.0.load(Acquire) & COMPLETE != 0
    }

    /// Counts one more reference.
    pub(crate) fn add_ref(&self) {
        self.0.fetch_add(REF, AcqRel);
    }

    /// Gives up one reference; true if it was the last (the cell must be freed).
    pub(crate) fn release(&self) -> bool {
        self.0.fetch_sub(REF, AcqRel) / REF == 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_is_scheduled_once_whatever_the_wakes() {
        let state = State::new(1);
        assert!(!state.start_running());
        assert_eq!(state.wake(), Wake::Marked, "woken while it runs");
        assert_eq!(state.wake(), Wake::Nothing, "twice while it runs");
        assert!(state.stop_running(), "the executor requeues it");
        assert!(!state.start_running());
        assert!(!state.stop_running());
        assert_eq!(state.wake(), Wake::Schedule, "idle: a new reference");
        assert_eq!(state.wake(), Wake::Nothing, "queued already");
        assert!(!state.release(), "the queue's reference goes");
        assert!(state.release(), "then the last one");
    }

    /// One step of the loop's thread in the model below.
    #[derive(Clone, Copy)]
    enum Loop {
        /// Step 3 pops the task (if queued) and starts polling it.
        Start,
        /// The poll returns `Pending` (or, if aborted, the task ends).
        Stop,
        /// `JoinHandle::abort`.
        Abort,
    }

    /// Every interleaving of a few wakes from another thread with the loop's
    /// polls and an abort, explored exhaustively: the task is never in the run
    /// queue twice, a wake is never lost, and an aborted task always ends.
    #[test]
    fn every_interleaving_keeps_the_task_queued_at_most_once() {
        use Loop::*;
        let script = [Start, Stop, Start, Abort, Stop, Start, Stop];
        let mut explored = 0;
        explore(&script, 4, World::new(), &mut explored);
        assert_eq!(
            explored, 330,
            "every way to place 4 wakes among 7 loop steps"
        );
    }

    /// The task's state word plus what the model tracks beside it.
    #[derive(Clone, Copy, Debug)]
    struct World {
        bits: usize,
        /// Entries in the run queue (or the injection queue).
        queued: usize,
        running: bool,
        done: bool,
        /// A wake came since the last poll started and has not been served.
        owed: bool,
    }

    impl World {
        fn new() -> World {
            // Spawned: scheduled, in the queue, one reference each for the
            // executor, the queue and the handle.
            let bits = State::new(3).0.into_inner();
            World {
                bits,
                queued: 1,
                running: false,
                done: false,
                owed: false,
            }
        }
    }

    fn explore(script: &[Loop], wakes: usize, world: World, explored: &mut usize) {
        assert!(world.queued <= 1, "queued twice: {world:?}");
        if script.is_empty() && wakes == 0 {
            *explored += 1;
            let lost = world.owed && !world.done && world.queued == 0 && !world.running;
            assert!(!lost, "a wake was lost: {world:?}");
            let aborted = world.bits & ABORTED != 0;
            assert!(
                !aborted || world.done || world.queued == 1,
                "abort lost: {world:?}"
            );
            return;
        }
        if wakes > 0 {
            let mut next = world;
            let state = State(AtomicUsize::new(next.bits));
            match state.wake() {
                Wake::Schedule => next.queued += 1,
                Wake::Marked | Wake::Nothing => {}
            }
            next.owed = !next.done;
            next.bits = state.0.into_inner();
            explore(script, wakes - 1, next, explored);
        }
        if let Some((&step, rest)) = script.split_first() {
            if let Some(next) = run(step, world) {
                explore(rest, wakes, next, explored);
            }
        }
    }

    /// One loop step, or `None` where it cannot happen (nothing to pop).
    fn run(step: Loop, mut world: World) -> Option<World> {
        let state = State(AtomicUsize::new(world.bits));
        match step {
            Loop::Start if world.done || world.queued == 0 => return Some(world),
            Loop::Start => {
                world.queued -= 1;
                world.owed = false;
                world.running = true;
                if state.start_running() {
                    state.complete();
                    world.done = true;
                    world.running = false;
                }
            }
            Loop::Stop if !world.running => return Some(world),
            Loop::Stop => {
                world.running = false;
                if state.stop_running() {
                    world.queued += 1; // woken during its poll: back in the queue
                }
            }
            Loop::Abort => {
                state.abort();
                if state.wake() == Wake::Schedule {
                    world.queued += 1;
                }
            }
        }
        world.bits = state.0.into_inner();
        Some(world)
    }
}

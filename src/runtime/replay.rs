//! The seeded loop from the runtime: [`Runtime::seed`], [`Runtime::schedule_digest`],
//! and the record of polls `check::same_schedule` compares.
//!
//! Floor 2. The generator and the record are `replay` (floor 0); the run queue
//! (`task/run_queue.rs`) and the timers draw their orders from it.

use super::Runtime;
use crate::replay::Step;

impl Runtime {
    /// The seed this runtime's order is drawn from ([`Builder::seed`](crate::Builder::seed)
    /// or `EVLOOP_SEED`), if it has one.
    pub fn seed(&self) -> Option<u64> {
        Some(self.executor.replay()?.seed)
    }

    /// A running hash of the schedule so far — every poll (each task named by its
    /// spawn number in this runtime, with the poll's result) and every wake, in
    /// order — kept whenever a seed is set; 0 without one. Two runs that polled the
    /// same tasks in the same order have the same digest.
    ///
    /// ```
    /// let digest = |seed| {
    ///     let rt = evloop::Builder::new().seed(seed).virtual_time(true).build().unwrap();
    ///     rt.block_on(async {
    ///         let tasks: Vec<_> = (0..4).map(|i| evloop::spawn(async move { i })).collect();
    ///         for task in tasks {
    ///             task.await.unwrap();
    ///         }
    ///     });
    ///     rt.schedule_digest()
    /// };
    /// assert_eq!(digest(5), digest(5));
    /// ```
    pub fn schedule_digest(&self) -> u64 {
        self.executor.replay().map_or(0, |replay| replay.digest())
    }

    /// Keeps every poll from now on, for [`Runtime::steps`] (seeded runtimes only).
    pub(crate) fn keep_steps(&self) {
        if let Some(replay) = self.executor.replay() {
            replay.keep_steps();
        }
    }

    /// The polls kept since [`Runtime::keep_steps`].
    pub(crate) fn steps(&self) -> Vec<Step> {
        self.executor
            .replay()
            .map(|replay| replay.steps())
            .unwrap_or_default()
    }
}

//! [`WakerSlot`]: where a future leaves its waker for whoever will wake it.
//!
//! Floor 0. Every resource that makes a task wait keeps the task's waker until it
//! can go on. A task polled again usually brings the same waker, and cloning it
//! anew each time costs an atomic increment (or an allocation, for some wakers), so
//! the slot keeps the one it has when `Waker::will_wake` says it is the same.

use std::task::Waker;

/// One waiting task's waker, or none.
#[derive(Debug, Default)]
pub(crate) struct WakerSlot(Option<Waker>);

impl WakerSlot {
    /// An empty slot.
    pub(crate) const fn new() -> WakerSlot {
        WakerSlot(None)
    }

    /// Keeps `waker`, unless the slot already holds one that wakes the same task.
    /// Returns the waker it replaced, for the caller to drop once its locks are
    /// released (a waker's drop may run foreign code).
    #[must_use = "drop the old waker after releasing any lock"]
    pub(crate) fn register(&mut self, waker: &Waker) -> Option<Waker> {
        match &self.0 {
            Some(current) if current.will_wake(waker) => None,
            _ => self.0.replace(waker.clone()),
        }
    }

    /// Takes the waker out, to wake it once locks are released.
    pub(crate) fn take(&mut self) -> Option<Waker> {
        self.0.take()
    }
}

//! [`Handle`]: a way into a runtime from other threads.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::sync::Weak;

use crate::task::{remote_task, Injector, RemoteHandle, TaskMeta};

/// A handle to a [`Runtime`](crate::Runtime) that other threads can use to spawn
/// tasks on it. `Send + Sync + Clone`; it does not keep the runtime alive.
///
/// ```
/// let rt = evloop::Runtime::new().unwrap();
/// let handle = rt.handle();
/// let from_thread = std::thread::spawn(move || handle.spawn(async { 6 * 7 }))
///     .join()
///     .unwrap();
/// assert_eq!(rt.block_on(from_thread).unwrap(), 42);
/// ```
#[derive(Clone)]
pub struct Handle {
    /// The runtime's injection queue; dead once the runtime is dropped.
    pub(super) injector: Weak<Injector>,
}

impl Handle {
    /// Spawns a task on the runtime from any thread. The future must be `Send`: it
    /// crosses to the loop's thread, where it then stays.
    ///
    /// The task starts when the loop next runs (in step 2 of a turn). If the
    /// runtime is dropped first — or already was — the task never runs and the
    /// handle resolves as cancelled: nothing is left waiting.
    ///
    /// Cost: a lock and, at most once per turn, a write to the loop's eventfd.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> RemoteHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (spawn, handle) = remote_task(future, TaskMeta::new(None, Location::caller()));
        match self.injector.upgrade() {
            Some(injector) => injector.push_spawn(spawn),
            None => drop(spawn), // resolves the handle as cancelled
        }
        handle
    }

    /// Whether the runtime still exists.
    pub fn is_alive(&self) -> bool {
        self.injector.strong_count() > 0
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("alive", &self.is_alive())
            .finish()
    }
}

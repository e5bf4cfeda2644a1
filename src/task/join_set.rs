//! [`JoinSet`]: a group of tasks, awaited together.

use std::fmt;
use std::future::{poll_fn, Future};
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::{on_current, JoinError, JoinHandle, TaskMeta};

/// A set of tasks of one output type, spawned on the current runtime.
///
/// [`join_next`](JoinSet::join_next) returns outputs in the order the tasks
/// *finish* (`asyncio.as_completed`); [`join_all`](JoinSet::join_all) returns them
/// all in the order they were *spawned* (`asyncio.gather`). Dropping the set aborts
/// the tasks still running.
///
/// Unlike asyncio's `TaskGroup`, one task failing does not cancel the others: each
/// failure is just that task's `Err`, as in tokio's `JoinSet`.
///
/// ```
/// use std::time::Duration;
/// use evloop::{task::JoinSet, time::sleep};
/// let rt = evloop::Builder::new().virtual_time(true).build().unwrap();
/// rt.block_on(async {
///     let mut set = JoinSet::new();
///     for ms in [30, 10, 20] {
///         set.spawn(async move {
///             sleep(Duration::from_millis(ms)).await;
///             ms
///         });
///     }
///     let mut finished = Vec::new();
///     while let Some(result) = set.join_next().await {
///         finished.push(result.unwrap());
///     }
///     assert_eq!(finished, [10, 20, 30]);
/// });
/// ```
pub struct JoinSet<T> {
    /// The tasks not yet joined, in spawn order.
    handles: Vec<JoinHandle<T>>,
}

impl<T: 'static> JoinSet<T> {
    /// An empty set.
    pub fn new() -> JoinSet<T> {
        JoinSet {
            handles: Vec::new(),
        }
    }

    /// Spawns a task into the set, on the current runtime.
    ///
    /// # Panics
    ///
    /// Outside a runtime, as [`spawn`](crate::spawn).
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F)
    where
        F: Future<Output = T> + 'static,
    {
        let meta = TaskMeta::new(None, Location::caller());
        let handle = on_current("JoinSet::spawn", |executor| executor.spawn(future, meta));
        self.handles.push(handle);
    }

    /// Waits for the next task to finish and returns its output; `None` when the
    /// set is empty.
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        if self.handles.is_empty() {
            return None;
        }
        Some(poll_fn(|cx| self.poll_join_next(cx)).await)
    }

    /// Polls for the next task to finish (the set must not be empty).
    fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, JoinError>> {
        // The task that finished first among those finished, if any.
        let first = (0..self.handles.len())
            .filter_map(|i| self.handles[i].finish_order().map(|order| (order, i)))
            .min();
        if let Some((_, index)) = first {
            let mut handle = self.handles.remove(index);
            return Pin::new(&mut handle).poll(cx);
        }
        for handle in &mut self.handles {
            // Registers our waker with every task; none is finished.
            let _ = Pin::new(handle).poll(cx);
        }
        Poll::Pending
    }

    /// Waits for every task and returns their outputs in spawn order.
    pub async fn join_all(mut self) -> Vec<Result<T, JoinError>> {
        let mut outputs = Vec::with_capacity(self.handles.len());
        for handle in std::mem::take(&mut self.handles) {
            outputs.push(handle.await);
        }
        outputs
    }

    /// Aborts every task in the set (they stay in it until joined).
    pub fn abort_all(&self) {
        for handle in &self.handles {
            handle.abort();
        }
    }

    /// How many tasks are in the set (not yet joined).
    pub fn len(&self) -> usize {
        self.handles.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }
}

impl<T: 'static> Default for JoinSet<T> {
    fn default() -> JoinSet<T> {
        JoinSet::new()
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        for handle in &self.handles {
            handle.abort();
        }
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet")
            .field("len", &self.handles.len())
            .finish()
    }
}

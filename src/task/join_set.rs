//! [`JoinSet`]: a group of tasks, awaited together.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::{poll_fn, Future};
use std::panic::Location;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use slab::Slab;

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
    /// The tasks not yet joined, each with its spawn number (for `join_all`).
    handles: Slab<(u64, JoinHandle<T>)>,
    /// The tasks that ended, in the order they ended; shared with their futures.
    ended: Rc<RefCell<Ended>>,
    /// How many tasks were spawned into the set: numbers the next one.
    spawned: u64,
}

/// Which of a set's tasks ended, and who waits to hear of it.
#[derive(Default)]
struct Ended {
    /// Slots in `JoinSet::handles` of tasks that ended, oldest first.
    slots: VecDeque<usize>,
    /// The waker of whoever waits in `join_next`.
    waiter: Option<Waker>,
}

/// Rides inside a set's task: when the task's future is dropped — it finished,
/// panicked, was aborted or went down with its runtime — it tells the set.
/// That makes `join_next` O(1) and exact about the order tasks ended.
struct ReportEnd {
    /// The set's list; dead once the set is dropped.
    ended: Weak<RefCell<Ended>>,
    /// The task's slot in the set.
    slot: usize,
}

impl Drop for ReportEnd {
    fn drop(&mut self) {
        let Some(ended) = self.ended.upgrade() else {
            return;
        };
        let waiter = {
            let mut ended = ended.borrow_mut();
            ended.slots.push_back(self.slot);
            ended.waiter.take()
        };
        if let Some(waiter) = waiter {
            waiter.wake();
        }
    }
}

impl<T: 'static> JoinSet<T> {
    /// An empty set.
    pub fn new() -> JoinSet<T> {
        JoinSet {
            handles: Slab::new(),
            ended: Rc::default(),
            spawned: 0,
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
        let entry = self.handles.vacant_entry();
        // Made out here, not inside the async block: a future dropped before its
        // first poll still drops what it captured, and the report with it.
        let report = ReportEnd {
            ended: Rc::downgrade(&self.ended),
            slot: entry.key(),
        };
        let future = async move {
            let _report = report;
            future.await
        };
        let handle = on_current("JoinSet::spawn", |executor| executor.spawn(future, meta));
        entry.insert((self.spawned, handle));
        self.spawned += 1;
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
        loop {
            let mut ended = self.ended.borrow_mut();
            let Some(slot) = ended.slots.pop_front() else {
                if !matches!(&ended.waiter, Some(w) if w.will_wake(cx.waker())) {
                    ended.waiter = Some(cx.waker().clone());
                }
                return Poll::Pending;
            };
            drop(ended);
            let Some((_, handle)) = self.handles.get_mut(slot) else {
                continue;
            };
            if let Poll::Ready(output) = Pin::new(handle).poll(cx) {
                self.handles.remove(slot);
                return Poll::Ready(output);
            }
            // The future is gone but the output not yet stored: the handle now
            // holds our waker and wakes us when it is.
            self.ended.borrow_mut().slots.push_front(slot);
            return Poll::Pending;
        }
    }

    /// Waits for every task and returns their outputs in spawn order.
    pub async fn join_all(mut self) -> Vec<Result<T, JoinError>> {
        let mut handles: Vec<_> = std::mem::take(&mut self.handles).into_iter().collect();
        handles.sort_unstable_by_key(|(_, (spawned, _))| *spawned);
        let mut outputs = Vec::with_capacity(handles.len());
        for (_, (_, handle)) in handles {
            outputs.push(handle.await);
        }
        outputs
    }

    /// Aborts every task in the set (they stay in it until joined).
    pub fn abort_all(&self) {
        for (_, (_, handle)) in &self.handles {
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
        for (_, (_, handle)) in &self.handles {
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

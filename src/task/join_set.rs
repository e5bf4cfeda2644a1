//! [`JoinSet`]: a group of tasks, awaited together.
//!
//! Floor 1. Each task of a set tells the set when it ends (its `JoinHandle` runs a
//! small callback on the loop's thread instead of waking a waiter), so
//! `join_next` is O(1) and exact about the order in which tasks ended.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::{poll_fn, Future};
use std::panic::Location;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll};

use slab::Slab;

use super::{current_executor, JoinError, JoinHandle};
use crate::context;
use crate::waker_slot::WakerSlot;

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
#[doc(alias = "as_completed")]
#[doc(alias = "gather")]
#[doc(alias = "TaskGroup")]
pub struct JoinSet<T> {
    /// The tasks not yet joined, each with its spawn number (for `join_all`).
    handles: Slab<(u64, JoinHandle<T>)>,
    /// The tasks that ended, in the order they ended; their handles report here.
    ended: Rc<RefCell<Ended>>,
    /// How many tasks were spawned into the set: numbers the next one.
    spawned: u64,
}

/// Which of a set's tasks ended, and who waits to hear of it.
#[derive(Default)]
struct Ended {
    /// Keys in `JoinSet::handles` of tasks that ended, oldest first.
    slots: VecDeque<usize>,
    /// Whoever waits in `join_next`.
    waiter: WakerSlot,
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
        let location = Location::caller();
        let executor = current_executor("JoinSet::spawn");
        let handle = executor.spawn(future, executor.next_id(), location, None);
        let entry = self.handles.vacant_entry();
        let (ended, slot) = (Rc::downgrade(&self.ended), entry.key());
        handle.when_finished(move || report_end(&ended, slot));
        entry.insert((self.spawned, handle));
        self.spawned += 1;
    }

    /// Waits for the next task to finish and returns its output; `None` when the
    /// set is empty.
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// Polls for the next task to finish: `join_next` as a poll function.
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        if self.handles.is_empty() {
            return Poll::Ready(None);
        }
        context::budgeted(cx, |cx| {
            let mut ended = self.ended.borrow_mut();
            let Some(slot) = ended.slots.pop_front() else {
                if let Some((_, (_, handle))) = self.handles.iter().next() {
                    context::check_driven_by(handle.owner(), "a JoinSet");
                }
                let old = ended.waiter.register(cx.waker());
                drop(ended);
                drop(old);
                return Poll::Pending;
            };
            drop(ended);
            let (_, mut handle) = self.handles.remove(slot);
            crate::room::give_back_slab(&mut self.handles);
            crate::room::give_back_deque(&mut self.ended.borrow_mut().slots);
            Poll::Ready(Some(
                handle.try_take().expect("an ended task's output waits"),
            ))
        })
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

    /// A graceful shutdown: lets the tasks finish until `grace` completes (say
    /// `time::sleep(Duration::from_secs(5))`, or a second Ctrl-C), then aborts
    /// the rest; returns every task's outcome in the order they ended — the ones
    /// cut short are cancelled errors (`is_cancelled()`). The set is empty after.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = evloop::Builder::new().virtual_time(true).build().unwrap();
    /// rt.block_on(async {
    ///     let mut set = evloop::JoinSet::new();
    ///     for secs in [1, 2, 10] {
    ///         set.spawn(evloop::time::sleep(Duration::from_secs(secs)));
    ///     }
    ///     let ended = set.shutdown(evloop::time::sleep(Duration::from_secs(5))).await;
    ///     let cut = ended.iter().filter(|e| e.as_ref().is_err_and(|e| e.is_cancelled()));
    ///     assert_eq!((ended.len(), cut.count()), (3, 1));
    /// });
    /// ```
    pub async fn shutdown(&mut self, grace: impl Future) -> Vec<Result<T, JoinError>> {
        let mut ended = Vec::with_capacity(self.len());
        let mut grace = std::pin::pin!(grace);
        let mut over = false;
        // Within the grace: whatever ends, until all have or the grace is over.
        poll_fn(|cx| loop {
            match self.poll_join_next(cx) {
                Poll::Ready(Some(outcome)) => ended.push(outcome),
                Poll::Ready(None) => return Poll::Ready(()),
                Poll::Pending => {
                    over = grace.as_mut().poll(cx).is_ready();
                    return if over { Poll::Ready(()) } else { Poll::Pending };
                }
            }
        })
        .await;
        if over {
            self.abort_all();
            while let Some(outcome) = self.join_next().await {
                ended.push(outcome);
            }
        }
        ended
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

/// The results as a stream, in the order the tasks end (feature `futures-core`);
/// it ends while the set is empty (and resumes if tasks are spawned again).
#[cfg(feature = "futures-core")]
impl<T: 'static> futures_core::Stream for JoinSet<T> {
    type Item = Result<T, JoinError>;

    fn poll_next(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_join_next(cx)
    }
}

/// Run by a set's task when it ends: puts its slot in line and wakes `join_next`.
fn report_end(ended: &Weak<RefCell<Ended>>, slot: usize) {
    let Some(ended) = ended.upgrade() else {
        return; // the set is gone
    };
    let waiter = {
        let mut ended = ended.borrow_mut();
        ended.slots.push_back(slot);
        ended.waiter.take()
    };
    if let Some(waiter) = waiter {
        waiter.wake();
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

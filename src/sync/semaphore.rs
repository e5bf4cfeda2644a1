//! [`Semaphore`]: at most N holders at once, served first come, first served.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use super::park;
use super::wait_list::{wake, WaitList};
use crate::context;
use crate::lock::lock;

/// Hands out at most `permits` [`SemaphorePermit`]s at a time; a permit goes back
/// when it is dropped.
///
/// **Fair**: waiters — tasks in [`acquire`](Semaphore::acquire) and threads in
/// [`blocking_acquire`](Semaphore::blocking_acquire) alike — are served in the order
/// they started waiting, and a released permit is *handed* to the first of them:
/// nobody can take it in between, not even the task that released it. (tokio's and
/// asyncio's semaphores are fair the same way.) [`try_acquire`](Semaphore::try_acquire)
/// never waits, and takes a free permit only if nobody is waiting for one.
///
/// ```
/// use evloop::sync::Semaphore;
/// evloop::run(async {
///     let gate = Semaphore::new(2);
///     let a = gate.acquire().await;
///     let _b = gate.acquire().await;
///     assert!(gate.try_acquire().is_none());
///     drop(a);
///     assert!(gate.try_acquire().is_some());
/// });
/// ```
pub struct Semaphore {
    /// Free permits and the line of waiters.
    state: Mutex<State>,
}

/// A semaphore's state.
struct State {
    /// Permits not handed out. Never more than zero while someone waits: a
    /// released permit goes straight to the first in line.
    permits: usize,
    /// Who waits for a permit.
    waiters: WaitList,
}

impl Semaphore {
    /// A semaphore with `permits` permits.
    pub fn new(permits: usize) -> Semaphore {
        Semaphore {
            state: Mutex::new(State {
                permits,
                waiters: WaitList::default(),
            }),
        }
    }

    /// Waits for a permit, in line behind those who waited first.
    ///
    /// **Cancel safety**: dropping the future gives up its place in line, and loses
    /// nothing: if a permit had been handed to it meanwhile, it goes to the next in
    /// line.
    pub fn acquire(&self) -> Acquire<'_> {
        Acquire {
            semaphore: self,
            key: None,
        }
    }

    /// Takes a permit if one is free and nobody waits; never waits.
    pub fn try_acquire(&self) -> Option<SemaphorePermit<'_>> {
        let mut state = lock(&self.state);
        if state.permits == 0 {
            return None;
        }
        state.permits -= 1;
        Some(SemaphorePermit { semaphore: self })
    }

    /// Blocks this thread until a permit is free; the thread waits in line with the
    /// tasks.
    ///
    /// # Panics
    ///
    /// On a thread running an evloop loop: it would deadlock. `.await` `acquire` there.
    pub fn blocking_acquire(&self) -> SemaphorePermit<'_> {
        park::wait("Semaphore::blocking_acquire", self.acquire())
    }

    /// How many permits are free.
    pub fn available_permits(&self) -> usize {
        lock(&self.state).permits
    }

    /// Adds `n` permits.
    pub fn add_permits(&self, n: usize) {
        for _ in 0..n {
            self.release();
        }
    }

    /// Returns one permit: to the first in line, if anyone waits.
    fn release(&self) {
        let mut state = lock(&self.state);
        let first = state.waiters.grant_first();
        if first.is_none() {
            state.permits += 1;
        }
        drop(state);
        wake(first);
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("Semaphore")
            .field("available_permits", &state.permits)
            .field("waiting", &!state.waiters.is_empty())
            .finish()
    }
}

/// A permit from a [`Semaphore`], returned when dropped.
#[must_use = "the permit is returned as soon as it is dropped"]
pub struct SemaphorePermit<'a> {
    /// Where the permit goes back to.
    semaphore: &'a Semaphore,
}

impl SemaphorePermit<'_> {
    /// Keeps the permit out of the semaphore for good.
    pub fn forget(self) {
        std::mem::forget(self);
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        self.semaphore.release();
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SemaphorePermit")
    }
}

/// The future of [`Semaphore::acquire`].
#[must_use = "futures do nothing unless you .await them"]
pub struct Acquire<'a> {
    /// The semaphore.
    semaphore: &'a Semaphore,
    /// Our place in line, once we stand in it.
    key: Option<usize>,
}

impl<'a> Future for Acquire<'a> {
    type Output = SemaphorePermit<'a>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<SemaphorePermit<'a>> {
        let this = self.get_mut();
        context::budgeted(cx, |cx| {
            let mut state = lock(&this.semaphore.state);
            let State { permits, waiters } = &mut *state;
            let take_free = || {
                let free = *permits > 0;
                *permits -= usize::from(free);
                free
            };
            let (poll, old) = waiters.poll_place(&mut this.key, cx.waker(), take_free);
            drop(state);
            drop(old);
            poll.map(|()| SemaphorePermit {
                semaphore: this.semaphore,
            })
        })
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        let granted = lock(&self.semaphore.state).waiters.leave_place(self.key);
        if granted {
            self.semaphore.release(); // handed a permit we will not use: pass it on
        }
    }
}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire")
            .field("waiting", &self.key.is_some())
            .finish()
    }
}

//! [`Semaphore`]: at most N holders at once.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll};

use super::assert_off_the_loop;
use super::wait_list::{wake, WaitList};

/// Hands out at most `permits` [`SemaphorePermit`]s at a time; a permit goes back
/// when it is dropped. Waiting tasks are woken in the order they started waiting.
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
    /// Free permits and waiting tasks.
    state: Mutex<State>,
    /// For threads in `blocking_acquire`.
    released: Condvar,
}

/// A semaphore's state.
struct State {
    /// Permits not handed out.
    permits: usize,
    /// Tasks waiting for a permit.
    waiters: WaitList,
    /// Threads waiting for a permit.
    blocked: usize,
}

impl Semaphore {
    /// A semaphore with `permits` permits.
    pub fn new(permits: usize) -> Semaphore {
        Semaphore {
            state: Mutex::new(State {
                permits,
                waiters: WaitList::default(),
                blocked: 0,
            }),
            released: Condvar::new(),
        }
    }

    /// Locks the state; a panic elsewhere never leaves it half-written.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a permit.
    pub fn acquire(&self) -> Acquire<'_> {
        Acquire {
            semaphore: self,
            key: None,
        }
    }

    /// Takes a permit if one is free; never waits.
    pub fn try_acquire(&self) -> Option<SemaphorePermit<'_>> {
        let mut state = self.lock();
        if state.permits == 0 {
            return None;
        }
        state.permits -= 1;
        Some(SemaphorePermit { semaphore: self })
    }

    /// Blocks this thread until a permit is free.
    ///
    /// # Panics
    ///
    /// On a thread running an evloop loop: it would deadlock. `.await` `acquire` there.
    pub fn blocking_acquire(&self) -> SemaphorePermit<'_> {
        assert_off_the_loop("Semaphore::blocking_acquire");
        let mut state = self.lock();
        while state.permits == 0 {
            state.blocked += 1;
            state = self.released.wait(state).unwrap_or_else(|e| e.into_inner());
            state.blocked -= 1;
        }
        state.permits -= 1;
        SemaphorePermit { semaphore: self }
    }

    /// How many permits are free.
    pub fn available_permits(&self) -> usize {
        self.lock().permits
    }

    /// Adds `n` permits.
    pub fn add_permits(&self, n: usize) {
        for _ in 0..n {
            self.release();
        }
    }

    /// Returns one permit and wakes the next waiter.
    fn release(&self) {
        let mut state = self.lock();
        state.permits += 1;
        let next = state.waiters.wake_one();
        let blocked = state.blocked > 0;
        drop(state);
        if blocked {
            self.released.notify_one();
        }
        wake(next);
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("available_permits", &self.available_permits())
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
    /// Our place among the waiters.
    key: Option<usize>,
}

impl<'a> Future for Acquire<'a> {
    type Output = SemaphorePermit<'a>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<SemaphorePermit<'a>> {
        let this = self.get_mut();
        let mut state = this.semaphore.lock();
        if state.permits > 0 {
            state.permits -= 1;
            state.waiters.remove(&mut this.key);
            return Poll::Ready(SemaphorePermit {
                semaphore: this.semaphore,
            });
        }
        state.waiters.wait(&mut this.key, cx.waker());
        Poll::Pending
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        if self.key.is_none() {
            return;
        }
        let mut state = self.semaphore.lock();
        // Woken for a permit we will not take: pass the wake on.
        let next = if state.waiters.remove(&mut self.key) && state.permits > 0 {
            state.waiters.wake_one()
        } else {
            None
        };
        drop(state);
        wake(next);
    }
}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire")
            .field("waiting", &self.key.is_some())
            .finish()
    }
}

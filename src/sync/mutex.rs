//! [`Mutex`]: a lock that tasks wait for without blocking the loop.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::PoisonError;

use super::semaphore::{Semaphore, SemaphorePermit};
use crate::lock::lock;

/// A mutual-exclusion lock whose `lock` is awaited, so a task waiting for it
/// lets the rest of the loop run. Hold a guard across `.await` freely.
///
/// **Fair**, as tokio's and asyncio's locks: tasks and threads get the lock in the
/// order they asked for it, and an unlock hands it to the first in line — the task
/// that just unlocked cannot take it straight back while another waits.
/// [`try_lock`](Mutex::try_lock) never waits.
///
/// Built from a one-permit [`Semaphore`] (who may enter) and a `std::sync::Mutex`
/// (where the value lives; never contended, since the permit already decided).
///
/// ```
/// use std::sync::Arc;
/// use evloop::sync::Mutex;
/// evloop::run(async {
///     let count = Arc::new(Mutex::new(0));
///     let tasks: Vec<_> = (0..10)
///         .map(|_| {
///             let count = count.clone();
///             evloop::spawn(async move {
///                 let mut guard = count.lock().await;
///                 evloop::yield_now().await; // held across an await
///                 *guard += 1;
///             })
///         })
///         .collect();
///     for task in tasks {
///         task.await.unwrap();
///     }
///     assert_eq!(*count.lock().await, 10);
/// });
/// ```
pub struct Mutex<T> {
    /// One permit: whoever holds it holds the lock.
    gate: Semaphore,
    /// The value.
    value: std::sync::Mutex<T>,
}

impl<T> Mutex<T> {
    /// An unlocked mutex holding `value`.
    pub fn new(value: T) -> Mutex<T> {
        Mutex {
            gate: Semaphore::new(1),
            value: std::sync::Mutex::new(value),
        }
    }

    /// Waits for the lock, in line behind those who asked first.
    ///
    /// **Cancel safety**: dropping the future gives up its place in line and loses
    /// nothing: if the lock had been handed to it meanwhile, it goes to the next in
    /// line.
    pub async fn lock(&self) -> MutexGuard<'_, T> {
        let permit = self.gate.acquire().await;
        self.guard(permit)
    }

    /// Takes the lock if it is free and nobody waits; never waits.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        let permit = self.gate.try_acquire()?;
        Some(self.guard(permit))
    }

    /// Blocks this thread until the lock is free.
    ///
    /// # Panics
    ///
    /// On a thread running an evloop loop: it would deadlock. `.await` `lock` there.
    pub fn blocking_lock(&self) -> MutexGuard<'_, T> {
        let permit = self.gate.blocking_acquire();
        self.guard(permit)
    }

    /// The value, without locking: `&mut self` proves nobody else holds it.
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut().unwrap_or_else(PoisonError::into_inner)
    }

    /// The value, consuming the mutex.
    pub fn into_inner(self) -> T {
        self.value
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The guard for a holder of the permit. A panic while a guard was held does
    /// not poison this mutex (as with tokio's): the value is handed out as it is.
    fn guard<'a>(&'a self, permit: SemaphorePermit<'a>) -> MutexGuard<'a, T> {
        let value = lock(&self.value);
        MutexGuard {
            value,
            _permit: permit,
        }
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Mutex<T> {
        Mutex::new(T::default())
    }
}

impl<T> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mutex")
            .field("locked", &(self.gate.available_permits() == 0))
            .finish()
    }
}

/// Holds a [`Mutex`] locked; derefs to the value; unlocks when dropped.
pub struct MutexGuard<'a, T> {
    /// The value's std guard: unlocked first (fields drop in order)…
    value: std::sync::MutexGuard<'a, T>,
    /// …then the permit goes back, waking the next waiter.
    _permit: SemaphorePermit<'a>,
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T: fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

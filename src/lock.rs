//! Locking a `std::sync::Mutex` without caring about poison.
//!
//! Floor 0. A mutex is *poisoned* when a thread panicked while holding it. Every
//! mutex in evloop guards state that is never left half-written across a call
//! that can panic (user code runs only after the lock is released), so a poisoned
//! lock holds consistent state, and refusing it would only turn one panic into two.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex`, poisoned or not.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

//! "This thread is driving a loop": one thread-local flag.
//!
//! Floor 0. A thread is *driving* while it is inside `Runtime::block_on` or
//! `Runtime::turn`. Two things ask:
//!
//! - the runtime, to refuse a `block_on` inside another `block_on` (that would
//!   freeze the outer loop, since one thread cannot run two loops at once);
//! - the blocking methods of `sync` (`blocking_recv`, …), which would deadlock if
//!   they parked the loop's own thread waiting for a task that only this thread runs.

use std::cell::Cell;

thread_local! {
    /// Whether this thread is inside `block_on` or `turn` right now.
    static DRIVING: Cell<bool> = const { Cell::new(false) };
}

/// Whether the current thread is driving an evloop runtime.
pub(crate) fn is_driving() -> bool {
    DRIVING.with(Cell::get)
}

/// Marks this thread as driving a loop until the returned guard is dropped.
/// Returns `None` if it already is.
pub(crate) fn start_driving() -> Option<Driving> {
    DRIVING.with(|flag| {
        if flag.replace(true) {
            None
        } else {
            Some(Driving { _private: () })
        }
    })
}

/// Proof that this thread is driving a loop; clears the flag on drop.
#[derive(Debug)]
pub(crate) struct Driving {
    /// Keeps the guard from being built outside this module.
    _private: (),
}

impl Drop for Driving {
    fn drop(&mut self) {
        DRIVING.with(|flag| flag.set(false));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn driving_is_exclusive_and_cleared_on_drop() {
        assert!(!is_driving());
        let guard = start_driving().expect("first entry");
        assert!(is_driving());
        assert!(start_driving().is_none());
        drop(guard);
        assert!(!is_driving());
    }
}

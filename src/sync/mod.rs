//! Passing values and taking turns between tasks and threads.
//!
//! Floor 1: every type here is thread-safe and waker-based, and never touches the
//! runtime, so it works under any executor and from plain threads. The blocking
//! methods (`blocking_send`, `blocking_recv`) are for threads that are *not*
//! running a loop; called on the loop's thread they panic, because parking that
//! thread would stop the very tasks it waits for.
//!
//! - [`oneshot`] — one value, once.

pub mod oneshot;

/// Panics if this thread is running an evloop loop: `what` would deadlock there.
#[track_caller]
pub(crate) fn assert_off_the_loop(what: &str) {
    assert!(
        !crate::context::is_driving(),
        "{what} called on a thread that is running an evloop loop: it would block the \
         loop and deadlock; .await the async version instead"
    );
}

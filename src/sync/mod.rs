//! Passing values and taking turns between tasks and threads.
//!
//! Floor 1: every type here is thread-safe and waker-based, and never touches the
//! runtime, so it works under any executor and from plain threads. The blocking
//! methods (`blocking_send`, `blocking_recv`) are for threads that are *not*
//! running a loop; called on the loop's thread they panic, because parking that
//! thread would stop the very tasks it waits for.
//!
//! - [`mpsc`] — many senders, one receiver; bounded (with back-pressure) or not;
//! - [`oneshot`] — one value, once;
//! - [`Event`] — a flag to wait for (`asyncio.Event`, `threading.Event`);
//! - [`Semaphore`] — at most N at once;
//! - [`Mutex`] — a lock to hold across `.await`.
//!
//! Tasks and threads waiting for a permit, a lock or room in a channel stand in
//! one line (`wait_list.rs`): first come, first served, with what is released
//! handed to the first in line. A blocking method is its async version, polled by
//! a thread that parks in between (`park.rs`).

mod cancel;
mod event;
pub mod mpsc;
mod mutex;
pub mod oneshot;
mod park;
mod semaphore;
mod wait_list;

pub use cancel::{CancellationToken, Cancelled};
pub use event::{Event, Wait};
pub use mutex::{Mutex, MutexGuard};
pub use semaphore::{Acquire, Semaphore, SemaphorePermit};

/// Panics if this thread is running an evloop loop: `what` would deadlock there.
#[track_caller]
pub(crate) fn assert_off_the_loop(what: &str) {
    assert!(
        !crate::context::is_driving(),
        "{what} called on a thread that is running an evloop loop: it would block the \
         loop and deadlock; .await the async version instead"
    );
}

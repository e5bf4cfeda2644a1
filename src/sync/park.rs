//! How the blocking methods wait: the async version's future, polled on a plain
//! thread that parks between polls and is unparked by the future's waker.
//!
//! Floor 1. So a thread in `blocking_recv` or `blocking_acquire` stands in the same
//! line, by the same rules, as the tasks awaiting `recv` or `acquire`.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::Instant;

/// Wakes a parked thread.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `future` to completion on this thread, parked while it is pending, or
/// until `deadline`; `None` if the deadline came first (the future is then dropped,
/// and leaves the line it stood in).
///
/// # Panics
///
/// On a thread that is running an evloop loop: `what` would deadlock there.
#[track_caller]
pub(crate) fn wait_until<F: Future>(
    what: &str,
    future: F,
    deadline: Option<Instant>,
) -> Option<F::Output> {
    super::assert_off_the_loop(what);
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return Some(output);
        }
        match deadline {
            None => thread::park(),
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return None;
                }
                thread::park_timeout(left);
            }
        }
    }
}

/// Runs `future` to completion on this thread, parked while it is pending.
///
/// # Panics
///
/// On a thread that is running an evloop loop, as [`wait_until`].
#[track_caller]
pub(crate) fn wait<F: Future>(what: &str, future: F) -> F::Output {
    wait_until(what, future, None).expect("no deadline: only the future ends the wait")
}

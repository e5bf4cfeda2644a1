//! [`spawn_blocking`]: a blocking call, run on the pool, awaited as a task.
//!
//! Floor 2: it joins the blocking pool (`src/blocking.rs`, which runs the job)
//! and the executor (which runs a task that waits for the job's outcome).

use std::future::{poll_fn, Future};
use std::panic::Location;
use std::pin::Pin;
use std::task::{ready, Poll};

use super::{current_pool, resources::current_recorder};
use crate::blocking::Outcome;
use crate::task::{self, Fallible, JoinError, JoinHandle};
use crate::trace::Event;

/// Runs the blocking function `f` on the runtime's thread pool and returns a
/// handle to its result; `loop.run_in_executor(None, f)`.
///
/// Use it for anything that would block the loop: a blocking system call, a
/// `std::net` client, CPU work that takes milliseconds. The loop keeps running
/// meanwhile. Threads start as needed, up to `Builder::max_blocking_threads`; more
/// jobs wait in a queue. A panic in `f` comes back as a [`JoinError`] whose
/// `is_panic()` is true; the pool's thread lives on.
///
/// Aborting the handle stops waiting for the result, but cannot stop `f`: a
/// thread cannot be interrupted. It runs to the end and its result is dropped.
///
/// # Panics
///
/// Outside a runtime.
///
/// ```
/// evloop::run(async {
///     let sum = evloop::spawn_blocking(|| (1..=100u64).sum::<u64>()).await.unwrap();
///     assert_eq!(sum, 5050);
/// });
/// ```
#[track_caller]
#[doc(alias = "run_in_executor")]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let Some(pool) = current_pool() else {
        panic!(
            "evloop::spawn_blocking called outside a runtime: call it inside \
             Runtime::block_on (or evloop::run)"
        );
    };
    let executor = task::current_executor("evloop::spawn_blocking");
    let (id, location) = (executor.next_id(), Location::caller());
    let mut outcome = pool.spawn(f);
    let traced = current_recorder().map(|recorder| (recorder.now(), recorder));
    // A closure over the receiver, not an `async` block: it stays `Unpin`.
    let result = poll_fn(move |cx| {
        let done = ready!(Pin::new(&mut outcome).poll(cx));
        if let (Some((start, recorder)), Ok((_, Some(thread)))) = (&traced, &done) {
            let (start, end, thread) = (*start, recorder.now(), *thread);
            recorder.record(Event::Job { thread, start, end });
        }
        Poll::Ready(match done {
            Ok((Outcome::Returned(value), _)) => Ok(value),
            Ok((Outcome::Panicked(panic), _)) => Err(JoinError::panicked(id, panic)),
            Ok((Outcome::NeverRan(why), _)) => Err(JoinError::cancelled(id, why)),
            Err(_) => Err(JoinError::cancelled(
                id,
                "the runtime was dropped before the job ran",
            )),
        })
    });
    executor.spawn(Fallible(result), id, location, None)
}

//! [`Event`]: a flag that tasks and threads can wait for; `asyncio.Event` and
//! `threading.Event` in one.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::park;
use super::wait_list::{wake, WaitList};
use crate::context;
use crate::lock::lock;

/// A flag, initially clear. [`set`](Event::set) wakes everyone waiting;
/// [`wait`](Event::wait) returns at once while it is set.
///
/// A waiter woken by `set` returns even if the flag is cleared again before it
/// runs, as with asyncio's `Event`: it saw the flag set.
///
/// ```
/// use std::sync::Arc;
/// use evloop::sync::Event;
/// evloop::run(async {
///     let done = Arc::new(Event::new());
///     let waiter = {
///         let done = done.clone();
///         evloop::spawn(async move { done.wait().await; "woken" })
///     };
///     done.set();
///     assert_eq!(waiter.await.unwrap(), "woken");
/// });
/// ```
#[derive(Default)]
#[doc(alias = "Notify")]
#[doc(alias = "Condition")]
pub struct Event {
    /// The flag and who waits for it.
    state: Mutex<State>,
}

/// An event's state.
#[derive(Default)]
struct State {
    /// Whether the event is set.
    set: bool,
    /// Tasks and threads waiting for it.
    waiters: WaitList,
}

impl Event {
    /// A clear event.
    pub fn new() -> Event {
        Event::default()
    }

    /// Sets the flag and wakes every waiting task and thread.
    pub fn set(&self) {
        let mut state = lock(&self.state);
        state.set = true;
        let waiters = state.waiters.grant_all();
        drop(state);
        wake(waiters);
    }

    /// Clears the flag: later `wait`s wait again.
    pub fn clear(&self) {
        lock(&self.state).set = false;
    }

    /// Whether the flag is set.
    pub fn is_set(&self) -> bool {
        lock(&self.state).set
    }

    /// Waits until the flag is set.
    ///
    /// **Cancel safety**: dropping the future just stops waiting; it leaves
    /// nothing behind.
    pub fn wait(&self) -> Wait<'_> {
        Wait {
            event: self,
            key: None,
        }
    }

    /// Blocks this thread until the flag is set.
    ///
    /// # Panics
    ///
    /// On a thread running an evloop loop: it would deadlock. `.await` `wait` there.
    pub fn blocking_wait(&self) {
        park::wait("Event::blocking_wait", self.wait());
    }

    /// Blocks this thread until the flag is set or `timeout` passes; returns
    /// whether it was set (`threading.Event.wait(timeout)`).
    ///
    /// # Panics
    ///
    /// On a thread running an evloop loop, as [`blocking_wait`](Event::blocking_wait).
    pub fn blocking_wait_timeout(&self, timeout: Duration) -> bool {
        let deadline = Instant::now().checked_add(timeout);
        park::wait_until("Event::blocking_wait_timeout", self.wait(), deadline).is_some()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("set", &self.is_set())
            .finish()
    }
}

/// The future of [`Event::wait`].
#[must_use = "futures do nothing unless you .await them"]
#[derive(Debug)]
pub struct Wait<'a> {
    /// The event.
    event: &'a Event,
    /// Our place in line, once we stand in it.
    key: Option<usize>,
}

impl Future for Wait<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        context::budgeted(cx, |cx| {
            let mut state = lock(&this.event.state);
            let State { set, waiters } = &mut *state;
            let (poll, old) = waiters.poll_place(&mut this.key, cx.waker(), || *set);
            drop(state);
            drop(old);
            poll
        })
    }
}

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        lock(&self.event.state).waiters.leave_place(self.key);
    }
}

//! [`Event`]: a flag that tasks and threads can wait for; `asyncio.Event` and
//! `threading.Event` in one.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::assert_off_the_loop;
use super::wait_list::{wake, WaitList};

/// A flag, initially clear. [`set`](Event::set) wakes everyone waiting;
/// [`wait`](Event::wait) returns at once while it is set.
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
pub struct Event {
    /// The flag and the waiting tasks.
    state: Mutex<State>,
    /// For threads in `blocking_wait`.
    changed: Condvar,
}

/// An event's state.
#[derive(Default)]
struct State {
    /// Whether the event is set.
    set: bool,
    /// Tasks waiting for it.
    waiters: WaitList,
    /// Threads waiting for it (notify only when there are some: it is a syscall).
    blocked: usize,
}

impl Event {
    /// A clear event.
    pub fn new() -> Event {
        Event::default()
    }

    /// Locks the state; a panic elsewhere never leaves it half-written.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets the flag and wakes every waiting task and thread.
    pub fn set(&self) {
        let mut state = self.lock();
        state.set = true;
        let waiters = state.waiters.wake_all();
        let blocked = state.blocked > 0;
        drop(state);
        if blocked {
            self.changed.notify_all();
        }
        wake(waiters);
    }

    /// Clears the flag: later `wait`s wait again.
    pub fn clear(&self) {
        self.lock().set = false;
    }

    /// Whether the flag is set.
    pub fn is_set(&self) -> bool {
        self.lock().set
    }

    /// Waits until the flag is set.
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
        while !self.blocking_wait_timeout(Duration::from_secs(3600)) {}
    }

    /// Blocks this thread until the flag is set or `timeout` passes; returns
    /// whether it is set (`threading.Event.wait(timeout)`).
    ///
    /// # Panics
    ///
    /// On a thread running an evloop loop, as [`blocking_wait`](Event::blocking_wait).
    pub fn blocking_wait_timeout(&self, timeout: Duration) -> bool {
        assert_off_the_loop("Event::blocking_wait");
        let deadline = Instant::now().checked_add(timeout);
        let mut state = self.lock();
        while !state.set {
            let left = match deadline {
                Some(deadline) => deadline.saturating_duration_since(Instant::now()),
                None => Duration::from_secs(3600),
            };
            if left.is_zero() {
                break;
            }
            state.blocked += 1;
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
            state.blocked -= 1;
        }
        state.set
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
    /// Our place among the waiters.
    key: Option<usize>,
}

impl Future for Wait<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let mut state = this.event.lock();
        if state.set {
            state.waiters.remove(&mut this.key);
            return Poll::Ready(());
        }
        state.waiters.wait(&mut this.key, cx.waker());
        Poll::Pending
    }
}

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        if self.key.is_some() {
            self.event.lock().waiters.remove(&mut self.key);
        }
    }
}

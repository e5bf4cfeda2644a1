//! A channel for exactly one value: `oneshot::channel()`.
//!
//! The sender may live on any thread (a blocking-pool job sends its result back
//! through one); the receiver is a future, or [`Receiver::blocking_recv`] off the
//! loop.
//!
//! ```
//! use evloop::sync::oneshot;
//! evloop::run(async {
//!     let (tx, rx) = oneshot::channel();
//!     std::thread::spawn(move || tx.send("done").unwrap());
//!     assert_eq!(rx.await.unwrap(), "done");
//! });
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use super::park;
use crate::context;
use crate::lock::lock;
use crate::waker_slot::WakerSlot;

/// Creates a channel for one value.
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            value: None,
            sender_gone: false,
            receiver_gone: false,
            waker: WakerSlot::new(),
        }),
    });
    (
        Sender {
            shared: Some(shared.clone()),
        },
        Receiver {
            shared,
            finished: false,
        },
    )
}

/// What both ends share.
struct Shared<T> {
    /// The value and who is still there.
    state: Mutex<State<T>>,
}

/// The channel's state.
struct State<T> {
    /// The value, once sent and until received.
    value: Option<T>,
    /// The sender was used or dropped.
    sender_gone: bool,
    /// The receiver was dropped.
    receiver_gone: bool,
    /// Whoever awaits the receiver (a task, or a thread in `blocking_recv`).
    waker: WakerSlot,
}

impl<T> Shared<T> {
    /// Locks the state.
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        lock(&self.state)
    }

    /// Marks the sender gone, with or without a value, and wakes the receiver.
    fn finish_sending(&self, mut state: MutexGuard<'_, State<T>>, value: Option<T>) {
        state.value = value;
        state.sender_gone = true;
        let waker = state.waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// Sends the one value. Dropping it unsent makes the receiver get [`RecvError`].
pub struct Sender<T> {
    /// Shared with the receiver; `None` only inside `send`, once the value is
    /// there, so that the drop that follows has nothing left to do.
    shared: Option<Arc<Shared<T>>>,
}

impl<T> Sender<T> {
    /// Sends `value`. Never waits.
    ///
    /// # Errors
    ///
    /// Gives the value back if the receiver was dropped.
    pub fn send(mut self, value: T) -> Result<(), T> {
        let shared = self
            .shared
            .take()
            .expect("a sender holds its channel until it sends");
        let state = shared.lock();
        if state.receiver_gone {
            drop(state);
            self.shared = Some(shared); // dropping the sender closes the channel
            return Err(value);
        }
        // One lock for the value and the "sender gone" mark: the drop of `self`
        // that follows finds `shared` empty and does nothing.
        shared.finish_sending(state, Some(value));
        Ok(())
    }

    /// Whether the receiver was dropped (a send would fail).
    pub fn is_closed(&self) -> bool {
        self.shared
            .as_ref()
            .is_none_or(|shared| shared.lock().receiver_gone)
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if let Some(shared) = &self.shared {
            let state = shared.lock();
            shared.finish_sending(state, None);
        }
    }
}

/// Receives the one value: `.await` it, or call [`blocking_recv`](Receiver::blocking_recv).
///
/// **Cancel safety**: dropping it drops the value, if it came; it is never lost
/// while the receiver lives (a pending `.await` that is dropped takes nothing).
pub struct Receiver<T> {
    /// Shared with the sender.
    shared: Arc<Shared<T>>,
    /// Whether awaiting it returned (the value or the error): it is done.
    finished: bool,
}

impl<T> Receiver<T> {
    /// Blocks this thread until the value arrives.
    ///
    /// # Errors
    ///
    /// [`RecvError`] if the sender was dropped without sending.
    ///
    /// # Panics
    ///
    /// On a thread running an evloop loop: it would deadlock. `.await` instead.
    pub fn blocking_recv(self) -> Result<T, RecvError> {
        park::wait("oneshot::Receiver::blocking_recv", self)
    }

    /// Takes the value if it has arrived; never waits.
    ///
    /// # Errors
    ///
    /// `Ok(None)` is "not yet"; [`RecvError`] if the sender is gone without sending.
    pub fn try_recv(&mut self) -> Result<Option<T>, RecvError> {
        let mut state = self.shared.lock();
        match state.value.take() {
            Some(value) => Ok(Some(value)),
            None if state.sender_gone => Err(RecvError { _private: () }),
            None => Ok(None),
        }
    }
}

impl<T> Receiver<T> {
    /// Whether the value arrived or the sender is gone: awaiting returns at once.
    pub(crate) fn is_settled(&self) -> bool {
        let state = self.shared.lock();
        state.value.is_some() || state.sender_gone
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        context::budgeted(cx, |cx| {
            let mut state = this.shared.lock();
            if let Some(value) = state.value.take() {
                this.finished = true;
                return Poll::Ready(Ok(value));
            }
            if state.sender_gone {
                this.finished = true;
                return Poll::Ready(Err(RecvError { _private: () }));
            }
            let old = state.waker.register(cx.waker());
            drop(state);
            drop(old);
            Poll::Pending
        })
    }
}

/// Done once awaiting it returned: `futures::select!` needs no `.fuse()`.
#[cfg(feature = "futures-core")]
impl<T> futures_core::FusedFuture for Receiver<T> {
    fn is_terminated(&self) -> bool {
        self.finished
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.receiver_gone = true;
        let value = state.value.take();
        drop(state);
        drop(value);
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Sender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("oneshot::Receiver")
            .field("value_waiting", &state.value.is_some())
            .field("sender_gone", &state.sender_gone)
            .finish()
    }
}

/// The sender was dropped without sending a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecvError {
    /// Keeps the error opaque.
    _private: (),
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the oneshot sender was dropped without sending a value")
    }
}

impl std::error::Error for RecvError {}

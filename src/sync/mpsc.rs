//! Multi-producer, single-consumer channels: [`channel`] (bounded) and
//! [`unbounded`].
//!
//! One [`Sender`] type serves both: on a bounded channel `send` waits while the
//! channel is full (back-pressure); on an unbounded one it never waits. When every
//! `Sender` is gone, `recv` returns the values still queued, then `None`. When the
//! `Receiver` is gone, `send` gives the value back in its error. No value is lost
//! or delivered twice.
//!
//! ```
//! use evloop::sync::mpsc;
//! evloop::run(async {
//!     let (tx, mut rx) = mpsc::channel(16);
//!     for i in 0..3 {
//!         let tx = tx.clone();
//!         evloop::spawn(async move { tx.send(i).await.unwrap() });
//!     }
//!     drop(tx);
//!     let mut got = Vec::new();
//!     while let Some(value) = rx.recv().await {
//!         got.push(value);
//!     }
//!     got.sort();
//!     assert_eq!(got, [0, 1, 2]);
//! });
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use super::assert_off_the_loop;
use super::wait_list::{wake, WaitList};
use crate::context;
use crate::lock::lock;
use crate::waker_slot::WakerSlot;

/// A channel that holds at most `capacity` values; `send` waits while it is full.
///
/// # Panics
///
/// If `capacity` is 0 (a channel that can hold nothing could never deliver).
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(
        capacity > 0,
        "mpsc::channel(0): the capacity must be at least 1; use mpsc::unbounded() for no limit"
    );
    new_channel(Some(capacity))
}

/// A channel with no limit; `send` never waits.
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    new_channel(None)
}

/// Both ends of a new channel.
fn new_channel<T>(capacity: Option<usize>) -> (Sender<T>, Receiver<T>) {
    let chan = Arc::new(Chan {
        state: Mutex::new(State {
            queue: VecDeque::new(),
            capacity,
            senders: 1,
            receiver_gone: false,
            receiver: WakerSlot::new(),
            waiting_senders: WaitList::default(),
            blocked_senders: 0,
            blocked_receiver: false,
        }),
        not_empty: Condvar::new(),
        not_full: Condvar::new(),
    });
    (Sender { chan: chan.clone() }, Receiver { chan })
}

/// What the ends share.
struct Chan<T> {
    /// The queue and who waits on it.
    state: Mutex<State<T>>,
    /// For a thread in `blocking_recv`.
    not_empty: Condvar,
    /// For threads in `blocking_send`.
    not_full: Condvar,
}

/// The channel's state.
struct State<T> {
    /// Values sent, not yet received.
    queue: VecDeque<T>,
    /// The most values `queue` may hold; `None` for unbounded.
    capacity: Option<usize>,
    /// Live `Sender`s.
    senders: usize,
    /// The `Receiver` was dropped.
    receiver_gone: bool,
    /// The task in `recv`.
    receiver: WakerSlot,
    /// Tasks waiting in `send` for room.
    waiting_senders: WaitList,
    /// Threads waiting in `blocking_send` (a `Condvar` notify is a syscall: only
    /// pay it when someone is there).
    blocked_senders: usize,
    /// A thread is waiting in `blocking_recv`.
    blocked_receiver: bool,
}

impl<T> State<T> {
    /// Whether a value fits.
    fn has_room(&self) -> bool {
        self.capacity
            .is_none_or(|capacity| self.queue.len() < capacity)
    }
}

impl<T> Chan<T> {
    /// Locks the state.
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        lock(&self.state)
    }

    /// Queues `value` (the caller checked for room) and tells the receiver.
    fn push(&self, mut state: MutexGuard<'_, State<T>>, value: T) {
        state.queue.push_back(value);
        let receiver = state.receiver.take();
        let blocked = state.blocked_receiver;
        drop(state);
        if blocked {
            self.not_empty.notify_one();
        }
        wake(receiver);
    }

    /// Takes the next value, if any, and tells one waiting sender there is room.
    fn pop(&self, mut state: MutexGuard<'_, State<T>>) -> Option<T> {
        let value = state.queue.pop_front()?;
        let sender = state.waiting_senders.wake_one();
        let blocked = state.blocked_senders > 0;
        drop(state);
        if blocked {
            self.not_full.notify_one();
        }
        wake(sender);
        Some(value)
    }
}

/// Sends values into the channel. Clone it for more producers.
pub struct Sender<T> {
    /// Shared with the receiver.
    chan: Arc<Chan<T>>,
}

impl<T> Sender<T> {
    /// Sends `value`, waiting for room on a full bounded channel.
    ///
    /// # Errors
    ///
    /// [`SendError`], holding the value, if the receiver was dropped.
    pub fn send(&self, value: T) -> Send<'_, T> {
        Send {
            chan: &self.chan,
            value: Some(value),
            key: None,
        }
    }

    /// Sends `value` from a thread that is not running a loop, blocking it while
    /// the channel is full.
    ///
    /// # Errors
    ///
    /// [`SendError`], holding the value, if the receiver was dropped.
    ///
    /// # Panics
    ///
    /// On a thread running an evloop loop: it would deadlock. `.await` `send` there.
    pub fn blocking_send(&self, value: T) -> Result<(), SendError<T>> {
        assert_off_the_loop("mpsc::Sender::blocking_send");
        let mut state = self.chan.lock();
        loop {
            if state.receiver_gone {
                return Err(SendError(value));
            }
            if state.has_room() {
                self.chan.push(state, value);
                return Ok(());
            }
            state.blocked_senders += 1;
            state = self
                .chan
                .not_full
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
            state.blocked_senders -= 1;
        }
    }

    /// Whether the receiver was dropped (every send would fail).
    pub fn is_closed(&self) -> bool {
        self.chan.lock().receiver_gone
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        self.chan.lock().senders += 1;
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut state = self.chan.lock();
        state.senders -= 1;
        if state.senders > 0 {
            return;
        }
        // The last sender: the receiver must learn that no more values will come.
        let receiver = state.receiver.take();
        let blocked = state.blocked_receiver;
        drop(state);
        if blocked {
            self.chan.not_empty.notify_one();
        }
        wake(receiver);
    }
}

/// The future of [`Sender::send`].
#[must_use = "futures do nothing unless you .await them"]
pub struct Send<'a, T> {
    /// The channel.
    chan: &'a Chan<T>,
    /// The value, until it is queued or handed back.
    value: Option<T>,
    /// Our place among the waiting senders, while we wait for room.
    key: Option<usize>,
}

// The value is never pinned: it is only moved in and out of the `Option`.
impl<T> Unpin for Send<'_, T> {}

impl<T> Future for Send<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        context::budgeted(cx, |cx| this.poll_send(cx))
    }
}

impl<T> Send<'_, T> {
    /// Queues the value if there is room, else waits in line for it.
    fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SendError<T>>> {
        let this = self;
        let mut state = this.chan.lock();
        let value = this.value.take().expect("Send polled after it completed");
        if state.receiver_gone {
            state.waiting_senders.remove(&mut this.key);
            return Poll::Ready(Err(SendError(value)));
        }
        if state.has_room() {
            state.waiting_senders.remove(&mut this.key);
            this.chan.push(state, value);
            return Poll::Ready(Ok(()));
        }
        state.waiting_senders.wait(&mut this.key, cx.waker());
        this.value = Some(value);
        Poll::Pending
    }
}

impl<T> Drop for Send<'_, T> {
    fn drop(&mut self) {
        if self.key.is_none() {
            return;
        }
        let mut state = self.chan.lock();
        // Woken for room we will not use: pass the wake on to the next sender.
        let next = if state.waiting_senders.remove(&mut self.key) && state.has_room() {
            state.waiting_senders.wake_one()
        } else {
            None
        };
        drop(state);
        wake(next);
    }
}

/// Receives the values sent into the channel.
pub struct Receiver<T> {
    /// Shared with the senders.
    chan: Arc<Chan<T>>,
}

impl<T> Receiver<T> {
    /// Waits for the next value; `None` once every sender is gone and the queue is
    /// empty.
    pub async fn recv(&mut self) -> Option<T> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the next value: `recv` as a poll function.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        context::budgeted(cx, |cx| {
            let mut state = self.chan.lock();
            if !state.queue.is_empty() {
                return Poll::Ready(self.chan.pop(state));
            }
            if state.senders == 0 {
                return Poll::Ready(None);
            }
            let old = state.receiver.register(cx.waker());
            drop(state);
            drop(old);
            Poll::Pending
        })
    }

    /// Waits for the next value on a thread that is not running a loop.
    ///
    /// # Panics
    ///
    /// On a thread running an evloop loop: it would deadlock. `.await` `recv` there.
    pub fn blocking_recv(&mut self) -> Option<T> {
        assert_off_the_loop("mpsc::Receiver::blocking_recv");
        let mut state = self.chan.lock();
        loop {
            if !state.queue.is_empty() {
                return self.chan.pop(state);
            }
            if state.senders == 0 {
                return None;
            }
            state.blocked_receiver = true;
            state = self
                .chan
                .not_empty
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
            state.blocked_receiver = false;
        }
    }

    /// Takes the next value if there is one; never waits.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] if none is queued yet, [`TryRecvError::Disconnected`]
    /// if none ever will be.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let state = self.chan.lock();
        if state.queue.is_empty() {
            return Err(if state.senders == 0 {
                TryRecvError::Disconnected
            } else {
                TryRecvError::Empty
            });
        }
        Ok(self.chan.pop(state).expect("the queue is not empty"))
    }

    /// How many values are queued.
    pub fn len(&self) -> usize {
        self.chan.lock().queue.len()
    }

    /// Whether no value is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut state = self.chan.lock();
        state.receiver_gone = true;
        let queued = std::mem::take(&mut state.queue);
        let senders = state.waiting_senders.wake_all();
        let blocked = state.blocked_senders > 0;
        drop(state);
        if blocked {
            self.chan.not_full.notify_all();
        }
        wake(senders);
        drop(queued);
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.chan.lock();
        f.debug_struct("mpsc::Sender")
            .field("queued", &state.queue.len())
            .field("capacity", &state.capacity)
            .field("closed", &state.receiver_gone)
            .finish()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.chan.lock();
        f.debug_struct("mpsc::Receiver")
            .field("queued", &state.queue.len())
            .field("senders", &state.senders)
            .finish()
    }
}

impl<T> fmt::Debug for Send<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::Send")
            .field("waiting", &self.key.is_some())
            .finish()
    }
}

/// The receiver was dropped; the value that could not be sent comes back.
pub struct SendError<T>(pub T);

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sending on a closed channel: the receiver was dropped")
    }
}

impl<T> std::error::Error for SendError<T> {}

/// Why [`Receiver::try_recv`] returned no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing is queued right now.
    Empty,
    /// Nothing is queued, and every sender is gone.
    Disconnected,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("the channel is empty"),
            TryRecvError::Disconnected => {
                f.write_str("the channel is empty and every sender is gone")
            }
        }
    }
}

impl std::error::Error for TryRecvError {}

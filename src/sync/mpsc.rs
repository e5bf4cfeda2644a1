//! Multi-producer, single-consumer channels: [`channel`] (bounded) and
//! [`unbounded`].
//!
//! One [`Sender`] type serves both: on a bounded channel `send` waits while the
//! channel is full (back-pressure); on an unbounded one it never waits. When every
//! `Sender` is gone, `recv` returns the values still queued, then `None`. When the
//! `Receiver` is gone, `send` gives the value back in its error. No value is lost
//! or delivered twice.
//!
//! Senders waiting for room on a full channel are served **first come, first
//! served**: room made by a `recv` is handed to the first in line, so a sender that
//! just sent cannot slip in ahead of one that waits (the same line as `Semaphore`'s).
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
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use super::park;
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
            reserved: 0,
            senders: 1,
            receiver_gone: false,
            receiver: WakerSlot::new(),
            waiting_senders: WaitList::default(),
        }),
    });
    let receiver = Receiver { chan, ended: false };
    (
        Sender {
            chan: receiver.chan.clone(),
        },
        receiver,
    )
}

/// What the ends share.
struct Chan<T> {
    /// The queue and who waits on it.
    state: Mutex<State<T>>,
}

/// The channel's state.
struct State<T> {
    /// Values sent, not yet received.
    queue: VecDeque<T>,
    /// The most values `queue` may hold; `None` for unbounded.
    capacity: Option<usize>,
    /// Room handed to waiting senders that have not yet used it.
    reserved: usize,
    /// Live `Sender`s.
    senders: usize,
    /// The `Receiver` was dropped.
    receiver_gone: bool,
    /// The task (or thread) in `recv`.
    receiver: WakerSlot,
    /// Senders waiting for room, in line.
    waiting_senders: WaitList,
}

impl<T> State<T> {
    /// Whether a value fits, beside the room already handed to waiting senders.
    fn has_room(&self) -> bool {
        self.capacity
            .is_none_or(|capacity| self.queue.len() + self.reserved < capacity)
    }

    /// Hands the room one value left to the first waiting sender, if any.
    fn pass_room_on(&mut self) -> Option<std::task::Waker> {
        let first = self.waiting_senders.grant_first();
        self.reserved += usize::from(first.is_some());
        first
    }
}

impl<T> Chan<T> {
    /// Locks the state.
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        lock(&self.state)
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
    /// **Cancel safety**: dropping the future before it completes drops the value
    /// (it was never queued) and gives up the sender's place in line; room handed
    /// to it meanwhile goes to the next sender.
    ///
    /// # Errors
    ///
    /// [`SendError`], holding the value, if the receiver was dropped.
    pub fn send(&self, value: T) -> Send<'_, T> {
        Send {
            chan: &self.chan,
            value: Some(value),
            place: None,
        }
    }

    /// Sends `value` if there is room right now; never waits.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] if the channel is full (or senders wait for room
    /// already), [`TrySendError::Closed`] if the receiver was dropped; both give the
    /// value back.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let state = self.chan.lock();
        if state.receiver_gone {
            return Err(TrySendError::Closed(value));
        }
        if !state.waiting_senders.is_empty() || !state.has_room() {
            return Err(TrySendError::Full(value));
        }
        push(state, value);
        Ok(())
    }

    /// Sends `value` from a thread that is not running a loop, blocking it while
    /// the channel is full; the thread waits in line with the tasks.
    ///
    /// # Errors
    ///
    /// [`SendError`], holding the value, if the receiver was dropped.
    ///
    /// # Panics
    ///
    /// On a thread running an evloop loop: it would deadlock. `.await` `send` there.
    pub fn blocking_send(&self, value: T) -> Result<(), SendError<T>> {
        park::wait("mpsc::Sender::blocking_send", self.send(value))
    }

    /// Whether the receiver was dropped (every send would fail).
    pub fn is_closed(&self) -> bool {
        self.chan.lock().receiver_gone
    }
}

/// Queues `value` (the caller checked for room) and tells the receiver.
fn push<T>(mut state: MutexGuard<'_, State<T>>, value: T) {
    state.queue.push_back(value);
    let receiver = state.receiver.take();
    drop(state);
    wake(receiver);
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
        drop(state);
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
    /// Our place in line, while we wait for room.
    place: Option<usize>,
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
    /// Queues the value when there is room for it (or room was handed to it).
    fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SendError<T>>> {
        let mut state = self.chan.lock();
        if state.receiver_gone {
            state.waiting_senders.leave_place(self.place.take());
            let value = self.value.take().expect("Send polled after it completed");
            return Poll::Ready(Err(SendError(value)));
        }
        let granted = self.place.is_some();
        let room = state.has_room();
        let (poll, old) = state
            .waiting_senders
            .poll_place(&mut self.place, cx.waker(), || room);
        if poll.is_pending() {
            drop(state);
            drop(old);
            return Poll::Pending;
        }
        state.reserved -= usize::from(granted); // the room handed to us is used now
        push(
            state,
            self.value.take().expect("Send polled after it completed"),
        );
        Poll::Ready(Ok(()))
    }
}

impl<T> Drop for Send<'_, T> {
    fn drop(&mut self) {
        if self.place.is_none() {
            return;
        }
        let mut state = self.chan.lock();
        let granted = state.waiting_senders.leave_place(self.place);
        // Handed room we will not use: pass it on to the next sender in line.
        let next = if granted && !state.receiver_gone {
            state.reserved -= 1;
            state.pass_room_on()
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
    /// Whether `poll_recv` returned `None`: the channel is over for good.
    ended: bool,
}

/// The future of [`Receiver::recv`]: the next value, or `None` at the end.
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct Recv<'a, T> {
    /// The receiver it takes from.
    receiver: &'a mut Receiver<T>,
    /// Whether it returned: it is done.
    finished: bool,
}

impl<T> Future for Recv<'_, T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        let polled = this.receiver.poll_recv(cx);
        this.finished = polled.is_ready();
        polled
    }
}

/// Done once it returned: `futures::select!` needs no `.fuse()`.
#[cfg(feature = "futures-core")]
impl<T> futures_core::FusedFuture for Recv<'_, T> {
    fn is_terminated(&self) -> bool {
        self.finished
    }
}

/// The values as a stream, ending when every sender is gone (feature
/// `futures-core`).
#[cfg(feature = "futures-core")]
impl<T> futures_core::Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().poll_recv(cx)
    }
}

#[cfg(feature = "futures-core")]
impl<T> futures_core::stream::FusedStream for Receiver<T> {
    fn is_terminated(&self) -> bool {
        self.ended
    }
}

impl<T> Receiver<T> {
    /// Waits for the next value; `None` once every sender is gone and the queue is
    /// empty.
    ///
    /// **Cancel safety**: dropping the future before it completes loses no value:
    /// a value is taken from the channel only by the poll that returns it.
    pub fn recv(&mut self) -> Recv<'_, T> {
        Recv {
            receiver: self,
            finished: false,
        }
    }

    /// Polls for the next value: `recv` as a poll function.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        context::budgeted(cx, |cx| {
            let mut state = self.chan.lock();
            if let Some(value) = state.queue.pop_front() {
                crate::room::give_back_deque(&mut state.queue); // a burst is over
                let sender = state.pass_room_on();
                drop(state);
                wake(sender);
                return Poll::Ready(Some(value));
            }
            if state.senders == 0 {
                drop(state);
                self.ended = true;
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
        park::wait(
            "mpsc::Receiver::blocking_recv",
            poll_fn(|cx| self.poll_recv(cx)),
        )
    }

    /// Takes the next value if there is one; never waits.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] if none is queued yet, [`TryRecvError::Disconnected`]
    /// if none ever will be.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut state = self.chan.lock();
        match state.queue.pop_front() {
            Some(value) => {
                crate::room::give_back_deque(&mut state.queue); // a burst is over
                let sender = state.pass_room_on();
                drop(state);
                wake(sender);
                Ok(value)
            }
            None if state.senders == 0 => Err(TryRecvError::Disconnected),
            None => Err(TryRecvError::Empty),
        }
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
        let senders = state.waiting_senders.grant_all();
        drop(state);
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
            .field("waiting", &self.place.is_some())
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

/// Why [`Sender::try_send`] did not send; the value comes back.
pub enum TrySendError<T> {
    /// The channel is full (or other senders wait for room first).
    Full(T),
    /// The receiver was dropped.
    Closed(T),
}

impl<T> TrySendError<T> {
    /// The value that was not sent.
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(value) | TrySendError::Closed(value) => value,
        }
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("TrySendError::Full(..)"),
            TrySendError::Closed(_) => f.write_str("TrySendError::Closed(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("the channel is full"),
            TrySendError::Closed(_) => {
                f.write_str("sending on a closed channel: the receiver was dropped")
            }
        }
    }
}

impl<T> std::error::Error for TrySendError<T> {}

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

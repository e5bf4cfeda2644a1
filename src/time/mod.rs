//! Time: [`sleep`], [`timeout`], [`interval`] and the runtime's clock, [`now`].
//!
//! Floor 3 for the public functions here; the parts below them are floor 1:
//!
//! - `clock.rs` — real time, or virtual time for tests
//!   (`Builder::virtual_time(true)`), which jumps to the next deadline whenever
//!   the loop has nothing else to do;
//! - `timers.rs` — the registered timers, ordered by deadline; step 1 of every
//!   turn fires those that are due.
//!
//! A [`Sleep`] registers its timer on its first poll, not when it is created, so
//! creating and dropping one costs no more than reading the clock. Deadlines past
//! what `Instant` can hold (`Duration::MAX`, say) mean "never".
//!
//! How precise, and what it costs. On Linux the loop sleeps on a `timerfd`, so a
//! timer wakes within tens of microseconds of its deadline (`epoll_wait` alone
//! counts whole milliseconds; tokio rounds to its 1 ms wheel). Arming the `timerfd`
//! is a system call, and with thousands of timers a few microseconds apart one per
//! timer would keep the loop busy re-arming. So the rule is:
//!
//! - the alarm rings at the *latest* deadline within 60 µs of the earliest, and one
//!   wake fires every timer due by then: a timer alone is not delayed at all, a
//!   crowd of them shares a wake, each at most 60 µs late — inside the promise
//!   that a timer fires within 0.1 ms;
//! - an alarm armed for a deadline no later than the one needed is kept, not
//!   re-armed (an early ring costs a wake; a re-arm costs a system call every time);
//! - an alarm whose deadline passed before its event arrived is disarmed, so it
//!   cannot wake an embedding host for nothing.
//!
//! Measured (`benches/time.rs`, 2-core VM): a lone 1 ms sleep wakes a median
//! 30–35 µs late; 10,000 timers over 10 ms cost about what they cost on tokio in
//! CPU time. Elsewhere than Linux, timers fire within about a millisecond.

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use crate::runtime;
use crate::timer::timers::{TimerKey, Timers};

/// The runtime's current time: virtual under `Builder::virtual_time(true)`, else
/// `Instant::now()`. Outside a runtime, `Instant::now()`.
///
/// ```
/// use std::time::Duration;
/// let rt = evloop::Builder::new().virtual_time(true).build().unwrap();
/// rt.block_on(async {
///     let start = evloop::time::now();
///     evloop::time::sleep(Duration::from_secs(3600)).await; // returns at once
///     assert_eq!(evloop::time::now() - start, Duration::from_secs(3600));
/// });
/// ```
pub fn now() -> Instant {
    runtime::current_now().unwrap_or_else(Instant::now)
}

/// Waits until `duration` has passed; `asyncio.sleep`.
///
/// `sleep(Duration::ZERO)` still yields to the loop once, like
/// [`yield_now`](crate::yield_now). A duration too long to represent (such as
/// `Duration::MAX`) never fires.
///
/// Called inside a runtime, the deadline is fixed now; called outside one (say,
/// `rt.block_on(sleep(d))`), it is fixed when the sleep is first polled.
///
/// ```
/// use std::time::Duration;
/// evloop::run(async {
///     let start = std::time::Instant::now();
///     evloop::time::sleep(Duration::from_millis(20)).await;
///     assert!(start.elapsed() >= Duration::from_millis(20));
/// });
/// ```
#[doc(alias = "delay_for")]
pub fn sleep(duration: Duration) -> Sleep {
    match runtime::current_now() {
        Some(now) => Sleep::new(Deadline::At(now.checked_add(duration))),
        None => Sleep::new(Deadline::After(duration)),
    }
}

/// Waits until `deadline`, on the runtime's clock (see [`now`]).
///
/// ```
/// use std::time::Duration;
/// evloop::run(async {
///     let deadline = evloop::time::now() + Duration::from_millis(5);
///     evloop::time::sleep_until(deadline).await;
///     assert!(evloop::time::now() >= deadline);
/// });
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(Deadline::At(Some(deadline)))
}

/// When a [`Sleep`] ends.
#[derive(Debug, Clone, Copy)]
enum Deadline {
    /// At this instant; `None` means never.
    At(Option<Instant>),
    /// This long after the first poll (made outside a runtime, or by `timeout`).
    After(Duration),
}

/// The future returned by [`sleep`] and [`sleep_until`].
#[must_use = "futures do nothing unless you .await them"]
pub struct Sleep {
    /// When it ends.
    deadline: Deadline,
    /// The runtime's timers, found on the first poll: a sleep that is made and
    /// dropped unpolled never touches them.
    timers: Option<Rc<Timers>>,
    /// The registered timer, from the first `Pending` until it fires or is dropped.
    key: Option<TimerKey>,
    /// Whether its timer fired (until `reset`): polling it again is `Ready`.
    fired: bool,
}

impl Sleep {
    /// A sleep that has not been polled.
    fn new(deadline: Deadline) -> Sleep {
        Sleep {
            deadline,
            timers: None,
            key: None,
            fired: false,
        }
    }

    /// When this sleep ends: `None` if never, or if it was made outside a runtime
    /// and has not been polled yet.
    pub fn deadline(&self) -> Option<Instant> {
        match self.deadline {
            Deadline::At(deadline) => deadline,
            Deadline::After(_) => None,
        }
    }

    /// Whether the deadline has passed.
    pub fn is_elapsed(&self) -> bool {
        self.deadline()
            .is_some_and(|deadline| self.clock_now() >= deadline)
    }

    /// The time on the clock of the runtime this sleep runs on (or, before its
    /// first poll, of the current runtime).
    fn clock_now(&self) -> Instant {
        match &self.timers {
            Some(timers) => timers.clock().now(),
            None => now(),
        }
    }

    /// Moves the deadline, as if this sleep had been made with
    /// `sleep_until(deadline)`.
    pub fn reset(&mut self, deadline: Instant) {
        self.set_deadline(Deadline::At(Some(deadline)));
    }

    /// Starts this sleep over, ending at `deadline`.
    fn set_deadline(&mut self, deadline: Deadline) {
        self.cancel_timer();
        self.fired = false;
        self.deadline = deadline;
    }

    /// Unregisters the timer, if one is registered.
    fn cancel_timer(&mut self) {
        if let (Some(key), Some(timers)) = (self.key.take(), &self.timers) {
            timers.remove(key);
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        crate::context::budgeted(cx, |cx| this.poll_timer(cx))
    }
}

/// Done once its timer fired (until `reset`).
#[cfg(feature = "futures-core")]
impl futures_core::FusedFuture for Sleep {
    fn is_terminated(&self) -> bool {
        self.fired
    }
}

impl Sleep {
    /// Polls the timer: registers it on the first poll, `Ready` once it fired.
    fn poll_timer(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let this = self;
        let timers = this.timers.get_or_insert_with(|| {
            runtime::current_timers().unwrap_or_else(|| {
                panic!("an evloop::time::Sleep was polled outside a runtime: await it inside Runtime::block_on")
            })
        });
        if this.fired {
            return Poll::Ready(());
        }
        let deadline = match this.deadline {
            Deadline::At(deadline) => deadline,
            Deadline::After(duration) => timers.clock().now().checked_add(duration),
        };
        this.deadline = Deadline::At(deadline);
        let Some(deadline) = deadline else {
            return Poll::Pending; // never: no timer to register
        };
        // No clock read here: step 1 of the loop reads the clock once per turn and
        // fires every timer that is due, so a timer that is gone has fired.
        match this.key {
            Some(key) if timers.still_registered(key, cx.waker()) => {
                // Registered: whoever polls must be the loop that fires it.
                crate::context::check_driven_by(timers.owner(), "a Sleep");
                Poll::Pending
            }
            Some(_) => {
                this.key = None;
                this.fired = true;
                Poll::Ready(())
            }
            None if timers.surely_passed(deadline) => {
                // Over already, and no timer needed: still yield once, as asyncio does.
                this.fired = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            None => {
                this.key = Some(timers.insert(deadline, cx.waker().clone()));
                Poll::Pending
            }
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.cancel_timer();
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("registered", &self.key.is_some())
            .finish()
    }
}

/// Runs `future`, giving up if it has not finished within `duration`.
///
/// Returns `Ok(output)`, or `Err(Elapsed)` — and then the future is dropped. The
/// future is polled before the deadline is checked, so one that is ready at once
/// always wins.
///
/// The time limit counts from the first poll, as `asyncio.wait_for`'s does (tokio's
/// counts from this call; the two differ only for a timeout made long before it is
/// awaited). So a future that is ready at once costs no clock read and no timer —
/// just one allocation: the future is boxed so that it can be polled without
/// `unsafe` pin projection.
///
/// ```
/// use std::time::Duration;
/// evloop::run(async {
///     let never = std::future::pending::<()>();
///     let result = evloop::time::timeout(Duration::from_millis(10), never).await;
///     assert!(result.is_err());
/// });
/// ```
#[doc(alias = "wait_for")]
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        future: Box::pin(future),
        sleep: Sleep::new(Deadline::After(duration)),
    }
}

/// The future returned by [`timeout`].
#[must_use = "futures do nothing unless you .await them"]
pub struct Timeout<F> {
    /// The future being timed.
    future: Pin<Box<F>>,
    /// Ends at the deadline.
    sleep: Sleep,
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Poll::Ready(output) = this.future.as_mut().poll(cx) {
            return Poll::Ready(Ok(output));
        }
        ready!(Pin::new(&mut this.sleep).poll(cx));
        Poll::Ready(Err(Elapsed { _private: () }))
    }
}

impl<F> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("sleep", &self.sleep)
            .finish()
    }
}

/// The error of a [`timeout`] whose deadline passed first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Elapsed {
    /// Keeps the error opaque.
    _private: (),
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(_: Elapsed) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::TimedOut, "deadline has elapsed")
    }
}

/// Ticks every `period`; the first tick completes at once.
///
/// If a tick is late (the loop was busy), the ticks it missed are skipped: the next
/// tick keeps the original rhythm instead of firing a burst to catch up. A spinner
/// that was frozen by a blocking call resumes at its normal pace.
///
/// # Panics
///
/// If `period` is zero.
///
/// ```
/// use std::time::Duration;
/// let rt = evloop::Builder::new().virtual_time(true).build().unwrap();
/// rt.block_on(async {
///     let mut every_second = evloop::time::interval(Duration::from_secs(1));
///     let first = every_second.tick().await;
///     let second = every_second.tick().await;
///     assert_eq!(second - first, Duration::from_secs(1));
/// });
/// ```
pub fn interval(period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "evloop::time::interval: the period must be longer than zero"
    );
    Interval {
        sleep: sleep(Duration::ZERO),
        period,
    }
}

/// The stream of ticks made by [`interval`].
#[derive(Debug)]
pub struct Interval {
    /// Ends at the next tick.
    sleep: Sleep,
    /// Time between ticks.
    period: Duration,
}

impl Interval {
    /// Waits for the next tick and returns its scheduled time.
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick: the scheduled time once it has come.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        ready!(Pin::new(&mut self.sleep).poll(cx));
        let tick = self
            .sleep
            .deadline()
            .expect("a finished sleep has a deadline");
        let now = self.sleep.clock_now();
        // The next tick is the first multiple of `period` after the one that
        // fired that is still ahead: missed ticks are skipped, not burst.
        let period = self.period.as_nanos();
        let missed = now.saturating_duration_since(tick).as_nanos() / period;
        let ahead = u64::try_from(period * (missed + 1)).unwrap_or(u64::MAX);
        match tick.checked_add(Duration::from_nanos(ahead)) {
            Some(next) => self.sleep.reset(next),
            None => self.sleep.set_deadline(Deadline::At(None)),
        }
        Poll::Ready(tick)
    }

    /// The time between ticks.
    pub fn period(&self) -> Duration {
        self.period
    }
}

/// The ticks as a stream that never ends (feature `futures-core`).
#[cfg(feature = "futures-core")]
impl futures_core::Stream for Interval {
    type Item = Instant;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.get_mut().poll_tick(cx).map(Some)
    }
}

#[cfg(feature = "futures-core")]
impl futures_core::stream::FusedStream for Interval {
    fn is_terminated(&self) -> bool {
        false // it ticks for ever
    }
}

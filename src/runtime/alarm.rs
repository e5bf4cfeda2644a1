//! The alarm: a `timerfd` that wakes the reactor at the next timer's deadline.
//!
//! Floor 2, armed in step 4. `epoll_wait` counts its timeout in whole milliseconds
//! (mio rounds up), so sleeping until a deadline that way overshoots by up to 1 ms.
//! Instead, the alarm arms a `timerfd` for the earliest deadline — it fires within
//! microseconds — and registers it with the reactor like any socket. The epoll
//! timeout then only backstops the alarm. The timerfd is re-armed only when the
//! earliest deadline changes, so a loop that waits for the same deadline again and
//! again makes no extra syscalls.
//!
//! Where there is no `timerfd` (not Linux, under Miri, or the OS refused one), the
//! loop falls back to the epoll timeout and millisecond precision.

use std::cell::Cell;
use std::io;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::reactor::Reactor;

/// How long past an armed deadline the epoll timeout falls, in case the alarm is
/// late: it never should be, so this is a backstop, not a precision knob.
const BACKSTOP: Duration = Duration::from_millis(1);

/// Wakes the reactor at a deadline.
#[derive(Debug)]
pub(crate) struct Alarm {
    /// The registered timerfd, if the platform has one.
    #[cfg(all(target_os = "linux", not(miri)))]
    timer: Option<crate::reactor::IoSource<linux::TimerSource>>,
    /// The deadline the timerfd is armed for, until it fires.
    armed: Cell<Option<Instant>>,
}

impl Alarm {
    /// An alarm registered with `reactor`; without a timerfd if the OS refuses one.
    pub(crate) fn new(reactor: &Rc<Reactor>) -> Alarm {
        #[cfg(not(all(target_os = "linux", not(miri))))]
        let _ = reactor;
        Alarm {
            #[cfg(all(target_os = "linux", not(miri)))]
            timer: linux::register(reactor).ok().inspect(|timer| {
                timer.take_ready(crate::reactor::Direction::Read); // it has not rung
            }),
            armed: Cell::new(None),
        }
    }

    /// Arms the alarm for `deadline`, the earliest timer's (`None`: no timer), and
    /// returns how long the reactor may wait for it: just past the deadline, where
    /// the alarm rings; to the millisecond where there is none.
    pub(crate) fn arm(&self, deadline: Option<Instant>) -> Option<Duration> {
        let deadline = deadline?;
        let now = Instant::now();
        let left = deadline.saturating_duration_since(now);
        if left.is_zero() {
            return Some(Duration::ZERO);
        }
        // Armed already for this deadline or an earlier one still ahead: keep it. An
        // alarm that rings early costs a wake; a re-arm costs a syscall every time.
        if let Some(armed) = self.armed.get().filter(|&at| at <= deadline && at > now) {
            return Some(armed - now + BACKSTOP);
        }
        match self.set(left) {
            Ok(()) => {
                self.armed.set(Some(deadline));
                Some(left + BACKSTOP)
            }
            Err(_) => Some(left), // epoll rounds up to the next millisecond
        }
    }

    /// Whether the alarm has rung, or is about to, and the reactor has not yet
    /// heard it: a look at the reactor must not be skipped then, or its event would
    /// stay unread (and an embedding host would see the runtime's fd readable).
    pub(crate) fn is_due(&self) -> bool {
        self.armed.get().is_some_and(|at| at <= Instant::now())
    }

    /// The reactor has looked for the alarm's event: nothing is armed any more. If
    /// the event has not come yet — the kernel's timer may ring a few microseconds
    /// after the clock says the deadline passed — the timerfd is disarmed, so that
    /// it does not ring later for nothing (and wake an embedding host in vain).
    pub(crate) fn heard(&self) {
        self.armed.set(None);
        #[cfg(all(target_os = "linux", not(miri)))]
        if let Some(timer) = &self.timer {
            if !timer.take_ready(crate::reactor::Direction::Read) {
                let _ = timer.get_ref().0.disarm(); // if that fails, one spurious wake
            }
        }
    }

    #[cfg(all(target_os = "linux", not(miri)))]
    /// Arms the timerfd to fire `left` from now.
    fn set(&self, left: Duration) -> io::Result<()> {
        match &self.timer {
            Some(timer) => timer.get_ref().0.fire_after(left),
            None => Err(io::ErrorKind::Unsupported.into()),
        }
    }

    #[cfg(not(all(target_os = "linux", not(miri))))]
    /// There is no timerfd here.
    fn set(&self, _left: Duration) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }
}

#[cfg(all(target_os = "linux", not(miri)))]
mod linux {
    use std::io;
    use std::rc::Rc;

    use crate::reactor::{Fd, IoSource, Reactor};
    use crate::sys::TimerFd;

    /// A timerfd as a reactor source. Nobody waits on it: its event only ends the
    /// reactor's wait, and step 1 of the next turn fires the due timers.
    pub(super) type TimerSource = Fd<TimerFd>;

    /// A new timerfd, registered with `reactor` (not counted as a socket).
    pub(super) fn register(reactor: &Rc<Reactor>) -> io::Result<IoSource<TimerSource>> {
        IoSource::internal(Fd(TimerFd::new()?), reactor.clone())
    }
}

//! The alarm: a `timerfd` that wakes the reactor at the next timer's deadline.
//!
//! Floor 2, used by step 4. `epoll_wait` counts its timeout in whole milliseconds
//! (mio rounds up), so sleeping until a deadline that way overshoots by up to 1 ms.
//! Instead, the alarm arms a `timerfd` for the earliest deadline — it fires within
//! microseconds — and registers it with the reactor like any socket. The epoll
//! timeout then only backstops the alarm. The timerfd is re-armed only when the
//! earliest deadline changes, so a loop that waits for the same deadline again and
//! again makes no extra syscalls.
//!
//! Where there is no `timerfd` (not Linux, or the OS refused one), the loop falls
//! back to the epoll timeout and millisecond precision.

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
    #[cfg(target_os = "linux")]
    timer: Option<crate::reactor::IoSource<linux::TimerSource>>,
    /// The deadline the timerfd is armed for, if any.
    armed: std::cell::Cell<Option<Instant>>,
}

impl Alarm {
    /// An alarm registered with `reactor`; without a timerfd if the OS refuses one.
    pub(crate) fn new(reactor: &Rc<Reactor>) -> Alarm {
        Alarm {
            #[cfg(target_os = "linux")]
            timer: linux::TimerSource::register(reactor).ok(),
            armed: std::cell::Cell::new(None),
        }
    }

    /// How many reactor sources the alarm registered (its timerfd, if any).
    pub(crate) fn sources(&self) -> usize {
        #[cfg(target_os = "linux")]
        return usize::from(self.timer.is_some());
        #[cfg(not(target_os = "linux"))]
        return 0;
    }

    /// How long step 4 may wait for I/O when the earliest timer is at `deadline`
    /// (`None`: no timer, wait as long as need be). Arms the timerfd for it.
    pub(crate) fn timeout_until(&self, deadline: Option<Instant>) -> Option<Duration> {
        let deadline = deadline?;
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Some(Duration::ZERO);
        }
        match self.arm(deadline, left) {
            Ok(()) => Some(left + BACKSTOP),
            Err(_) => Some(left), // epoll rounds up to the next millisecond
        }
    }

    /// Makes sure the timerfd fires at `deadline` (`left` from now).
    fn arm(&self, deadline: Instant, left: Duration) -> io::Result<()> {
        if self.armed.get() == Some(deadline) {
            return Ok(());
        }
        self.set(left)?;
        self.armed.set(Some(deadline));
        Ok(())
    }

    #[cfg(target_os = "linux")]
    /// Arms the timerfd to fire `left` from now.
    fn set(&self, left: Duration) -> io::Result<()> {
        match &self.timer {
            Some(timer) => timer.get_ref().0.fire_after(left),
            None => Err(io::ErrorKind::Unsupported.into()),
        }
    }

    #[cfg(not(target_os = "linux"))]
    /// There is no timerfd here.
    fn set(&self, _left: Duration) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io;
    use std::os::fd::AsRawFd;
    use std::rc::Rc;

    use mio::unix::SourceFd;
    use mio::{Interest, Registry, Token};

    use crate::reactor::{IoSource, Reactor};
    use crate::sys::TimerFd;

    /// A timerfd as a mio source. Nobody waits on it: its event only ends the
    /// reactor's wait, and step 1 of the next turn fires the due timers.
    #[derive(Debug)]
    pub(super) struct TimerSource(pub(super) TimerFd);

    impl TimerSource {
        /// A new timerfd, registered with `reactor`.
        pub(super) fn register(reactor: &Rc<Reactor>) -> io::Result<IoSource<TimerSource>> {
            IoSource::new(TimerSource(TimerFd::new()?), reactor.clone())
        }
    }

    impl mio::event::Source for TimerSource {
        fn register(
            &mut self,
            registry: &Registry,
            token: Token,
            interests: Interest,
        ) -> io::Result<()> {
            SourceFd(&self.0.as_raw_fd()).register(registry, token, interests)
        }

        fn reregister(
            &mut self,
            registry: &Registry,
            token: Token,
            interests: Interest,
        ) -> io::Result<()> {
            SourceFd(&self.0.as_raw_fd()).reregister(registry, token, interests)
        }

        fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
            SourceFd(&self.0.as_raw_fd()).deregister(registry)
        }
    }
}

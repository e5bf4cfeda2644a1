//! The operating system, wrapped: the only module of evloop that holds `unsafe`.
//!
//! Floor 0. Each wrapper here is a few lines around one `libc` call, with a
//! `// SAFETY:` comment saying why the call is sound, and a test below. Everything
//! above this module is safe Rust.
//!
//! - [`TimerFd`] (Linux): a kernel timer the reactor can wait on, so timers fire
//!   within microseconds instead of `epoll_wait`'s whole milliseconds.
#![allow(unsafe_code)]

#[cfg(target_os = "linux")]
pub(crate) use linux::TimerFd;

#[cfg(target_os = "linux")]
mod linux {
    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
    use std::time::Duration;

    /// A `timerfd` on `CLOCK_MONOTONIC` (the clock behind `std::time::Instant`),
    /// non-blocking and close-on-exec. It becomes readable when the time set with
    /// [`TimerFd::fire_after`] has passed.
    #[derive(Debug)]
    pub(crate) struct TimerFd {
        /// The timer's file descriptor, closed on drop.
        fd: OwnedFd,
    }

    impl TimerFd {
        /// Creates a disarmed timer.
        pub(crate) fn new() -> io::Result<TimerFd> {
            let flags = libc::TFD_NONBLOCK | libc::TFD_CLOEXEC;
            // SAFETY: timerfd_create takes no pointers; it returns a new descriptor or -1.
            let fd = unsafe { libc::timerfd_create(libc::CLOCK_MONOTONIC, flags) };
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: `fd` was just returned by the kernel and is owned by nobody else.
            Ok(TimerFd {
                fd: unsafe { OwnedFd::from_raw_fd(fd) },
            })
        }

        /// Arms the timer to fire once, `after` from now (replacing any earlier
        /// setting). A zero duration would disarm a timerfd, so it becomes 1 ns.
        pub(crate) fn fire_after(&self, after: Duration) -> io::Result<()> {
            let after = after.max(Duration::from_nanos(1));
            let value = libc::itimerspec {
                it_interval: libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                },
                it_value: libc::timespec {
                    tv_sec: after.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
                    tv_nsec: after.subsec_nanos() as libc::c_long,
                },
            };
            // SAFETY: `value` is a valid itimerspec that outlives the call; the old
            // value pointer may be null.
            let rc = unsafe {
                libc::timerfd_settime(self.fd.as_raw_fd(), 0, &value, std::ptr::null_mut())
            };
            if rc < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        }
    }

    impl AsRawFd for TimerFd {
        fn as_raw_fd(&self) -> RawFd {
            self.fd.as_raw_fd()
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use std::time::Instant;

        /// Reads the expiry count, or `WouldBlock` if the timer has not fired.
        fn expirations(timer: &TimerFd) -> io::Result<u64> {
            use std::io::Read;
            let mut file = std::fs::File::from(timer.fd.try_clone()?);
            let mut buf = [0u8; 8];
            file.read_exact(&mut buf)?;
            Ok(u64::from_ne_bytes(buf))
        }

        #[test]
        fn timerfd_is_not_readable_before_it_fires() {
            let timer = TimerFd::new().unwrap();
            timer.fire_after(Duration::from_secs(60)).unwrap();
            let err = expirations(&timer).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        }

        #[test]
        fn timerfd_fires_once_after_its_duration() {
            let timer = TimerFd::new().unwrap();
            let start = Instant::now();
            timer.fire_after(Duration::from_millis(5)).unwrap();
            let count = loop {
                match expirations(&timer) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::yield_now(),
                    Err(e) => panic!("reading the timerfd failed: {e}"),
                }
            };
            assert_eq!(count, 1);
            assert!(start.elapsed() >= Duration::from_millis(5));
        }

        #[test]
        fn timerfd_zero_duration_still_fires() {
            let timer = TimerFd::new().unwrap();
            timer.fire_after(Duration::ZERO).unwrap();
            std::thread::sleep(Duration::from_millis(1));
            assert_eq!(expirations(&timer).unwrap(), 1);
        }
    }
}

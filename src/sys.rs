//! The operating system, wrapped: the only module of evloop that holds `unsafe`.
//!
//! Floor 0. Each wrapper here is a few lines around one `libc` call, with a
//! `// SAFETY:` comment saying why the call is sound, and a test below. Everything
//! above this module is safe Rust.
//!
//! - [`TimerFd`] (Linux): a kernel timer the reactor can wait on, so timers fire
//!   within microseconds instead of `epoll_wait`'s whole milliseconds.
//! - [`install_sigint_handler`]: a SIGINT handler that only writes a byte to a
//!   pipe (the self-pipe trick), for `signal::ctrl_c`.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};

/// The write end of the SIGINT pipe, for the handler; -1 until installed.
static SIGINT_PIPE: AtomicI32 = AtomicI32::new(-1);

/// Installs a SIGINT handler that writes one byte to a pipe per signal, and
/// returns the pipe's read end (blocking). The write end stays open for the rest of
/// the process, like the handler. Call it once.
pub(crate) fn install_sigint_handler() -> io::Result<File> {
    let (read, write) = pipe()?;
    set_nonblocking(&write)?; // the handler must never block
    SIGINT_PIPE.store(std::os::fd::IntoRawFd::into_raw_fd(write), Ordering::SeqCst);
    // SAFETY: an all-zero sigaction is a valid value to fill in (no handler, no flags).
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t;
    action.sa_flags = libc::SA_RESTART;
    // SAFETY: `action.sa_mask` is a valid sigset_t owned by us.
    unsafe { libc::sigemptyset(&mut action.sa_mask) };
    // SAFETY: `action` is fully initialised and outlives the call; the old action
    // pointer may be null. `on_sigint` is async-signal-safe (see below).
    if unsafe { libc::sigaction(libc::SIGINT, &action, std::ptr::null_mut()) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(File::from(read))
}

/// The SIGINT handler: writes one byte to the pipe. `write` is async-signal-safe;
/// nothing else here allocates or locks. errno is saved and restored, as a handler
/// must, where libc lets us reach it.
extern "C" fn on_sigint(_signal: libc::c_int) {
    let fd = SIGINT_PIPE.load(Ordering::SeqCst);
    if fd < 0 {
        return;
    }
    let errno = saved_errno();
    let byte = 1u8;
    // SAFETY: `fd` is the pipe's write end, open for the rest of the process; the
    // buffer is one valid byte. A full pipe (EAGAIN) just drops the byte: the
    // reader wakes anyway for the bytes already there.
    unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
    restore_errno(errno);
}

#[cfg(target_os = "linux")]
/// The calling thread's errno.
fn saved_errno() -> libc::c_int {
    // SAFETY: __errno_location returns a valid pointer to this thread's errno.
    unsafe { *libc::__errno_location() }
}

#[cfg(target_os = "linux")]
/// Puts back the calling thread's errno.
fn restore_errno(errno: libc::c_int) {
    // SAFETY: as in `saved_errno`.
    unsafe { *libc::__errno_location() = errno };
}

#[cfg(not(target_os = "linux"))]
/// errno is not reachable portably here; the write's errno is left as it is.
fn saved_errno() -> libc::c_int {
    0
}

#[cfg(not(target_os = "linux"))]
/// See `saved_errno`.
fn restore_errno(_errno: libc::c_int) {}

/// A pipe, both ends close-on-exec: (read end, write end).
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds: [RawFd; 2] = [-1; 2];
    // SAFETY: `fds` has room for the two descriptors pipe writes.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned by nobody else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    set_flag(&read, libc::F_GETFD, libc::F_SETFD, libc::FD_CLOEXEC)?;
    set_flag(&write, libc::F_GETFD, libc::F_SETFD, libc::FD_CLOEXEC)?;
    Ok((read, write))
}

/// Makes `fd` non-blocking.
fn set_nonblocking(fd: &OwnedFd) -> io::Result<()> {
    set_flag(fd, libc::F_GETFL, libc::F_SETFL, libc::O_NONBLOCK)
}

/// Adds `flag` to the flags `get`/`set` read and write (descriptor or status flags).
fn set_flag(fd: &OwnedFd, get: libc::c_int, set: libc::c_int, flag: libc::c_int) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: fcntl with F_GETFD/F_GETFL takes no pointer; `fd` is open.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), get) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above, with an int argument.
    if unsafe { libc::fcntl(fd.as_raw_fd(), set, flags | flag) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod pipe_tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn pipe_carries_bytes_and_is_close_on_exec() {
        let (read, write) = pipe().unwrap();
        use std::os::fd::AsRawFd;
        // SAFETY: F_GETFD on an open descriptor.
        let flags = unsafe { libc::fcntl(read.as_raw_fd(), libc::F_GETFD) };
        assert_ne!(flags & libc::FD_CLOEXEC, 0);
        File::from(write).write_all(b"x").unwrap();
        let mut byte = [0u8; 1];
        File::from(read).read_exact(&mut byte).unwrap();
        assert_eq!(&byte, b"x");
    }

    #[test]
    fn a_nonblocking_empty_pipe_says_would_block() {
        let (read, _write) = pipe().unwrap();
        set_nonblocking(&read).unwrap();
        let mut byte = [0u8; 1];
        let err = File::from(read).read(&mut byte).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    }
}

#[cfg(all(target_os = "linux", not(miri)))]
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

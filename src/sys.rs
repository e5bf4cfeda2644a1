//! The operating system, wrapped: the only module of evloop that holds `unsafe`.
//!
//! Floor 0. Each wrapper here is a few lines around one `libc` call, with a
//! `// SAFETY:` comment saying why the call is sound, and a test below. Everything
//! above this module is safe Rust.
//!
//! - [`TimerFd`] (Linux): a kernel timer the reactor can wait on, so timers fire
//!   within microseconds instead of `epoll_wait`'s whole milliseconds.
//! - [`catch_signal`]: a signal handler that only writes a byte to a pipe (the
//!   self-pipe trick), for `signal::ctrl_c` and `signal::unix`.
//! - [`set_nonblocking`]: `O_NONBLOCK` on any descriptor, for `io::Async`.
//! - [`pidfd_open`] (Linux): a descriptor that is readable once a child exits,
//!   so the reactor learns of exits without a thread or SIGCHLD.
//! - [`tcp_listener`]: a listening socket with the options std cannot set before
//!   `bind` (`SO_REUSEPORT`) or at all (the listen backlog).
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};

/// The write end of the signal pipe, for the handler; -1 until it is opened.
static SIGNAL_PIPE: AtomicI32 = AtomicI32::new(-1);

/// Opens the pipe the signal handler writes to, and returns its read end
/// (blocking). The write end stays open for the rest of the process, like the
/// handlers. Call it once, before [`catch_signal`].
pub(crate) fn open_signal_pipe() -> io::Result<File> {
    let (read, write) = pipe()?;
    set_nonblocking(write.as_fd())?; // the handler must never block
    SIGNAL_PIPE.store(std::os::fd::IntoRawFd::into_raw_fd(write), Ordering::SeqCst);
    Ok(File::from(read))
}

/// Installs the handler for `signal`: it writes the signal's number, one byte, to
/// the pipe [`open_signal_pipe`] opened. From then on the signal no longer has its
/// default effect (a SIGINT no longer ends the process).
pub(crate) fn catch_signal(signal: libc::c_int) -> io::Result<()> {
    // SAFETY: an all-zero sigaction is a valid value to fill in (no handler, no flags).
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    action.sa_flags = libc::SA_RESTART;
    // SAFETY: `action.sa_mask` is a valid sigset_t owned by us.
    unsafe { libc::sigemptyset(&mut action.sa_mask) };
    // SAFETY: `action` is fully initialised and outlives the call; the old action
    // pointer may be null. `on_signal` is async-signal-safe (see below).
    if unsafe { libc::sigaction(signal, &action, std::ptr::null_mut()) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The signal handler: writes the signal's number to the pipe. `write` is
/// async-signal-safe; nothing else here allocates or locks. errno is saved and
/// restored, as a handler must, where libc lets us reach it.
extern "C" fn on_signal(signal: libc::c_int) {
    let fd = SIGNAL_PIPE.load(Ordering::SeqCst);
    if fd < 0 {
        return;
    }
    let errno = saved_errno();
    let byte = signal as u8; // signal numbers are below 65
                             // SAFETY: `fd` is the pipe's write end, open for the rest of the process; the
                             // buffer is one valid byte. A full pipe (EAGAIN) drops the byte: the reader
                             // has bytes of the same signals to read already.
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
    set_flag(read.as_fd(), libc::F_GETFD, libc::F_SETFD, libc::FD_CLOEXEC)?;
    set_flag(
        write.as_fd(),
        libc::F_GETFD,
        libc::F_SETFD,
        libc::FD_CLOEXEC,
    )?;
    Ok((read, write))
}

/// A descriptor for the child process `pid` that becomes readable when it exits
/// (`pidfd_open`, Linux 5.3 and later), close-on-exec. `Unsupported` on an older
/// kernel or another OS, so that the caller falls back to SIGCHLD.
pub(crate) fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    #[cfg(target_os = "linux")]
    {
        let pid = libc::pid_t::try_from(pid)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "no such process id"))?;
        // SAFETY: pidfd_open takes a pid and a flags word and returns a new
        // descriptor or -1; it touches no memory of ours.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if fd < 0 {
            let e = io::Error::last_os_error();
            return Err(match e.raw_os_error() {
                Some(libc::ENOSYS) => io::Error::new(io::ErrorKind::Unsupported, e),
                _ => e,
            });
        }
        // pidfd_open's descriptors are close-on-exec already (man pidfd_open).
        // SAFETY: the descriptor was just returned to us and is owned by nobody else.
        Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pid;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "pidfd_open is Linux's",
        ))
    }
}

/// The monotonic clock (`CLOCK_MONOTONIC`, which `Instant` reads too), in
/// nanoseconds: the trace's clock, read without `Instant`'s arithmetic.
pub(crate) fn monotonic_nanos() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec for clock_gettime to fill in.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    (now.tv_sec as u64).wrapping_mul(1_000_000_000) + now.tv_nsec as u64
}

/// What a descriptor is, as far as waiting for readiness goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    /// A regular file: always ready, so epoll refuses it.
    Regular,
    /// A directory: epoll refuses it too.
    Directory,
    /// Anything else: a socket, pipe, terminal, eventfd, …
    Other,
}

/// What `fd` is (`fstat`).
pub(crate) fn file_kind(fd: BorrowedFd<'_>) -> io::Result<FileKind> {
    let mut stat = std::mem::MaybeUninit::<libc::stat>::zeroed();
    // SAFETY: `fd` is open (borrowed); `stat` is a valid place for the result.
    if unsafe { libc::fstat(fd.as_raw_fd(), stat.as_mut_ptr()) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fstat succeeded, so it filled `stat` in (and it started zeroed).
    let mode = unsafe { stat.assume_init() }.st_mode & libc::S_IFMT;
    Ok(match mode {
        libc::S_IFREG => FileKind::Regular,
        libc::S_IFDIR => FileKind::Directory,
        _ => FileKind::Other,
    })
}

/// Makes `fd` non-blocking (`O_NONBLOCK`), as the reactor's sources must be.
pub(crate) fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    set_flag(fd, libc::F_GETFL, libc::F_SETFL, libc::O_NONBLOCK)
}

/// Adds `flag` to the flags `get`/`set` read and write (descriptor or status flags).
fn set_flag(
    fd: BorrowedFd<'_>,
    get: libc::c_int,
    set: libc::c_int,
    flag: libc::c_int,
) -> io::Result<()> {
    // SAFETY: fcntl with F_GETFD/F_GETFL takes no pointer; `fd` is open (borrowed).
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

/// A listening TCP socket on `addr`, non-blocking and close-on-exec, with
/// `SO_REUSEADDR` (as std and mio set it), `SO_REUSEPORT` if asked, and a listen
/// queue of `backlog` connections (the kernel caps it at `net.core.somaxconn`).
pub(crate) fn tcp_listener(
    addr: SocketAddr,
    backlog: libc::c_int,
    reuse_port: bool,
) -> io::Result<std::net::TcpListener> {
    let domain = if addr.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // SAFETY: socket takes no pointers; it returns a new descriptor or -1.
    let fd = unsafe { libc::socket(domain, libc::SOCK_STREAM, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by the kernel and is owned by nobody else.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    set_flag(
        socket.as_fd(),
        libc::F_GETFD,
        libc::F_SETFD,
        libc::FD_CLOEXEC,
    )?;
    set_nonblocking(socket.as_fd())?;
    set_option(&socket, libc::SO_REUSEADDR)?;
    if reuse_port {
        set_option(&socket, libc::SO_REUSEPORT)?;
    }
    let (storage, len) = sockaddr(addr);
    // SAFETY: `storage` holds a valid sockaddr of `len` bytes for `addr`'s family.
    let bound = unsafe { libc::bind(fd, (&storage as *const libc::sockaddr_storage).cast(), len) };
    // SAFETY: listen takes no pointers; `fd` is open.
    if bound < 0 || unsafe { libc::listen(fd, backlog) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(std::net::TcpListener::from(socket))
}

/// Turns the boolean socket option `option` on.
fn set_option(socket: &OwnedFd, option: libc::c_int) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let on: libc::c_int = 1;
    let size = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `on` is a valid int of `size` bytes that outlives the call.
    let set = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            option,
            (&on as *const libc::c_int).cast(),
            size,
        )
    };
    if set < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `addr` as the C structure `bind` takes, and its length.
fn sockaddr(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: an all-zero sockaddr_storage is valid (no family yet).
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(v4) => {
            // SAFETY: sockaddr_storage is large and aligned enough for any sockaddr.
            let sin = unsafe {
                &mut *(&mut storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>()
            };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = v4.port().to_be();
            sin.sin_addr.s_addr = u32::from_ne_bytes(v4.ip().octets());
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(v6) => {
            // SAFETY: as above.
            let sin6 = unsafe {
                &mut *(&mut storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = v6.port().to_be();
            sin6.sin6_flowinfo = v6.flowinfo();
            sin6.sin6_addr.s6_addr = v6.ip().octets();
            sin6.sin6_scope_id = v6.scope_id();
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

#[cfg(test)]
mod socket_tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn a_listener_with_a_large_backlog_and_reuse_port_accepts() {
        for addr in ["127.0.0.1:0", "[::1]:0"] {
            let Ok(listener) = tcp_listener(addr.parse().unwrap(), 1024, true) else {
                continue; // no IPv6 on this machine
            };
            let addr = listener.local_addr().unwrap();
            let mut client = std::net::TcpStream::connect(addr).unwrap();
            client.write_all(b"x").unwrap();
            listener.set_nonblocking(false).unwrap();
            let (mut server, _) = listener.accept().unwrap();
            let mut byte = [0u8; 1];
            server.read_exact(&mut byte).unwrap();
            assert_eq!(&byte, b"x");
        }
    }

    #[test]
    fn two_listeners_share_a_port_only_with_reuse_port() {
        let first = tcp_listener("127.0.0.1:0".parse().unwrap(), 16, true).unwrap();
        let addr = first.local_addr().unwrap();
        assert!(tcp_listener(addr, 16, true).is_ok());
        let err = tcp_listener(addr, 16, false).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    }
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
    fn a_caught_signal_writes_its_number_to_the_pipe() {
        let mut pipe = open_signal_pipe().unwrap();
        catch_signal(libc::SIGUSR2).unwrap();
        // SAFETY: raising a signal whose handler was just installed.
        assert_eq!(unsafe { libc::raise(libc::SIGUSR2) }, 0);
        let mut byte = [0u8; 1];
        pipe.read_exact(&mut byte).unwrap();
        assert_eq!(i32::from(byte[0]), libc::SIGUSR2);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_pidfd_becomes_readable_when_its_child_exits() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pidfd = match pidfd_open(child.id()) {
            Ok(fd) => fd,
            Err(e) if e.kind() == io::ErrorKind::Unsupported => {
                child.wait().unwrap(); // kernel < 5.3: nothing to check
                return;
            }
            Err(e) => panic!("pidfd_open: {e}"),
        };
        let mut pollfd = libc::pollfd {
            fd: pidfd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, for at most 10 s.
        assert_eq!(unsafe { libc::poll(&mut pollfd, 1, 10_000) }, 1);
        assert!(child.try_wait().unwrap().unwrap().success());
        assert!(pidfd_open(u32::MAX).is_err());
    }

    #[test]
    fn file_kind_tells_files_and_directories_from_pipes() {
        let (read, _write) = pipe().unwrap();
        assert_eq!(file_kind(read.as_fd()).unwrap(), FileKind::Other);
        let file = File::open("/proc/self/status").unwrap();
        assert_eq!(file_kind(file.as_fd()).unwrap(), FileKind::Regular);
        let dir = File::open("/").unwrap();
        assert_eq!(file_kind(dir.as_fd()).unwrap(), FileKind::Directory);
    }

    #[test]
    fn a_nonblocking_empty_pipe_says_would_block() {
        let (read, _write) = pipe().unwrap();
        set_nonblocking(read.as_fd()).unwrap();
        set_nonblocking(read.as_fd()).unwrap(); // twice is fine
        let mut byte = [0u8; 1];
        let err = File::from(read).read(&mut byte).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    }
}

#[cfg(all(target_os = "linux", not(miri)))]
pub(crate) use linux::TimerFd;

#[cfg(all(target_os = "linux", not(miri)))] // Miri cannot emulate a timerfd
mod linux {
    use std::io;
    use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
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
            let fd = unsafe { OwnedFd::from_raw_fd(fd) };
            Ok(TimerFd { fd })
        }

        /// Arms the timer to fire once, `after` from now (replacing any earlier
        /// setting). A zero duration would disarm a timerfd, so it becomes 1 ns.
        pub(crate) fn fire_after(&self, after: Duration) -> io::Result<()> {
            self.set(after.max(Duration::from_nanos(1)))
        }

        /// Disarms the timer, and forgets an expiry not yet read: it is no longer
        /// readable.
        pub(crate) fn disarm(&self) -> io::Result<()> {
            self.set(Duration::ZERO)
        }

        /// Sets the timer to fire once, `after` from now; zero disarms it.
        fn set(&self, after: Duration) -> io::Result<()> {
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

    impl AsFd for TimerFd {
        fn as_fd(&self) -> BorrowedFd<'_> {
            self.fd.as_fd()
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

        /// Whether the timer is readable within `ms` milliseconds, without reading it.
        fn readable_within(timer: &TimerFd, ms: libc::c_int) -> bool {
            let mut pollfd = libc::pollfd {
                fd: timer.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd, counted as one.
            unsafe { libc::poll(&mut pollfd, 1, ms) == 1 }
        }

        #[test]
        fn a_disarmed_timerfd_forgets_an_expiry_it_had() {
            let timer = TimerFd::new().unwrap();
            timer.fire_after(Duration::from_nanos(1)).unwrap();
            assert!(readable_within(&timer, 5_000), "it expires");
            timer.disarm().unwrap();
            assert!(!readable_within(&timer, 0), "disarmed, it is quiet");
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

//! How evloop learns that a child exited, without a thread per child and without
//! polling on a timer.
//!
//! - **pidfd** (Linux 5.3 and later): `pidfd_open` gives a descriptor that becomes
//!   readable when the child exits. It is registered with the reactor like a socket,
//!   so the exit wakes the waiting task through the same path as a read.
//! - **SIGCHLD** (older kernels, other Unixes, or `EVLOOP_CHILD_WAIT=signal`): the
//!   signal machinery of `evloop::signal` wakes every waiter at each SIGCHLD, and
//!   each asks *its own* child with `waitpid(pid, WNOHANG)`. evloop never calls
//!   `waitpid(-1)`, which would reap children that other code (a `std::process`
//!   child, another library's) is about to wait for.
//!
//! A `Child` dropped while its process runs hands it to one `evloop-reaper`
//! thread, started the first time that happens, which reaps such orphans at each
//! SIGCHLD: no zombie is left behind, whichever runtime (or none) dropped it.

use std::io;
use std::process::ExitStatus;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;

use crate::lock::lock;
use crate::reactor::{Direction, Fd, IoSource};
use crate::signal::{Signal, SignalKind};

/// What a running child's exit is awaited through.
pub(super) enum ExitWatch {
    /// A pidfd registered with the reactor: readable once the child exited.
    Pidfd(IoSource<Fd<std::os::fd::OwnedFd>>),
    /// Every SIGCHLD of the process, counted by `evloop::signal`.
    Signal(Signal),
}

/// Whether `EVLOOP_CHILD_WAIT=signal` asks for SIGCHLD even where pidfds work
/// (read once, the first time a child is spawned; for tests of the fallback).
fn signal_forced() -> bool {
    static FORCED: OnceLock<bool> = OnceLock::new();
    *FORCED.get_or_init(|| {
        std::env::var_os("EVLOOP_CHILD_WAIT").is_some_and(|value| value == "signal")
    })
}

impl ExitWatch {
    /// Starts watching for `pid`'s exit: a pidfd if the kernel has them and they
    /// are not switched off, else SIGCHLD. (A pidfd that cannot be had for any
    /// other reason — no descriptor left, say — falls back to SIGCHLD too: the
    /// child runs already, and must be waited for somehow.)
    pub(super) fn new(pid: u32) -> ExitWatch {
        if !signal_forced() {
            if let Some(reactor) = crate::runtime::current_reactor() {
                let pidfd = crate::sys::pidfd_open(pid);
                if let Ok(source) = pidfd.and_then(|fd| IoSource::new(Fd(fd), reactor)) {
                    return ExitWatch::Pidfd(source);
                }
            }
        }
        ExitWatch::Signal(crate::signal::unix(SignalKind::child()))
    }

    /// Polls for `child`'s exit: asks it (`waitpid` on its pid alone) each time the
    /// watch says it may have exited, and waits for the next sign otherwise.
    pub(super) fn poll_exit(
        &mut self,
        child: &mut std::process::Child,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<ExitStatus>> {
        let mut exited = || match child.try_wait()? {
            Some(status) => Ok(status),
            None => Err(io::ErrorKind::WouldBlock.into()),
        };
        match self {
            ExitWatch::Pidfd(pidfd) => pidfd.poll_io(Direction::Read, cx, |_| exited()),
            ExitWatch::Signal(sigchld) => loop {
                match exited() {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    result => return Poll::Ready(result),
                }
                // Not yet: wait for a SIGCHLD that came after this question.
                if let Err(e) = std::task::ready!(sigchld.poll_recv(cx)) {
                    return Poll::Ready(Err(e));
                }
            },
        }
    }
}

/// Children whose `Child` was dropped before they were reaped.
static ORPHANS: Mutex<Vec<std::process::Child>> = Mutex::new(Vec::new());

/// The reaper thread, once started (`None` if the OS refused a thread).
static REAPER: OnceLock<Option<Thread>> = OnceLock::new();

/// Reaps `child` as soon as it exits, on the reaper thread.
pub(super) fn reap_later(child: std::process::Child) {
    let mut orphans = lock(&ORPHANS);
    orphans.push(child);
    reap(&mut orphans);
    drop(orphans);
    if let Some(reaper) = REAPER.get_or_init(start_reaper) {
        reaper.unpark(); // it looks at the list again, even without a SIGCHLD
    }
}

/// Reaps the orphans that have exited.
fn reap(orphans: &mut Vec<std::process::Child>) {
    orphans.retain_mut(|child| matches!(child.try_wait(), Ok(None)));
}

/// Starts the reaper thread: it sleeps until a SIGCHLD (or a new orphan), then
/// reaps what exited.
fn start_reaper() -> Option<Thread> {
    let thread = std::thread::Builder::new()
        .name("evloop-reaper".into())
        .spawn(|| {
            let mut sigchld = crate::signal::unix(SignalKind::child());
            let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
            let mut cx = Context::from_waker(&waker);
            loop {
                // Take every SIGCHLD so far, and leave the waker for the next.
                let mut no_handler = false;
                while let Poll::Ready(delivered) = sigchld.poll_recv(&mut cx) {
                    no_handler = delivered.is_err();
                    if no_handler {
                        break;
                    }
                }
                reap(&mut lock(&ORPHANS));
                if no_handler {
                    // No SIGCHLD can wake us: look again now and then instead.
                    std::thread::park_timeout(std::time::Duration::from_millis(100));
                } else {
                    std::thread::park();
                }
            }
        });
    thread.ok().map(|handle| handle.thread().clone())
}

/// Wakes the reaper thread.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

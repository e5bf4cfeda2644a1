//! Signals: [`ctrl_c`], and any other with [`unix`].
//!
//! Floor 3. Signals belong to the process, runtimes do not. The first time a signal
//! is asked for, evloop installs a handler for it that only writes the signal's
//! number to a pipe (the self-pipe trick: almost nothing is safe inside a signal
//! handler), and — the first time of all — starts one thread, `evloop-signal`,
//! that reads the pipe and wakes every waiter of every runtime. The handlers, the
//! pipe and the thread then live for the rest of the process, by design: once a
//! signal is caught, it no longer has its default effect (Ctrl-C no longer ends the
//! program) unless the program says so.
//!
//! Each waiter keeps one place in its signal's list, updated in place when it is
//! polled again and removed when it is dropped: polling costs O(1), and a waiter
//! that gives up leaves nothing behind.

use std::collections::BTreeMap;
use std::fmt;
use std::future::{poll_fn, Future};
use std::io::{self, Read};
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Waker};

use slab::Slab;

use crate::lock::lock;

/// A signal, by number: which one [`unix`] waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SignalKind(libc::c_int);

impl SignalKind {
    /// SIGINT: Ctrl-C in a terminal ([`ctrl_c`] waits for it).
    pub fn interrupt() -> SignalKind {
        SignalKind(libc::SIGINT)
    }

    /// SIGTERM: the polite request to stop (`kill`, systemd, Kubernetes).
    pub fn terminate() -> SignalKind {
        SignalKind(libc::SIGTERM)
    }

    /// SIGHUP: the terminal went away; by custom, "reload your configuration".
    pub fn hangup() -> SignalKind {
        SignalKind(libc::SIGHUP)
    }

    /// SIGQUIT: Ctrl-\ in a terminal.
    pub fn quit() -> SignalKind {
        SignalKind(libc::SIGQUIT)
    }

    /// SIGUSR1, free for the program's own use.
    pub fn user_defined1() -> SignalKind {
        SignalKind(libc::SIGUSR1)
    }

    /// SIGUSR2, free for the program's own use.
    pub fn user_defined2() -> SignalKind {
        SignalKind(libc::SIGUSR2)
    }

    /// SIGWINCH: the terminal was resized.
    pub fn window_change() -> SignalKind {
        SignalKind(libc::SIGWINCH)
    }

    /// SIGCHLD: a child process stopped or ended.
    pub fn child() -> SignalKind {
        SignalKind(libc::SIGCHLD)
    }

    /// Any signal, by number. Those that cannot be caught meaningfully (SIGKILL,
    /// SIGSTOP, SIGSEGV, SIGILL, SIGFPE, SIGBUS) make `recv` return an error.
    pub fn from_raw(signal: i32) -> SignalKind {
        SignalKind(signal)
    }

    /// The signal's number.
    pub fn as_raw(self) -> i32 {
        self.0
    }
}

/// Signals the process may not wait for: the OS forbids catching some, and the
/// others mean the process is already broken.
const FORBIDDEN: [libc::c_int; 6] = [
    libc::SIGKILL,
    libc::SIGSTOP,
    libc::SIGSEGV,
    libc::SIGILL,
    libc::SIGFPE,
    libc::SIGBUS,
];

/// Deliveries of one signal so far, and who waits for the next.
#[derive(Default)]
struct Deliveries {
    /// How many times the signal thread saw the signal.
    count: u64,
    /// One place per waiting `Signal` or `CtrlC`.
    waiters: Slab<Option<Waker>>,
    /// Whether the handler is in place, or why not.
    installed: Option<Result<(), (io::ErrorKind, String)>>,
}

/// Every signal asked for so far, by number.
static SIGNALS: Mutex<BTreeMap<libc::c_int, Deliveries>> = Mutex::new(BTreeMap::new());

/// The pipe and the thread that reads it, once started (or why they could not be).
static FORWARDER: OnceLock<Result<(), (io::ErrorKind, String)>> = OnceLock::new();

/// Locks the table of signals.
fn signals() -> MutexGuard<'static, BTreeMap<libc::c_int, Deliveries>> {
    lock(&SIGNALS)
}

/// Installs `kind`'s handler (and, the first time, the pipe and the thread), if it
/// is not yet; returns whether it is in place.
fn install(kind: SignalKind) -> Result<(), (io::ErrorKind, String)> {
    let forwarder = FORWARDER.get_or_init(start_forwarder).clone();
    let mut signals = signals();
    let deliveries = signals.entry(kind.0).or_default();
    deliveries
        .installed
        .get_or_insert_with(|| {
            forwarder?;
            if FORBIDDEN.contains(&kind.0) {
                let message = format!("signal {} cannot be waited for", kind.0);
                return Err((io::ErrorKind::InvalidInput, message));
            }
            crate::sys::catch_signal(kind.0).map_err(|e| {
                let message = format!("could not install a handler for signal {}: {e}", kind.0);
                (e.kind(), message)
            })
        })
        .clone()
}

/// Opens the pipe and starts the thread that reads it.
fn start_forwarder() -> Result<(), (io::ErrorKind, String)> {
    let failed = |e: io::Error| (e.kind(), format!("could not start watching signals: {e}"));
    let pipe = crate::sys::open_signal_pipe().map_err(failed)?;
    std::thread::Builder::new()
        .name("evloop-signal".into())
        .spawn(move || forward(pipe))
        .map_err(failed)?;
    Ok(())
}

/// The signal thread: for each byte the handlers write, counts a delivery of that
/// signal and wakes everyone waiting for it.
fn forward(mut pipe: std::fs::File) {
    let mut bytes = [0u8; 64];
    loop {
        let read = match pipe.read(&mut bytes) {
            Ok(0) => return, // the write end closed: cannot happen, but do not spin
            Ok(read) => read,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        };
        let mut wakers = Vec::new();
        let mut signals = signals();
        for &signal in &bytes[..read] {
            if let Some(deliveries) = signals.get_mut(&libc::c_int::from(signal)) {
                deliveries.count += 1;
                wakers.extend(deliveries.waiters.iter_mut().filter_map(|(_, w)| w.take()));
            }
        }
        drop(signals);
        for waker in wakers {
            waker.wake();
        }
    }
}

/// Waits for deliveries of one signal: [`recv`](Signal::recv) completes at each
/// one after the last it reported (several that arrive in between count as one,
/// as with tokio's and the OS's own signals).
///
/// ```no_run
/// use evloop::signal::{unix, SignalKind};
/// evloop::run(async {
///     let mut hangups = unix(SignalKind::hangup());
///     while hangups.recv().await.is_ok() {
///         println!("reloading the configuration");
///     }
/// });
/// ```
pub struct Signal {
    /// Which signal.
    kind: SignalKind,
    /// The deliveries reported so far (or seen when this `Signal` was made).
    seen: u64,
    /// Our place in the signal's list of waiters, while we wait.
    place: Option<usize>,
    /// Whether the handler is in place.
    installed: Result<(), (io::ErrorKind, String)>,
}

/// Starts watching for `kind`: the handler is installed by this call, so a signal
/// that arrives before the first `recv` is not missed.
pub fn unix(kind: SignalKind) -> Signal {
    let installed = install(kind);
    let seen = signals().get(&kind.0).map_or(0, |d| d.count);
    Signal {
        kind,
        seen,
        place: None,
        installed,
    }
}

impl Signal {
    /// Waits for the next delivery.
    ///
    /// # Errors
    ///
    /// If the handler could not be installed (a forbidden signal, or the OS
    /// refused), saying why.
    pub async fn recv(&mut self) -> io::Result<()> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the next delivery: `recv` as a poll function. O(1).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Err((kind, message)) = &self.installed {
            return Poll::Ready(Err(io::Error::new(*kind, message.clone())));
        }
        let mut signals = signals();
        let deliveries = signals.entry(self.kind.0).or_default();
        if deliveries.count > self.seen {
            self.seen = deliveries.count;
            if let Some(place) = self.place.take() {
                deliveries.waiters.remove(place);
                crate::room::give_back_slab(&mut deliveries.waiters);
            }
            return Poll::Ready(Ok(()));
        }
        let old = match self.place {
            Some(place) => deliveries.waiters[place].replace(cx.waker().clone()),
            None => {
                self.place = Some(deliveries.waiters.insert(Some(cx.waker().clone())));
                None
            }
        };
        drop(signals);
        drop(old);
        Poll::Pending
    }
}

impl Drop for Signal {
    fn drop(&mut self) {
        if let Some(place) = self.place {
            if let Some(deliveries) = signals().get_mut(&self.kind.0) {
                deliveries.waiters.remove(place);
                crate::room::give_back_slab(&mut deliveries.waiters);
            }
        }
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal")
            .field("kind", &self.kind)
            .field("waiting", &self.place.is_some())
            .finish()
    }
}

/// Completes when the process receives SIGINT (Ctrl-C) after this call.
///
/// The handler is installed by this call, not when the future is first polled,
/// so a signal that arrives between the two is not missed. Any number of waiters,
/// in one runtime or several, all wake. A dropped `CtrlC` leaves nothing behind.
///
/// # Errors
///
/// If the handler or its thread could not be installed.
///
/// ```no_run
/// evloop::run(async {
///     println!("press Ctrl-C to stop");
///     evloop::signal::ctrl_c().await.unwrap();
///     println!("stopping");
/// });
/// ```
pub fn ctrl_c() -> CtrlC {
    CtrlC(unix(SignalKind::interrupt()))
}

/// The future of [`ctrl_c`].
#[must_use = "futures do nothing unless you .await them"]
#[derive(Debug)]
pub struct CtrlC(Signal);

impl Future for CtrlC {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().0.poll_recv(cx)
    }
}

//! Signals: [`ctrl_c`].
//!
//! Floor 3. Signals belong to the process, runtimes do not. The first call of
//! `ctrl_c()` installs a SIGINT handler that only writes a byte to a pipe (the
//! self-pipe trick: almost nothing is safe inside a signal handler), and starts
//! one thread, `evloop-signal`, that reads the pipe and wakes every waiter of every
//! runtime. The handler, the pipe and the thread then live for the rest of the
//! process, by design: once SIGINT is ours, Ctrl-C no longer ends the program
//! unless the program says so.

use std::future::Future;
use std::io::{self, Read};
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Waker};

/// SIGINTs seen so far, and who waits for the next.
struct Received {
    /// How many times the signal thread woke for SIGINT.
    count: u64,
    /// The wakers of every waiting `CtrlC`, from every runtime.
    waiters: Vec<Waker>,
}

/// Shared by the signal thread and every `CtrlC`.
static RECEIVED: Mutex<Received> = Mutex::new(Received {
    count: 0,
    waiters: Vec::new(),
});

/// Whether the handler and thread were installed (or why not).
static INSTALLED: OnceLock<Result<(), (io::ErrorKind, String)>> = OnceLock::new();

/// Locks the shared state; the state is never left half-written.
fn received() -> MutexGuard<'static, Received> {
    RECEIVED.lock().unwrap_or_else(|e| e.into_inner())
}

/// Completes when the process receives SIGINT (Ctrl-C) after this call.
///
/// The handler is installed by this call, not when the future is first polled,
/// so a signal that arrives between the two is not missed. Any number of waiters,
/// in one runtime or several, all wake.
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
    let installed = INSTALLED.get_or_init(install).clone();
    CtrlC {
        seen: received().count,
        installed,
    }
}

/// Installs the handler and starts the thread that reads its pipe.
fn install() -> Result<(), (io::ErrorKind, String)> {
    let failed = |e: io::Error| {
        (
            e.kind(),
            format!("could not install the SIGINT handler: {e}"),
        )
    };
    let pipe = crate::sys::install_sigint_handler().map_err(failed)?;
    std::thread::Builder::new()
        .name("evloop-signal".into())
        .spawn(move || forward_signals(pipe))
        .map_err(failed)?;
    Ok(())
}

/// The signal thread: for each wake-up from the handler, counts a SIGINT and wakes
/// every waiter.
fn forward_signals(mut pipe: std::fs::File) {
    let mut bytes = [0u8; 64];
    loop {
        match pipe.read(&mut bytes) {
            Ok(0) => return, // the write end closed: cannot happen, but do not spin
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        }
        let mut state = received();
        state.count += 1;
        let waiters = std::mem::take(&mut state.waiters);
        drop(state);
        for waker in waiters {
            waker.wake();
        }
    }
}

/// The future of [`ctrl_c`].
#[must_use = "futures do nothing unless you .await them"]
#[derive(Debug)]
pub struct CtrlC {
    /// The SIGINT count when `ctrl_c()` was called: any more means one arrived.
    seen: u64,
    /// Whether the handler is in place.
    installed: Result<(), (io::ErrorKind, String)>,
}

impl Future for CtrlC {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Err((kind, message)) = &self.installed {
            return Poll::Ready(Err(io::Error::new(*kind, message.clone())));
        }
        let mut state = received();
        if state.count > self.seen {
            return Poll::Ready(Ok(()));
        }
        if !state.waiters.iter().any(|w| w.will_wake(cx.waker())) {
            state.waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

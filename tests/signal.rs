//! Ctrl-C. In a test binary of its own: it raises SIGINT in the test process,
//! and the handler stays installed for the rest of it.

use std::sync::mpsc;

#[test]
fn ctrl_c_wakes_every_waiter_in_every_runtime() {
    let (ready_tx, ready_rx) = mpsc::channel();
    let waiters: Vec<_> = (0..2)
        .map(|_| {
            let ready_tx = ready_tx.clone();
            std::thread::spawn(move || {
                evloop::run(async move {
                    // Two waiters in this runtime, both made before the signal.
                    let first = evloop::signal::ctrl_c();
                    let second = evloop::signal::ctrl_c();
                    ready_tx.send(()).unwrap();
                    let other = evloop::spawn(second);
                    first.await.unwrap();
                    other.await.unwrap().unwrap();
                    "woken"
                })
            })
        })
        .collect();
    for _ in 0..2 {
        ready_rx.recv().unwrap();
    }
    // SAFETY: raising a signal has no memory-safety preconditions; the handler
    // was installed by the ctrl_c() calls above (both threads reported ready).
    assert_eq!(unsafe { libc::raise(libc::SIGINT) }, 0);
    for waiter in waiters {
        assert_eq!(waiter.join().unwrap(), "woken");
    }
}

#[test]
fn a_unix_signal_resolves_when_the_process_raises_it() {
    use evloop::signal::{unix, SignalKind};
    let mut usr1 = unix(SignalKind::user_defined1());
    let (raised_tx, raised_rx) = mpsc::channel::<()>();
    let raiser = std::thread::spawn(move || {
        // SAFETY: raising a signal whose handler `unix` installed above.
        assert_eq!(unsafe { libc::raise(libc::SIGUSR1) }, 0);
        raised_tx.send(()).unwrap();
    });
    raised_rx.recv().unwrap();
    evloop::run(async move {
        usr1.recv().await.unwrap(); // raised before the first recv: not missed
    });
    raiser.join().unwrap();
}

#[test]
fn a_signal_that_cannot_be_caught_is_a_clear_error() {
    use evloop::signal::{unix, SignalKind};
    let err =
        evloop::run(async { unix(SignalKind::from_raw(libc::SIGKILL)).recv().await }).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("cannot be waited for"), "{err}");
}

//! The second adversary's attacks, each kept as a test: a pool thread killed by a
//! result's destructor, loops that panic while others run, a runtime's futures
//! awaited inside another runtime, descriptors changed before an error, and a timer
//! a thousand years away (a drained channel's memory: `tests/burst_memory.rs`). Each runs under its own
//! deadline, so a hang fails in seconds instead of stopping the suite.

use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use evloop::{spawn_blocking, Builder, Runtime};

/// Runs `f` on a thread of its own and returns what it returns, re-raising its
/// panic; fails the test if it has not ended after `seconds`.
fn within<T: Send + 'static>(
    seconds: u64,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(panic::catch_unwind(AssertUnwindSafe(f)));
    });
    match rx.recv_timeout(Duration::from_secs(seconds)) {
        Ok(Ok(value)) => value,
        Ok(Err(panic)) => panic::resume_unwind(panic),
        Err(_) => panic!("{what}: still running after {seconds} s — it hangs"),
    }
}

/// The text of a panic's payload.
fn message(panic: &(dyn std::any::Any + Send)) -> String {
    match (panic.downcast_ref::<String>(), panic.downcast_ref::<&str>()) {
        (Some(text), _) => text.clone(),
        (_, Some(text)) => text.to_string(),
        _ => String::from("(not text)"),
    }
}

/// A value whose destructor panics.
struct PanicsWhenDropped;

impl Drop for PanicsWhenDropped {
    fn drop(&mut self) {
        panic!("a job's result panicked in its destructor (on purpose)");
    }
}

#[test]
fn a_result_that_panics_when_dropped_on_a_pool_thread_leaves_the_pool_working() {
    within(20, "the pool's only thread", || {
        let rt = Builder::new().max_blocking_threads(1).build().unwrap();
        rt.block_on(async {
            let (release, released) = mpsc::channel::<()>();
            let job = spawn_blocking(move || {
                released.recv().unwrap();
                PanicsWhenDropped
            });
            job.abort(); // nobody will take the result: it is dropped on the pool thread
            while !job.is_finished() {
                evloop::yield_now().await;
            }
            release.send(()).unwrap();
            for i in 0..3 {
                assert_eq!(spawn_blocking(move || i * 2).await.unwrap(), i * 2);
            }
        });
    });
}

#[test]
fn stop_joins_every_loop_before_it_passes_on_the_first_panic() {
    let cleaned_up = Arc::new(AtomicBool::new(false));
    let flag = cleaned_up.clone();
    let stopped = within(20, "Loops::stop", move || {
        let loops = evloop::run_per_core(2, move |index| {
            let flag = flag.clone();
            async move {
                if index == 0 {
                    panic!("loop 0 gave up");
                }
                // Loop 1's task cleans up slowly when its runtime drops it.
                struct SlowCleanup(Arc<AtomicBool>);
                impl Drop for SlowCleanup {
                    fn drop(&mut self) {
                        thread::sleep(Duration::from_millis(200));
                        self.0.store(true, Ordering::SeqCst);
                    }
                }
                let guard = SlowCleanup(flag);
                evloop::spawn(async move {
                    let _guard = guard;
                    std::future::pending::<()>().await
                });
                std::future::pending::<()>().await
            }
        })
        .unwrap();
        panic::catch_unwind(AssertUnwindSafe(|| loops.stop()))
    });
    let panic = stopped.expect_err("loop 0's panic is passed on");
    assert_eq!(message(&*panic), "loop 0 gave up");
    assert!(
        cleaned_up.load(Ordering::SeqCst),
        "stop() returned while loop 1 still ran its destructors"
    );
}

#[test]
fn join_sees_a_loop_that_panicked_while_another_serves_for_ever() {
    let joined = within(20, "Loops::join", || {
        let loops = evloop::run_per_core(2, |index| async move {
            if index == 1 {
                evloop::time::sleep(Duration::from_millis(20)).await;
                panic!("loop 1 died");
            }
            std::future::pending::<()>().await // loop 0 serves for ever
        })
        .unwrap();
        panic::catch_unwind(AssertUnwindSafe(|| loops.join()))
    });
    assert_eq!(
        message(&*joined.expect_err("the panic is passed on")),
        "loop 1 died"
    );
}

#[test]
fn a_join_handle_awaited_inside_another_runtime_says_so_at_once() {
    within(10, "a handle of another runtime", || {
        let a = Runtime::new().unwrap();
        let b = Runtime::new().unwrap();
        let handle = a.spawn(std::future::pending::<()>());
        let awaited = panic::catch_unwind(AssertUnwindSafe(|| b.block_on(handle)));
        let said = message(&*awaited.expect_err("a panic, not a hang"));
        assert!(said.contains("a JoinHandle of runtime #"), "{said}");
        assert!(said.contains("inside runtime #"), "{said}");
        assert!(said.contains("would wait for ever"), "{said}");
    });
}

#[test]
fn a_sleep_first_polled_on_one_runtime_and_awaited_on_another_says_so_at_once() {
    within(10, "a sleep of another runtime", || {
        let a = Builder::new().virtual_time(true).build().unwrap();
        let b = Builder::new().virtual_time(true).build().unwrap();
        let mut sleep = Box::pin(evloop::time::sleep(Duration::from_secs(60)));
        a.block_on(async {
            let polled = std::future::poll_fn(|cx| {
                let _ = sleep.as_mut().poll(cx);
                std::task::Poll::Ready(())
            });
            polled.await; // registered with a's timers
        });
        let awaited = panic::catch_unwind(AssertUnwindSafe(|| b.block_on(sleep)));
        let said = message(&*awaited.expect_err("a panic, not a hang"));
        assert!(said.contains("a Sleep of runtime #"), "{said}");
    });
}

#[test]
fn a_remote_handle_still_works_from_another_runtime() {
    within(10, "Handle::spawn across runtimes", || {
        let (handle_tx, handle_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = evloop::sync::oneshot::channel::<()>();
        let server = thread::spawn(move || {
            let rt = Runtime::new().unwrap();
            handle_tx.send(rt.handle()).unwrap();
            rt.block_on(stop_rx).unwrap();
        });
        let handle = handle_rx.recv().unwrap();
        let other = Runtime::new().unwrap();
        let answer = other.block_on(handle.spawn(async { 6 * 7 })).unwrap();
        assert_eq!(answer, 42);
        stop_tx.send(()).unwrap();
        server.join().unwrap();
    });
}

/// Whether `fd` has `O_NONBLOCK` set.
fn is_nonblocking(fd: &impl std::os::fd::AsRawFd) -> bool {
    // SAFETY: F_GETFL on an open descriptor takes no pointer.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    flags & libc::O_NONBLOCK != 0
}

#[test]
fn a_constructor_that_fails_outside_a_runtime_leaves_the_descriptor_as_it_was() {
    let (mine, _peer) = std::os::unix::net::UnixStream::pair().unwrap();
    let dup = mine.try_clone().unwrap();
    let made = panic::catch_unwind(AssertUnwindSafe(|| evloop::io::Async::new(dup)));
    assert!(made.is_err(), "outside a runtime: a panic");
    assert!(
        !is_nonblocking(&mine),
        "Async::new changed the shared flags first"
    );

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let (l, c, u) = (
        listener.try_clone().unwrap(),
        client.try_clone().unwrap(),
        udp.try_clone().unwrap(),
    );
    assert!(
        panic::catch_unwind(AssertUnwindSafe(|| evloop::net::TcpListener::from_std(l))).is_err()
    );
    assert!(panic::catch_unwind(AssertUnwindSafe(|| evloop::net::TcpStream::from_std(c))).is_err());
    assert!(panic::catch_unwind(AssertUnwindSafe(|| evloop::net::UdpSocket::from_std(u))).is_err());
    assert!(!is_nonblocking(&listener) && !is_nonblocking(&client) && !is_nonblocking(&udp));
}

#[test]
fn a_regular_file_given_to_async_gets_an_error_that_says_what_to_do() {
    evloop::run(async {
        let file = std::fs::File::open("/proc/self/status").unwrap();
        let probe = file.try_clone().unwrap();
        let error = evloop::io::Async::new(file).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
        let said = error.to_string();
        assert!(
            said.contains("regular file") && said.contains("spawn_blocking"),
            "{said}"
        );
        assert!(
            !is_nonblocking(&probe),
            "the file was changed before the error"
        );
    });
}

#[test]
fn a_sleep_a_thousand_years_long_ends_at_its_time_not_before() {
    within(10, "a thousand-year sleep", || {
        let rt = Builder::new().virtual_time(true).build().unwrap();
        rt.block_on(async {
            let start = evloop::time::now();
            let year = Duration::from_secs(365 * 24 * 3600);
            let far = start + year * 1000;
            let nearer = start + year * 600; // past u64 nanoseconds too
            let near = evloop::spawn(async move {
                evloop::time::sleep_until(nearer).await;
                evloop::time::now()
            });
            let soon = evloop::spawn(async move {
                evloop::time::sleep(Duration::from_secs(1)).await;
                evloop::time::now()
            });
            evloop::time::sleep_until(far).await;
            let woke = evloop::time::now();
            assert!(woke >= far, "woke {:?} early", far - woke);
            assert_eq!(woke, far, "a virtual clock jumps to the deadline exactly");
            let (near, soon) = (near.await.unwrap(), soon.await.unwrap());
            assert_eq!(near, nearer, "the 600-year sleep ended at its time");
            assert_eq!(soon, start + Duration::from_secs(1));
        });
        // A far timer dropped before it fires leaves nothing behind.
        rt.block_on(async {
            let gone = evloop::time::timeout(Duration::from_secs(u64::MAX / 4), async {});
            gone.await.unwrap();
        });
        assert!(!format!("{rt:?}").contains("timers: 1"), "{rt:?}");
    });
}

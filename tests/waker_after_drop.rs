//! A waker that outlives its runtime. In a test binary of its own, because it
//! counts the process's open file descriptors, which other tests would disturb.

use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn a_waker_woken_after_the_runtime_is_dropped_does_nothing_and_holds_no_fd() {
    let before = open_fds();
    let stash: Arc<Mutex<Option<Waker>>> = Arc::default();
    {
        let runtime = evloop::Runtime::new().unwrap();
        assert!(
            open_fds() > before,
            "a runtime holds descriptors (epoll, eventfd)"
        );
        let inner = stash.clone();
        let task = runtime.spawn(std::future::poll_fn(move |cx| {
            *inner.lock().unwrap() = Some(cx.waker().clone());
            Poll::<()>::Pending
        }));
        runtime.turn(Some(std::time::Duration::ZERO));
        drop(task);
    }
    let waker = stash
        .lock()
        .unwrap()
        .take()
        .expect("the task stored its waker");
    assert_eq!(
        open_fds(),
        before,
        "the kept waker holds no descriptor of the runtime"
    );
    waker.wake_by_ref();
    std::thread::spawn(move || waker.wake()).join().unwrap();
}

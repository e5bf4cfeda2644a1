//! A waiter that gives up leaves nothing behind: a million cancelled waits on each
//! primitive — a semaphore, a mutex, a full channel, an event that is never set —
//! and the process holds no more memory than after the first thousand.
//!
//! One test in this binary, so that no other test allocates while it counts.

use std::future::Future;
use std::pin::pin;
use std::task::Context;

use evloop::sync::{mpsc, Event, Mutex, Semaphore};

#[path = "common/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::live;

/// Cancelled waits per primitive.
const WAITS: usize = if cfg!(miri) { 1_000 } else { 1_000_000 };

/// Starts waiting (one poll: it stands in line), then gives up (drops the future).
fn wait_and_give_up<F: Future>(future: F) {
    let waker = futures_task::noop_waker();
    let mut future = pin!(future);
    let poll = future.as_mut().poll(&mut Context::from_waker(&waker));
    assert!(poll.is_pending(), "the wait must be real: nothing is free");
}

/// Bytes held after `waits` cancelled waits made by `wait`, minus those before.
fn growth(waits: usize, mut wait: impl FnMut()) -> isize {
    let before = live();
    for _ in 0..waits {
        wait();
    }
    live() - before
}

#[test]
fn a_million_cancelled_waits_on_each_primitive_leave_nothing_behind() {
    let semaphore = Semaphore::new(1);
    let _permit = semaphore.try_acquire().unwrap();
    let mutex = Mutex::new(0);
    let _guard = mutex.try_lock().unwrap();
    let (tx, _rx) = mpsc::channel(1);
    tx.try_send(0).unwrap();
    let event = Event::new();
    let primitives: [(&str, &dyn Fn()); 4] = [
        ("Semaphore::acquire", &|| {
            wait_and_give_up(semaphore.acquire())
        }),
        ("Mutex::lock", &|| wait_and_give_up(mutex.lock())),
        ("Sender::send", &|| wait_and_give_up(tx.send(1))),
        ("Event::wait", &|| wait_and_give_up(event.wait())),
    ];
    for (name, wait) in primitives {
        growth(1_000, wait); // warm-up: the wait list's slab grows to size
        let grown = growth(WAITS, wait);
        eprintln!("{name}: {WAITS} cancelled waits held {grown} bytes more");
        assert!(
            grown < 1 << 20,
            "{name}: {WAITS} cancelled waits held {grown} bytes"
        );
    }
}

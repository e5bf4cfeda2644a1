//! Waiting in line: `Semaphore`, `Mutex` and a full bounded channel's senders serve
//! waiters first come, first served; a waiter who gives up loses its place to
//! nobody; a released lock goes to the first in line, not back to its releaser.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};

use evloop::sync::{mpsc, Mutex, Semaphore};

/// Polls `future` once with a waker that does nothing; it stays where it is.
#[allow(dead_code)]
fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    let waker = futures_task::noop_waker();
    Pin::new(future).poll(&mut Context::from_waker(&waker))
}

#[test]
fn a_semaphores_waiters_are_served_in_order_when_one_gives_up() {
    let order = evloop::run(async {
        let semaphore = Rc::new(Semaphore::new(1));
        let order = Rc::new(RefCell::new(Vec::new()));
        let held = semaphore.acquire().await;
        let spawn = |name: &'static str| {
            let (semaphore, order) = (semaphore.clone(), order.clone());
            evloop::spawn(async move {
                let _permit = semaphore.acquire().await;
                order.borrow_mut().push(name);
            })
        };
        let (a, b, c) = (spawn("A"), spawn("B"), spawn("C"));
        evloop::yield_now().await; // A, B and C stand in line
        b.abort();
        evloop::yield_now().await; // B's future is dropped
        let d = spawn("D");
        evloop::yield_now().await;
        drop(held); // the permit goes round: one holder at a time
        for task in [a, c, d] {
            task.await.unwrap();
        }
        let order = order.borrow().clone();
        order
    });
    assert_eq!(order, ["A", "C", "D"]);
}

#[test]
fn a_mutexs_waiters_are_served_in_order_when_one_gives_up() {
    let order = evloop::run(async {
        let mutex = Rc::new(Mutex::new(Vec::new()));
        let held = mutex.lock().await;
        let spawn = |name: &'static str| {
            let mutex = mutex.clone();
            evloop::spawn(async move { mutex.lock().await.push(name) })
        };
        let a = spawn("A");
        let b = spawn("B");
        let c = spawn("C");
        evloop::yield_now().await; // A, B and C stand in line
        b.abort();
        evloop::yield_now().await; // B's future is dropped
        let d = spawn("D");
        evloop::yield_now().await;
        drop(held);
        for task in [a, c, d] {
            task.await.unwrap();
        }
        let order = mutex.lock().await.clone();
        order
    });
    assert_eq!(order, ["A", "C", "D"]);
}

#[test]
fn a_full_channels_senders_are_served_in_order_when_one_gives_up() {
    let received = evloop::run(async {
        let (tx, mut rx) = mpsc::channel(1);
        tx.send("first").await.unwrap();
        let spawn = |name: &'static str| {
            let tx = tx.clone();
            evloop::spawn(async move { tx.send(name).await.unwrap() })
        };
        let (a, b, c) = (spawn("A"), spawn("B"), spawn("C"));
        evloop::yield_now().await; // A, B and C wait for room
        b.abort();
        evloop::yield_now().await;
        let d = spawn("D");
        evloop::yield_now().await;
        let mut received = Vec::new();
        for _ in 0..4 {
            received.push(rx.recv().await.unwrap()); // each makes room for one
        }
        for task in [a, c, d] {
            task.await.unwrap();
        }
        received
    });
    assert_eq!(received, ["first", "A", "C", "D"]);
}

#[test]
fn a_full_channel_refuses_try_send_and_gives_the_value_back() {
    let (tx, rx) = mpsc::channel(1);
    tx.try_send(1).unwrap();
    let full = tx.try_send(2).unwrap_err();
    assert!(matches!(full, mpsc::TrySendError::Full(2)), "{full:?}");
    drop(rx);
    let closed = tx.try_send(3).unwrap_err();
    assert_eq!(closed.into_inner(), 3);
}

#[test]
fn a_hundred_tasks_locking_ten_times_take_turns() {
    let holders = evloop::run(async {
        let mutex = Arc::new(Mutex::new(()));
        let holders = Rc::new(RefCell::new(Vec::new()));
        let tasks: Vec<_> = (0..100)
            .map(|id| {
                let (mutex, holders) = (mutex.clone(), holders.clone());
                evloop::spawn(async move {
                    for _ in 0..10 {
                        let _guard = mutex.lock().await;
                        holders.borrow_mut().push(id);
                        evloop::yield_now().await; // others queue up meanwhile
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        Rc::try_unwrap(holders).unwrap().into_inner()
    });
    assert_eq!(holders.len(), 1_000);
    let repeats = holders.windows(2).filter(|w| w[0] == w[1]).count();
    assert_eq!(repeats, 0, "a task re-took the lock it had just released");
    // Round-robin: each task's ten turns are a hundred acquisitions apart.
    for (i, window) in holders.windows(101).enumerate() {
        assert_eq!(window[0], window[100], "at acquisition {i}");
    }
}

#[test]
fn a_thread_blocked_on_a_semaphore_waits_in_line_with_the_tasks() {
    let semaphore = Arc::new(Semaphore::new(1));
    let held = semaphore.try_acquire().unwrap();
    let mut task = Box::pin(semaphore.acquire());
    assert!(
        poll_once(&mut task).is_pending(),
        "the task is first in line"
    );
    let thread = {
        let semaphore = semaphore.clone();
        std::thread::spawn(move || drop(semaphore.blocking_acquire()))
    };
    drop(held);
    let Poll::Ready(permit) = poll_once(&mut task) else {
        panic!("the task came first, so it is served first");
    };
    drop(permit);
    thread.join().unwrap();
    assert_eq!(semaphore.available_permits(), 1);
}

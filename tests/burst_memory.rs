//! A queue gives back the memory a burst grew: a million messages through a
//! channel, a crowd of waiters, a big `JoinSet` — drained, each holds no more than
//! a small queue's room, though the receiver, the semaphore, the set are kept.
//!
//! One test in this binary, so that no other test allocates while it counts.

use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::Context;

use evloop::sync::{mpsc, Semaphore};

#[path = "common/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::live;

/// Messages (or waiters, or tasks) in a burst.
const BURST: usize = if cfg!(miri) { 10_000 } else { 1_000_000 };

/// Memory a drained queue may keep: room for a few thousand entries.
const KEPT: isize = 1 << 20;

/// Polls `future` once with a waker that does nothing.
fn poll_once<F: Future>(future: F) -> bool {
    let waker = futures_task::noop_waker();
    pin!(future)
        .as_mut()
        .poll(&mut Context::from_waker(&waker))
        .is_ready()
}

/// Ends the process with a failure if the test has not finished in `seconds`: a
/// lost wake must fail the suite, not stop it. (Started before anything is
/// counted: the watchdog allocates nothing after.)
fn deadline(seconds: u64) -> std::sync::mpsc::Sender<()> {
    let (done, finished) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        if finished
            .recv_timeout(std::time::Duration::from_secs(seconds))
            .is_err()
        {
            eprintln!("drained_queues_give_their_burst_back: still running after {seconds} s");
            std::process::exit(1);
        }
    });
    done
}

#[test]
fn drained_queues_give_their_burst_back() {
    let done = deadline(60);
    for bounded in [false, true] {
        let (tx, mut rx) = match bounded {
            true => mpsc::channel::<[u8; 64]>(BURST),
            false => mpsc::unbounded::<[u8; 64]>(),
        };
        let before = live();
        for _ in 0..BURST {
            tx.try_send([7; 64]).unwrap();
        }
        let full = live() - before;
        for _ in 0..BURST {
            rx.try_recv().unwrap();
        }
        let drained = live() - before;
        println!("mpsc (bounded: {bounded}): {full} B full, {drained} B drained");
        assert!(full > (BURST * 64) as isize, "the burst did not show");
        assert!(drained < KEPT, "drained, the channel holds {drained} B");
    }

    // A crowd of waiters on a semaphore, served one by one.
    let permits = Rc::new(Semaphore::new(0));
    let before = live();
    let mut waiting: Vec<_> = (0..BURST / 10)
        .map(|_| {
            let permits = permits.clone();
            Box::pin(async move { drop(permits.acquire().await) })
        })
        .collect();
    for future in &mut waiting {
        assert!(!poll_once(future.as_mut()), "waits: no permit");
    }
    permits.add_permits(BURST / 10);
    for future in &mut waiting {
        assert!(poll_once(future.as_mut()), "served");
    }
    drop(waiting);
    let held = live() - before;
    println!("semaphore after {} waiters: {held} B", BURST / 10);
    assert!(held < KEPT, "the semaphore's wait list holds {held} B");

    // A big JoinSet, joined to the last task.
    evloop::run(async {
        let mut set = evloop::JoinSet::new();
        let before = live();
        for i in 0..BURST / 10 {
            set.spawn(async move { i });
        }
        while set.join_next().await.is_some() {}
        // The loop gives its own burst room (task list, run queue) back when it
        // next sleeps: let it.
        evloop::time::sleep(std::time::Duration::from_millis(1)).await;
        let held = live() - before;
        println!("JoinSet after {} tasks: {held} B", BURST / 10);
        assert!(held < KEPT, "the drained set holds {held} B");
    });

    // A burst of timers, armed and cancelled: the wheel's entries.
    evloop::run(async {
        let before = live();
        let mut sleeps: Vec<_> = (0..BURST / 10)
            .map(|_| Box::pin(evloop::time::sleep(std::time::Duration::from_secs(60))))
            .collect();
        for sleep in &mut sleeps {
            assert!(!poll_once(sleep.as_mut()), "armed, not due");
        }
        drop(sleeps);
        // As with the tasks: the room goes back when the loop next sleeps.
        evloop::time::sleep(std::time::Duration::from_millis(1)).await;
        let held = live() - before;
        println!("timers after {} sleeps: {held} B", BURST / 10);
        assert!(held < KEPT, "the emptied wheel holds {held} B");
    });
    let _ = done.send(());
}

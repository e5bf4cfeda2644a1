//! The runtime: block_on, turn, handles, wakers across threads, and dropping.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use evloop::{Builder, Runtime};

#[test]
fn a_waker_woken_from_another_thread_completes_a_task() {
    let runtime = Runtime::new().unwrap();
    let slot: Arc<Mutex<(bool, Option<Waker>)>> = Arc::default();
    let (registered_tx, registered_rx) = mpsc::channel();
    let waker_slot = slot.clone();
    let waiter = runtime.spawn(std::future::poll_fn(move |cx| {
        let mut slot = waker_slot.lock().unwrap();
        if slot.0 {
            return Poll::Ready("woken");
        }
        slot.1 = Some(cx.waker().clone());
        let _ = registered_tx.send(());
        Poll::Pending
    }));
    let thread_slot = slot.clone();
    let waker_thread = std::thread::spawn(move || {
        registered_rx.recv().unwrap();
        let waker = {
            let mut slot = thread_slot.lock().unwrap();
            slot.0 = true;
            slot.1.take().unwrap()
        };
        waker.wake();
    });
    assert_eq!(runtime.block_on(waiter).unwrap(), "woken");
    waker_thread.join().unwrap();
}

#[test]
fn a_wake_from_another_thread_during_the_tasks_own_poll_is_not_lost() {
    evloop::run(async {
        let task = evloop::spawn(async {
            let mut polls = 0;
            std::future::poll_fn(|cx| {
                polls += 1;
                if polls == 1 {
                    // Woken, and the wake finished, before this poll returns.
                    let waker = cx.waker().clone();
                    std::thread::spawn(move || waker.wake()).join().unwrap();
                    return Poll::Pending;
                }
                Poll::Ready(polls)
            })
            .await
        });
        let polls = evloop::time::timeout(Duration::from_secs(10), task).await;
        assert_eq!(polls.expect("the task was never polled again").unwrap(), 2);
    });
}

#[test]
fn dropping_a_runtime_runs_the_destructors_of_its_pending_tasks() {
    struct Counted(Rc<Cell<usize>>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }
    let dropped = Rc::new(Cell::new(0));
    let runtime = Runtime::new().unwrap();
    let mut handles = Vec::new();
    let tasks = if cfg!(miri) { 50 } else { 1_000 };
    for _ in 0..tasks {
        let guard = Counted(dropped.clone());
        handles.push(runtime.spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        }));
    }
    // Let every task start, so each is parked inside its future.
    runtime.block_on(async {
        for _ in 0..20 {
            evloop::yield_now().await;
        }
    });
    assert_eq!(dropped.get(), 0);
    drop(runtime);
    assert_eq!(dropped.get(), tasks);
    // Every handle resolves as cancelled: poll them on a new runtime.
    let other = Runtime::new().unwrap();
    for handle in handles {
        assert!(other.block_on(handle).unwrap_err().is_cancelled());
    }
}

#[test]
#[should_panic(expected = "evloop::spawn called outside a runtime")]
fn spawn_outside_a_runtime_panics_with_a_message_that_says_so() {
    drop(evloop::spawn(async {}));
}

#[test]
#[should_panic(expected = "already running an evloop loop")]
fn block_on_inside_block_on_panics() {
    let runtime = Rc::new(Runtime::new().unwrap());
    let inner = runtime.clone();
    runtime.block_on(async move {
        inner.block_on(async {});
    });
}

#[test]
#[should_panic(expected = "already running an evloop loop")]
fn a_second_runtime_cannot_block_on_inside_the_first() {
    evloop::run(async {
        evloop::run(async {});
    });
}

#[test]
fn block_on_can_be_called_again_after_it_returns() {
    let runtime = Runtime::new().unwrap();
    assert_eq!(runtime.block_on(async { 1 }), 1);
    let handle = runtime.spawn(async { 2 });
    assert_eq!(runtime.block_on(handle).unwrap(), 2);
}

#[test]
fn turn_drives_tasks_without_block_on() {
    let runtime = Runtime::new().unwrap();
    let done = Rc::new(Cell::new(false));
    let flag = done.clone();
    let task = runtime.spawn(async move {
        evloop::yield_now().await;
        flag.set(true);
    });
    let mut turns = 0;
    while !task.is_finished() {
        turns += 1;
        runtime.turn(Some(Duration::from_millis(50)));
        assert!(turns < 10, "the task should finish in a couple of turns");
    }
    assert!(done.get());
}

#[test]
fn turn_returns_how_many_tasks_it_polled() {
    let runtime = Runtime::new().unwrap();
    for _ in 0..3 {
        drop(runtime.spawn(async {}));
    }
    assert_eq!(runtime.turn(Some(Duration::ZERO)), 3);
    assert_eq!(runtime.turn(Some(Duration::ZERO)), 0);
}

#[test]
fn event_interval_bounds_the_polls_of_one_turn() {
    let runtime = Builder::new().event_interval(2).build().unwrap();
    for _ in 0..5 {
        drop(runtime.spawn(async {}));
    }
    assert_eq!(runtime.turn(Some(Duration::ZERO)), 2);
    assert_eq!(runtime.turn(Some(Duration::ZERO)), 2);
    assert_eq!(runtime.turn(Some(Duration::ZERO)), 1);
}

#[test]
fn event_interval_zero_is_a_clear_error() {
    let err = Builder::new().event_interval(0).build().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("event_interval"), "{err}");
}

#[test]
fn handle_spawn_from_another_thread_runs_on_the_loop() {
    let runtime = Runtime::new().unwrap();
    let handle = runtime.handle();
    let loop_thread = std::thread::current().id();
    let remote =
        std::thread::spawn(move || handle.spawn(async move { std::thread::current().id() }))
            .join()
            .unwrap();
    assert_eq!(runtime.block_on(remote).unwrap(), loop_thread);
}

#[test]
fn handle_spawn_after_the_runtime_is_dropped_resolves_as_cancelled() {
    let runtime = Runtime::new().unwrap();
    let handle = runtime.handle();
    drop(runtime);
    let remote = handle.spawn(async { 1 });
    let err = remote.join().unwrap_err();
    assert!(err.is_cancelled(), "{err}");
}

#[test]
fn a_remote_spawn_racing_the_runtimes_drop_is_never_stranded() {
    for _ in 0..50 {
        let runtime = Runtime::new().unwrap();
        let handle = runtime.handle();
        let spawner = std::thread::spawn(move || {
            (0..20)
                .map(|i| handle.spawn(async move { i }))
                .collect::<Vec<_>>()
        });
        runtime.turn(Some(Duration::ZERO));
        drop(runtime);
        for remote in spawner.join().unwrap() {
            // Each either ran or was cancelled; none hangs.
            match remote.join() {
                Ok(_) => {}
                Err(err) => assert!(err.is_cancelled()),
            }
        }
    }
}

#[test]
fn remote_handle_abort_cancels_the_task() {
    let runtime = Runtime::new().unwrap();
    let remote = runtime.handle().spawn(std::future::pending::<()>());
    runtime.turn(Some(Duration::ZERO));
    remote.abort();
    let err = runtime.block_on(remote).unwrap_err();
    assert!(err.is_cancelled());
}

#[test]
fn a_panic_in_a_remote_task_is_a_panic_error() {
    let runtime = Runtime::new().unwrap();
    let remote = runtime.handle().spawn(async { panic!("remote boom") });
    let err = runtime.block_on(remote).unwrap_err();
    assert!(err.is_panic());
    assert!(err.to_string().contains("remote boom"));
}

#[test]
fn block_on_wakes_when_its_future_is_woken_from_another_thread() {
    let runtime = Runtime::new().unwrap();
    let (tx, rx) = evloop::sync::oneshot::channel();
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        tx.send(9).unwrap();
    });
    assert_eq!(runtime.block_on(rx).unwrap(), 9);
    sender.join().unwrap();
}

#[test]
#[should_panic(expected = "it would deadlock")]
fn remote_handle_join_on_the_loop_thread_panics() {
    let other = Runtime::new().unwrap();
    let remote = other.handle().spawn(async {});
    evloop::run(async move {
        let _ = remote.join();
    });
}

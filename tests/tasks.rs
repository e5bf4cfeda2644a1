//! Tasks: spawning, joining, aborting, panics and fair turns.

use std::cell::RefCell;
use std::rc::Rc;

use evloop::{yield_now, Runtime};

/// Sets a flag when dropped: proves a future was dropped.
struct DropFlag(Rc<RefCell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        *self.0.borrow_mut() = true;
    }
}

/// Tasks in the big test: fewer under Miri, which runs code ~1,000 times slower.
const TASKS: u64 = if cfg!(miri) { 100 } else { 10_000 };

#[test]
fn ten_thousand_tasks_join_with_their_results() {
    let sum = evloop::run(async {
        let handles: Vec<_> = (0..TASKS)
            .map(|i| evloop::spawn(async move { i * 2 }))
            .collect();
        let mut sum = 0;
        for (i, handle) in handles.into_iter().enumerate() {
            let value = handle.await.unwrap();
            assert_eq!(value, i as u64 * 2);
            sum += value;
        }
        sum
    });
    assert_eq!(sum, (0..TASKS).map(|i| i * 2).sum::<u64>());
}

#[test]
fn abort_drops_the_future_and_the_handle_says_cancelled() {
    let dropped = Rc::new(RefCell::new(false));
    let flag = DropFlag(dropped.clone());
    let dropped_seen = dropped.clone();
    evloop::run(async move {
        let handle = evloop::spawn(async move {
            let _flag = flag;
            std::future::pending::<()>().await;
        });
        yield_now().await; // let it start and park
        assert!(!*dropped_seen.borrow(), "not dropped before abort");
        handle.abort();
        let err = handle.await.unwrap_err();
        assert!(err.is_cancelled(), "{err:?}");
        assert!(!err.is_panic());
        assert!(*dropped_seen.borrow(), "abort dropped the future");
    });
    assert!(*dropped.borrow());
}

#[test]
fn abort_before_the_first_poll_means_the_task_never_runs() {
    evloop::run(async {
        let ran = Rc::new(RefCell::new(false));
        let ran_in_task = ran.clone();
        let handle = evloop::spawn(async move {
            *ran_in_task.borrow_mut() = true;
        });
        handle.abort(); // queued by the spawn, and now by the abort too
        handle.abort();
        assert!(handle.await.unwrap_err().is_cancelled());
        for _ in 0..3 {
            yield_now().await; // a second queue entry, if any, must not poll it
        }
        assert!(!*ran.borrow(), "an aborted task never starts");
    });
}

#[test]
fn abort_does_not_drop_the_future_inside_the_callers_poll() {
    evloop::run(async {
        let dropped = Rc::new(RefCell::new(false));
        let flag = DropFlag(dropped.clone());
        let handle = evloop::spawn(async move {
            let _flag = flag;
            std::future::pending::<()>().await;
        });
        yield_now().await;
        handle.abort();
        assert!(
            !*dropped.borrow(),
            "the future is dropped at the loop's next step, not now"
        );
        assert!(handle.await.unwrap_err().is_cancelled());
        assert!(*dropped.borrow());
    });
}

#[test]
fn a_panicking_task_gives_a_panic_error_and_others_finish() {
    evloop::run(async {
        let before = evloop::spawn(async { 1 });
        let bad = evloop::spawn(async {
            yield_now().await;
            panic!("task exploded on purpose");
        });
        let after = evloop::spawn(async {
            yield_now().await;
            yield_now().await;
            2
        });
        let err = bad.await.unwrap_err();
        assert!(err.is_panic());
        assert!(!err.is_cancelled());
        assert!(
            err.to_string().contains("task exploded on purpose"),
            "{err}"
        );
        let payload = err.into_panic();
        assert_eq!(
            payload.downcast_ref::<&str>(),
            Some(&"task exploded on purpose")
        );
        assert_eq!(before.await.unwrap() + after.await.unwrap(), 3);
    });
}

#[test]
fn two_yielding_tasks_interleave() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let runtime = Runtime::new().unwrap();
    let tasks: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|name| {
            let log = log.clone();
            runtime.spawn(async move {
                for i in 0..3 {
                    log.borrow_mut().push(format!("{name}{i}"));
                    yield_now().await;
                }
            })
        })
        .collect();
    runtime.block_on(async {
        for task in tasks {
            task.await.unwrap();
        }
    });
    assert_eq!(*log.borrow(), ["a0", "b0", "a1", "b1", "a2", "b2"]);
}

#[test]
fn two_tasks_that_never_yield_run_one_after_the_other() {
    let log = Rc::new(RefCell::new(Vec::new()));
    evloop::run({
        let log = log.clone();
        async move {
            let tasks: Vec<_> = ["a", "b"]
                .into_iter()
                .map(|name| {
                    let log = log.clone();
                    evloop::spawn(async move {
                        for i in 0..3 {
                            log.borrow_mut().push(format!("{name}{i}"));
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
        }
    });
    assert_eq!(*log.borrow(), ["a0", "a1", "a2", "b0", "b1", "b2"]);
}

#[test]
fn a_dropped_handle_detaches_the_task_which_keeps_running() {
    evloop::run(async {
        let (tx, rx) = evloop::sync::oneshot::channel();
        drop(evloop::spawn(async move {
            yield_now().await;
            tx.send(5).unwrap();
        }));
        assert_eq!(rx.await.unwrap(), 5);
    });
}

#[test]
fn is_finished_turns_true_when_the_task_ends() {
    evloop::run(async {
        let handle = evloop::spawn(async { yield_now().await });
        assert!(!handle.is_finished());
        while !handle.is_finished() {
            yield_now().await;
        }
        handle.await.unwrap();
    });
}

#[test]
fn a_task_that_aborts_itself_is_dropped_at_its_next_turn() {
    evloop::run(async {
        let dropped = Rc::new(RefCell::new(false));
        let flag = DropFlag(dropped.clone());
        let own_handle: Rc<RefCell<Option<evloop::JoinHandle<()>>>> = Rc::default();
        let inner = own_handle.clone();
        let handle = evloop::spawn(async move {
            let _flag = flag;
            yield_now().await;
            let me = inner
                .borrow_mut()
                .take()
                .expect("handle stored before the task ran twice");
            me.abort();
            drop(me);
            std::future::pending::<()>().await;
        });
        *own_handle.borrow_mut() = Some(handle);
        for _ in 0..5 {
            yield_now().await;
        }
        assert!(
            own_handle.borrow().is_none(),
            "the task took its own handle"
        );
        assert!(
            *dropped.borrow(),
            "the self-aborted task's future was dropped"
        );
    });
}

#[test]
fn named_tasks_show_their_name_and_spawn_site() {
    evloop::run(async {
        let handle = evloop::task::Builder::new()
            .name("spinner")
            .spawn(async { 1 });
        let debug = format!("{handle:?}");
        assert!(debug.contains("spinner"), "{debug}");
        assert!(debug.contains("tests/tasks.rs"), "{debug}");
        handle.await.unwrap();
    });
}

#[test]
fn join_error_display_says_what_happened() {
    evloop::run(async {
        let handle = evloop::spawn(std::future::pending::<()>());
        handle.abort();
        let err = handle.await.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("task {} was cancelled: aborted", err.task_id())
        );
    });
}

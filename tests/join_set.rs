//! JoinSet: completion order, spawn order, aborting.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use evloop::time::sleep;
use evloop::{Builder, JoinSet};

fn virtual_runtime() -> evloop::Runtime {
    Builder::new().virtual_time(true).build().unwrap()
}

fn sleepers(set: &mut JoinSet<u64>) {
    for ms in [30, 10, 20] {
        set.spawn(async move {
            sleep(Duration::from_millis(ms)).await;
            ms
        });
    }
}

#[test]
fn join_next_returns_tasks_in_the_order_they_finish() {
    virtual_runtime().block_on(async {
        let mut set = JoinSet::new();
        sleepers(&mut set);
        assert_eq!(set.len(), 3);
        let mut order = Vec::new();
        while let Some(result) = set.join_next().await {
            order.push(result.unwrap());
        }
        assert_eq!(order, [10, 20, 30]);
        assert!(set.is_empty());
    });
}

#[test]
fn join_next_keeps_the_finish_order_of_tasks_that_ended_while_nobody_asked() {
    virtual_runtime().block_on(async {
        let mut set = JoinSet::new();
        sleepers(&mut set);
        sleep(Duration::from_millis(100)).await; // all three end before we look
        let mut order = Vec::new();
        while let Some(result) = set.join_next().await {
            order.push(result.unwrap());
        }
        assert_eq!(order, [10, 20, 30]);
    });
}

#[test]
fn join_next_reports_aborted_and_panicked_tasks_too() {
    virtual_runtime().block_on(async {
        let mut set: JoinSet<u64> = JoinSet::new();
        set.spawn(std::future::pending());
        set.spawn(async { panic!("boom") });
        let first = set.join_next().await.unwrap();
        assert!(first.unwrap_err().is_panic());
        set.abort_all();
        let second = set.join_next().await.unwrap();
        assert!(second.unwrap_err().is_cancelled());
        assert!(set.join_next().await.is_none());
    });
}

#[test]
fn join_all_returns_outputs_in_spawn_order() {
    virtual_runtime().block_on(async {
        let mut set = JoinSet::new();
        sleepers(&mut set);
        let all: Vec<u64> = set
            .join_all()
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(all, [30, 10, 20]);
    });
}

#[test]
fn one_failure_does_not_cancel_the_others() {
    virtual_runtime().block_on(async {
        let mut set = JoinSet::new();
        set.spawn(async { panic!("one bad task") });
        set.spawn(async {
            sleep(Duration::from_millis(5)).await;
            "fine"
        });
        let results = set.join_all().await;
        assert!(results[0].as_ref().unwrap_err().is_panic());
        assert_eq!(*results[1].as_ref().unwrap(), "fine");
    });
}

#[test]
fn dropping_a_set_aborts_its_tasks() {
    virtual_runtime().block_on(async {
        let finished = Rc::new(Cell::new(0));
        let mut set = JoinSet::new();
        for _ in 0..5 {
            let finished = finished.clone();
            set.spawn(async move {
                sleep(Duration::from_secs(10)).await;
                finished.set(finished.get() + 1);
            });
        }
        evloop::yield_now().await;
        drop(set);
        sleep(Duration::from_secs(20)).await;
        assert_eq!(finished.get(), 0, "the tasks were aborted, not detached");
    });
}

#[test]
fn abort_all_cancels_every_task() {
    virtual_runtime().block_on(async {
        let mut set = JoinSet::new();
        sleepers(&mut set);
        set.abort_all();
        while let Some(result) = set.join_next().await {
            assert!(result.unwrap_err().is_cancelled());
        }
    });
}

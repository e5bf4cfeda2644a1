//! Time: sleep, timeout, interval and the virtual clock.

use std::future::Future;
use std::time::{Duration, Instant};

use evloop::time::{self, sleep, sleep_until, timeout};
use evloop::{Builder, Runtime};

fn virtual_runtime() -> Runtime {
    Builder::new().virtual_time(true).build().unwrap()
}

#[test]
fn under_virtual_time_an_hour_of_sleep_takes_no_wall_time() {
    let runtime = virtual_runtime();
    let wall = Instant::now();
    let moved = runtime.block_on(async {
        let start = time::now();
        sleep(Duration::from_secs(3600)).await;
        time::now() - start
    });
    assert_eq!(moved, Duration::from_secs(3600));
    assert!(
        wall.elapsed() < Duration::from_secs(1),
        "took {:?}",
        wall.elapsed()
    );
}

#[test]
fn under_virtual_time_an_open_socket_does_not_stop_the_clock() {
    let runtime = virtual_runtime();
    runtime.block_on(async {
        let listener = evloop::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let accepting = evloop::spawn(async move { listener.accept().await.map(|_| ()) });
        let start = time::now();
        sleep(Duration::from_secs(60)).await;
        assert_eq!(time::now() - start, Duration::from_secs(60));
        accepting.abort();
    });
}

#[test]
fn timeout_on_a_never_ready_future_gives_elapsed() {
    let runtime = virtual_runtime();
    let result = runtime.block_on(timeout(
        Duration::from_secs(5),
        std::future::pending::<()>(),
    ));
    let err = result.unwrap_err();
    assert_eq!(err.to_string(), "deadline has elapsed");
}

#[test]
fn a_timeout_counts_from_its_first_poll_as_asyncio_wait_for() {
    virtual_runtime().block_on(async {
        let limited = timeout(Duration::from_millis(10), std::future::pending::<()>());
        sleep(Duration::from_millis(100)).await; // made long before it is awaited
        let awaited_at = time::now();
        assert!(limited.await.is_err());
        assert_eq!(time::now() - awaited_at, Duration::from_millis(10));
    });
}

#[test]
fn timeout_on_a_ready_future_gives_its_output() {
    let result = evloop::run(timeout(Duration::from_secs(5), async { 7 }));
    assert_eq!(result, Ok(7));
}

#[test]
fn sleeps_fire_in_deadline_order() {
    let runtime = virtual_runtime();
    let order = runtime.block_on(async {
        let order = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let tasks: Vec<_> = [30u64, 10, 20]
            .into_iter()
            .map(|ms| {
                let order = order.clone();
                evloop::spawn(async move {
                    sleep(Duration::from_millis(ms)).await;
                    order.borrow_mut().push(ms);
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let result = order.borrow().clone();
        result
    });
    assert_eq!(order, [10, 20, 30]);
}

#[test]
fn a_real_sleep_waits_at_least_its_duration() {
    let start = Instant::now();
    evloop::run(sleep(Duration::from_millis(30)));
    assert!(start.elapsed() >= Duration::from_millis(30));
}

#[test]
fn sleep_zero_still_yields_once() {
    let log = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    evloop::run({
        let log = log.clone();
        async move {
            let other = {
                let log = log.clone();
                evloop::spawn(async move { log.borrow_mut().push("other task") })
            };
            log.borrow_mut().push("before sleep(0)");
            sleep(Duration::ZERO).await;
            log.borrow_mut().push("after sleep(0)");
            other.await.unwrap();
        }
    });
    assert_eq!(
        *log.borrow(),
        ["before sleep(0)", "other task", "after sleep(0)"]
    );
}

#[test]
fn duration_max_means_never_and_does_not_overflow() {
    let runtime = virtual_runtime();
    runtime.block_on(async {
        let never = sleep(Duration::MAX);
        assert_eq!(never.deadline(), None);
        let result = timeout(Duration::from_secs(1), never).await;
        assert!(result.is_err());
        let result = timeout(Duration::MAX, async { 3 }).await;
        assert_eq!(result, Ok(3));
    });
}

#[test]
fn sleep_until_a_past_instant_completes() {
    evloop::run(sleep_until(Instant::now() - Duration::from_secs(1)));
}

#[test]
fn a_million_dropped_sleeps_leave_no_timers_behind() {
    let runtime = virtual_runtime();
    runtime.block_on(async {
        let waker = futures_task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        for i in 0..1_000_000u64 {
            let mut sleep = sleep(Duration::from_secs(1 + i % 1000));
            if i % 2 == 0 {
                // Half are polled once (registering a timer), half never are.
                assert!(std::pin::Pin::new(&mut sleep).poll(&mut cx).is_pending());
            }
        }
    });
    assert!(format!("{runtime:?}").contains("timers: 0"), "{runtime:?}");
}

#[test]
fn interval_ticks_every_period_and_skips_missed_ticks() {
    let runtime = virtual_runtime();
    runtime.block_on(async {
        let start = time::now();
        let mut ticks = time::interval(Duration::from_secs(1));
        assert_eq!(ticks.tick().await, start);
        assert_eq!(ticks.tick().await, start + Duration::from_secs(1));
        // Miss 3.5 periods: the next tick keeps the rhythm, no burst.
        sleep(Duration::from_millis(3500)).await;
        assert_eq!(ticks.tick().await, start + Duration::from_secs(2));
        assert_eq!(ticks.tick().await, start + Duration::from_secs(5));
    });
}

#[test]
#[should_panic(expected = "period must be longer than zero")]
fn interval_of_zero_panics_clearly() {
    let _ = time::interval(Duration::ZERO);
}

#[test]
fn sleep_created_outside_a_runtime_starts_counting_at_its_first_poll() {
    let runtime = virtual_runtime();
    let nap = sleep(Duration::from_secs(10));
    assert_eq!(nap.deadline(), None);
    let moved = runtime.block_on(async {
        let start = time::now();
        nap.await;
        time::now() - start
    });
    assert_eq!(moved, Duration::from_secs(10));
}

//! Abandoned `ctrl_c()` waits leave nothing behind and do not slow later polls.
//! One test in its own binary: it counts the bytes the process holds.

use std::future::Future;
use std::pin::pin;
use std::task::Context;
use std::time::{Duration, Instant};

#[path = "common/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::live;

/// A waker of its own, as each waiting task has.
struct Own;

impl std::task::Wake for Own {
    fn wake(self: std::sync::Arc<Self>) {}
}

/// Makes a `ctrl_c()` future, polls it once with a waker of its own (it takes a
/// place in line), and drops it.
fn wait_and_give_up() {
    let waker = std::task::Waker::from(std::sync::Arc::new(Own));
    let mut waiting = pin!(evloop::signal::ctrl_c());
    let poll = waiting.as_mut().poll(&mut Context::from_waker(&waker));
    assert!(poll.is_pending());
}

/// How long `count` abandoned waits take.
fn time(count: usize) -> Duration {
    let start = Instant::now();
    for _ in 0..count {
        wait_and_give_up();
    }
    start.elapsed()
}

#[test]
fn a_hundred_thousand_dropped_ctrl_c_waits_leave_nothing_and_stay_fast() {
    wait_and_give_up(); // installs the handler, starts the signal thread
    let before = live();
    // Each figure is the best of five rounds of 2,000: one preemption on a busy
    // machine must not decide it.
    let best = || (0..5).map(|_| time(2_000)).min().unwrap();
    let first = best();
    time(80_000);
    let last = best();
    let grown = live() - before;
    eprintln!("100,000 dropped waits: {grown} bytes held; first 2,000 {first:?}, last {last:?}");
    assert!(grown < 1 << 20, "100,000 dropped waits held {grown} bytes");
    // Polling is O(1): the last rounds are no slower than the first (with a wide
    // margin for a busy machine).
    assert!(
        last < first * 3,
        "first 2,000: {first:?}, last 2,000: {last:?}"
    );
}

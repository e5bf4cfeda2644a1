//! What it shows: a blocking call inside a task holds the whole loop; the same
//! call on the blocking pool (`spawn_blocking`, asyncio's `run_in_executor`) lets
//! the loop run — and several such calls then overlap.
//! What to look for: `sequential` takes ~0.5 s and the ticker gets almost no
//! ticks; `pool` takes ~0.1 s and the ticker keeps ticking.
//! Try next: replace the `std::thread::sleep` in `slow_systemcall` with a
//! blocking socket read, or raise `CALLS` past the pool's thread count.
//!
//! Lesson 3 of the README's six, after the notes' `slow_systemcall()` — a 0.1 s
//! `select` called five times: 0.5 s one after another, 0.1 s on five threads,
//! because a thread waiting in a system call holds nothing the others need (in
//! Python, not even the GIL). A ticker task counts 10 ms ticks meanwhile.

mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use evloop::time::interval;

/// How many slow calls each run makes.
const CALLS: usize = 5;

/// How long one slow call blocks.
const CALL: Duration = Duration::from_millis(100);

/// The ticker's period.
const TICK: Duration = Duration::from_millis(10);

fn main() {
    common::quit_quietly_when_stdout_closes();
    common::no_options(
        "blocking_io",
        include_str!("blocking_io.rs"),
        "blocking_io (no options)",
    );
    let runtime = evloop::Builder::new()
        .max_blocking_threads(CALLS)
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let (seconds, ticks) = with_ticker(sequential()).await;
        println!("sequential: {seconds:.2} s, ticks: {ticks}");
        let (seconds, ticks) = with_ticker(pool()).await;
        println!("pool: {seconds:.2} s, ticks: {ticks}");
    });
}

/// Stands in for a slow system call: blocks this thread for 100 ms.
fn slow_systemcall() {
    std::thread::sleep(CALL);
}

/// The calls one after another, straight on the loop's thread.
async fn sequential() {
    for _ in 0..CALLS {
        slow_systemcall();
    }
}

/// The calls on the blocking pool, all at once; the loop waits for them all.
async fn pool() {
    let calls: Vec<_> = (0..CALLS)
        .map(|_| evloop::spawn_blocking(slow_systemcall))
        .collect();
    for call in calls {
        call.await.expect("a slow call panicked");
    }
}

/// Runs `work` beside a ticker task; returns the seconds it took and the ticks
/// the ticker counted meanwhile.
async fn with_ticker(work: impl std::future::Future<Output = ()>) -> (f64, usize) {
    let ticks = Rc::new(Cell::new(0));
    let ticker = {
        let ticks = ticks.clone();
        evloop::spawn(async move {
            let mut every = interval(TICK);
            every.tick().await; // the first tick is immediate: not a tick of work time
            loop {
                every.tick().await;
                ticks.set(ticks.get() + 1);
            }
        })
    };
    evloop::yield_now().await; // let the ticker start
    let start = Instant::now();
    work.await;
    let seconds = start.elapsed().as_secs_f64();
    ticker.abort();
    let counted = ticks.get();
    let _ = ticker.await;
    (seconds, counted)
}

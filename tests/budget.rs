//! The cooperative budget: a task that never meets a pending future still lets
//! the rest of the loop run. Each test drives the loop with `turn` and counts the
//! turns a task beside the busy one needs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use evloop::sync::mpsc;
use evloop::Runtime;

/// Turns a due timer's task may need: it is polled once to see its timer is due
/// (and yield, as `sleep(0)` does), once more to finish.
const FEW_TURNS: usize = 4;

/// Ends the process if the loop never comes back while it lives: without a
/// budget, a busy task holds `turn` for ever, and a hanging test says nothing.
struct Watchdog(Arc<AtomicBool>);

impl Watchdog {
    fn new(what: &'static str) -> Watchdog {
        let done = Arc::new(AtomicBool::new(false));
        if cfg!(miri) {
            return Watchdog(done); // Miri wants every thread joined before the end
        }
        let seen = done.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(60));
            if !seen.load(Ordering::SeqCst) {
                eprintln!("{what}: the loop never came back from the busy task");
                std::process::exit(1);
            }
        });
        Watchdog(done)
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Drives `runtime` with `turn` until `done` says so; returns the turns it took.
fn turns_until(runtime: &Runtime, done: impl Fn() -> bool) -> usize {
    let mut turns = 0;
    while !done() {
        runtime.turn(Some(Duration::ZERO));
        turns += 1;
        assert!(turns < 1_000, "still not done after 1,000 turns");
    }
    turns
}

#[test]
fn a_task_looping_on_an_always_ready_channel_cannot_starve_a_due_timer() {
    let _watchdog = Watchdog::new("channel loop");
    let runtime = Runtime::new().unwrap();
    let busy = runtime.spawn(async {
        let (tx, mut rx) = mpsc::unbounded();
        loop {
            tx.send(1u8).await.unwrap();
            rx.recv().await.unwrap(); // always ready: it never returns Pending
        }
    });
    let timer = runtime.spawn(evloop::time::sleep(Duration::ZERO));
    let turns = turns_until(&runtime, || timer.is_finished());
    assert!(turns <= FEW_TURNS, "the timer's task needed {turns} turns");
    assert!(!busy.is_finished());
}

#[test]
fn a_task_spawning_and_joining_at_once_cannot_starve_a_due_timer() {
    let _watchdog = Watchdog::new("oneshot loop");
    let runtime = Runtime::new().unwrap();
    let busy = runtime.spawn(async {
        loop {
            let (tx, rx) = evloop::sync::oneshot::channel();
            tx.send(()).unwrap();
            rx.await.unwrap(); // ready at once, every time
        }
    });
    let timer = runtime.spawn(evloop::time::sleep(Duration::ZERO));
    let turns = turns_until(&runtime, || timer.is_finished());
    assert!(turns <= FEW_TURNS, "the timer's task needed {turns} turns");
    assert!(!busy.is_finished());
}

//! Testing concurrency: run a test under many seeded orders, replay the one that
//! failed, and check that a test really replays.
//!
//! Floor 3 (it builds runtimes). The loop runs ready tasks in FIFO order unless a
//! seed says otherwise ([`Builder::seed`](crate::Builder::seed)), so a test that
//! passes once passes for ever — and the ordering bug it hides (a task that
//! assumes another has run, a read and a write that straddle an `.await`, a message
//! that overtakes another) waits for production. [`explore`] runs the test once per
//! seed, each time on a fresh runtime with virtual time and that seed, and names
//! the seed that broke it:
//!
//! ```
//! use std::cell::Cell;
//! use std::rc::Rc;
//!
//! // Passes under every order: the consumer waits for the producer's value.
//! evloop::check::explore(0..50, || async {
//!     let (tx, rx) = evloop::sync::oneshot::channel();
//!     let seen = Rc::new(Cell::new(0));
//!     let consumer = evloop::spawn({
//!         let seen = seen.clone();
//!         async move { seen.set(rx.await.unwrap()) }
//!     });
//!     evloop::spawn(async move { tx.send(42).unwrap() });
//!     consumer.await.unwrap();
//!     assert_eq!(seen.get(), 42);
//! });
//! ```
//!
//! When a seed fails, `explore` prints, before the panic goes on:
//!
//! ```text
//! evloop: failed with seed 17; replay it alone with EVLOOP_SEED=17 cargo test the_test
//! ```
//!
//! `EVLOOP_SEED` seeds every runtime in the process, and `explore` then runs that
//! seed only: the failure comes back, every time, under a debugger or with
//! `EVLOOP_TRACE=timeline`. [`same_schedule`] checks the premise — that the test
//! is deterministic under one seed (no real sockets, no threads, no clocks but
//! evloop's): it runs the body twice and names the first poll where they differ.

use std::future::Future;
use std::panic::{self, AssertUnwindSafe};

use crate::replay::Step;
use crate::{Builder, Runtime};

/// Runs `body()` once per seed of `seeds` — or only `EVLOOP_SEED`'s, when it is
/// set — each time on a fresh runtime with `virtual_time(true)` and that seed. On
/// the first panic it prints `evloop: failed with seed S; replay it alone with
/// EVLOOP_SEED=S` to stderr (inside a test, followed by the command that runs that
/// test alone), then re-raises the panic.
///
/// # Panics
///
/// As `body`'s future panics, under the first seed that makes it; and if
/// `EVLOOP_SEED` is not a number.
pub fn explore<S, B, Fut>(seeds: S, body: B)
where
    S: IntoIterator<Item = u64>,
    B: Fn() -> Fut,
    Fut: Future,
{
    let from_env = seed_from_env();
    let seeds: Box<dyn Iterator<Item = u64>> = match from_env {
        Some(seed) => Box::new(std::iter::once(seed)),
        None => Box::new(seeds.into_iter()),
    };
    for seed in seeds {
        let runtime = seeded(seed);
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
            runtime.block_on(body());
        }));
        drop(runtime);
        if let Err(panic) = outcome {
            eprintln!("{}", replay_line(seed));
            panic::resume_unwind(panic);
        }
    }
}

/// Runs `body()` twice on fresh runtimes with `virtual_time(true)` and `seed`, and
/// panics if the two runs polled differently, naming the first poll that differs
/// (its turn, the task's spawn number and spawn site, and how each poll ended). A
/// test that passes this replays exactly under any seed.
///
/// ```
/// evloop::check::same_schedule(3, || async {
///     let mut set = evloop::JoinSet::new();
///     for i in 0..5 {
///         set.spawn(async move { evloop::yield_now().await; i });
///     }
///     set.join_all().await;
/// });
/// ```
///
/// # Panics
///
/// If the runs differ, or `body`'s future panics.
pub fn same_schedule<B, Fut>(seed: u64, body: B)
where
    B: Fn() -> Fut,
    Fut: Future,
{
    let run = || {
        let runtime = seeded(seed);
        runtime.keep_steps();
        runtime.block_on(body());
        runtime.steps()
    };
    let (first, second) = (run(), run());
    if let Some(difference) = first_difference(&first, &second) {
        panic!("evloop::check::same_schedule: the two runs with seed {seed} differ {difference}");
    }
}

/// Where two runs' polls first differ, in words; `None` if they do not.
fn first_difference(first: &[Step], second: &[Step]) -> Option<String> {
    let describe = |step: Option<&Step>| match step {
        None => "no poll (the run had ended)".to_string(),
        Some(step) => {
            let task = match step.spawn {
                0 => "block_on's future".to_string(),
                n => format!("task #{n}"),
            };
            format!(
                "turn {}: {task} spawned at {}:{} → {:?}",
                step.turn,
                step.location.file(),
                step.location.line(),
                step.result
            )
        }
    };
    let at = (0..first.len().max(second.len())).find(|&i| first.get(i) != second.get(i))?;
    Some(format!(
        "at poll {}:\n  first run:  {}\n  second run: {}",
        at + 1,
        describe(first.get(at)),
        describe(second.get(at))
    ))
}

/// A fresh runtime for `seed`, on a virtual clock.
fn seeded(seed: u64) -> Runtime {
    Builder::new()
        .virtual_time(true)
        .seed(seed)
        .build()
        .unwrap_or_else(|e| panic!("evloop::check could not start a runtime: {e}"))
}

/// `EVLOOP_SEED`, if it is set.
fn seed_from_env() -> Option<u64> {
    let value = std::env::var("EVLOOP_SEED").ok()?;
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    Some(value.parse().unwrap_or_else(|_| {
        panic!(
            "EVLOOP_SEED={value:?} is not a seed: use a number from 0 to {}",
            u64::MAX
        )
    }))
}

/// The line that says how to replay `seed`: inside a test, the whole command.
fn replay_line(seed: u64) -> String {
    let line = format!("evloop: failed with seed {seed}; replay it alone with EVLOOP_SEED={seed}");
    match std::thread::current().name() {
        // The test harness names each test's thread after the test.
        Some(test) if test != "main" => format!("{line} cargo test {test}"),
        _ => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::panic::Location;

    #[test]
    fn the_first_difference_names_the_turn_the_task_and_its_site() {
        let step = |turn, spawn| Step {
            turn,
            spawn,
            location: Location::caller(),
            result: crate::replay::Polled::Pending,
        };
        let first = [step(1, 1), step(1, 2)];
        let second = [step(1, 1), step(2, 2)];
        let said = first_difference(&first, &second).unwrap();
        assert!(said.contains("at poll 2"), "{said}");
        assert!(
            said.contains("turn 1: task #2 spawned at src/check.rs"),
            "{said}"
        );
        assert!(first_difference(&first, &first).is_none());
        let shorter = first_difference(&first, &first[..1]).unwrap();
        assert!(shorter.contains("no poll"), "{shorter}");
    }
}

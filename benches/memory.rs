//! Memory per idle task: bytes still allocated per spawned task that waits
//! forever, for 100,000 tasks. Criterion measures time, so this bench prints its
//! own figures, counted by a `GlobalAlloc` that wraps the system allocator: one
//! for tasks that hold nothing, one for tasks that keep a clone of their waker
//! (as one parked on a channel has it kept for it).

use std::future::Future;
use std::task::{Poll, Waker};

mod common;
#[path = "../tests/common/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::live;

/// Idle tasks per runtime.
const TASKS: usize = 100_000;

/// A future that never finishes and keeps a clone of its waker, as a task parked
/// on a channel or a timer has it kept for it.
fn idle_keeping_waker() -> impl Future<Output = ()> {
    let mut kept: Option<Waker> = None;
    std::future::poll_fn(move |cx| {
        kept.get_or_insert_with(|| cx.waker().clone());
        Poll::Pending
    })
}

/// Bytes per task still allocated after spawning `TASKS` tasks made by `idle`
/// on each runtime and letting every one of them start and park: (evloop, tokio).
fn per_task<F>(idle: fn() -> F) -> (f64, f64)
where
    F: Future<Output = ()> + Send + 'static,
{
    let rt = common::evloop();
    let evloop = rt.block_on(async {
        let before = live();
        for _ in 0..TASKS {
            drop(evloop::spawn(idle()));
        }
        for _ in 0..TASKS / 32 {
            evloop::yield_now().await; // let every task start and park (≤ 61 per turn)
        }
        live() - before
    });
    drop(rt);
    let rt = common::tokio();
    let tokio = rt.block_on(async {
        let before = live();
        for _ in 0..TASKS {
            drop(tokio::spawn(idle()));
        }
        for _ in 0..TASKS / 32 {
            tokio::task::yield_now().await;
        }
        live() - before
    });
    (evloop as f64 / TASKS as f64, tokio as f64 / TASKS as f64)
}

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        return; // `cargo bench -- --list`: nothing to list
    }
    let figures = [
        ("idle_task_memory", per_task(std::future::pending::<()>)),
        (
            "idle_task_memory (waker kept)",
            per_task(idle_keeping_waker),
        ),
    ];
    for (label, (evloop, tokio)) in figures {
        println!(
            "{label}: evloop {evloop:.0} B/task, tokio {tokio:.0} B/task, \
             ratio {:.2} ({TASKS} tasks)",
            evloop / tokio
        );
    }
}

//! Child processes: spawn `true` and await its exit, evloop's `process::Command`
//! beside tokio's (current-thread runtime) and `std`'s blocking `status()`; and
//! eight at once, awaited together.
//!
//! The time is mostly the kernel's (clone, exec, exit, reap): what a runtime adds
//! is how it learns of the exit — a pidfd on evloop's reactor, tokio's SIGCHLD
//! driver — and how it hands over the pipes.

use criterion::{criterion_group, criterion_main, Criterion};

mod common;

/// Children at once in the concurrent workload.
const AT_ONCE: usize = 8;

fn spawn_and_wait(c: &mut Criterion) {
    let mut group = c.benchmark_group("process_true");
    let rt = common::evloop();
    group.bench_function("evloop", |b| {
        b.iter(|| {
            rt.block_on(async {
                let status = evloop::process::Command::new("true").status().await;
                assert!(status.unwrap().success());
            })
        })
    });
    let rt = common::tokio();
    group.bench_function("tokio", |b| {
        b.iter(|| {
            rt.block_on(async {
                let status = tokio::process::Command::new("true").status().await;
                assert!(status.unwrap().success());
            })
        })
    });
    group.bench_function("std (blocking)", |b| {
        b.iter(|| {
            assert!(std::process::Command::new("true")
                .status()
                .unwrap()
                .success())
        })
    });
    group.finish();

    let mut group = c.benchmark_group("process_true_8_at_once");
    let rt = common::evloop();
    group.bench_function("evloop", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut children: Vec<_> = (0..AT_ONCE)
                    .map(|_| evloop::process::Command::new("true").spawn().unwrap())
                    .collect();
                for child in &mut children {
                    assert!(child.wait().await.unwrap().success());
                }
            })
        })
    });
    let rt = common::tokio();
    group.bench_function("tokio", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut children: Vec<_> = (0..AT_ONCE)
                    .map(|_| tokio::process::Command::new("true").spawn().unwrap())
                    .collect();
                for child in &mut children {
                    assert!(child.wait().await.unwrap().success());
                }
            })
        })
    });
    group.finish();
}

criterion_group!(benches, spawn_and_wait);
criterion_main!(benches);

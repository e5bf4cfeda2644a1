//! The blocking pool: round trips through spawn_blocking.
//!
//! Pool sizes: evloop's default is `min(32, cores + 4)` threads; tokio's is 512.

use criterion::{criterion_group, criterion_main, Criterion};

mod common;

/// Round trips per task.
const TRIPS: usize = 100;
/// Tasks in the concurrent workload.
const CONCURRENT: usize = 16;

fn spawn_blocking(c: &mut Criterion) {
    let mut group = c.benchmark_group("spawn_blocking_sequential");
    let rt = common::evloop();
    group.bench_function("evloop", |b| {
        b.iter(|| {
            rt.block_on(async {
                for i in 0..TRIPS {
                    assert_eq!(evloop::spawn_blocking(move || i).await.unwrap(), i);
                }
            })
        })
    });
    let rt = common::tokio();
    group.bench_function("tokio", |b| {
        b.iter(|| {
            rt.block_on(async {
                for i in 0..TRIPS {
                    assert_eq!(tokio::task::spawn_blocking(move || i).await.unwrap(), i);
                }
            })
        })
    });
    group.finish();

    let mut group = c.benchmark_group("spawn_blocking_concurrent");
    let rt = common::evloop();
    group.bench_function("evloop", |b| {
        b.iter(|| {
            rt.block_on(async {
                let tasks: Vec<_> = (0..CONCURRENT)
                    .map(|_| {
                        evloop::spawn(async {
                            for i in 0..TRIPS {
                                assert_eq!(evloop::spawn_blocking(move || i).await.unwrap(), i);
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.unwrap();
                }
            })
        })
    });
    let rt = common::tokio();
    group.bench_function("tokio", |b| {
        b.iter(|| {
            rt.block_on(async {
                let tasks: Vec<_> = (0..CONCURRENT)
                    .map(|_| {
                        tokio::spawn(async {
                            for i in 0..TRIPS {
                                assert_eq!(
                                    tokio::task::spawn_blocking(move || i).await.unwrap(),
                                    i
                                );
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.unwrap();
                }
            })
        })
    });
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = spawn_blocking
}
criterion_main!(benches);

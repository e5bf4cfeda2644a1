//! Tasks: spawning, yielding, waking — after tokio's own `benches/rt_*.rs`.
//! Every workload runs on both runtimes, with the same code shape.

use criterion::{criterion_group, criterion_main, Criterion};

mod common;

/// Tasks per iteration.
const TASKS: usize = 1_000;

fn spawn_many_local(c: &mut Criterion) {
    let mut group = c.benchmark_group("spawn_many_local");
    let rt = common::evloop();
    group.bench_function("evloop", |b| {
        b.iter(|| {
            rt.block_on(async {
                let handles: Vec<_> = (0..TASKS).map(|_| evloop::spawn(async {})).collect();
                for handle in handles {
                    handle.await.unwrap();
                }
            })
        })
    });
    let rt = common::tokio();
    group.bench_function("tokio", |b| {
        b.iter(|| {
            rt.block_on(async {
                let handles: Vec<_> = (0..TASKS).map(|_| tokio::spawn(async {})).collect();
                for handle in handles {
                    handle.await.unwrap();
                }
            })
        })
    });
}

fn spawn_many_remote(c: &mut Criterion) {
    let mut group = c.benchmark_group("spawn_many_remote");
    let rt = common::evloop();
    let handle = rt.handle();
    group.bench_function("evloop", |b| {
        b.iter(|| {
            let handles: Vec<_> = (0..TASKS).map(|_| handle.spawn(async {})).collect();
            rt.block_on(async {
                for handle in handles {
                    handle.await.unwrap();
                }
            })
        })
    });
    let rt = common::tokio();
    let handle = rt.handle().clone();
    group.bench_function("tokio", |b| {
        b.iter(|| {
            let handles: Vec<_> = (0..TASKS).map(|_| handle.spawn(async {})).collect();
            rt.block_on(async {
                for handle in handles {
                    handle.await.unwrap();
                }
            })
        })
    });
}

fn yield_many(c: &mut Criterion) {
    const TASKS: usize = 200;
    const YIELDS: usize = 1_000;
    let mut group = c.benchmark_group("yield_many");
    let rt = common::evloop();
    group.bench_function("evloop", |b| {
        b.iter(|| {
            rt.block_on(async {
                let handles: Vec<_> = (0..TASKS)
                    .map(|_| {
                        evloop::spawn(async {
                            for _ in 0..YIELDS {
                                evloop::yield_now().await;
                            }
                        })
                    })
                    .collect();
                for handle in handles {
                    handle.await.unwrap();
                }
            })
        })
    });
    let rt = common::tokio();
    group.bench_function("tokio", |b| {
        b.iter(|| {
            rt.block_on(async {
                let handles: Vec<_> = (0..TASKS)
                    .map(|_| {
                        tokio::spawn(async {
                            for _ in 0..YIELDS {
                                tokio::task::yield_now().await;
                            }
                        })
                    })
                    .collect();
                for handle in handles {
                    handle.await.unwrap();
                }
            })
        })
    });
}

fn ping_pong(c: &mut Criterion) {
    let mut group = c.benchmark_group("ping_pong");
    let rt = common::evloop();
    group.bench_function("evloop", |b| {
        b.iter(|| {
            rt.block_on(async {
                let pairs: Vec<_> = (0..TASKS)
                    .map(|_| {
                        evloop::spawn(async {
                            let (ping_tx, ping_rx) = evloop::sync::oneshot::channel();
                            let (pong_tx, pong_rx) = evloop::sync::oneshot::channel();
                            evloop::spawn(async move {
                                ping_rx.await.unwrap();
                                pong_tx.send(()).unwrap();
                            });
                            ping_tx.send(()).unwrap();
                            pong_rx.await.unwrap();
                        })
                    })
                    .collect();
                for pair in pairs {
                    pair.await.unwrap();
                }
            })
        })
    });
    let rt = common::tokio();
    group.bench_function("tokio", |b| {
        b.iter(|| {
            rt.block_on(async {
                let pairs: Vec<_> = (0..TASKS)
                    .map(|_| {
                        tokio::spawn(async {
                            let (ping_tx, ping_rx) = tokio::sync::oneshot::channel();
                            let (pong_tx, pong_rx) = tokio::sync::oneshot::channel();
                            tokio::spawn(async move {
                                ping_rx.await.unwrap();
                                pong_tx.send(()).unwrap();
                            });
                            ping_tx.send(()).unwrap();
                            pong_rx.await.unwrap();
                        })
                    })
                    .collect();
                for pair in pairs {
                    pair.await.unwrap();
                }
            })
        })
    });
}

/// Spawns the next link of the chain, or says the chain is done.
fn evloop_link(done: evloop::sync::oneshot::Sender<()>, left: usize) {
    if left == 0 {
        done.send(()).unwrap();
    } else {
        evloop::spawn(async move { evloop_link(done, left - 1) });
    }
}

/// The same for tokio.
fn tokio_link(done: tokio::sync::oneshot::Sender<()>, left: usize) {
    if left == 0 {
        done.send(()).unwrap();
    } else {
        tokio::spawn(async move { tokio_link(done, left - 1) });
    }
}

fn chained_spawn(c: &mut Criterion) {
    let mut group = c.benchmark_group("chained_spawn");
    let rt = common::evloop();
    group.bench_function("evloop", |b| {
        b.iter(|| {
            rt.block_on(async {
                let (done_tx, done_rx) = evloop::sync::oneshot::channel();
                evloop::spawn(async move { evloop_link(done_tx, TASKS) });
                done_rx.await.unwrap();
            })
        })
    });
    let rt = common::tokio();
    group.bench_function("tokio", |b| {
        b.iter(|| {
            rt.block_on(async {
                let (done_tx, done_rx) = tokio::sync::oneshot::channel();
                tokio::spawn(async move { tokio_link(done_tx, TASKS) });
                done_rx.await.unwrap();
            })
        })
    });
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = spawn_many_local, spawn_many_remote, yield_many, ping_pong, chained_spawn
}
criterion_main!(benches);

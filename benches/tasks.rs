//! Tasks: spawning, yielding, waking — after tokio's own `benches/rt_*.rs`. Every
//! workload runs on evloop and each single-threaded peer that can run it, with
//! the same code shape.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use futures_util::task::LocalSpawnExt;

mod common;

use common::tasks::{
    ping_pong_evloop, spawn_and_join_evloop, yield_many_evloop, TASKS, YIELDERS, YIELDS,
};

fn spawn_many_local(c: &mut Criterion) {
    let mut group = c.benchmark_group("spawn_many_local");
    group.bench_function("evloop", |b| {
        let rt = common::evloop();
        b.iter(|| rt.block_on(spawn_and_join_evloop(TASKS)))
    });
    group.bench_function("tokio", |b| {
        let rt = common::tokio();
        b.iter(|| rt.block_on(spawn_and_join_tokio(TASKS)))
    });
    group.bench_function("smol", |b| {
        let ex = common::smol();
        b.iter(|| common::smol_block_on(&ex, spawn_and_join_smol(&ex, TASKS)))
    });
    group.bench_function("monoio", |b| {
        let mut rt = common::monoio();
        b.iter(|| rt.block_on(spawn_and_join_monoio(TASKS)))
    });
    group.bench_function("local_pool", |b| {
        let mut pool = common::local_pool();
        b.iter(|| {
            let spawner = pool.spawner();
            pool.run_until(spawn_and_join_local_pool(spawner, TASKS))
        })
    });
}

/// Tracing's cost: the same workloads with the recording off and on.
fn traced(c: &mut Criterion) {
    let mut group = c.benchmark_group("traced");
    let runtimes = [
        ("off", common::evloop()),
        ("on", evloop::Builder::new().trace(true).build().unwrap()),
    ];
    for (trace, rt) in &runtimes {
        group.bench_function(format!("yield_many/{trace}"), |b| {
            b.iter(|| rt.block_on(yield_many_evloop()))
        });
        group.bench_function(format!("ping_pong/{trace}"), |b| {
            b.iter(|| rt.block_on(ping_pong_evloop()))
        });
    }
    // With the Perfetto output too: each run's events written out as trace JSON,
    // as `EVLOOP_TRACE=perfetto:PATH` does when the runtime drops (to a sink here:
    // the cost is the encoding, not the disk).
    let rt = &runtimes[1].1;
    group.bench_function("yield_many/perfetto", |b| {
        b.iter(|| {
            rt.block_on(yield_many_evloop());
            rt.timeline()
                .write_trace_json(&mut std::io::sink())
                .unwrap();
        })
    });
    group.bench_function("ping_pong/perfetto", |b| {
        b.iter(|| {
            rt.block_on(ping_pong_evloop());
            rt.timeline()
                .write_trace_json(&mut std::io::sink())
                .unwrap();
        })
    });
}

/// A seed's cost: the same three workloads on a FIFO loop and a seeded one.
fn seeded(c: &mut Criterion) {
    let mut group = c.benchmark_group("seeded");
    let runtimes = [
        ("fifo", common::evloop()),
        ("seeded", evloop::Builder::new().seed(7).build().unwrap()),
    ];
    for (order, rt) in &runtimes {
        group.bench_function(format!("spawn_many_local/{order}"), |b| {
            b.iter(|| rt.block_on(spawn_and_join_evloop(TASKS)))
        });
        group.bench_function(format!("yield_many/{order}"), |b| {
            b.iter(|| rt.block_on(yield_many_evloop()))
        });
        group.bench_function(format!("ping_pong/{order}"), |b| {
            b.iter(|| rt.block_on(ping_pong_evloop()))
        });
    }
}

async fn spawn_and_join_tokio(tasks: usize) {
    let handles: Vec<_> = (0..tasks).map(|_| tokio::spawn(async {})).collect();
    for handle in handles {
        handle.await.unwrap();
    }
}

async fn spawn_and_join_smol(ex: &async_executor::LocalExecutor<'static>, tasks: usize) {
    let handles: Vec<_> = (0..tasks).map(|_| ex.spawn(async {})).collect();
    for handle in handles {
        handle.await;
    }
}

async fn spawn_and_join_monoio(tasks: usize) {
    let handles: Vec<_> = (0..tasks).map(|_| monoio::spawn(async {})).collect();
    for handle in handles {
        handle.await;
    }
}

async fn spawn_and_join_local_pool(spawner: futures_executor::LocalSpawner, tasks: usize) {
    let handles: Vec<_> = (0..tasks)
        .map(|_| spawner.spawn_local_with_handle(async {}).unwrap())
        .collect();
    for handle in handles {
        handle.await;
    }
}

/// ns per task from a thousand to a million tasks: spawn them all, then join them.
fn spawn_scaling(c: &mut Criterion) {
    let mut group = c.benchmark_group("spawn_scaling");
    group.sample_size(10);
    for tasks in [1_000, 10_000, 100_000, 1_000_000] {
        group.throughput(Throughput::Elements(tasks as u64));
        group.bench_with_input(BenchmarkId::new("evloop", tasks), &tasks, |b, &n| {
            let rt = common::evloop();
            b.iter(|| rt.block_on(spawn_and_join_evloop(n)))
        });
        group.bench_with_input(BenchmarkId::new("tokio", tasks), &tasks, |b, &n| {
            let rt = common::tokio();
            b.iter(|| rt.block_on(spawn_and_join_tokio(n)))
        });
        group.bench_with_input(BenchmarkId::new("smol", tasks), &tasks, |b, &n| {
            let ex = common::smol();
            b.iter(|| common::smol_block_on(&ex, spawn_and_join_smol(&ex, n)))
        });
        group.bench_with_input(BenchmarkId::new("monoio", tasks), &tasks, |b, &n| {
            let mut rt = common::monoio();
            b.iter(|| rt.block_on(spawn_and_join_monoio(n)))
        });
        group.bench_with_input(BenchmarkId::new("local_pool", tasks), &tasks, |b, &n| {
            let mut pool = common::local_pool();
            b.iter(|| {
                let spawner = pool.spawner();
                pool.run_until(spawn_and_join_local_pool(spawner, n))
            })
        });
    }
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
    let mut group = c.benchmark_group("yield_many");
    group.bench_function("evloop", |b| {
        let rt = common::evloop();
        b.iter(|| rt.block_on(yield_many_evloop()))
    });
    group.bench_function("tokio", |b| {
        let rt = common::tokio();
        b.iter(|| {
            rt.block_on(async {
                let handles: Vec<_> = (0..YIELDERS)
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
    group.bench_function("smol", |b| {
        let ex = common::smol();
        b.iter(|| {
            common::smol_block_on(&ex, async {
                let handles: Vec<_> = (0..YIELDERS)
                    .map(|_| {
                        ex.spawn(async {
                            for _ in 0..YIELDS {
                                futures_lite::future::yield_now().await;
                            }
                        })
                    })
                    .collect();
                for handle in handles {
                    handle.await;
                }
            })
        })
    });
    group.bench_function("monoio", |b| {
        let mut rt = common::monoio();
        b.iter(|| {
            rt.block_on(async {
                let handles: Vec<_> = (0..YIELDERS)
                    .map(|_| {
                        monoio::spawn(async {
                            for _ in 0..YIELDS {
                                common::yield_now().await;
                            }
                        })
                    })
                    .collect();
                for handle in handles {
                    handle.await;
                }
            })
        })
    });
    group.bench_function("local_pool", |b| {
        let mut pool = common::local_pool();
        b.iter(|| {
            let spawner = pool.spawner();
            pool.run_until(async move {
                let handles: Vec<_> = (0..YIELDERS)
                    .map(|_| {
                        let task = async {
                            for _ in 0..YIELDS {
                                common::yield_now().await;
                            }
                        };
                        spawner.spawn_local_with_handle(task).unwrap()
                    })
                    .collect();
                for handle in handles {
                    handle.await;
                }
            })
        })
    });
}

fn ping_pong(c: &mut Criterion) {
    let mut group = c.benchmark_group("ping_pong");
    group.bench_function("evloop", |b| {
        let rt = common::evloop();
        b.iter(|| rt.block_on(ping_pong_evloop()))
    });
    group.bench_function("tokio", |b| {
        let rt = common::tokio();
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
    // The peers without a oneshot of their own use the futures crate's.
    group.bench_function("smol", |b| {
        let ex = std::rc::Rc::new(common::smol());
        b.iter(|| {
            common::smol_block_on(&ex, async {
                let pairs: Vec<_> = (0..TASKS)
                    .map(|_| {
                        let inner = ex.clone();
                        ex.spawn(async move {
                            let (ping_tx, ping_rx) = futures_channel::oneshot::channel();
                            let (pong_tx, pong_rx) = futures_channel::oneshot::channel();
                            inner
                                .spawn(async move {
                                    ping_rx.await.unwrap();
                                    pong_tx.send(()).unwrap();
                                })
                                .detach();
                            ping_tx.send(()).unwrap();
                            pong_rx.await.unwrap();
                        })
                    })
                    .collect();
                for pair in pairs {
                    pair.await;
                }
            })
        })
    });
    group.bench_function("monoio", |b| {
        let mut rt = common::monoio();
        b.iter(|| {
            rt.block_on(async {
                let pairs: Vec<_> = (0..TASKS)
                    .map(|_| {
                        monoio::spawn(async {
                            let (ping_tx, ping_rx) = futures_channel::oneshot::channel();
                            let (pong_tx, pong_rx) = futures_channel::oneshot::channel();
                            monoio::spawn(async move {
                                ping_rx.await.unwrap();
                                pong_tx.send(()).unwrap();
                            });
                            ping_tx.send(()).unwrap();
                            pong_rx.await.unwrap();
                        })
                    })
                    .collect();
                for pair in pairs {
                    pair.await;
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

/// The same for monoio.
fn monoio_link(done: futures_channel::oneshot::Sender<()>, left: usize) {
    if left == 0 {
        done.send(()).unwrap();
    } else {
        monoio::spawn(async move { monoio_link(done, left - 1) });
    }
}

/// The same for `LocalPool`.
fn local_pool_link(
    spawner: futures_executor::LocalSpawner,
    done: futures_channel::oneshot::Sender<()>,
    left: usize,
) {
    if left == 0 {
        done.send(()).unwrap();
    } else {
        let next = spawner.clone();
        spawner
            .spawn_local(async move { local_pool_link(next, done, left - 1) })
            .unwrap();
    }
}

fn chained_spawn(c: &mut Criterion) {
    let mut group = c.benchmark_group("chained_spawn");
    group.bench_function("evloop", |b| {
        let rt = common::evloop();
        b.iter(|| {
            rt.block_on(async {
                let (done_tx, done_rx) = evloop::sync::oneshot::channel();
                evloop::spawn(async move { evloop_link(done_tx, TASKS) });
                done_rx.await.unwrap();
            })
        })
    });
    group.bench_function("tokio", |b| {
        let rt = common::tokio();
        b.iter(|| {
            rt.block_on(async {
                let (done_tx, done_rx) = tokio::sync::oneshot::channel();
                tokio::spawn(async move { tokio_link(done_tx, TASKS) });
                done_rx.await.unwrap();
            })
        })
    });
    group.bench_function("monoio", |b| {
        let mut rt = common::monoio();
        b.iter(|| {
            rt.block_on(async {
                let (done_tx, done_rx) = futures_channel::oneshot::channel();
                monoio::spawn(async move { monoio_link(done_tx, TASKS) });
                done_rx.await.unwrap();
            })
        })
    });
    group.bench_function("local_pool", |b| {
        let mut pool = common::local_pool();
        b.iter(|| {
            let (done_tx, done_rx) = futures_channel::oneshot::channel();
            local_pool_link(pool.spawner(), done_tx, TASKS);
            pool.run_until(done_rx).unwrap();
        })
    });
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = spawn_many_local, spawn_scaling, spawn_many_remote, yield_many, ping_pong, chained_spawn, seeded, traced
}
criterion_main!(benches);

//! Sync: a request/reply server on a bounded channel, answered by oneshot.

use criterion::{criterion_group, criterion_main, Criterion};

mod common;

/// Round trips per iteration.
const ROUND_TRIPS: u64 = 1_000;

fn request_reply(c: &mut Criterion) {
    let mut group = c.benchmark_group("request_reply");
    let rt = common::evloop();
    group.bench_function("evloop", |b| {
        b.iter(|| rt.block_on(common::tasks::request_reply_evloop(ROUND_TRIPS)))
    });
    group.bench_function("tokio", |b| {
        b.iter(|| {
            rt.block_on(async {
                use tokio::sync::{mpsc, oneshot};
                let (tx, mut rx) = mpsc::channel::<(u64, oneshot::Sender<u64>)>(10);
                let server = tokio::spawn(async move {
                    while let Some((value, reply)) = rx.recv().await {
                        let _ = reply.send(value + 1);
                    }
                });
                for i in 0..ROUND_TRIPS {
                    let (reply_tx, reply_rx) = oneshot::channel();
                    tx.send((i, reply_tx)).await.unwrap();
                    assert_eq!(reply_rx.await.unwrap(), i + 1);
                }
                drop(tx);
                server.await.unwrap();
            })
        })
    });
}

evloop::task_local! {
    static REQUEST: u64;
}

/// What a graceful shutdown's pieces cost: a poll of `cancelled()` on a token not
/// cancelled, and a task-local read inside its scope (per 1,000 of each).
fn shutdown_pieces(c: &mut Criterion) {
    use std::future::Future;
    let mut group = c.benchmark_group("shutdown_pieces");
    let token = evloop::sync::CancellationToken::new();
    let waker = futures_util::task::noop_waker();
    group.bench_function("cancelled_poll", |b| {
        b.iter(|| {
            let mut cx = std::task::Context::from_waker(&waker);
            for _ in 0..1_000 {
                let wait = std::pin::pin!(token.cancelled());
                assert!(wait.poll(&mut cx).is_pending());
            }
        })
    });
    let rt = common::evloop();
    group.bench_function("task_local_get", |b| {
        b.iter(|| {
            rt.block_on(REQUEST.scope(7, async {
                let mut sum = 0;
                for _ in 0..1_000 {
                    sum += std::hint::black_box(REQUEST.get());
                }
                sum
            }))
        })
    });
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = request_reply, shutdown_pieces
}
criterion_main!(benches);

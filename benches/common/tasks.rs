//! evloop's side of the task workloads, shared by `tasks.rs` and the fixed-count
//! harness (`fixed_count.rs`, for callgrind: criterion's iteration counts vary with
//! wall time, a fixed count does not).

/// Tasks per iteration.
pub const TASKS: usize = 1_000;
/// Tasks in `yield_many`.
pub const YIELDERS: usize = 200;
/// Yields per task in `yield_many`.
pub const YIELDS: usize = 1_000;

/// Spawns `tasks` empty tasks and joins them.
pub async fn spawn_and_join_evloop(tasks: usize) {
    let handles: Vec<_> = (0..tasks).map(|_| evloop::spawn(async {})).collect();
    for handle in handles {
        handle.await.unwrap();
    }
}

/// `YIELDERS` tasks that each yield `YIELDS` times.
pub async fn yield_many_evloop() {
    let handles: Vec<_> = (0..YIELDERS)
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
}

/// `TASKS` pairs of tasks that send each other one message each way.
pub async fn ping_pong_evloop() {
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
}

/// A server task answering `rounds` requests over `mpsc::channel(10)`, each
/// with a oneshot reply (the `request_reply` bench in `sync.rs`).
pub async fn request_reply_evloop(rounds: u64) {
    use evloop::sync::{mpsc, oneshot};
    let (tx, mut rx) = mpsc::channel::<(u64, oneshot::Sender<u64>)>(10);
    let server = evloop::spawn(async move {
        while let Some((value, reply)) = rx.recv().await {
            let _ = reply.send(value + 1);
        }
    });
    for i in 0..rounds {
        let (reply_tx, reply_rx) = oneshot::channel();
        tx.send((i, reply_tx)).await.unwrap();
        assert_eq!(reply_rx.await.unwrap(), i + 1);
    }
    drop(tx);
    server.await.unwrap();
}

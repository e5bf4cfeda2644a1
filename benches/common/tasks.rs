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
